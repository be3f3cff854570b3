"""Registry manifest cross-check: the token (Bearer) flow, mismatches and 404s, against a small
in-process registry fake (the Basic flow runs against the real registry in the integration
tests)."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from paperspace_deploy.errors import Unavailable
from paperspace_deploy.image.digest import check_manifest

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


class FakeRegistry(BaseHTTPRequestHandler):
    manifests: ClassVar[dict] = {}
    seen: ClassVar[list] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # the token endpoint
        self.seen.append(("GET", self.path, self.headers.get("Authorization")))
        expected = "Basic " + base64.b64encode(b"bot:pw").decode()
        if self.path.startswith("/token") and self.headers.get("Authorization") == expected:
            body = json.dumps({"token": "T0KEN"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self.seen.append(("HEAD", self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != "Bearer T0KEN":
            host = self.headers["Host"]
            self.send_response(401)
            self.send_header(
                "WWW-Authenticate",
                f'Bearer realm="http://{host}/token",service="fake",scope="repository:x:pull"',
            )
            self.end_headers()
            return
        ref = self.path.rsplit("/", 1)[-1]
        found = self.manifests.get(ref)
        if found is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Docker-Content-Digest", found)
        self.end_headers()


@pytest.fixture
def fake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    FakeRegistry.seen = []
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bearer_flow_confirms_digest_and_tag(fake):
    FakeRegistry.manifests = {DIGEST: DIGEST, "v1": DIGEST}
    check = check_manifest(f"{fake}/team/app", "v1", DIGEST, "bot", "pw")
    assert check.digest_ok and check.tag_digest == DIGEST and check.warning is None
    token_calls = [s for s in FakeRegistry.seen if s[0] == "GET"]
    assert token_calls and "scope=repository%3Ateam%2Fapp%3Apull" in token_calls[0][1]


def test_moved_tag_is_reported_not_fatal(fake):
    FakeRegistry.manifests = {DIGEST: DIGEST, "v1": OTHER}
    check = check_manifest(f"{fake}/team/app", "v1", DIGEST, "bot", "pw")
    assert check.digest_ok and check.tag_digest == OTHER


def test_missing_manifest_is_a_partial_push(fake):
    FakeRegistry.manifests = {}
    with pytest.raises(Unavailable, match="partial push"):
        check_manifest(f"{fake}/team/app", "v1", DIGEST, "bot", "pw")


def test_disagreeing_digest_fails(fake):
    FakeRegistry.manifests = {DIGEST: OTHER}
    with pytest.raises(Unavailable, match="digests disagree"):
        check_manifest(f"{fake}/team/app", "v1", DIGEST, "bot", "pw")


def test_unreadable_manifest_is_a_warning(fake):
    FakeRegistry.manifests = {DIGEST: DIGEST}
    check = check_manifest(f"{fake}/team/app", "v1", DIGEST, "bot", "wrong")
    assert not check.digest_ok and "HTTP 401" in check.warning


def test_unreachable_registry_is_unavailable(monkeypatch):
    monkeypatch.setattr("paperspace_deploy.image.digest.time.sleep", lambda s: None)
    with pytest.raises(Unavailable, match="could not verify"):
        check_manifest("127.0.0.1:1/team/app", "v1", DIGEST, None, None)
