"""GitLab Code Quality report (a JSON array; `artifacts: reports: codequality:`)."""

from __future__ import annotations

import hashlib
import json

from paperspace_deploy.report.render import LintResult
from paperspace_deploy.spec.findings import Severity

SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.NOTICE: "info"}


def render(result: LintResult) -> str:
    issues = []
    for f in result.findings:
        # stable across runs for the same problem; line excluded so unrelated edits keep it
        key = f"{f.path}\0{f.rule}\0{f.message}".encode()
        issues.append(
            {
                "type": "issue",
                "check_name": f.rule,
                "description": f.message,
                "categories": ["Bug Risk"],
                "severity": SEVERITY[f.severity],
                "fingerprint": hashlib.sha256(key).hexdigest()[:32],
                "location": {"path": f.path, "lines": {"begin": f.line}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
