"""Subcommands: each module has `add_arguments(parser)` and `run(args, io) -> int`.

They parse flags (mostly generated from the one option table, `options.py`), build the request
objects with `from_args`, and call the same stage functions as the action. Top-level imports
stay light (no docker, no requests): the lint path must start fast.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from paperspace_deploy.io import Io
from paperspace_deploy.spec.findings import Finding


def finding_line(f: Finding) -> str:
    from paperspace_deploy.report.text import line

    return line(f)


class CliReporter:
    """The job's reporter on a terminal or a plain CI log: findings and progress on stderr,
    so stdout carries only the result."""

    def __init__(self, io: Io) -> None:
        self.io = io

    def findings(self, findings: list[Finding]) -> None:
        for f in sorted(findings, key=Finding.sort_key):
            self.io.err(finding_line(f))

    def stage(self, title: str) -> AbstractContextManager[None]:
        return nullcontext()

    def event(self, message: str) -> None:
        self.io.err(message)

    def warning(self, message: str) -> None:
        self.io.err(f"warning: {message}")


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM (a CI cancel, `timeout`, `kill`) becomes KeyboardInterrupt, like Ctrl-C, so the
    run stops cleanly: a build is cut, a wait says what was submitted, the exit code is 130.
    The action's entrypoint.py does the same for the container."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
