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
from paperspace_deploy.errors import DeployError, ExitCode, report_internal_error
from paperspace_deploy.io import Io

COMMANDS = {
    "lint": "Validate deployment specs (no secrets, no network)",
    "schema": "Print the deployment-spec JSON Schema",
    "build": "Build, tag and push the image through the Docker Engine",
    "plan": "Show what a deploy would change, without changing anything",
    "deploy": "Lint, check the registry connection, upsert and wait for the rollout",
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
    return run_guarded(lambda: args._module.run(args, io), io)


def run_guarded(fn, io: Io) -> int:  # type: ignore[no-untyped-def]
    """Map expected errors to exit codes; never show a traceback to the user."""
    try:
        return int(fn())
    except DeployError as exc:
        io.err(f"error: {exc.render()}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        io.err("interrupted")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug: keep the details out of the CI log but findable
        io.err(f"error: {report_internal_error(exc)}")
        return int(ExitCode.INTERNAL)
