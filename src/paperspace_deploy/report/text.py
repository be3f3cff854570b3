"""`path:line:col: severity: message [rule]`, one line per finding."""

from __future__ import annotations

from paperspace_deploy.report.render import LintResult
from paperspace_deploy.spec.findings import Finding


def line(f: Finding) -> str:
    # messages are built by us, but values inside them came from the file: keep them on one line
    message = f.message.replace("\r", " ").replace("\n", " ")
    return f"{f.path}:{f.line}:{f.col}: {f.severity.value}: {message} [{f.rule}]"


def render(result: LintResult) -> str:
    lines = [line(f) for f in result.findings]
    lines.append(result.summary())
    return "\n".join(lines) + "\n"
