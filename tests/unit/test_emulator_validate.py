"""The emulator's zod-like validator and fault parser (no server needed)."""

from __future__ import annotations

import pytest

from paperspace_deploy.emulator.faults import Fault, Faults, parse_fault
from paperspace_deploy.emulator.validate import validate_upsert

GOOD = {"apiVersion": "v1", "name": "x", "image": "nginx",
        "resources": {"machineType": "C4", "ports": [80]}}  # fmt: skip


def test_valid_body_gets_defaults_and_unknown_keys_stripped():
    parsed, issues = validate_upsert({"projectId": "p", "config": {**GOOD, "junk": 1}})
    assert issues == []
    assert parsed["config"]["enabled"] is True
    assert parsed["config"]["resources"]["replicas"] == 1 and "junk" not in parsed["config"]


@pytest.mark.parametrize(
    ("config", "path", "code"),
    [
        ({**GOOD, "image": None}, ["config", "image"], "invalid_type"),
        ({k: v for k, v in GOOD.items() if k != "name"}, ["config", "name"], "invalid_type"),
        ({**GOOD, "apiVersion": "v2"}, ["config", "apiVersion"], "invalid_enum_value"),
        ({**GOOD, "env": [{"name": "A", "value": 1}]}, ["config", "env", 0, "value"],
         "invalid_type"),
        ({**GOOD, "integrations": [{"type": "volume", "name": str(i)} for i in range(6)]},
         ["config", "integrations"], "too_big"),
        ({**GOOD, "resources": {"machineType": "C4"}}, ["config", "resources", "ports"],
         "invalid_type"),
    ],
)  # fmt: skip
def test_issues_have_zod_paths(config, path, code):
    parsed, issues = validate_upsert({"projectId": "p", "config": config})
    assert parsed is None
    assert any(i["path"] == path and i["code"] == code for i in issues), issues


def test_legacy_v0_shape_accepted_for_latest():
    legacy = {"apiVersion": "latest", "name": "x", "image": "i", "port": 7860,
              "resources": {"instanceType": "A4000"}}  # fmt: skip
    assert validate_upsert({"projectId": "p", "config": legacy})[1] == []


def test_fault_parsing_and_counting():
    fault = parse_fault("status:503@GET /deployments/*x3")
    assert (fault.kind, fault.status, fault.route, fault.count) == (
        "status", 503, "GET /deployments/*", 3)  # fmt: skip
    assert parse_fault("429:2@*%0.5").fraction == 0.5
    assert parse_fault("drop-after@POST /deployments x1").route == "POST /deployments"
    with pytest.raises(ValueError):
        parse_fault("explode@*")
    faults = Faults([Fault("drop", route="GET /x", count=2)])
    assert faults.pick("POST", "/x") is None
    assert [faults.pick("GET", "/x") is not None for _ in range(3)] == [True, True, False]
    assert faults.total() == 2


def test_optional_server_rules():
    probe = {**GOOD, "healthChecks": {"readiness": {"path": "/", "port": 9}}}
    assert validate_upsert({"projectId": "p", "config": probe})[1] == []
    _, issues = validate_upsert({"projectId": "p", "config": probe}, {"probe-port"})
    assert issues[0]["path"] == ["config", "healthChecks", "readiness", "port"]
    scaling = {
        **GOOD,
        "resources": {
            **GOOD["resources"],
            "replicas": 3,
            "autoscaling": {
                "maxReplicas": 2,
                "metrics": [{"metric": "cpu", "summary": "average", "value": 50}],
            },
        },
    }
    _, issues = validate_upsert({"projectId": "p", "config": scaling}, {"max-replicas"})
    assert issues[0]["path"] == ["config", "resources", "autoscaling", "maxReplicas"]
    _, issues = validate_upsert({"projectId": "p", "config": {**GOOD, "typo": 1}}, {"strict"})
    assert issues[0]["code"] == "unrecognized_keys" and issues[0]["keys"] == ["typo"]


def test_command_modules_stay_light():
    """Building the CLI parser (the lint path) must not import requests, urllib3 or docker."""
    import subprocess
    import sys

    code = (
        "import sys; from paperspace_deploy.cli import build_parser; build_parser(); "
        "import paperspace_deploy.registry, paperspace_deploy.deploy; "
        "bad = [m for m in ('requests', 'urllib3', 'docker') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
