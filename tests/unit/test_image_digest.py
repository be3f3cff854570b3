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
    realm_host: ClassVar[str | None] = None  # the token server the challenge names

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
            host = self.realm_host or self.headers["Host"]
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
    FakeRegistry.realm_host = None
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bearer_flow_confirms_digest_and_tag(fake):
    FakeRegistry.manifests = {DIGEST: DIGEST, "v1": DIGEST}
    check = check_manifest(f"{fake}/team/app", "v1", DIGEST, "bot", "pw")
    assert check.digest_ok and check.tag_digest == DIGEST and check.warning is None
    assert check.notes == []  # the token server is the registry's own host
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


def test_credentials_never_go_to_a_plain_http_token_server_off_loopback(fake):
    """The realm is the registry's word: `http://0.0.0.0:PORT` reaches this machine but is not
    a loopback name, so it stands for any plain-HTTP host the registry could name."""
    FakeRegistry.manifests = {DIGEST: DIGEST}
    FakeRegistry.realm_host = "0.0.0.0:" + fake.rsplit(":", 1)[1]
    check = check_manifest(f"{fake}/team/app", "v1", DIGEST, "bot", "pw")
    token_calls = [s for s in FakeRegistry.seen if s[0] == "GET"]
    assert token_calls and all(auth is None for _, _, auth in token_calls)  # nothing sent
    assert not check.digest_ok and "HTTP 401" in (check.warning or "")
    assert any("plain HTTP: credentials were not sent" in n for n in check.notes)


def test_a_token_server_on_another_domain_is_named(fake):
    FakeRegistry.manifests = {DIGEST: DIGEST, "v1": DIGEST}
    FakeRegistry.realm_host = "localhost:" + fake.rsplit(":", 1)[1]  # loopback: allowed
    check = check_manifest(f"{fake}/team/app", "v1", DIGEST, "bot", "pw")
    assert check.digest_ok
    assert any("token server on another domain (localhost:" in n for n in check.notes)
