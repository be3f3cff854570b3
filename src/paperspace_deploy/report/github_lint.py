"""Lint findings in a GitHub Actions log: every finding as a (neutralised) text line, the first
10 per severity as annotations (GitHub shows no more per step), and a job-summary table."""

from __future__ import annotations

from paperspace_deploy.io import Io
from paperspace_deploy.report.github import ANNOTATIONS_PER_TYPE, GitHub, md_escape, neutralize
from paperspace_deploy.report.render import LintResult
from paperspace_deploy.report.text import line
from paperspace_deploy.spec.findings import Severity

SUMMARY_ROWS = 200


def report(result: LintResult, io: Io) -> None:
    gh = GitHub(io.stdout, io.environ)
    for f in result.findings:
        io.stdout.write(neutralize(line(f)) + "\n")
    shown: dict[Severity, int] = {}
    for f in result.findings:
        if shown.get(f.severity, 0) >= ANNOTATIONS_PER_TYPE:
            continue
        shown[f.severity] = shown.get(f.severity, 0) + 1
        gh.annotate(
            f.severity.value,
            # the runner only parses `::cmd::` at the line start, but the legacy `##[cmd]` form
            # is searched anywhere in a line that is not a command: break it everywhere
            f"{f.message} [{f.rule}]".replace("##[", "#\u200b#["),
            file=f.path,
            line=f.line,
            col=f.col,
            end_line=f.end_line,
            end_col=f.end_col,
            title=f"paperspace-deploy lint: {f.rule}",
        )
    hidden = len(result.findings) - sum(shown.values())
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
