"""The injected environment every command runs in (HTTPie's pattern): streams, env, cwd.

Commands never touch sys.stdout or os.environ directly, so the CLI, the action and the tests can
all run the same code with their own streams and environment. Both streams pass through the
run's `Secrets` (`redact.py`): whatever is written -- our lines, a reporter's document, engine
output -- has every known secret variant replaced first. On a GitHub runner
(GITHUB_ACTIONS=true) every line is also made inert (`safetext.inert`): text from a spec, a
build or a server can never become a workflow command, whatever the format. Our own workflow
commands go through `commands_stdout`/`commands_stderr` (scrubbed, not inert), and only
`::add-mask::` uses `raw_stdout`/`raw_stderr`, since it must carry the value.

A reader that goes away (`paperspace-deploy lint | head -1`) is not an error of the run: the
first BrokenPipeError silences that stream (its descriptor now points at /dev/null, so the
interpreter's last flush cannot fail either) and the command finishes with its usual exit code.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, cast

from paperspace_deploy.errors import silence
from paperspace_deploy.redact import Secrets, run_secrets
from paperspace_deploy.safetext import inert

# What writing to a stream whose reader is gone raises: EPIPE, or a closed file.
_GONE = (BrokenPipeError, ValueError)


def _devnull() -> TextIO:
    return open(os.devnull, "w", encoding="utf-8")  # lives as long as the run


class _Scrubbed(io.TextIOBase):
    """A text stream that scrubs secrets (and, for a runner, makes lines inert) before passing
    text on. Whole lines are passed: a partial line waits for its end or for flush()."""

    def __init__(self, raw: TextIO, secrets: Secrets, inert_lines: bool) -> None:
        self.raw = raw
        self.secrets = secrets
        self.inert_lines = inert_lines
        self._partial = ""
        self.reader_gone = False

    def write(self, text: str) -> int:
        data = self._partial + text
        cut = data.rfind("\n") + 1
        self._partial = data[cut:]
        if cut:
            self._emit(data[:cut])
        return len(text)

    def _emit(self, text: str) -> None:
        if self.reader_gone:
            return
        text = self.secrets.scrub(text)
        if self.inert_lines:
            text = "".join(inert(line) for line in text.splitlines(keepends=True))
        try:
            self.raw.write(text)
        except _GONE:
            self._reader_left()

    def flush(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = ""
        if self.reader_gone:
            return
        try:
            self.raw.flush()
        except _GONE:
            self._reader_left()

    def _reader_left(self) -> None:
        """The reader went away (`| head`) or the stream was closed: drop what follows and let
        the run finish -- a deploy stopped half-way because nobody reads its log helps no one.
        The descriptor is pointed at /dev/null too (errors.silence), so the interpreter's own
        flush at exit of what the stream still buffers is silent."""
        self.reader_gone = True
        with contextlib.suppress(OSError, ValueError):
            silence(self.raw)
        self.raw = _devnull()

    def isatty(self) -> bool:
        return self.raw.isatty()


@dataclass
class Io:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    secrets: Secrets = field(default_factory=run_secrets)

    def __post_init__(self) -> None:
        # Python sets sys.stdout/stderr to None when the process started with that fd closed
        self.stdout = self.stdout if self.stdout is not None else _devnull()
        self.stderr = self.stderr if self.stderr is not None else _devnull()
        from paperspace_deploy.options import secret_envs

        # the secrets the environment holds are scrubbed before anything can print them
        self.secrets.add_all(self.environ.get(name) for name in secret_envs())
        runner = self.environ.get("GITHUB_ACTIONS") == "true"
        self.raw_stdout, self.raw_stderr = self.stdout, self.stderr
        self.commands_stdout = cast(TextIO, _Scrubbed(self.stdout, self.secrets, False))
        self.commands_stderr = cast(TextIO, _Scrubbed(self.stderr, self.secrets, False))
        self.stdout = cast(TextIO, _Scrubbed(self.stdout, self.secrets, runner))
        self.stderr = cast(TextIO, _Scrubbed(self.stderr, self.secrets, runner))

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()
