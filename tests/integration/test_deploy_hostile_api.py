"""Hostile API servers on loopback: trickling, endless and redirecting answers end by the deadline.

Each server is a raw socket loop (no http.server), so it can misbehave byte by byte. The client
must stop at `--timeout` (a trickle never trips a read timeout), read at most 16 MiB, and never
re-send a write to the host a redirect names.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import deploy_calls as dc
import pytest

from paperspace_deploy.api.client import ApiClient
from paperspace_deploy.api.errors import ApiError, ApiUnavailable
from paperspace_deploy.api.retry import Deadline, RetryPolicy
from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

pytestmark = pytest.mark.integration
MARGIN = 1.5  # seconds past the deadline a run may take to stop (thread hand-off, one poll)
QUICK = RetryPolicy(base=0.01, attempts=2)
PROJECT = {"id": "p0000000001", "name": "p"}
EMPTY_PAGE = b'{"hasMore": false, "items": []}'

Handler = Callable[[socket.socket, str, str], None]  # (connection, method, path)


@contextmanager
def hostile(handler: Handler) -> Iterator[dict]:
    """A server on 127.0.0.1:<free port> calling `handler` for every request it reads."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    info = {"url": f"http://127.0.0.1:{listener.getsockname()[1]}/v1", "requests": []}
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(65536)
                    if not data:
                        return
                    head += data
                method, path = head.split(b" ", 2)[:2]
                info["requests"].append((method.decode(), path.decode(), head))
                handler(conn, method.decode(), path.decode())
            except OSError:  # the client cut us off: that is the point
                pass

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield info
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def answer(conn: socket.socket, body: bytes, status: str = "200 OK", extra: str = "") -> None:
    conn.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        f"\r\n{extra}\r\n".encode()
        + body
    )


def honest(conn: socket.socket, method: str, path: str) -> bool:
    """Answer the calls before the upsert like a real, empty project; False for others."""
    if method == "GET" and path.startswith("/v1/projects/p0000000001/deployments"):
        answer(conn, EMPTY_PAGE)
    elif method == "GET" and path.startswith("/v1/projects/"):
        answer(conn, b'{"id": "p0000000001", "name": "p"}')
    else:
        return False
    return True


def trickle_body(conn: socket.socket, method: str, path: str) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
    )
    for _ in range(600):  # a byte every 0.25 s: never 30 s of silence
        time.sleep(0.25)
        conn.sendall(b" ")


def trickle_headers(conn: socket.socket, method: str, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(600):
        time.sleep(0.25)
        conn.sendall(b"a")


def endless(conn: socket.socket, method: str, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
    while True:
        conn.sendall(chunk)


def huge(conn: socket.socket, method: str, path: str) -> None:
    size = 2 * 1024**3
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {size}\r\n\r\n".encode())  # fmt: skip
    zeros = b"0" * 65536
    for _ in range(size // len(zeros)):
        conn.sendall(zeros)


def run_plan(url: str, timeout: float, spec) -> float:
    start = time.monotonic()
    dc.plan(
        spec, project_id="p0000000001", image="nginx:1", timeout=timeout,
        environ={"PAPERSPACE_API_URL": url, "PAPERSPACE_API_KEY": "k"},
        client_options={"policy": QUICK},
    )  # fmt: skip
    return time.monotonic() - start


@pytest.mark.parametrize("handler", [trickle_body, trickle_headers], ids=["body", "headers"])
def test_a_trickling_server_ends_plan_by_its_timeout(make_spec, handler):
    with hostile(handler) as server:
        start = time.monotonic()
        with pytest.raises(ApiUnavailable):
            run_plan(server["url"], 2.0, make_spec())
        elapsed = time.monotonic() - start
    assert elapsed < 2.0 + MARGIN, elapsed


def test_a_trickling_server_ends_the_cli_deploy_by_its_timeout_with_exit_3(make_spec):
    with hostile(trickle_body) as server:
        out, err = io.StringIO(), io.StringIO()
        env = {"PAPERSPACE_API_URL": server["url"], "PAPERSPACE_API_KEY": "k"}
        start = time.monotonic()
        code = main(["deploy", "--spec", str(make_spec()), "--project-id", "p0000000001",
                     "--image", "nginx:1", "--timeout", "2"],
                    Io(stdout=out, stderr=err, environ=env))  # fmt: skip
        elapsed = time.monotonic() - start
    assert code == ExitCode.UNAVAILABLE, err.getvalue()
    assert elapsed < 2 + MARGIN and "Traceback" not in err.getvalue()


@pytest.mark.parametrize("handler", [endless, huge], ids=["endless", "2GiB"])
def test_an_endless_or_huge_body_is_refused_at_16_mib(handler):
    import tracemalloc

    with hostile(handler) as server:
        client = ApiClient("k", server["url"], deadline=Deadline(20), policy=QUICK)
        tracemalloc.start()
        try:
            with pytest.raises(ApiUnavailable, match="larger than 16 MiB"):
                client.get_project("p0000000001")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            client.close()
    assert peak < 64 * 1024 * 1024, peak  # bounded, not the body's size
    assert len(server["requests"]) == 1  # a body that large is not asked for twice


def test_a_redirect_on_the_upsert_is_not_followed(make_spec):
    with hostile(lambda conn, m, p: answer(conn, b"{}")) as thief:
        location = f"{thief['url']}/deployments"

        def redirect(conn: socket.socket, method: str, path: str) -> None:
            if not honest(conn, method, path):
                answer(conn, b"", "307 Temporary Redirect", f"Location: {location}\r\n")

        with hostile(redirect) as server:
            env = {"PAPERSPACE_API_URL": server["url"], "PAPERSPACE_API_KEY": "k"}
            with pytest.raises(ApiError, match=r"redirect \(HTTP 307\).*not followed") as info:
                dc.run_deploy(
                    make_spec(env=[{"name": "TOKEN", "value": "plaintext-secret"}]),
                    project_id="p0000000001",
                    image="nginx:1",
                    timeout=60,
                    environ=env,
                    client_options={"policy": QUICK},
                )  # fmt: skip  (the 307 comes at once: a generous deadline only avoids load flakes)
        assert info.value.exit_code == ExitCode.INVALID
        assert thief["requests"] == []  # the spec (and its env values) never left for the thief
        posts = [r for r in server["requests"] if r[0] == "POST"]
        assert len(posts) == 1  # not re-sent either


def test_reads_follow_a_redirect_without_the_key_to_another_host(make_spec):
    seen = {}

    def target(conn: socket.socket, method: str, path: str) -> None:
        seen["head"] = True
        answer(conn, b'{"message": "You must be logged in", "code": "UNAUTHORIZED"}',
               "401 Unauthorized")  # fmt: skip

    with hostile(target) as other:
        host = other["url"].replace("127.0.0.1", "localhost")  # another host name

        def redirect(conn: socket.socket, method: str, path: str) -> None:
            answer(conn, b"", "302 Found", f"Location: {host}/projects/p0000000001\r\n")

        with hostile(redirect) as server:
            client = ApiClient("the-secret-key", server["url"], deadline=Deadline(5), policy=QUICK)
            with pytest.raises(ApiError):
                client.get_project("p0000000001")
            client.close()
    (request,) = other["requests"]
    assert b"the-secret-key" not in request[2]  # requests strips Authorization off-host
