"""Faults (reliability.md §6.2) injected by the emulator, through the real client and deploy."""

from __future__ import annotations

import email.utils
import time

import deploy_calls as dc
import pytest

from paperspace_deploy import deploy, registry
from paperspace_deploy.api.client import ApiClient
from paperspace_deploy.api.errors import AmbiguousWrite, ApiError, ApiUnavailable
from paperspace_deploy.api.retry import Deadline, RetryPolicy
from paperspace_deploy.emulator import Fault

pytestmark = pytest.mark.integration
FAST = deploy.WaitOptions(poll_interval=0.02, grace=1.0, error_grace=0.03)
QUICK = RetryPolicy(base=0.01, cap=0.05)
CONFIG = {
    "apiVersion": "v1",
    "name": "demo",
    "image": "nginx",
    "resources": {"machineType": "C4", "ports": [80]},
}


def run(emulator, spec, **kw):
    kw.setdefault("wait_options", FAST)
    kw.setdefault("timeout", 20)
    kw.setdefault("image", "nginx:1.25")
    kw.setdefault("client_options", {"policy": QUICK})
    return dc.run_deploy(spec, project_id=emulator.project_id, environ=emulator.env(), **kw)


def client(emulator, **kw):
    kw.setdefault("policy", QUICK)
    return ApiClient(emulator.key, emulator.url, **kw)


@pytest.mark.parametrize(
    "fault",
    [
        "status:503@*x4",  # 5xx burst on every route
        "status:502@GET /deployments/*x4",
        "status:500@GET /projects/*x2",  # 500: GETs retried a couple of times
        "429:0@*x4",  # 429 burst, Retry-After in seconds
        "drop@GET *x4",  # connection closed after reading the request
        "drop@POST /deployments x1",  # upsert dropped before it was applied: re-POST once
        "drop-after@POST /deployments x1",  # applied, response lost: adopt, no second POST
        "status:503@POST /deployments x1",  # ambiguous 5xx on the upsert
        "429:0@POST /deployments x2",  # refused upsert: safe to retry
        "delay:0.3@GET /deployments/*x2",  # slow responses beyond the read timeout
    ],
)
def test_deploy_survives_fault_with_exactly_one_spec_version(emulator, make_spec, fault):
    emulator.faults.add(fault)
    opts = {"policy": QUICK, "timeout": (1.0, 0.2)}
    result = run(emulator, make_spec(), client_options=opts)
    assert result.state == "healthy"
    assert emulator.faults.total() >= 1
    assert emulator.spec_count() == 1, f"{emulator.spec_count()} spec versions for one deploy"
    if fault.startswith("drop-after"):
        assert result.outcome == "adopted"
    elif fault.startswith(("drop@POST", "status:503@POST")):
        assert result.outcome in ("reapplied", "adopted")
    else:
        assert result.outcome == "applied"


def test_dropped_upsert_response_never_reposts(emulator, make_spec):
    emulator.faults.add("drop-after@POST /deployments x1")
    result = run(emulator, make_spec())
    assert result.outcome == "adopted"
    assert emulator.server.requests.get("POST /deployments") == 1
    assert emulator.state.upserts == 1


def test_dropped_upsert_with_slow_visibility_is_found_by_rereading(emulator, make_spec):
    emulator.state.timings.visible_after = 0.03
    emulator.faults.add("drop-after@POST /deployments x1")
    result = run(emulator, make_spec())
    assert result.outcome == "adopted" and emulator.state.upserts == 1


def test_upsert_dropped_twice_gives_up_after_one_repost(emulator, make_spec):
    emulator.faults.add("drop@POST /deployments x5")
    with pytest.raises(ApiUnavailable, match="could not confirm the upsert"):
        run(emulator, make_spec())
    assert emulator.server.requests.get("POST /deployments") == 2  # original + one retry
    assert emulator.state.upserts == 0


def test_api_stays_down_exit_3_with_clear_message(emulator, make_spec):
    emulator.faults.add(Fault("status", route="*", count=None, fraction=1.0, status=503))
    start = time.monotonic()
    with pytest.raises(ApiUnavailable) as info:
        run(emulator, make_spec())
    assert "Paperspace API unavailable" in str(info.value) and "HTTP 503" in str(info.value)
    assert info.value.exit_code == 3
    assert time.monotonic() - start < 2
    assert emulator.state.upserts == 0


def test_connection_refused_is_unavailable_and_nothing_changed():
    c = ApiClient("k", "http://127.0.0.1:9/v1", policy=QUICK)
    with pytest.raises(ApiUnavailable, match="connection failed"):
        c.get_project("p1")
    assert c.stats.calls == QUICK.attempts


def test_connect_errors_are_retried_even_for_post():
    c = ApiClient("k", "http://127.0.0.1:9/v1", policy=QUICK)
    with pytest.raises(ApiUnavailable) as info:
        c.upsert_deployment("p1", CONFIG)
    assert not isinstance(info.value, AmbiguousWrite)  # nothing reached a server
    assert c.stats.calls == QUICK.attempts


def test_retry_after_seconds_and_http_date_are_honoured(emulator):
    emulator.faults.add("429:1@GET /projects/* x1")
    slept = []
    c = client(emulator, sleep=slept.append)
    c.get_project(emulator.project_id)
    assert slept == [1.0]
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    emulator.faults.add(Fault("429", route="GET /projects/*", retry_after=date))
    c.get_project(emulator.project_id)
    assert 28 <= slept[-1] <= 31
    past = email.utils.formatdate(time.time() - 3600, usegmt=True)
    emulator.faults.add(Fault("429", route="GET /projects/*", retry_after=past))
    c.get_project(emulator.project_id)
    assert slept[-1] == 0  # clock skew: a date in the past means now


def test_absurd_retry_after_fails_fast_instead_of_sleeping(emulator):
    emulator.faults.add("429:100000@* x1")
    slept = []
    c = client(emulator, sleep=slept.append, deadline=Deadline(60))
    with pytest.raises(ApiUnavailable, match="asked to wait 100000 s"):
        c.get_project(emulator.project_id)
    assert slept == []


def test_retry_budget_bounds_an_outage(emulator):
    emulator.faults.add(Fault("status", count=None, fraction=1.0, status=502))
    c = client(emulator, policy=RetryPolicy(attempts=5, base=0.001, budget=6))
    for _ in range(3):
        with pytest.raises(ApiUnavailable):
            c.get_project(emulator.project_id)
    assert c.stats.retries == 6  # the per-run budget, not 3 x 4


def test_html_proxy_error_and_error_shaped_200(emulator):
    emulator.faults.add(Fault("status", route="GET /projects/*", status=502, count=9, html=True))
    c = client(emulator)
    with pytest.raises(ApiUnavailable, match="HTTP 502"):
        c.get_project(emulator.project_id)
    emulator.faults.clear()
    c.session.close()

    # a {code, message} body on 200 is an error (reference §2.2)
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"code": "FORBIDDEN", "message": "nope"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        other = ApiClient("k", f"http://127.0.0.1:{server.server_address[1]}/v1", policy=QUICK)
        with pytest.raises(ApiError, match="nope"):
            other.get_project("p1")
        other.close()
    finally:
        server.shutdown()
        server.server_close()


def test_registry_list_follows_pages_and_survives_500(emulator, variance):
    for i in range(125):
        emulator.state.add_registry(
            {"name": f"reg-{i:03d}", "url": "https://ghcr.io", "username": "u", "password": "p"}
        )
    emulator.faults.add("status:500@GET /container-registries x1")
    c = client(emulator)
    connections = registry.from_api(c)
    assert len(connections.names) == 125 and "reg-000" in connections.names  # on page 2
    pages = -(-125 // (2 if "small-pages" in variance else 120))
    assert c.stats.by_route["GET /container-registries"] == 1 + pages  # 1 retry + the pages


def test_key_never_in_urls_or_errors(emulator):
    emulator.faults.add(Fault("status", count=None, fraction=1.0, status=503))
    c = client(emulator)
    with pytest.raises(ApiUnavailable) as info:
        c.get_project(emulator.project_id)
    assert emulator.key not in info.value.render() and emulator.key not in repr(c)


def test_tls_failure_names_requests_ca_bundle(emulator, tmp_path, monkeypatch):
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    from paperspace_deploy.emulator import Emulator

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls = Emulator(emulator.state)
    tls.httpd.socket = context.wrap_socket(tls.httpd.socket, server_side=True)
    tls.start()
    try:
        url = tls.url.replace("http://", "https://")
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        c = ApiClient(emulator.key, url, policy=QUICK)
        with pytest.raises(ApiError) as info:
            c.get_project(emulator.project_id)
        assert "REQUESTS_CA_BUNDLE" in info.value.render() and info.value.exit_code == 1
        assert c.stats.calls == 1  # not retried
        c.close()
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        trusted = ApiClient(emulator.key, url, policy=QUICK)
        assert trusted.get_project(emulator.project_id)["id"] == emulator.project_id
        trusted.close()
    finally:
        tls.stop()


def test_proxy_from_environment_407_and_no_proxy(emulator, monkeypatch):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    seen = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)  # a forward proxy gets the absolute URI
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="corp"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://user:hunter2@127.0.0.1:{proxy.server_port}")
        c = client(emulator)
        with pytest.raises(ApiError) as info:
            c.get_project(emulator.project_id)
        text = info.value.render()
        assert "proxy authentication required by 127.0.0.1" in text and "hunter2" not in text
        assert info.value.exit_code == 1 and c.stats.calls == 1
        assert seen and seen[0].startswith(emulator.url)
        c.close()
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = client(emulator)
        assert direct.get_project(emulator.project_id)["id"] == emulator.project_id
        assert len(seen) == 1
        direct.close()
    finally:
        proxy.shutdown()
        proxy.server_close()
