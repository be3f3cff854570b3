"""SARIF 2.1.0 (what GitHub code scanning ingests via github/codeql-action/upload-sarif)."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from paperspace_deploy import __version__
from paperspace_deploy.report.render import RULE_HELP, LintResult
from paperspace_deploy.spec.findings import Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}
INFO_URI = "https://github.com/paperspace-deploy/paperspace-deploy/blob/main/docs/linting.md"


def _uri(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).as_posix().removeprefix("./")


def render(result: LintResult) -> str:
    rule_ids = sorted({f.rule for f in result.findings})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    rules = [
        {
            "id": rule,
            "name": rule,
            "shortDescription": {"text": RULE_HELP.get(rule, rule)},
            "helpUri": f"{INFO_URI}#rules",
        }
        for rule in rule_ids
    ]
    results = []
    for f in result.findings:
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
                            "artifactLocation": {"uri": _uri(f.path)},
                            "region": region,
                        }
                    }
                ],
            }
        )
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "paperspace-deploy",
                        "version": __version__,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "artifacts": [{"location": {"uri": _uri(p)}} for p in result.files],
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
