"""Client pieces that need no server: key and URL hygiene, error mapping, diff and redaction."""

from __future__ import annotations

import pytest

from paperspace_deploy import deploy, specdiff
from paperspace_deploy.api.client import ApiClient, _looks_like_error, api_url_from, clean_api_key
from paperspace_deploy.api.errors import ApiError, AuthenticationFailed, NotFound, ValidationFailed
from paperspace_deploy.errors import InputError


def test_api_key_is_trimmed_and_bad_keys_are_rejected_without_echo():
    assert clean_api_key("abc123\n") == "abc123"
    for bad in ("", "   ", None):
        with pytest.raises(InputError, match="API key is required"):
            clean_api_key(bad)
    with pytest.raises(InputError) as info:
        clean_api_key("secret part\nmore")
    assert "secret" not in str(info.value)


def test_api_url_from_flag_env_and_default():
    assert api_url_from(None, {}) == "https://api.paperspace.com/v1"
    assert api_url_from(None, {"PAPERSPACE_API_URL": "http://x:1/v1/"}) == "http://x:1/v1"
    assert api_url_from("https://y/v1", {"PAPERSPACE_API_URL": "http://x"}) == "https://y/v1"
    for bad in ("ftp://x", "x", "https://user:pw@host/v1", "https://h/v1?k=1"):
        with pytest.raises(InputError):
            api_url_from(bad, {})


def test_error_mapping_from_status_and_body():
    body = {"message": "Input validation failed", "code": "BAD_REQUEST", "issues": [{"path": []}]}
    assert isinstance(ApiClient._error("POST /d", 400, body), ValidationFailed)
    auth = ApiClient._error("GET /p", 401, {"message": "x", "code": "UNAUTHORIZED"})
    assert isinstance(auth, AuthenticationFailed) and "rejected the API key" in str(auth)
    assert isinstance(ApiClient._error("GET /p", 404, None), NotFound)
    other = ApiClient._error("GET /p", 409, None)
    assert type(other) is ApiError and "unknown error" in str(other)


def test_error_shaped_success_bodies():
    assert _looks_like_error({"code": "X", "message": "y"})
    assert not _looks_like_error({"code": "X", "message": "y", "a": 1, "b": 2})
    assert not _looks_like_error({"deploymentId": "d"})
    assert not _looks_like_error([{"code": "X", "message": "y"}])


def test_client_repr_hides_key():
    client = ApiClient("very-secret-key", "http://127.0.0.1:9/v1")
    assert "very-secret-key" not in repr(client)
    client.close()


def test_normalize_fills_server_defaults():
    a = {"name": "x", "resources": {"ports": [1]}, "$schema": "s"}
    b = {"name": "x", "enabled": True, "resources": {"ports": [1], "replicas": 1}}
    assert specdiff.same_spec(a, b)
    assert not specdiff.same_spec(a, {**b, "enabled": False})


def test_diff_is_field_by_field_and_redacts_plaintext_env_values():
    live = {"name": "x", "image": "a:1", "env": [{"name": "TOKEN", "value": "hunter2"}]}
    new = {"name": "x", "image": "a:2", "env": [{"name": "TOKEN", "value": "hunter3"}],
           "region": "ny2"}  # fmt: skip
    changes = {c.path: c for c in specdiff.diff(live, new)}
    assert set(changes) == {"image", "env[0].value", "region"}
    assert changes["region"].kind == "added"
    rendered = "\n".join(c.render() for c in changes.values())
    assert "hunter" not in rendered and '"a:1" -> "a:2"' in rendered
    secret_ref = specdiff.diff(None, {"env": [{"name": "T", "value": "secret:TOKEN"}]})
    assert '+ env[0].value: "secret:TOKEN"' in [c.render() for c in secret_ref]


def test_issue_paths_map_to_lines_via_locate():
    class Loaded:
        def locate(self, path):
            return {("resources", "ports", 0): (7, 9)}.get(tuple(path), (1, 1))

    issues = [{"path": ["config", "resources", "ports", 0], "message": "Expected number"}]
    (finding,) = deploy.issues_to_findings(issues, Loaded(), "app.yaml")
    assert (finding.line, finding.col, finding.rule) == (7, 9, "api-validation")
    assert "resources.ports.0" in finding.message
