"""Log in (pre-flight) and push through the engine, with bounded retries for transient faults.

The engine answers a push with HTTP 200 and reports failures as error events later in the
stream; it retries blob uploads itself but not 429s or manifest PUTs, so we retry the whole push
(cheap: existing layers answer "Layer already exists") -- but never an auth or name error.
Credentials travel per request (`auth_config`); nothing is written to ~/.docker/config.json.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from paperspace_deploy.api.retry import Deadline, RetryPolicy
from paperspace_deploy.errors import DeployError, InputError, Unavailable
from paperspace_deploy.image.console import Console
from paperspace_deploy.image.engine import abort, stream_with_deadline
from paperspace_deploy.image.stream import Failure, PushLog, classify
from paperspace_deploy.safetext import one_line

_rng = random.SystemRandom()  # jitter: concurrent runs must not retry in step
T = TypeVar("T")


@dataclass
class Credentials:
    registry: str  # normalised host, e.g. ghcr.io, 127.0.0.1:5000, docker.io
    username: str
    password: str

    @property
    def server(self) -> str:
        return "https://index.docker.io/v1/" if self.registry == "docker.io" else self.registry

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "serveraddress": self.server}

    def __repr__(self) -> str:
        return f"Credentials(registry={self.registry!r}, username={self.username!r})"


class PushFailed(Exception):
    """One failed attempt; `kind` decides whether another attempt may help."""

    def __init__(self, message: str, kind: Failure) -> None:
        super().__init__(message)
        self.kind = kind


def to_error(action: str, registry: str, message: str, kind: Failure, attempts: int) -> DeployError:
    text = one_line(message)
    if kind is Failure.AUTH:
        return InputError(
            f"registry {registry} rejected the {action} ({text})",
            hint="check the registry username and password/token (REGISTRY_USERNAME, "
            "REGISTRY_PASSWORD) and that the account may push to this repository",
        )
    if kind is Failure.INSECURE:
        return InputError(
            f"registry {registry} speaks plain HTTP but the Docker engine expects HTTPS ({text})",
            hint=f"serve the registry over TLS, or add {registry} to the engine's "
            "insecure-registries in daemon.json",
        )
    if kind is Failure.TLS:
        return InputError(
            f"TLS error talking to registry {registry} ({text})",
            hint=f"install the registry's CA as /etc/docker/certs.d/{registry}/ca.crt on the host",
        )
    if kind is Failure.NOT_FOUND:
        return InputError(f"registry {registry} refused the {action}: {text}")
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return Unavailable(
        f"{action} to registry {registry} failed{tries}: {text}",
        hint="the registry or the network failed; nothing was deployed. Re-run the job",
    )


def with_retries(
    attempt: Callable[[], T],
    *,
    policy: RetryPolicy,
    deadline: Deadline,
    console: Console,
    what: str,
    registry: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `attempt` until it succeeds, retrying only TRANSIENT PushFailed errors."""
    for number in range(1, policy.attempts + 1):
        try:
            return attempt()
        except PushFailed as exc:
            final = number == policy.attempts or exc.kind is not Failure.TRANSIENT
            if not final:
                delay = policy.backoff(number - 1, _rng)
                if delay >= deadline.remaining():
                    final = True
            if final:
                raise to_error(what, registry, str(exc), exc.kind, number) from None
            console.warn(
                f"{what} to {registry} failed ({one_line(str(exc), 200)}); "
                f"attempt {number + 1}/{policy.attempts} in {delay:.0f} s"
            )
            sleep(delay)
    raise AssertionError("unreachable")


def login(client: Any, creds: Credentials, deadline: Deadline) -> None:
    """Pre-flight: the engine checks the credentials now, not after a long build.

    `reauth=True` bypasses docker-py's shortcut that trusts a stored config.json entry."""
    from docker.errors import APIError

    def call() -> list[Any]:
        return [client.login(creds.username, creds.password, registry=creds.server, reauth=True)]

    try:
        list(
            stream_with_deadline(
                call, deadline=deadline, phase="registry login", on_abort=lambda: abort(client)
            )
        )
    except APIError as exc:
        message = str(exc.explanation or exc)
        raise PushFailed(message, classify(message)) from None


def push_tag(
    client: Any,
    repo: str,
    tag: str,
    creds: Credentials | None,
    console: Console,
    deadline: Deadline,
) -> str:
    """Push one tag; return the manifest digest the engine reported (aux.Digest)."""
    from docker.errors import APIError

    log = PushLog(emit=console.raw)

    def start() -> Any:
        return client.push(
            repo,
            tag=tag,
            stream=True,
            decode=True,
            auth_config=creds.auth_config() if creds else None,
        )

    try:
        with console.untrusted(f"Push {repo}:{tag}"):
            for event in stream_with_deadline(
                start, deadline=deadline, phase=f"push of {tag}", on_abort=lambda: abort(client)
            ):
                log.feed(event)
    except APIError as exc:
        message = str(exc.explanation or exc)
        raise PushFailed(message, classify(message)) from None
    if log.error:
        raise PushFailed(log.error, classify(log.error))
    if not log.digest:
        # An old engine or a partial push: never hand on a tag we cannot pin.
        raise Unavailable(
            f"push of {repo}:{tag} did not report a digest; nothing will be deployed",
            hint="the registry may have accepted the layers but not the manifest; re-run",
        )
    if log.retries:
        console.info(f"the engine retried {log.retries} layer upload(s) for {tag}")
    return log.digest
