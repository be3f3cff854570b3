"""Command line: `paperspace-deploy <command> ...`.

Each command lives in `commands/<name>.py` with `add_arguments(parser)` and `run(args, io) -> int`.
Those modules keep their top-level imports light (no docker, no requests): the lint path must
start fast, so heavy libraries are imported inside `run`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout

from paperspace_deploy import __version__
from paperspace_deploy.errors import ExitCode, run_guarded
from paperspace_deploy.io import Io

COMMANDS = {
    "lint": "Validate deployment specs (no secrets, no network)",
    "schema": "Print the deployment-spec JSON Schema",
    "build": "Build (BuildKit via docker buildx, else the Engine API), tag and push the image",
    "plan": "Show what a deploy would change, without changing anything",
    "deploy": "Lint, check the registry connection, upsert and wait for the rollout",
    "preview": "Deploy a pull request's preview (<name>-pr-<number>) with the preview caps",
    "cleanup": "Delete a pull request's preview deployment (a no-op when there is none)",
    "sweep": "Delete preview deployments whose TTL has passed",
    "emulator": "Run the local Paperspace API emulator",
    "up": "Run a spec locally in a container, probed like the platform (--local)",
}


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is our USAGE code; keep its message short."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="paperspace-deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"paperspace_deploy.commands.{name}")
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    io = io or Io()
    parser = build_parser()
    try:  # argparse prints to sys.* and exits: keep both inside the injected Io
        with redirect_stdout(io.stdout), redirect_stderr(io.stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(ExitCode.USAGE)
    if args.command is None:
        parser.print_help(io.stderr)
        return ExitCode.USAGE
    from paperspace_deploy.commands import interrupt_on_sigterm

    with interrupt_on_sigterm():
        outcome = run_guarded(lambda: int(args._module.run(args, io)))
    if outcome.message:
        io.err(
            outcome.message if outcome.code == ExitCode.INTERRUPTED else f"error: {outcome.message}"
        )
    return outcome.code
