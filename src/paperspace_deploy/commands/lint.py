"""`paperspace-deploy lint [PATH ...]`: validate deployment specs (no secrets, no network).

Exit codes: 0 no errors (warnings allowed unless --strict), 1 a spec is invalid, 2 usage or I/O.
Imports stay inside `run`: this path never loads docker or requests.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from paperspace_deploy.errors import ExitCode, UsageError
from paperspace_deploy.io import Io

if TYPE_CHECKING:
    from paperspace_deploy.report.result import LintResult

_SKIP_DIRS = frozenset((".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"))


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
        choices=("text", "json", "github", "sarif", "gitlab"),
        default="text",
        help="output format (default: text; gitlab = GitLab Code Quality JSON)",
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail the run too (exit 1)")
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write the report to FILE (e.g. for SARIF upload)"
    )
    parser.add_argument(
        "--registries",
        metavar="NAME,...",
        help="registry connection names: check containerRegistry against them (offline; lint "
        "never calls the API)",
    )
    parser.add_argument(
        "--registries-file", metavar="FILE", help="registry connection names (lines or JSON)"
    )


def _is_spec_name(path: Path) -> bool:
    from paperspace_deploy.spec import SPEC_SUFFIXES

    name, parent = path.name, path.parent.name
    stem, suffix = path.stem, path.suffix
    return suffix in SPEC_SUFFIXES and (
        (stem == "paperspace" and not name.startswith("."))
        or (parent == ".paperspace" and stem == "app")
    )


def _walk(directory: Path) -> list[Path]:
    found: list[Path] = []
    todo = [directory]
    while todo:
        current = todo.pop()
        try:
            entries = sorted(current.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if entry.name not in _SKIP_DIRS:
                    todo.append(entry)
            elif _is_spec_name(entry):
                found.append(entry)
    return sorted(found)


def collect(paths: list[str], cwd: Path) -> tuple[list[Path], list[str]]:
    """Expand PATH arguments. Returns (files, problems); a problem is a usage/IO message."""
    import glob

    from paperspace_deploy.spec import DEFAULT_SPEC_PATHS

    files: list[Path] = []
    problems: list[str] = []
    if not paths:
        files = [cwd / name for name in DEFAULT_SPEC_PATHS if (cwd / name).is_file()]
        if not files:
            raise UsageError(
                f"no spec file found in {cwd}",
                hint=f"looked for {', '.join(DEFAULT_SPEC_PATHS)}; pass a path",
            )
        return [f.relative_to(cwd) for f in files], problems
    for arg in paths:
        path = Path(arg)
        full = path if path.is_absolute() else cwd / path
        if full.is_dir():
            found = _walk(full)
            if not found:
                problems.append(f"no spec files (paperspace.*, .paperspace/app.*) under {arg}")
            files += [p if path.is_absolute() else p.relative_to(cwd) for p in found]
        elif not full.exists() and not full.is_symlink() and any(c in arg for c in "*?["):
            matches = sorted(
                glob.glob(arg, root_dir=None if path.is_absolute() else cwd, recursive=True)
            )
            if not matches:
                problems.append(f"no files match {arg}")
            files += [Path(m) for m in matches if (cwd / m).is_file()]
        else:
            files.append(path)
    return list(dict.fromkeys(files)), problems  # each file once, in the order given


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.report.result import LintResult
    from paperspace_deploy.spec import lint_file
    from paperspace_deploy.spec.findings import Severity

    if args.output and args.format == "github":
        raise UsageError("--output is not used with --format github (annotations go to the log)")
    files, problems = collect(list(args.paths), io.cwd)
    connections = None
    if args.registries or args.registries_file:  # registry.py only when asked (start-up time)
        from paperspace_deploy.registry import from_offline

        connections = from_offline(args.registries, args.registries_file)
    result = LintResult()
    # in GitHub Actions, specs must live in the workspace (a fork PR controls the checkout)
    workspace = io.environ.get("GITHUB_WORKSPACE") or None
    for rel in files:
        full = rel if rel.is_absolute() else io.cwd / rel
        display = _display(full, rel, workspace if args.format == "github" else None)
        try:
            spec = lint_file(full, display, workspace=Path(workspace) if workspace else None)
        except UsageError as exc:
            problems.append(str(exc))
            continue
        result.files.append(display)
        result.findings += spec.findings
        if connections is not None and spec.data is not None:
            from paperspace_deploy.registry import check_registry

            result.findings += check_registry(
                spec.data, path=display, locate=spec.locate, connections=connections
            )
    _report(args, io, result)
    for problem in problems:
        io.err(f"error: {problem}")
    if problems:
        return int(ExitCode.USAGE)
    failing = {Severity.ERROR} | ({Severity.WARNING} if args.strict else set())
    return int(ExitCode.INVALID if any(f.severity in failing for f in result.findings) else 0)


def _display(full: Path, rel: Path, workspace: str | None) -> str:
    if workspace:
        import os

        try:
            return os.path.relpath(os.path.abspath(full), os.path.abspath(workspace))
        except ValueError:
            return str(rel)
    return str(rel)


def _report(args: argparse.Namespace, io: Io, result: LintResult) -> None:
    from paperspace_deploy.report import text
    from paperspace_deploy.report.render import REPORTERS
    from paperspace_deploy.report.result import ReportContext

    ctx = ReportContext.from_environ(io.environ, io.cwd)
    if args.format == "github":
        from dataclasses import replace

        from paperspace_deploy.report.github_lint import report

        if io.environ.get("GITHUB_WORKSPACE"):  # _display made the paths workspace-relative
            ctx = replace(ctx, cwd=Path(io.environ["GITHUB_WORKSPACE"]))
        report(result, io, ctx)
        return
    rendered = REPORTERS[args.format](result, ctx)
    if args.output:
        try:
            Path(args.output).write_text(rendered, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write report to {args.output}: {exc.strerror}") from None
        if args.format != "text":
            io.stdout.write(text.render(result, ctx))
        else:
            io.stdout.write(text.lines(result, ctx)[-1] + "\n")
        io.stdout.flush()
        return
    io.stdout.write(rendered)
    io.stdout.flush()
