"""`path:line:col: severity: message [rule]`, one line per finding."""

from __future__ import annotations

from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.safetext import collapse, neutralize
from paperspace_deploy.spec.findings import Finding


def line(f: Finding) -> str:
    # messages are built by us, but values inside them (and paths) came from the checkout
    where = f"{collapse(f.path)}:{f.line}:{f.col}"
    return f"{where}: {f.severity.value}: {collapse(f.message)} [{f.rule}]"


def lines(result: LintResult, ctx: ReportContext) -> list[str]:
    out = [line(f) for f in result.findings]
    out.append(result.summary())
    if ctx.for_runner:  # a runner log: no line may become a workflow command
        out = [neutralize(x) for x in out]
    return out


def render(result: LintResult, ctx: ReportContext) -> str:
    return "\n".join(lines(result, ctx)) + "\n"
