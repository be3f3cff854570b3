"""The only place that writes GitHub workflow commands, outputs and job summaries.

actions-toolkit 0.1.15 supplies the escaping and the GITHUB_OUTPUT heredoc format; it lacks job
summaries and stop-commands, and its `set_failed` exits the process, so we wrap only the pieces we
trust. Everything writes to an injected stream so tests can capture it.

Rules this module enforces (see ../shared/reference/reliability.md §2.2-2.3):
  * annotation messages and properties are escaped; empty properties are omitted;
  * untrusted multi-line text (build logs, API bodies) goes inside `::stop-commands::<token>`;
  * untrusted single-line text printed raw goes through `safetext.neutralize()`;
  * secrets are masked with `::add-mask::` (escaped: every line of a multi-line secret is masked).
"""

from __future__ import annotations

import html
import os
import secrets
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TextIO

from actions_toolkit.command import Command
from actions_toolkit.file_command import prepare_key_value_message

from paperspace_deploy.spec.findings import Finding, Severity

ANNOTATIONS_PER_TYPE = 10  # GitHub shows at most 10 of each type per step
SUMMARY_LIMIT = 1024 * 1024  # the runner drops the whole summary above 1 MiB
MESSAGE_LIMIT = 4096  # the runner truncates annotation messages here


class GitHub:
    """Workflow commands bound to one output stream and one environment."""

    def __init__(
        self,
        stream: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
        masks: TextIO | None = None,
    ) -> None:
        """`masks`: where `::add-mask::` goes when `stream` scrubs secrets (`Io.raw_stdout`)."""
        self.stream = stream or sys.stdout
        self.masks = masks or self.stream
        self.environ = environ if environ is not None else os.environ

    def _command(self, name: str, message: str, **properties: object) -> None:
        props = {k: v for k, v in properties.items() if v not in (None, "")}
        self.stream.write(str(Command(name, props, message)) + "\n")
        self.stream.flush()

    def mask(self, secret: str | None) -> None:
        """Register a secret (and each of its lines) with the runner before anything prints it."""
        if secret and secret.strip():
            self.masks.write(str(Command("add-mask", {}, secret)) + "\n")
            self.masks.flush()

    def annotate(
        self,
        level: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        end_line: int | None = None,
        end_col: int | None = None,
        title: str | None = None,
    ) -> None:
        """`level` is error, warning or notice."""
        # an annotation line is a command the runner parses itself, but keep `##[` out of it
        # anyway: if the line ever failed that parse, the legacy form is searched anywhere
        self._command(
            level,
            message[:MESSAGE_LIMIT].replace("##[", "#\u200b#["),
            title=title,
            file=file,
            line=line,
            endLine=end_line,
            col=col,
            endColumn=end_col,
        )

    def annotate_findings(self, findings: Sequence[Finding], title: str) -> int:
        """Annotations for the findings `annotated()` picks (GitHub shows 10 per type and
        step); returns how many were left out, so the caller can point to the log/summary."""
        hidden = 0
        for f, shown in zip(findings, annotated(findings), strict=True):
            if not shown:
                hidden += 1
                continue
            one_line = f.end_line in (None, f.line)  # the runner drops columns on multi-line spans
            self.annotate(
                f.severity.value,
                f"{f.message} [{f.rule}]",
                file=f.path,
                line=f.line,
                col=f.col if one_line else None,
                end_line=f.end_line,
                end_col=f.end_col if one_line else None,
                title=f"{title}: {f.rule}",
            )
        return hidden

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._command("group", title)
        try:
            yield
        finally:
            self._command("endgroup", "")

    @contextmanager
    def untrusted(self) -> Iterator[None]:
        """Everything printed inside is shown as text, never run as a command."""
        token = secrets.token_hex(16)
        self.stream.write(f"::stop-commands::{token}\n")
        try:
            yield
        finally:
            self.stream.write(f"::{token}::\n")
            self.stream.flush()

    def set_output(self, name: str, value: str) -> None:
        """Append `name<<delimiter` to $GITHUB_OUTPUT; never falls back to ::set-output."""
        path = self.environ.get("GITHUB_OUTPUT")
        if not path:
            return
        with open(path, "a", encoding="utf-8", newline="") as fh:
            fh.write(prepare_key_value_message(name, value).replace(os.linesep, "\n") + "\n")

    def add_summary(self, markdown: str) -> None:
        """Append to the job summary, keeping the whole file under the runner's 1 MiB limit."""
        path = self.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        used = os.path.getsize(path) if os.path.exists(path) else 0
        room = SUMMARY_LIMIT - used - 200
        data = markdown.encode("utf-8")
        if len(data) > room:
            cut = data[: max(room, 0)].decode("utf-8", "ignore")
            markdown = cut + "\n\n_Summary truncated: GitHub keeps at most 1 MiB._\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown)


def annotated(findings: Sequence[Finding]) -> list[bool]:
    """Which findings get one of the ANNOTATIONS_PER_TYPE annotations of their severity: the
    budget is shared round-robin across files (each file's first finding, then each file's
    second, ...), so one noisy file cannot take them all."""
    chosen = [False] * len(findings)
    for severity in Severity:
        per_file: dict[str, list[int]] = {}
        for i, f in enumerate(findings):
            if f.severity is severity:
                per_file.setdefault(f.path, []).append(i)
        budget, depth = ANNOTATIONS_PER_TYPE, 0
        while budget and any(depth < len(q) for q in per_file.values()):
            for queue in per_file.values():
                if budget and depth < len(queue):
                    chosen[queue[depth]] = True
                    budget -= 1
            depth += 1
    return chosen


def md_escape(text: str) -> str:
    """Escape untrusted text for a Markdown table cell in the job summary."""
    text = html.escape(text).replace("|", "\\|")
    return text.replace("\r\n", "<br>").replace("\r", "<br>").replace("\n", "<br>")
