"""Preview caps and names as plain functions: TTLs, the template, the name rule, the pattern."""

from __future__ import annotations

import pytest

from paperspace_deploy import preview
from paperspace_deploy.errors import InputError

CPU = {"metric": "cpu", "summary": "average", "value": 60}


def spec(**res: object) -> dict:
    resources = {"machineType": "A4000", "ports": [8000], "replicas": 1, **res}
    return {"apiVersion": "v1", "name": "demo", "image": "x", "resources": resources}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3d", 259200),
        ("72h", 259200),
        ("90m", 5400),
        ("1w", 604800),
        ("3600s", 3600),
        (" 2D ", 172800),
    ],
)
def test_parse_ttl(text: str, seconds: float) -> None:
    assert preview.parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "3", "3 days", "-1d", "30s", "400d", "1.5h", "3dd"])
def test_parse_ttl_refuses(text: str) -> None:
    with pytest.raises(InputError, match="preview-ttl"):
        preview.parse_ttl(text)


def test_ttl_text() -> None:
    assert [preview.ttl_text(s) for s in (259200, 86400, 7200, 5400, 90)] == [
        "3 days", "1 day", "2 hours", "90 minutes", "90 seconds"]  # fmt: skip


def test_policy_from_inputs_defaults_and_errors() -> None:
    p = preview.policy_from_inputs()
    assert p == preview.PreviewPolicy() and p.max_replicas == 1 and p.ttl == 3 * 86400
    assert p.name_template == "{name}-pr-{number}" and p.machine_types == ()
    p = preview.policy_from_inputs("{name}-preview-{number}", "2", "A4000, C5\nC4", "C5", "12h")
    assert (p.max_replicas, p.machine_types, p.machine_type, p.ttl) == (
        2,
        ("A4000", "C5", "C4"),
        "C5",
        43200,
    )
    with pytest.raises(InputError, match="must be a number"):
        preview.policy_from_inputs(max_replicas="two")
    with pytest.raises(InputError, match=r"must be 1\.\.10"):
        preview.policy_from_inputs(max_replicas="0")
    with pytest.raises(InputError, match="is not in preview-machine-types"):
        preview.policy_from_inputs(machine_types="A4000", machine_type="H100")
    with pytest.raises(InputError, match="is not a machine type name"):
        preview.policy_from_inputs(machine_types="A4000 <b>")


@pytest.mark.parametrize(
    "template", ["{name}", "{name}-{pr}", "pr-{number}-{0}", "{name}-{number", "x"]
)
def test_template_needs_number_and_nothing_else(template: str) -> None:
    with pytest.raises(InputError, match=r"must contain \{number\}"):
        preview.PreviewPolicy(name_template=template)


def test_name_follows_the_platform_rule() -> None:
    policy = preview.PreviewPolicy()
    assert preview.preview_name(policy, "demo", 12) == "demo-pr-12"
    assert preview.preview_name(preview.PreviewPolicy(name_template="pr{number}"), "x", 3) == "pr3"
    with pytest.raises(InputError, match="breaks the deployment name rule"):
        preview.preview_name(policy, "d" * 125, 12)  # 131 characters > 128
    with pytest.raises(InputError, match="breaks the deployment name rule"):
        preview.preview_name(preview.PreviewPolicy(name_template="-{name}-{number}"), "demo", 1)
    with pytest.raises(InputError, match="breaks the deployment name rule"):
        preview.preview_name(preview.PreviewPolicy(name_template="{name}\n{number}"), "demo", 1)
    with pytest.raises(InputError, match="must be positive"):
        preview.preview_name(policy, "demo", 0)


def test_sweep_pattern_matches_previews_of_this_name_only() -> None:
    pattern = preview.name_pattern(preview.PreviewPolicy(), "demo.api")
    assert pattern.fullmatch("demo.api-pr-12") and pattern.fullmatch("demo.api-pr-1")
    for other in ("demo.api", "demoXapi-pr-1", "demo.api-pr-", "demo.api-pr-01", "demo.api-pr-1-x",
                  "x-demo.api-pr-1", "demo.api-pr-12345678901", "demo.api-pr-1\n"):  # fmt: skip
        assert not pattern.fullmatch(other), other


def test_preview_spec_caps_and_notes() -> None:
    data, notes = preview.preview_spec(
        spec(replicas=4, autoscaling={"maxReplicas": 8, "metrics": [CPU]}),
        5,
        preview.PreviewPolicy(),
    )
    assert data["name"] == "demo-pr-5" and data["resources"]["replicas"] == 1
    assert "autoscaling" not in data["resources"]
    assert notes == ["name: demo -> demo-pr-5", "replicas: 4 -> 1 (preview-max-replicas)",
                     "autoscaling: off (a preview runs a fixed number of replicas)"]  # fmt: skip
    original = spec(replicas=4)
    preview.preview_spec(original, 5, preview.PreviewPolicy())
    assert original["resources"]["replicas"] == 4  # the input is never changed


def test_preview_spec_machine_allow_list_legacy_shape() -> None:
    legacy = {"apiVersion": "v0alpha0", "name": "old", "image": "x", "port": 80,
              "resources": {"instanceType": "P6000", "replicas": 1}}  # fmt: skip
    policy = preview.PreviewPolicy(machine_types=("P4000",), machine_type="P4000")
    data, notes = preview.preview_spec(legacy, 9, policy)
    assert data["resources"] == {"instanceType": "P4000", "replicas": 1}
    assert "machine type: P6000 -> P4000 (allowed: P4000)" in notes
    with pytest.raises(preview.PreviewRefused, match=r"P6000 is not allowed .*P4000"):
        preview.preview_spec(legacy, 9, preview.PreviewPolicy(machine_types=("P4000",)))
    kept, _ = preview.preview_spec(spec(), 9, preview.PreviewPolicy(machine_types=("A4000",)))
    assert kept["resources"]["machineType"] == "A4000"
