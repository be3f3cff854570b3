"""The job summary (`$GITHUB_STEP_SUMMARY`): one Markdown document per action run.

GitHub shows at most 10 annotations of each type per step, so the summary carries every finding
(the overflow is marked), the plan's changes, the image and digest, and the deployment result.
Every value that came from a spec, the engine or the API is untrusted: it goes through
`md_escape` (HTML-escaped, pipes and newlines neutralised) and long values are cut. The document
stays well under the runner's 1 MiB limit (`GitHub.add_summary` enforces the hard cap).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from paperspace_deploy.report.github import ANNOTATIONS_PER_TYPE, annotated
from paperspace_deploy.report.markdown import cell, code, pre
from paperspace_deploy.report.result import ReportContext
from paperspace_deploy.spec.findings import Finding, Severity

MAX_FINDING_ROWS = 1000  # ~200 bytes a row: the table alone stays far below 1 MiB
_SAFE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%+=&?#-]*)?$")


@dataclass
class Summary:
    mode: str
    ok: bool = True
    failure: str | None = None  # the error shown to the user, already secret-free
    specs: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "registry check skipped: ..."
    plan_changes: list[tuple[str, str, str]] | None = None  # (field path, live, desired)
    image: str | None = None
    digest: str | None = None
    tags: list[str] = field(default_factory=list)
    deployment: dict[str, str] = field(default_factory=dict)  # id, spec-id, state, endpoint...
    costs: dict[str, Any] = field(default_factory=dict)  # spec path -> cost.CostEstimate
    # a failed rollout's instance logs: (instance, last lines, older lines left out)
    logs: list[tuple[str, list[str], bool]] = field(default_factory=list)
    report_context: ReportContext | None = None  # links from locations to lines


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTICE: 2}
_ICON = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.NOTICE: "ℹ️"}
FOLD_ROWS = 10  # rows of a file shown before the rest folds into <details>
_HEADER = "| | Line | Message |\n|---|---|---|"


def _counts(findings: Sequence[Finding]) -> str:
    parts = []
    for severity in Severity:
        n = sum(1 for f in findings if f.severity is severity)
        if n:
            parts.append(f"{_ICON[severity]} {n} {severity.value}{'s' if n > 1 else ''}")
    return ", ".join(parts)


def findings_markdown(findings: Sequence[Finding], ctx: ReportContext | None = None) -> list[str]:
    """THE findings table of every job summary (the action's and `lint --format github`'s):
    one table per file, files with errors first; in each, errors, then warnings, then notices,
    in line order. A location links to its line when `ctx` knows the commit (ctx.blob_url).
    After FOLD_ROWS rows the rest of a file's table folds into <details>. Locations are
    `line:col` (the file is the heading), so no cell holds a long path to break; the rule id
    follows the message, as in the log. Every cell is untrusted text (cell())."""
    out = ["### Lint findings", ""]
    if not findings:
        return [*out, "No problems found.", ""]
    flags = annotated(findings)
    # the worst first: errors survive the row cap, and files with errors come first
    shown = sorted(range(len(findings)), key=lambda i: (_RANK[findings[i].severity], i))
    by_file: dict[str, list[int]] = {}
    for i in shown[:MAX_FINDING_ROWS]:
        by_file.setdefault(findings[i].path, []).append(i)
    for path, rows in by_file.items():  # dicts keep insertion order: worst files first
        rows.sort(key=lambda i: (_RANK[findings[i].severity], findings[i].line, findings[i].col))
        title = f"{code(path)}: {_counts([findings[i] for i in rows])}"
        table = []
        for i in rows:
            f = findings[i]
            where = f"{f.line}:{f.col}"
            url = ctx.line_url(path, f.line) if ctx else None
            where = f"[{where}]({url})" if url else where
            mark = "" if flags[i] else "&nbsp;¹"
            table.append(
                f"| {_ICON[f.severity]}&nbsp;{f.severity.value}{mark} | {where} "
                f"| {cell(f.message)} {code(f.rule, 80)} |"
            )
        out += [f"#### {title}", "", _HEADER, *table[:FOLD_ROWS], ""]
        if len(table) > FOLD_ROWS:  # the worst rows stay in view, the rest fold
            more = f"{len(table) - FOLD_ROWS} more in {code(path)}"
            out += [f"<details><summary>{more}</summary>", "", _HEADER, *table[FOLD_ROWS:]]
            out += ["", "</details>", ""]
    if len(findings) > MAX_FINDING_ROWS:
        out += [f"…and {len(findings) - MAX_FINDING_ROWS} more (see the step log).", ""]
    hidden = flags.count(False)
    if hidden:
        out += [
            f"¹ {hidden} finding(s) beyond GitHub's {ANNOTATIONS_PER_TYPE} annotations per type "
            "are shown only here and in the log.",
            "",
        ]
    return out


def render(s: Summary) -> str:
    status = "✅ succeeded" if s.ok else "❌ failed"
    lines = [f"## paperspace-deploy {code(s.mode, 20)}: {status}", ""]
    if s.failure:
        lines += [f"> **Error:** {cell(s.failure, 2000)}", ""]
    if s.specs:
        lines += ["Spec files: " + ", ".join(code(p) for p in s.specs), ""]
    errors = sum(1 for f in s.findings if f.severity.value == "error")
    warnings = sum(1 for f in s.findings if f.severity.value == "warning")
    if s.specs or s.findings:
        lines += [f"**{errors}** error(s), **{warnings}** warning(s)", ""]
        lines += findings_markdown(s.findings, s.report_context)
    for note in s.notes:
        lines += [f"- {cell(note, 1000)}"]
    if s.notes:
        lines.append("")
    if s.plan_changes is not None:
        lines += ["### Plan", ""]
        if not s.plan_changes:
            lines += ["No changes: the live spec already matches.", ""]
        else:
            lines += ["| Field | Live | Desired |", "|---|---|---|"]
            lines += [
                f"| {code(p)} | {cell(old)} | {cell(new)} |" for p, old, new in s.plan_changes
            ]
            lines.append("")
    if s.costs:
        from paperspace_deploy.cost import render_markdown

        several = len(s.costs) > 1
        for path, estimate in s.costs.items():
            lines += [render_markdown(estimate, "###", subject=path if several else None)]
    if s.image or s.digest:
        lines += ["### Image", "", "| | |", "|---|---|"]
        if s.image:
            lines.append(f"| Reference | {code(s.image)} |")
        if s.digest:
            lines.append(f"| Digest | {code(s.digest)} |")
        if s.tags:
            lines.append("| Tags | " + "<br>".join(code(t) for t in s.tags[:50]) + " |")
        lines.append("")
    if s.deployment:
        lines += ["### Deployment", "", "| | |", "|---|---|"]
        for key, value in s.deployment.items():
            if not value:
                continue
            if key == "endpoint":
                url = value if "://" in value else f"https://{value}"
                shown = f"[{cell(value)}]({url})" if _SAFE_URL.match(url) else cell(value)
                lines.append(f"| Endpoint | {shown} |")
            else:
                lines.append(f"| {cell(key.replace('-', ' ').capitalize())} | {cell(value)} |")
        lines.append("")
    if s.logs:
        lines += ["### Logs of the failing instances", ""]
        for instance, text, cut in s.logs:
            more = ", older lines not shown" if cut else ""
            title = f"{code(instance, 120)} (last {len(text)} line(s){more})"
            lines += [f"<details open><summary>{title}</summary>", "", pre(text), "", "</details>",
                      ""]  # fmt: skip
    return "\n".join(lines) + "\n"
