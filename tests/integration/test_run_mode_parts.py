"""Run mode's parts against real loopback servers (no engine): probes, endpoint proxy, secrets."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from run_mode_images import free_port

from paperspace_deploy.emulator.probes import Probe, Tracker, probes_from_spec, run_probe
from paperspace_deploy.emulator.proxy import EndpointProxy, port_free
from paperspace_deploy.emulator.secretfile import load_secrets
from paperspace_deploy.errors import UsageError

pytestmark = pytest.mark.integration


class App(BaseHTTPRequestHandler):
    """A stand-in app: /slow sleeps, /redirect answers 302, /stream has no Content-Length."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        App.seen.append({"path": self.path, "headers": dict(self.headers)})
        if self.path == "/slow":
            time.sleep(1.5)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/stream":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 4096)
            self.close_connection = True
            return
        body = b"ok" if self.path in ("/healthz", "/slow") else b"missing"
        self.send_response(200 if body == b"ok" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"bytes": len(data), "auth": self.headers.get("Authorization")}).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def app() -> Iterator[int]:
    App.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), App)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def no_exec(_cmd: list[str], _timeout: float) -> tuple[int | None, str]:
    raise AssertionError("not an exec probe")


def test_probes_read_the_spec_with_platform_defaults():
    data = {
        "resources": {"ports": [8000]},
        "healthchecks": {"liveness": {"path": "/legacy"}},  # the legacy lowercase key
        "healthChecks": {
            "readiness": {"path": "/r", "headers": [{"name": "X-Token", "value": "t"}],
                          "host": "app.example", "timeoutSeconds": 5, "failureThreshold": 1},
            "startup": {"exec": {"command": ["cat", "/ready"]}, "initialDelaySeconds": 3},
        },
    }  # fmt: skip
    probes = {p.kind: p for p in probes_from_spec(data)}
    assert set(probes) == {"startup", "readiness"}  # healthChecks wins over healthchecks
    r = probes["readiness"]
    assert (r.port, r.path, r.host, r.headers) == (8000, "/r", "app.example", (("X-Token", "t"),))
    assert (r.period, r.timeout, r.failure_threshold, r.initial_delay) == (10, 5, 1, 0)
    s = probes["startup"]
    assert (s.command, s.initial_delay, s.period, s.failure_threshold) == (
        ("cat", "/ready"),
        3,
        10,
        3,
    )
    implicit = probes_from_spec({"resources": {"ports": [9000, 9001]}})
    assert [(p.kind, p.port, p.implicit) for p in implicit] == [("readiness", 9000, True)]
    legacy = probes_from_spec(
        {"apiVersion": "v0alpha0", "healthchecks": {"readiness": {"path": "/"}}}
    )
    assert legacy[0].port == 80


def test_http_probe_sends_headers_and_host_and_judges_the_status(app):
    ok = run_probe(Probe("readiness", app, path="/healthz", host="app.example",
                         headers=(("X-Token", "abc"),)), no_exec)  # fmt: skip
    assert ok.ok
    sent = App.seen[-1]["headers"]
    assert (sent["Host"], sent["X-Token"]) == ("app.example", "abc")
    assert sent["User-Agent"].startswith("kube-probe/")
    assert run_probe(Probe("liveness", app, path="/redirect"), no_exec).ok  # 3xx is a success
    missing = run_probe(Probe("readiness", app, path="/nope"), no_exec)
    assert missing.message == (
        f"Readiness probe failed: HTTP 404 Not Found from GET http://127.0.0.1:{app}/nope"
    )
    slow = run_probe(Probe("liveness", app, path="/slow", timeout=1), no_exec)
    assert "Liveness probe failed" in slow.message and "context deadline exceeded" in slow.message


def test_tcp_and_refused_and_exec_messages(app):
    closed = free_port()
    refused = run_probe(Probe("readiness", closed, path="/"), no_exec)
    target = f"127.0.0.1:{closed}"
    assert refused.message == (
        f'Readiness probe failed: Get "http://{target}/": dial tcp {target}: connect: '
        "connection refused"
    )
    assert run_probe(Probe("readiness", app, implicit=True), no_exec).ok
    tcp = run_probe(Probe("readiness", closed, implicit=True), no_exec)
    assert "connection refused" in tcp.message and "no readiness probe" in tcp.message
    exec_probe = Probe("startup", 80, command=("check", "--hard"), timeout=2)
    failed = run_probe(exec_probe, lambda cmd, t: (2, "not yet\n::error::x\n"))
    assert failed.message == "Startup probe failed: exec [check --hard] exited with code 2: " \
                             "not yet ::error::x"  # fmt: skip
    timed_out = run_probe(exec_probe, lambda cmd, t: (None, ""))
    assert timed_out.message.endswith("timed out after 2s")


def test_tracker_counts_consecutive_failures_from_the_initial_delay():
    probe = Probe("liveness", 80, path="/", initial_delay=5, period=2, failure_threshold=2)
    tracker = Tracker(probe, started=100.0)
    assert not tracker.due(104.9) and tracker.due(105.0)
    bad = run_probe(Probe("liveness", free_port(), path="/"), no_exec)
    tracker.record(bad, 105.0)
    assert not tracker.failed and not tracker.due(106.9) and tracker.due(107.0)
    tracker.record(bad, 107.0)
    assert tracker.failed
    tracker.record(type(bad)(True), 109.0)
    assert not tracker.failed and tracker.passed


def test_proxy_enforces_basic_auth_and_streams_both_ways(app):
    upstream: list[int | None] = [None]
    proxy = EndpointProxy(lambda: upstream[0], lambda: "k3y").start()
    try:
        assert requests.get(proxy.url + "/healthz", timeout=5).status_code == 401
        auth = ("paperspace", "k3y")
        assert (
            requests.get(proxy.url + "/", auth=auth, timeout=5).text.strip()
            == "no healthy upstream"
        )
        upstream[0] = app
        assert requests.get(proxy.url + "/healthz", auth=auth, timeout=5).text == "ok"
        big = b"y" * (3 * 1024 * 1024)
        posted = requests.post(proxy.url + "/upload", data=big, auth=auth, timeout=10)
        assert posted.status_code == 201
        assert posted.json() == {"bytes": len(big), "auth": None}  # the key stays at the edge
        streamed = requests.get(proxy.url + "/stream", auth=auth, timeout=10)
        assert len(streamed.content) == 64 * 4096
        assert App.seen[-1]["headers"]["X-Forwarded-For"] == "127.0.0.1"
        upstream[0] = free_port()  # the container went away
        assert requests.get(proxy.url + "/", auth=auth, timeout=5).status_code == 503
    finally:
        proxy.close()


def test_port_free_sees_listeners_on_any_address():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert not port_free(s.getsockname()[1])
    assert port_free(free_port())


def test_secrets_file_formats_and_errors(tmp_path: Path):
    env = tmp_path / "s.env"
    env.write_text("# c\n\nexport A=1\nB = 'two words'\nC=\"x=y\"\n", encoding="utf-8")
    assert load_secrets(env) == {"A": "1", "B": "two words", "C": "x=y"}
    js = tmp_path / "s.json"
    js.write_text(json.dumps({"TOKEN": "t0k"}), encoding="utf-8")
    assert load_secrets(js) == {"TOKEN": "t0k"}
    for text, expected in (("bad-name=v4lue\n", "s.env:1: 'bad-name' is not a valid secret name"),
                           ("A=\n", "s.env:1: secret A must be a string of 1..8192"),
                           ('{"A": 1}', "s.env: secret A must be a string"),
                           ("{nope", "s.env:1: not valid JSON")):  # fmt: skip
        env.write_text(text, encoding="utf-8")
        with pytest.raises(UsageError) as err:
            load_secrets(env)
        assert expected in str(err.value) and "v4lue" not in str(err.value)
    with pytest.raises(UsageError, match="cannot read secrets file"):
        load_secrets(tmp_path / "missing.env")
