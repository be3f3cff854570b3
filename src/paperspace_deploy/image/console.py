"""Where build and push progress goes: stderr, plain or GitHub-aware.

Progress and engine output go to stderr so stdout carries only the result (the digest
reference), for scripts. On GitHub (GITHUB_ACTIONS=true) engine output is wrapped in a
collapsible group *and* a stop-commands block: a `RUN echo ::add-mask::x` in a Dockerfile is
shown as text, never run as a workflow command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from paperspace_deploy.io import Io
from paperspace_deploy.report.github import GitHub
from paperspace_deploy.safetext import neutralize

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Console:
    def __init__(self, io: Io) -> None:
        self.io = io
        on_runner = io.environ.get("GITHUB_ACTIONS") == "true"
        self.github = (
            GitHub(io.commands_stderr, io.environ, masks=io.raw_stderr) if on_runner else None
        )

    def info(self, text: str) -> None:
        """Our own progress line (it may embed values from the user or CI: kept inert)."""
        self.io.err(neutralize(text) if self.github else text)

    def warn(self, text: str) -> None:
        if self.github:
            self.github.annotate("warning", text, title="paperspace-deploy build")
        else:
            self.io.err(f"warning: {text}")

    def notice(self, text: str) -> None:
        if self.github:
            self.github.annotate("notice", text, title="paperspace-deploy build")
        else:
            self.io.err(f"notice: {text}")

    def mask(self, secret: str | None) -> None:
        """Scrubbed from everything the run writes; on a runner also masked by it."""
        self.io.secrets.add(secret)
        if self.github and secret:
            self.github.mask(secret)

    @contextmanager
    def untrusted(self, title: str, *, fold: bool = True) -> Iterator[None]:
        """A section of engine output; in GitHub mode a stop-commands block, inside a
        collapsible group when `fold` (else shown open, after a title line)."""
        if not self.github:
            self.io.err(f"--- {title}")
            yield
            return
        if not fold:
            self.io.err(neutralize(title))
            with self.github.untrusted():
                yield
            return
        with self.github.group(neutralize(title)), self.github.untrusted():
            yield

    def raw(self, line: str) -> None:
        """One line of untrusted output; call only inside `untrusted()`."""
        self.io.stderr.write(_CONTROL.sub("", line.replace("\t", "    ")) + "\n")
        self.io.stderr.flush()
