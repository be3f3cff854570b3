"""Registry faults the engine does not retry (reliability.md §5.1, F19/F22), injected by a small
HTTP proxy in front of the real registry: the real engine pushes through it, our retry recovers,
and a push that never gets a manifest in ends with exit 3 and no digest."""

from __future__ import annotations

import http.client
import io
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

pytestmark = [pytest.mark.docker, pytest.mark.integration]


class FaultProxy(BaseHTTPRequestHandler):
    upstream = ""
    faults: list = []  # (method, path fragment, status, remaining count)  # noqa: RUF012
    hits: list = []  # noqa: RUF012
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self):
        body = self._body()
        for fault in self.faults:
            method, fragment, status, left = fault
            if left > 0 and self.command == method and fragment in self.path:
                fault[3] -= 1
                self.hits.append((method, self.path, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                return
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body if body else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture
def proxy(registry):
    FaultProxy.upstream = registry.host
    FaultProxy.faults, FaultProxy.hits = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultProxy)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def build(tmp_path, image, registry):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (ctx / "a").write_text(uuid.uuid4().hex)
    environ = {
        "DOCKER_HOST": os.environ["DOCKER_HOST"],
        "HOME": os.environ["HOME"],
        "PAPERSPACE_DEPLOY_RETRY_BASE": "0.05",
        "REGISTRY_USERNAME": registry.username,
        "REGISTRY_PASSWORD": registry.password,
    }
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["build", str(ctx), "--image", image, "--tag", "v1"],
        Io(stdout=out, stderr=err, environ=environ, cwd=tmp_path),
    )
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("method", "fragment", "status"),
    [
        ("PUT", "/manifests/", 500),  # partial push: blobs in, tag not written (F22)
        ("POST", "/blobs/uploads/", 429),  # rate limited blob upload (F19)
    ],
)
def test_engine_unretried_fault_is_retried_once_and_recovers(
    tmp_path, registry, proxy, method, fragment, status
):
    FaultProxy.faults = [[method, fragment, status, 1]]
    image = f"{proxy}/it/fault-{uuid.uuid4().hex[:8]}"
    code, out, err = build(tmp_path, image, registry)
    assert code == 0, err
    assert FaultProxy.hits and FaultProxy.hits[0][2] == status
    assert "attempt 2/3" in err
    assert out.strip().startswith(f"{image}@sha256:")


def test_manifest_never_accepted_means_no_digest_and_exit_3(tmp_path, registry, proxy):
    FaultProxy.faults = [["PUT", "/manifests/", 500, 99]]
    code, out, err = build(tmp_path, f"{proxy}/it/partial-{uuid.uuid4().hex[:8]}", registry)
    assert code == ExitCode.UNAVAILABLE
    assert out == ""
    assert "failed after 3 attempts" in err and "500" in err
    assert "Traceback" not in err


def test_forbidden_manifest_put_is_not_retried(tmp_path, registry, proxy):
    FaultProxy.faults = [["PUT", "/manifests/", 403, 99]]
    code, out, err = build(tmp_path, f"{proxy}/it/forbidden-{uuid.uuid4().hex[:8]}", registry)
    assert code == ExitCode.INVALID, err
    assert "rejected the push" in err and "attempt 2" not in err
    assert len(FaultProxy.hits) == 1 and out == ""
