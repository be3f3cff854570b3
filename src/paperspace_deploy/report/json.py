"""Machine-readable findings: version, files, findings and a summary."""

from __future__ import annotations

import json as _json
import re

from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.spec.findings import Severity

_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(doc: object) -> str:
    """JSON that is safe to print in a GitHub runner log and decodes to the same data.

    The runner runs `##[cmd]` found anywhere in a line (report/github.py neutralize()); in JSON a
    `#` can only sit inside a string, where `\\u0023` is the same character. A line of indented
    JSON never starts with `::` (newlines inside strings are escaped). Lone surrogates (from JSON
    escapes in a spec) are written as escapes too.
    """
    text = _json.dumps(doc, indent=2, ensure_ascii=False)
    if _SURROGATE.search(text):
        text = _json.dumps(doc, indent=2, ensure_ascii=True)
    return text.replace("##[", "#\\u0023[") + "\n"


def render(result: LintResult, ctx: ReportContext) -> str:
    doc = {
        "version": 1,
        "files": result.files,
        "findings": [f.as_dict() for f in result.findings],
        "summary": {
            "files": len(result.files),
            "errors": result.count(Severity.ERROR),
            "warnings": result.count(Severity.WARNING),
            "notices": result.count(Severity.NOTICE),
        },
    }
    return dumps(doc)
