"""GitLab Code Quality report (a JSON array; `artifacts: reports: codequality:`).

Paths are from the repository root (CI_PROJECT_DIR, via ReportContext.root), as GitLab expects;
fingerprints come from report/fingerprint.py, so unrelated edits keep them.
"""

from __future__ import annotations

from paperspace_deploy.report.fingerprint import fingerprints
from paperspace_deploy.report.json import dumps
from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.spec.findings import Severity

SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.NOTICE: "info"}


def render(result: LintResult, ctx: ReportContext) -> str:
    issues = [
        {
            "type": "issue",
            "check_name": f.rule,
            "description": f.message,
            "categories": ["Bug Risk"],
            "severity": SEVERITY[f.severity],
            "fingerprint": fingerprint,
            "location": {"path": ctx.relative(f.path) or f.path, "lines": {"begin": f.line}},
        }
        for f, fingerprint in zip(result.findings, fingerprints(result.findings, ctx), strict=True)
    ]
    return dumps(issues)
