"""The Docker Engine connection: the low-level client, daemon-down messages, deadline-bounded
streams.

docker-py gives builds and pushes no read timeout, so a stalled daemon would block until the CI
job dies. Streams are consumed in a worker thread; the caller waits on a queue and gives up when
the run's deadline passes (closing the client so the worker stops too).
"""

from __future__ import annotations

import contextlib
import gc
import queue
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.errors import InputError, Unavailable
from paperspace_deploy.safetext import one_line

CLIENT_TIMEOUT = 600  # seconds of silence tolerated on one read (large layers upload quietly)
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def describe_host(environ: Mapping[str, str]) -> str:
    host = environ.get("DOCKER_HOST")
    return f"{host} (DOCKER_HOST)" if host else f"{DEFAULT_SOCKET} (DOCKER_HOST is not set)"


def connect(environ: Mapping[str, str]) -> Any:
    """A low-level APIClient honouring DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH.

    The API version is negotiated (never pinned): the first request is `GET /version`, so a
    missing or dead daemon is reported here, before any registry or API call."""
    import docker
    from docker.errors import DockerException
    from docker.utils import kwargs_from_env

    try:
        kwargs = kwargs_from_env(environment=dict(environ))
    except DockerException as exc:  # e.g. DOCKER_TLS_VERIFY with missing certificates
        raise InputError(f"invalid Docker connection settings: {exc}") from None
    host = str(kwargs.get("base_url") or "")
    reason = None
    with warnings.catch_warnings():
        # docker-py leaves the failed socket to the garbage collector (a ResourceWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.APIClient(
                **kwargs,
                timeout=CLIENT_TIMEOUT,
                use_ssh_client=host.startswith("ssh://"),
            )
            # remember streaming responses so `abort` can cut them (see below)
            client.psd_responses = []
            client.hooks["response"].append(lambda r, *a, **k: client.psd_responses.append(r))
            return client
        except DockerException as exc:
            reason = _short(exc)
        gc.collect()
    raise Unavailable(
        f"cannot reach the Docker daemon at {describe_host(environ)}: {reason}",
        hint="start the Docker engine, or point DOCKER_HOST at a running one "
        "(e.g. unix:///var/run/docker.sock or tcp://host:2376 with DOCKER_TLS_VERIFY=1)",
    )


def abort(client: Any) -> None:
    """Cut the in-flight streams: the engine sees the connection close and cancels the build
    (removing its container) instead of running on after we stopped waiting."""
    for response in getattr(client, "psd_responses", []):
        sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
    client.close()


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("FileNotFoundError", "ConnectionRefusedError", "PermissionError"):
        if marker in text:
            return {
                "FileNotFoundError": "socket not found",
                "ConnectionRefusedError": "connection refused",
                "PermissionError": "permission denied on the socket",
            }[marker]
    return one_line(text, 300)


class _Done:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def stream_with_deadline(
    start: Callable[[], Iterable[Any]],
    *,
    deadline: Deadline,
    phase: str,
    on_abort: Callable[[], None],
) -> Iterator[Any]:
    """Yield the events of `start()` (run in a worker thread) until done or the deadline.

    Exceptions raised by the worker are re-raised here, in the caller's thread. When the caller
    stops early (deadline, interrupt), `on_abort` cuts the stream so the engine stops too."""
    q: queue.Queue[Any] = queue.Queue(maxsize=1000)
    started = time.monotonic()

    def work() -> None:
        try:
            for event in start():
                q.put(event)
            q.put(_Done())
        except BaseException as exc:  # handed to the caller's thread
            q.put(_Done(exc))

    threading.Thread(target=work, name=f"psd-{phase}", daemon=True).start()
    finished = False
    try:
        while True:
            timeout = deadline.timeout()
            try:
                if timeout is not None and timeout <= 0:
                    raise queue.Empty
                item = q.get(timeout=timeout)
            except queue.Empty:
                raise Unavailable(
                    f"{phase} did not finish before the run's deadline "
                    f"(stopped after {time.monotonic() - started:.0f} s)",
                    hint="raise the timeout, or look for a stalled Docker engine or registry",
                ) from None
            if isinstance(item, _Done):
                finished = True
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        if not finished:  # deadline, Ctrl-C/SIGTERM, or the consumer stopped early
            on_abort()
