"""The injected environment every command runs in (HTTPie's pattern): streams, env, cwd.

Commands never touch sys.stdout or os.environ directly, so the CLI, the action and the tests can
all run the same code with their own streams and environment. Both streams pass through the
run's `Secrets` (`redact.py`): whatever is written -- our lines, a reporter's document, engine
output -- has every known secret variant replaced first. Only `::add-mask::` commands use the
raw stream (`raw_stdout`), since they must carry the value.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, cast

from paperspace_deploy.redact import Secrets


class _Scrubbed(io.TextIOBase):
    """A text stream that scrubs secrets from each write before passing it on."""

    def __init__(self, raw: TextIO, secrets: Secrets) -> None:
        self.raw = raw
        self.secrets = secrets

    def write(self, text: str) -> int:
        self.raw.write(self.secrets.scrub(text))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()


@dataclass
class Io:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    secrets: Secrets = field(default_factory=Secrets)

    def __post_init__(self) -> None:
        self.raw_stdout = self.stdout
        self.stdout = cast(TextIO, _Scrubbed(self.stdout, self.secrets))
        self.stderr = cast(TextIO, _Scrubbed(self.stderr, self.secrets))

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()
