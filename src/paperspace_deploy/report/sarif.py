"""SARIF 2.1.0 as GitHub code scanning ingests it (github/codeql-action/upload-sarif).

What GitHub's ingestion rules ask for: every rule with shortDescription, fullDescription, help
and helpUri (from the one rule table, report/rules.py); `partialFingerprints` so a re-upload
updates alerts instead of duplicating them; locations relative to the repository root with a
`uriBaseId` whose absolute URI is given in `originalUriBaseIds`.
"""

from __future__ import annotations

import os
from pathlib import Path

from paperspace_deploy import __version__
from paperspace_deploy.report.fingerprint import fingerprints
from paperspace_deploy.report.json import dumps
from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.report.rules import RULES, Rule
from paperspace_deploy.spec.findings import Severity

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}
INFO_URI = "https://github.com/paperspace-deploy/paperspace-deploy/blob/main/docs/linting.md"
HELP_URI = f"{INFO_URI}#rules"
ROOT = "SRCROOT"
FINGERPRINT = "paperspaceDeployFinding/v1"


def _name(rule: str) -> str:
    return "".join(part.capitalize() for part in rule.split("-"))  # unknown-key -> UnknownKey


def _descriptor(rule_id: str) -> dict[str, object]:
    rule = RULES.get(rule_id) or Rule("error", rule_id, rule_id)
    level = {"warning": "warning", "notice": "note"}.get(rule.severity.split()[0], "error")
    return {
        "id": rule_id,
        "name": _name(rule_id),
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.full},
        "help": {
            "text": f"{rule.full} See {HELP_URI}",
            "markdown": f"{rule.full}\n\nSee [the rules of paperspace-deploy lint]({HELP_URI}).",
        },
        "helpUri": HELP_URI,
        "defaultConfiguration": {"level": level},
    }


def _location(path: str, ctx: ReportContext) -> dict[str, str]:
    rel = ctx.relative(path)
    if rel is None:  # outside the repository: an absolute file URI, no base
        return {"uri": Path(os.path.abspath(os.path.join(ctx.cwd, path))).as_uri()}
    return {"uri": rel, "uriBaseId": ROOT}


def render(result: LintResult, ctx: ReportContext) -> str:
    rule_ids = sorted({f.rule for f in result.findings})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    results = []
    for f, fingerprint in zip(result.findings, fingerprints(result.findings, ctx), strict=True):
        region: dict[str, int] = {"startLine": f.line, "startColumn": f.col}
        if f.end_line:
            region["endLine"] = f.end_line
        if f.end_col:
            region["endColumn"] = f.end_col
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": LEVELS[f.severity],
                "message": {"text": f.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": _location(f.path, ctx),
                            "region": region,
                        }
                    }
                ],
                "partialFingerprints": {FINGERPRINT: fingerprint},
            }
        )
    root_uri = Path(os.path.abspath(ctx.root)).as_uri().rstrip("/") + "/"
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "paperspace-deploy",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFO_URI,
                        "rules": [_descriptor(rule) for rule in rule_ids],
                    }
                },
                "originalUriBaseIds": {ROOT: {"uri": root_uri}},
                "artifacts": [{"location": _location(p, ctx)} for p in result.files],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return dumps(doc)
