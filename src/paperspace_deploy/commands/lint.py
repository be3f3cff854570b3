"""`paperspace-deploy lint [PATH ...]`: validate deployment specs (no secrets, no network).

Exit codes: 0 no errors (warnings allowed unless --strict), 1 a spec is invalid, 2 usage or I/O.
Imports stay inside `run`: this path never loads docker or requests.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from paperspace_deploy import options
from paperspace_deploy.errors import ExitCode, UsageError
from paperspace_deploy.io import Io

if TYPE_CHECKING:
    from paperspace_deploy.report.result import LintResult
    from paperspace_deploy.workspace import Workspace


# report/render.REPORTERS plus `github`; spelled out so start-up imports no reporter
# (tests/unit/test_report_formats.py checks that they agree)
FORMATS = ("text", "json", "github", "sarif", "gitlab")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="spec files, directories (searched for paperspace.* and .paperspace/app.*) or "
        "globs; default: the spec files the official tools look for in the current directory",
    )
    parser.add_argument(
        "--format",
        "-f",
        choices=FORMATS,
        default="text",
        help="output format (default: text; gitlab = GitLab Code Quality JSON)",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the report to FILE inside the workspace (e.g. for SARIF upload)",
    )
    # prices-file: the cost estimate is the action's lint summary and plan/deploy's output; the
    # lint command's reports (text, JSON, SARIF, ...) hold findings only
    options.add_options(parser, "lint", skip=("spec", "prices-file"))


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.lint import LintRequest, run_lint

    if args.output and args.format == "github":
        raise UsageError("--output is not used with --format github (annotations go to the log)")
    req = LintRequest.from_args(args, io)
    lint = run_lint(req)
    _report(args, io, req.workspace, lint.result)
    for problem in lint.problems:
        io.err(f"error: {problem}")
    if lint.problems:
        return int(ExitCode.USAGE)
    return int(ExitCode.INVALID if lint.failed(req.strict) else ExitCode.OK)


def _report(args: argparse.Namespace, io: Io, ws: Workspace, result: LintResult) -> None:
    from paperspace_deploy.report import text
    from paperspace_deploy.report.render import REPORTERS
    from paperspace_deploy.report.result import ReportContext

    ctx = ReportContext.for_workspace(ws.root, io.environ)  # finding paths are root-relative
    if args.format == "github":
        from paperspace_deploy.report.github_lint import report

        report(result, io, ctx)
        return
    rendered = REPORTERS[args.format](result, ctx)
    if args.output:
        ws.write(args.output, rendered)
        if args.format != "text":
            io.stdout.write(text.render(result, ctx))
        else:
            io.stdout.write(text.lines(result, ctx)[-1] + "\n")
        io.stdout.flush()
        return
    io.stdout.write(rendered)
    io.stdout.flush()
