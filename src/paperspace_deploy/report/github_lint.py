"""Lint findings in a GitHub Actions log: every finding as a (neutralised) text line, the first
10 per severity as annotations (GitHub shows no more per step), and a job-summary table."""

from __future__ import annotations

from paperspace_deploy.io import Io
from paperspace_deploy.report.github import GitHub, md_escape, neutralize
from paperspace_deploy.report.render import LintResult
from paperspace_deploy.report.text import line

SUMMARY_ROWS = 200


def report(result: LintResult, io: Io) -> None:
    gh = GitHub(io.stdout, io.environ)
    for f in result.findings:
        io.stdout.write(neutralize(line(f)) + "\n")
    hidden = gh.annotate_findings(result.findings, "paperspace-deploy lint")
    summary = result.summary()
    if hidden:
        summary += f" ({hidden} not annotated: GitHub shows 10 per type; all are listed above)"
    io.stdout.write(neutralize(summary) + "\n")
    io.stdout.flush()
    rows = [
        f"| {md_escape(f.path)}:{f.line}:{f.col} | {f.severity.value} | {md_escape(f.rule)} "
        f"| {md_escape(f.message)} |"
        for f in result.findings[:SUMMARY_ROWS]
    ]
    more = len(result.findings) - len(rows)
    gh.add_summary(
        f"### paperspace-deploy lint\n\n{md_escape(result.summary())}\n\n"
        + (
            "| where | severity | rule | message |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
            if rows
            else ""
        )
        + (f"\n…and {more} more (see the log).\n" if more > 0 else "")
    )
