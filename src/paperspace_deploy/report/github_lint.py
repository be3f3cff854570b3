"""Lint findings in a GitHub Actions log: every finding as a (neutralised) text line, annotations
(GitHub shows 10 per type and step, shared across files), and the job summary's findings table
(the same renderer as the action's, report/summary.py)."""

from __future__ import annotations

from dataclasses import replace

from paperspace_deploy.io import Io
from paperspace_deploy.report import text
from paperspace_deploy.report.github import GitHub
from paperspace_deploy.report.markdown import cell
from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.report.summary import findings_markdown
from paperspace_deploy.safetext import neutralize


def report(result: LintResult, io: Io, ctx: ReportContext) -> None:
    gh = GitHub(io.commands_stdout, io.environ)
    log = text.lines(result, replace(ctx, for_runner=True))  # this format is for a runner log
    io.stdout.write("".join(line + "\n" for line in log[:-1]))
    hidden = gh.annotate_findings(result.findings, "paperspace-deploy lint")
    summary = result.summary()
    if hidden:
        summary += f" ({hidden} not annotated: GitHub shows 10 per type; all are listed above)"
    io.stdout.write(neutralize(summary) + "\n")
    io.stdout.flush()
    markdown = ["### paperspace-deploy lint", "", cell(result.summary(), 1000), ""]
    gh.add_summary("\n".join(markdown + findings_markdown(result.findings, ctx)) + "\n")
