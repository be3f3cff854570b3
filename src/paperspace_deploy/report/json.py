"""Machine-readable findings: version, files, findings and a summary."""

from __future__ import annotations

import json as _json

from paperspace_deploy.report.render import LintResult
from paperspace_deploy.spec.findings import Severity


def render(result: LintResult) -> str:
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
    return _json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
