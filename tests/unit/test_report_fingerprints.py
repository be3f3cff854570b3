"""Fingerprints (SARIF partialFingerprints, GitLab Code Quality) survive unrelated edits.

Issue 13: one added env entry changed 5 of 15 GitLab fingerprints (they hashed the message, which
names `env[2]` and other positions), so a merge request showed 5 fixed + 5 new for the same
problems. They now come from rule + path from the repository root + the finding's JSONPath.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperspace_deploy.report import gitlab, sarif
from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.spec import lint_bytes
from paperspace_deploy.spec.findings import json_path

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / "many-findings.yaml"
ROOT = Path("/builds/acme/app")
CTX = ReportContext(root=ROOT, cwd=ROOT)
NEW_ENTRY = "  - name: ADDED\n    value: 'added above every env finding'\n"


def lint(text: str) -> LintResult:
    spec = lint_bytes(text.encode(), "deploy/paperspace.yaml")
    return LintResult(files=[spec.path], findings=spec.findings)


def edited(text: str) -> str:
    """The same spec with one env entry added first (above every env finding)."""
    return text.replace("env:\n", "env:\n" + NEW_ENTRY, 1)


def gitlab_prints(res: LintResult) -> dict[str, tuple[str, str]]:
    issues = json.loads(gitlab.render(res, CTX))
    return {i["fingerprint"]: (i["check_name"], i["location"]["path"]) for i in issues}


def sarif_prints(res: LintResult) -> list[str]:
    run = json.loads(sarif.render(res, CTX))["runs"][0]
    return [r["partialFingerprints"]["paperspaceDeployFinding/v1"] for r in run["results"]]


def test_an_added_env_entry_changes_no_fingerprint():
    before, after = lint(SPEC.read_text()), lint(edited(SPEC.read_text()))
    assert len(before.findings) >= 15
    assert [f.rule for f in before.findings] == [f.rule for f in after.findings]
    # the edit really moved things: lines shifted and position-naming messages changed
    moved = [a for b, a in zip(before.findings, after.findings, strict=True) if a.line != b.line]
    assert len(moved) >= 15
    pairs = zip(before.findings, after.findings, strict=True)
    assert sum(b.message != a.message for b, a in pairs) == 3  # `env[0]`, `env[1]` -> [1], [2]
    # ... and no fingerprint moved
    assert gitlab_prints(before) == gitlab_prints(after)
    assert sarif_prints(before) == sarif_prints(after)
    assert len(set(sarif_prints(before))) == len(before.findings)  # one per finding


def test_fingerprints_tell_files_and_problems_apart():
    res = lint(SPEC.read_text())
    other = LintResult(files=["b/paperspace.yaml"], findings=[
        f.__class__(**{**f.as_dict(), "severity": f.severity, "path": "b/paperspace.yaml"})
        for f in res.findings
    ])  # fmt: skip
    assert not set(gitlab_prints(res)) & set(gitlab_prints(other))
    # the same rule at two nodes differs; a fix removes exactly that fingerprint
    fixed = lint(SPEC.read_text().replace("region: eu1\n", ""))
    assert len(set(gitlab_prints(res)) - set(gitlab_prints(fixed))) == 1


def test_fingerprints_depend_on_the_path_from_the_repository_root():
    res = lint(SPEC.read_text())
    from_subdir = LintResult(res.files, [
        f.__class__(**{**f.as_dict(), "severity": f.severity, "path": "paperspace.yaml"})
        for f in res.findings
    ])  # fmt: skip
    subdir = ReportContext(root=ROOT, cwd=ROOT / "deploy")
    assert json.loads(gitlab.render(from_subdir, subdir)) == json.loads(gitlab.render(res, CTX))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("env", 1, "value"), "$.env[?@.name=='B'].value"),
        (("env", 2, "value"), "$.env[2].value"),  # no name: by index
        (("resources", "ports", 0), "$.resources.ports[0]"),
        (("[pwn](x)", "a b"), "$['[pwn](x)']['a b']"),
        (("it's\\\u202e",), "$['it\\'s\\\\\\u202e']"),
        (("env", 9), "$.env[9]"),  # past the end: still a path
    ],
)
def test_json_path(path, expected):
    data = {"env": [{"name": "A"}, {"name": "B", "value": 1}, {"value": 2}], "resources": {}}
    data["[pwn](x)"] = {}
    assert json_path(data, path) == expected


def test_json_path_of_a_huge_key_is_bounded_and_still_unique():
    a, b = "k" * 5000 + "a", "k" * 5000 + "b"
    pa, pb = json_path({}, (a,)), json_path({}, (b,))
    assert len(pa) < 200 and pa != pb
