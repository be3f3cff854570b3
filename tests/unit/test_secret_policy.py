"""The one secret-field policy (credentials.py): plan redaction of our spec and of the live one,
lint messages, the emulator's issues and the run's scrub list all follow it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from paperspace_deploy import credentials
from paperspace_deploy.deploy.prepare import api_config
from paperspace_deploy.emulator.validate import _Checker
from paperspace_deploy.redact import run_secrets
from paperspace_deploy.spec import lint_bytes
from paperspace_deploy.specdiff import PlanResult, diff

HEADER_LIVE = "Bearer live-header-Canary-7781"
HEADER_OURS = "Bearer ours-header-Canary-7782"
URL_TOKEN_LIVE = "liveLfsCanary9931"
URL_TOKEN_OURS = "oursLfsCanary9932"


def _spec(header: str, token: str) -> dict:
    return {
        "apiVersion": "v1",
        "name": "demo",
        "image": "nginx:1.27",
        "resources": {"machineType": "C4", "ports": [8080]},
        "healthChecks": {
            "liveness": {"path": "/", "headers": [{"name": "Authorization", "value": header}]}
        },
        "integrations": [
            {"type": "git-lfs", "name": "m", "url": f"https://bob:{token}@git.example/m.git"}
        ],
    }


@pytest.fixture
def scratch_secrets():
    secrets = run_secrets()
    saved = (list(secrets._forms), secrets._pattern)
    yield secrets
    secrets._forms, secrets._pattern = saved


def test_plan_redacts_probe_headers_and_url_credentials_on_both_sides():
    live, ours = _spec(HEADER_LIVE, URL_TOKEN_LIVE), _spec(HEADER_OURS, URL_TOKEN_OURS)
    plan = PlanResult("demo", "p1", "dep-1", "spec-1", diff(live, ours))
    shown = json.dumps(plan.as_dict()) + "\n".join(c.render() for c in plan.changes)
    assert plan.changes, "the two specs differ: the plan must show changes"
    for secret in (HEADER_LIVE, HEADER_OURS, URL_TOKEN_LIVE, URL_TOKEN_OURS, "live-header"):
        assert secret not in shown
    assert "<redacted>" in shown and "https://***@git.example/m.git" in shown


def test_plan_keeps_secret_references_and_plain_values():
    live = {**_spec(HEADER_LIVE, URL_TOKEN_LIVE), "env": [{"name": "A", "value": "secret:OLD"}]}
    ours = {**_spec(HEADER_LIVE, URL_TOKEN_LIVE), "env": [{"name": "A", "value": "secret:NEW"}]}
    shown = json.dumps(PlanResult("demo", "p", "d", "s", diff(live, ours)).as_dict())
    assert "secret:OLD" in shown and "secret:NEW" in shown


@pytest.mark.parametrize(
    ("path", "secret"),
    [
        (["healthChecks", "readiness", "headers", 0, "value"], True),
        (["env", 3, "value"], True),
        (["integrations", 0, "secretAccessKey"], True),
        (["basicAuthKey"], True),
        (["env", 3, "name"], False),
        (["image"], False),
    ],
)
def test_is_secret_path(path, secret):
    assert credentials.is_secret_path(path) is secret


def test_lint_never_echoes_url_credentials_and_flags_them():
    raw = (
        "apiVersion: v1\nname: demo\nimage: nginx:1.27\n"
        "resources: {machineType: C4, ports: [8080]}\n"
        "integrations:\n  - type: git-lfs\n    name: m\n"
        f"    url: https://bob:{URL_TOKEN_OURS}@git.example/m.git\n    bogus: 1\n"
        f"containerRegistry: ['https://bob:{URL_TOKEN_OURS}@r.example']\n"
    ).encode()
    spec = lint_bytes(raw, "paperspace.yaml")
    text = "\n".join(f.message for f in spec.findings)
    assert URL_TOKEN_OURS not in text
    assert any(f.rule == "plaintext-credential" and "URL" in f.message for f in spec.findings)


def test_a_token_in_a_probe_header_is_a_plaintext_credential():
    raw = (
        "apiVersion: v1\nname: demo\nimage: nginx:1.27\n"
        "resources: {machineType: C4, ports: [8080]}\n"
        "healthChecks:\n  liveness:\n    path: /\n    headers:\n"
        "      - {name: Authorization, value: 'Bearer ghp_" + "a" * 36 + "'}\n"
    ).encode()
    rules = [f.rule for f in lint_bytes(raw, "p.yaml").findings]
    assert "plaintext-credential" in rules


def test_the_emulator_never_echoes_a_secret_fields_value():
    checker = _Checker()
    checker.enum("hunter2-Canary-value", ["config", "basicAuthKey"], ("a", "b"))
    checker.enum("https://u:pw-Canary-1@h", ["config", "region"], ("a", "b"))
    dumped = json.dumps(checker.issues)
    assert "hunter2" not in dumped and "pw-Canary-1" not in dumped


def test_the_api_config_registers_the_specs_plaintext_credentials(scratch_secrets):
    env = [{"name": "PORT", "value": "8080"}, {"name": "HF_TOKEN", "value": "hf-Canary-55"}]
    loaded = SimpleNamespace(
        data={**_spec(HEADER_OURS, URL_TOKEN_OURS), "basicAuthKey": "basic-Canary-4411", "env": env}
    )
    api_config(loaded, None)
    echoed = f"server said: {URL_TOKEN_OURS} {HEADER_OURS} basic-Canary-4411 hf-Canary-55 port 8080"
    out = scratch_secrets.scrub(echoed)
    for secret in (URL_TOKEN_OURS, HEADER_OURS, "basic-Canary-4411", "hf-Canary-55"):
        assert secret not in out
    assert "port 8080" in out  # a plain env value is not a secret: logs keep their numbers


@pytest.mark.parametrize("option", ["build-args", "secrets", "labels"])
def test_a_malformed_key_value_line_is_never_echoed(option):
    """A build-args line without '=' is often a pasted token: the error names the input only."""
    from paperspace_deploy import options

    token = "ghp_" + "Z" * 36  # a pasted token, no KEY= in front
    env = {f"INPUT_{option.upper()}": f"GOOD=1\n{token}\n"}
    with pytest.raises(Exception) as caught:
        options.read_inputs(env, "build")
    assert option in str(caught.value) and token[:8] not in str(caught.value)


@pytest.mark.parametrize("name", ["PAPERSPACE_API_KEY", "REGISTRY_PASSWORD", "GITHUB_TOKEN"])
def test_io_scrubs_the_secret_environment_variables(scratch_secrets, name):
    import io

    from paperspace_deploy.io import Io

    value = f"env-secret-{name}-Canary-5521"
    out = io.StringIO()
    Io(stdout=out, stderr=out, environ={name: value}).out(f"echoed: {value}")
    assert value not in out.getvalue() and "echoed: ***" in out.getvalue()


def test_a_deploy_request_registers_its_api_key(scratch_secrets, tmp_path):
    from paperspace_deploy.deploy import DeployRequest

    key = "psk-Canary-" + "7" * 24
    DeployRequest.for_spec(tmp_path / "paperspace.yaml", project_id="p0000000042", api_key=key)
    assert key not in scratch_secrets.scrub(f"server said {key}")
