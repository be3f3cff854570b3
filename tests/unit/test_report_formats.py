"""Reporters: text, json, sarif, gitlab and the GitHub annotations, on the same findings."""

from __future__ import annotations

import io
import json

from paperspace_deploy.io import Io
from paperspace_deploy.report import gitlab, sarif, text
from paperspace_deploy.report import json as json_report
from paperspace_deploy.report.github_lint import report as github_report
from paperspace_deploy.report.render import RULE_HELP, LintResult
from paperspace_deploy.spec.findings import Finding, Severity


def result(n_errors: int = 2, n_warnings: int = 1) -> LintResult:
    findings = [
        Finding("a/paperspace.yaml", i + 1, 3, Severity.ERROR, "unknown-key",
                f"unknown key 'k{i}' 50%, a:b\r\nnext ##[error]x")
        for i in range(n_errors)
    ] + [
        Finding("a/paperspace.yaml", 100 + i, 1, Severity.WARNING, "legacy-shape", f"w{i}")
        for i in range(n_warnings)
    ]  # fmt: skip
    return LintResult(files=["a/paperspace.yaml", "b.yaml"], findings=findings)


def test_text_format():
    out = text.render(result(1, 1)).splitlines()
    assert out[0] == (
        "a/paperspace.yaml:1:3: error: unknown key 'k0' 50%, a:b  next ##[error]x [unknown-key]"
    )
    assert out[-1] == "checked 2 file(s): 1 error(s), 1 warning(s) in 1 invalid file(s)"


def test_json_format():
    doc = json.loads(json_report.render(result()))
    assert doc["summary"] == {"files": 2, "errors": 2, "warnings": 1, "notices": 0}
    assert doc["findings"][0]["severity"] == "error"
    assert set(doc["findings"][0]) >= {"path", "line", "col", "severity", "rule", "message"}


def test_sarif_required_fields():
    doc = json.loads(sarif.render(result()))
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "paperspace-deploy" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(set(ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] == RULE_HELP[rule["id"]]
    assert len(run["results"]) == 3
    for res in run["results"]:
        assert res["level"] in ("error", "warning", "note")
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["message"]["text"]
        (loc,) = res["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"] == "a/paperspace.yaml"
        assert phys["region"]["startLine"] >= 1 and phys["region"]["startColumn"] >= 1


def test_every_rule_produced_by_the_fixtures_has_help():
    from pathlib import Path

    from paperspace_deploy.spec import lint_file

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    produced = {
        f.rule
        for path in fixtures.rglob("*")
        if path.is_file() and path.suffix in (".yaml", ".json", ".jsonc", ".toml")
        for f in lint_file(path).findings
    }
    assert len(produced) >= 30
    assert produced <= set(RULE_HELP)


def test_gitlab_code_quality():
    doc = json.loads(gitlab.render(result()))
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
    assert table.count("| a/paperspace.yaml:") == 26


# The parts of the SARIF 2.1.0 schema (sarif-schema-2.1.0.json) that a result we emit touches,
# with their `required` lists and enums as in the standard.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/run"}},
    },
    "$defs": {
        "run": {
            "type": "object",
            "required": ["tool"],
            "properties": {
                "tool": {
                    "type": "object",
                    "required": ["driver"],
                    "properties": {"driver": {"$ref": "#/$defs/component"}},
                },
                "results": {"type": "array", "items": {"$ref": "#/$defs/result"}},
                "artifacts": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"location": {
                        "$ref": "#/$defs/artifactLocation"}}},
                },
            },
        },
        "component": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "informationUri": {"type": "string", "format": "uri"},
                "rules": {"type": "array", "items": {
                    "type": "object", "required": ["id"],
                    "properties": {"id": {"type": "string"},
                                   "shortDescription": {"$ref": "#/$defs/message"},
                                   "helpUri": {"type": "string", "format": "uri"}}}},
            },
        },
        "message": {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}]},
        "artifactLocation": {"type": "object", "properties": {"uri": {"type": "string"}}},
        "result": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": -1},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "message": {"$ref": "#/$defs/message"},
                "locations": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"physicalLocation": {
                        "type": "object",
                        "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}],
                        "properties": {
                            "artifactLocation": {"$ref": "#/$defs/artifactLocation"},
                            "region": {"type": "object", "properties": {
                                "startLine": {"type": "integer", "minimum": 1},
                                "startColumn": {"type": "integer", "minimum": 1},
                                "endLine": {"type": "integer", "minimum": 1},
                                "endColumn": {"type": "integer", "minimum": 1}}},
                        },
                    }},
                }},
            },
        },
    },
}  # fmt: skip


def test_sarif_validates_against_the_standard_subset():
    from jsonschema import Draft202012Validator

    from paperspace_deploy.spec.schema import format_checker

    doc = json.loads(sarif.render(result(3, 2)))
    validator = Draft202012Validator(SARIF_SUBSET, format_checker=format_checker())
    assert list(validator.iter_errors(doc)) == []
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(validator.iter_errors(doc))
