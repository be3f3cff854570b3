"""Reporters: text, json, sarif, gitlab and the GitHub annotations, on the same findings.

SARIF is checked against the official OASIS schema (tests/fixtures/schemas) and against the rules
GitHub code scanning applies on upload (rules with help and fullDescription, fingerprints,
locations relative to the repository root).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sarif_checks import github_ingestion_problems, schema_errors

from paperspace_deploy.io import Io
from paperspace_deploy.report import gitlab, sarif, text
from paperspace_deploy.report import json as json_report
from paperspace_deploy.report.github import annotated
from paperspace_deploy.report.github_lint import report as github_report
from paperspace_deploy.report.render import REPORTERS
from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.report.rules import RULES
from paperspace_deploy.spec.findings import Finding, Severity

REPO = Path("/work/repo")
CTX = ReportContext(root=REPO, cwd=REPO)


def result(n_errors: int = 2, n_warnings: int = 1) -> LintResult:
    findings = [
        Finding("a/paperspace.yaml", i + 1, 3, Severity.ERROR, "unknown-key",
                f"unknown key 'k{i}' 50%, a:b\r\nnext ##[error]x", json_path=f"$.k{i}")
        for i in range(n_errors)
    ] + [
        Finding("a/paperspace.yaml", 100 + i, 1, Severity.WARNING, "legacy-shape", f"w{i}")
        for i in range(n_warnings)
    ]  # fmt: skip
    return LintResult(files=["a/paperspace.yaml", "b.yaml"], findings=findings)


def test_reporters_table_names_every_file_format():
    assert set(REPORTERS) == {"text", "json", "sarif", "gitlab"}
    for render in REPORTERS.values():
        assert render(result(), CTX).endswith("\n")


def test_text_format():
    out = text.render(result(1, 1), CTX).splitlines()
    assert out[0] == (
        "a/paperspace.yaml:1:3: error: unknown key 'k0' 50%, a:b next ##[error]x [unknown-key]"
    )
    assert out[-1] == "checked 2 file(s): 1 error(s), 1 warning(s) in 1 invalid file(s)"


def test_json_format():
    doc = json.loads(json_report.render(result(), CTX))
    assert doc["summary"] == {"files": 2, "errors": 2, "warnings": 1, "notices": 0}
    assert doc["findings"][0]["severity"] == "error"
    assert doc["findings"][0]["json_path"] == "$.k0"
    assert doc["findings"][0]["message"].endswith("next ##[error]x")  # same data, decoded
    assert set(doc["findings"][0]) >= {"path", "line", "col", "severity", "rule", "message"}


def _sarif(res: LintResult, ctx: ReportContext = CTX) -> dict:
    return json.loads(sarif.render(res, ctx))


def test_sarif_validates_against_the_official_schema():
    doc = _sarif(result(3, 2))
    assert schema_errors(doc) == []
    doc["runs"][0]["results"][0]["level"] = "fatal"
    doc["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = "not a uri"
    assert len(schema_errors(doc)) == 2  # the validator does catch mistakes


def test_sarif_passes_githubs_ingestion_rules():
    doc = _sarif(result(3, 2))
    assert github_ingestion_problems(doc) == []
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    ids = [r["id"] for r in driver["rules"]]
    assert ids == ["legacy-shape", "unknown-key"]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] == RULES[rule["id"]].short
        assert rule["fullDescription"]["text"] == RULES[rule["id"]].full
    assert driver["rules"][1]["name"] == "UnknownKey"
    assert run["originalUriBaseIds"] == {"SRCROOT": {"uri": "file:///work/repo/"}}
    for res in run["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        phys = res["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"] == {"uri": "a/paperspace.yaml", "uriBaseId": "SRCROOT"}
    assert len({json.dumps(r["partialFingerprints"]) for r in run["results"]}) == 5
    # the checker itself finds what the old reporter got wrong
    bad = _sarif(result(1, 0))
    del bad["runs"][0]["tool"]["driver"]["rules"][0]["help"]
    del bad["runs"][0]["results"][0]["partialFingerprints"]
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] = {
        "uri": "/work/repo/a/paperspace.yaml"
    }
    assert len(github_ingestion_problems(bad)) == 4


def test_sarif_and_gitlab_paths_are_from_the_repository_root():
    # lint ran in a subdirectory: its paths are relative to that, the reports' to the root
    ctx = ReportContext(root=REPO, cwd=REPO / "services" / "api")
    res = LintResult(
        files=["paperspace.yaml", "../../other/paperspace.yaml", "/elsewhere/paperspace.yaml"],
        findings=[
            Finding(p, 1, 1, Severity.ERROR, "unknown-key", "m", json_path="$.x")
            for p in ("paperspace.yaml", "../../other/paperspace.yaml")
        ]
        + [Finding("/elsewhere/paperspace.yaml", 1, 1, Severity.ERROR, "unknown-key", "m")],
    )
    run = _sarif(res, ctx)["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert uris == [
        {"uri": "services/api/paperspace.yaml", "uriBaseId": "SRCROOT"},
        {"uri": "other/paperspace.yaml", "uriBaseId": "SRCROOT"},
        {"uri": "file:///elsewhere/paperspace.yaml"},  # outside the repository: absolute
    ]
    paths = [i["location"]["path"] for i in json.loads(gitlab.render(res, ctx))]
    assert paths[:2] == ["services/api/paperspace.yaml", "other/paperspace.yaml"]


def test_report_context_is_for_the_runner_only_on_github_actions():
    # the root itself is the workspace's (workspace_root: tests/unit/test_workspace.py)
    root = Path("/w")
    ctx = ReportContext.for_workspace(root, {"GITHUB_ACTIONS": "true"})
    assert ctx.root == ctx.cwd == root and ctx.for_runner
    assert not ReportContext.for_workspace(root, {}).for_runner


def test_gitlab_code_quality():
    doc = json.loads(gitlab.render(result(), CTX))
    assert isinstance(doc, list) and len(doc) == 3
    assert len({i["fingerprint"] for i in doc}) == 3
    for issue in doc:
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert issue["check_name"] and issue["description"]
        assert issue["location"]["path"] == "a/paperspace.yaml"
        assert issue["location"]["lines"]["begin"] >= 1


def test_github_annotations_escaped_and_capped(tmp_path):
    summary = tmp_path / "summary.md"
    out = io.StringIO()
    github_report(
        result(14, 12),
        Io(stdout=out, stderr=io.StringIO(), environ={"GITHUB_STEP_SUMMARY": str(summary)}),
        CTX,
    )
    lines = out.getvalue().splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(errors) == 10 and len(warnings) == 10
    assert errors[0].startswith(
        "::error title=paperspace-deploy lint%3A unknown-key,file=a/paperspace.yaml,line=1,col=3::"
    )
    assert "50%25, a:b%0D%0Anext" in errors[0]
    plain = [line for line in lines if not line.startswith("::")]
    assert len(plain) == 27  # every finding as text, plus the summary line
    assert not any("##[" in line for line in plain)  # the legacy command syntax is neutralised
    assert "6 not annotated" in plain[-1]
    table = summary.read_text()
    assert table.count("| ❌&nbsp;error") == 14 and table.count("| ⚠️&nbsp;warning") == 12


def _spread(counts: dict[str, int], severity: Severity = Severity.ERROR) -> list[Finding]:
    return [
        Finding(path, line, 1, severity, "unknown-key", "m")
        for path, n in counts.items()
        for line in range(1, n + 1)
    ]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # the case from issue 13: with three files all ten went to the first two
        ({"a.yaml": 6, "b.yaml": 6, "c.yaml": 6}, {"a.yaml": 4, "b.yaml": 3, "c.yaml": 3}),
        ({"a.yaml": 30, "b.yaml": 1, "c.yaml": 2}, {"a.yaml": 7, "b.yaml": 1, "c.yaml": 2}),
        ({"a.yaml": 3, "b.yaml": 2}, {"a.yaml": 3, "b.yaml": 2}),
        ({f"f{i}.yaml": 2 for i in range(12)}, {f"f{i}.yaml": 1 for i in range(10)}),
    ],
)
def test_annotation_budget_is_shared_across_files(counts, expected):
    findings = _spread(counts)
    got: dict[str, int] = {}
    for f, shown in zip(findings, annotated(findings), strict=True):
        got[f.path] = got.get(f.path, 0) + shown
    assert {k: v for k, v in got.items() if v} == expected
    # each severity has its own budget
    both = findings + _spread(counts, Severity.WARNING)
    assert sum(annotated(both)) == 2 * sum(expected.values())


def test_lint_format_choices_are_the_reporters_and_github():
    from paperspace_deploy.commands.lint import FORMATS
    from paperspace_deploy.report.render import REPORTERS

    assert set(FORMATS) == set(REPORTERS) | {"github"}
