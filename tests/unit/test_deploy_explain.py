"""spec/shapes.py (which API shape a spec is closest to) and deploy/explain.py (a 400 as
findings a user can act on, also when the server only says "Invalid input")."""

from __future__ import annotations

from paperspace_deploy.deploy.explain import is_vague, rejection_findings
from paperspace_deploy.spec import lint_bytes, shapes

V1 = {"apiVersion": "v1", "name": "x", "image": "i",
      "resources": {"machineType": "C4", "ports": [80]}}  # fmt: skip
LEGACY = b"""apiVersion: latest
name: demo
image: nginx:1
port: "7860"
resources:
  instanceType: A4000
  replicas: 2
"""
UNION = [{"code": "invalid_union", "path": ["config"], "message": "Invalid input",
          "unionErrors": [
              {"issues": [{"code": "invalid_union_discriminator", "path": ["config", "apiVersion"],
                           "message": "Invalid discriminator value"}], "name": "ZodError"},
              {"issues": [{"code": "custom", "path": ["config", "healthChecks", "readiness",
                                                      "port"],
                           "message": "Probe port 9 must be one of resources.ports"}],
               "name": "ZodError"}]}]  # fmt: skip


def test_closest_shape_and_differences():
    assert shapes.closest(V1) == (shapes.V1, [])
    legacy = {"apiVersion": "v0alpha0", "name": "x", "image": "i", "port": 80,
              "resources": {"instanceType": "C4"}}  # fmt: skip
    assert shapes.closest(legacy) == (shapes.V0ALPHA0, [])
    shape, diffs = shapes.closest({**V1, "resources": {"machineType": "C4"}})
    assert shape is shapes.V1 and [d.text for d in diffs] == ["`resources.ports` is required in v1"]
    shape, diffs = shapes.closest({**legacy, "apiVersion": "v1"})
    assert shape is shapes.V0ALPHA0 and "apiVersion 'v1' is not v0alpha0's" in diffs[0].text


def test_latest_with_v0_fields_names_each_key_and_the_v1_rewrite():
    data = {"name": "d", "image": "i", "port": "7860", "models": [],
            "resources": {"instanceType": "A4000", "replicas": 2}}  # fmt: skip
    problems = shapes.latest_v0_problems(data)
    head = problems[0]
    assert head.path == () and head.message.startswith("no apiVersion (sent as 'latest')")
    assert ("apiVersion: v1, resources: {machineType: A4000, ports: [7860], replicas: 2}, and "
            "remove port, models") in head.message  # fmt: skip
    assert [p.path for p in problems[1:]] == [("port",), ("models",), ("resources", "instanceType")]
    assert shapes.latest_v0_problems(V1) == []
    assert shapes.latest_v0_problems({**data, "apiVersion": "v0alpha0"}) == []


def test_a_vague_union_answer_is_explained_at_the_lines_of_the_spec():
    loaded = lint_bytes(LEGACY, "app.yaml")
    config = dict(loaded.data)
    findings = rejection_findings(UNION, loaded, "app.yaml", config)
    where = {(f.line, f.col, f.rule) for f in findings}
    assert {(1, 1, "api-shape"), (4, 1, "api-shape"), (6, 3, "api-shape")} <= where
    assert "Paperspace rejected the spec (Invalid input)" in findings[0].message
    assert "ports: [7860]" in findings[0].message


def test_a_vague_answer_for_a_spec_that_fits_a_shape_shows_the_servers_branch():
    loaded = lint_bytes(
        b"apiVersion: v1\nname: x\nimage: i\nresources:\n  machineType: C4\n  ports: [80]\n"
        b"healthChecks:\n  readiness:\n    path: /\n    port: 9\n",
        "app.yaml",
    )
    (finding,) = rejection_findings(UNION, loaded, "app.yaml", dict(loaded.data))
    assert (finding.line, finding.rule) == (10, "api-validation")
    assert "must be one of resources.ports" in finding.message
    bare = [{"code": "custom", "path": [], "message": "Invalid input"}]
    (finding,) = rejection_findings(bare, loaded, "app.yaml", dict(loaded.data))
    assert "without naming a field" in finding.message


def test_flat_issues_stay_as_they_are():
    issues = [{"code": "invalid_type", "path": ["config", "image"], "message": "Required"}]
    assert not is_vague(issues) and is_vague(UNION)
    loaded = lint_bytes(b"apiVersion: v1\nname: x\nimage: i\n", "a.yaml")
    (finding,) = rejection_findings(issues, loaded, "a.yaml", {**V1})
    assert finding.message == "Paperspace rejected image: Required" and finding.line == 3
