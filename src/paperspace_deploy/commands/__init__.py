"""Subcommands: each module has `add_arguments(parser)` and `run(args, io) -> int`.

They parse flags (mostly generated from the one option table, `options.py`), build the request
objects with `from_args`, and call the same stage functions as the action. Top-level imports
stay light (no docker, no requests): the lint path must start fast.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from paperspace_deploy import options
from paperspace_deploy.io import Io
from paperspace_deploy.spec.findings import Finding

if TYPE_CHECKING:
    from paperspace_deploy.deploy.logs import FailureLogs
    from paperspace_deploy.job import JobResult


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

    def instance_logs(self, logs: FailureLogs) -> None:
        for inst in logs.instances:
            more = " (older lines not shown)" if inst.cut else ""
            self.io.err(f"last {len(inst.lines)} log line(s) of {inst.instance}{more}:")
            for line in inst.lines:
                self.io.err(f"  {line}")
        if logs.note:
            self.io.err(logs.note)
        if logs.warning:
            self.warning(logs.warning)


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


def add_stage_flags(parser: argparse.ArgumentParser, stage: str) -> None:
    """The table's flags for `stage` plus the command line's own: --password-stdin."""
    options.add_options(parser, stage)
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the registry password from stdin"
    )


def run_stages(mode: str, args: argparse.Namespace, io: Io) -> JobResult:
    """The command line's face of the job: flags -> the request objects -> `run_job`."""
    from paperspace_deploy import options
    from paperspace_deploy.api.retry import Deadline
    from paperspace_deploy.deploy import DeployRequest
    from paperspace_deploy.image.options import BuildOptions
    from paperspace_deploy.job import JobResult, make_job, run_job
    from paperspace_deploy.lint import LintRequest
    from paperspace_deploy.preview import PreviewRequest

    values = options.complete(options.from_namespace(args, mode), mode, io.environ)
    deadline = Deadline(values["timeout"])
    reporter = CliReporter(io)

    def deploy() -> DeployRequest:
        return DeployRequest.from_args(args, io, mode, deadline=deadline)

    job = make_job(
        mode, io.environ, reporter,
        has_spec=bool(values.get("spec")),
        building=bool(getattr(args, "build", False) or values.get("context")),
        lint=lambda: LintRequest.from_args(args, io, stage=mode),
        build=lambda: BuildOptions.from_args(args, io, mode, deadline=deadline),
        deploy=deploy,
        preview=lambda: PreviewRequest.from_values(values, deploy(), mode, io.environ),
    )  # fmt: skip
    return run_job(job, io, reporter, JobResult(mode))


def cost_json(result: JobResult) -> dict[str, Any] | None:
    """The planned spec's cost estimate for a JSON result (None when no spec was estimated)."""
    estimate = next(iter(result.costs.values()), None)
    return estimate.as_dict() if estimate is not None else None


def cost_lines(result: JobResult) -> list[str]:
    from paperspace_deploy.cost import render_text

    return [line for est in result.costs.values() for line in render_text(est)]
