"""Deployment specs: load (bounded, with positions), validate (schema + rules), prepare for the API.

Public interface used by `lint`, `plan` and `deploy`:
    lint_file(path, display=None, ctx=None) -> LoadedSpec
    find_default_spec(root) / DEFAULT_SPEC_PATHS
    to_api_config(data)
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperspace_deploy.errors import UsageError
from paperspace_deploy.spec.findings import Finding, Severity, safe_message
from paperspace_deploy.spec.load import MAX_BYTES, Parsed, parse_bytes
from paperspace_deploy.workspace import resolve_inside

# The files the official tools look for, in order (pspace `lib/app-config.ts`).
DEFAULT_SPEC_PATHS: tuple[str, ...] = (
    "paperspace.yaml",
    "paperspace.yml",
    "paperspace.json",
    "paperspace.jsonc",
    "paperspace.toml",
    ".paperspace/app.yaml",
    ".paperspace/app.yml",
    ".paperspace/app.json",
    ".paperspace/app.jsonc",
    ".paperspace/app.toml",
)

Span = tuple[int, int, int | None, int | None]
SPEC_SUFFIXES = (".yaml", ".yml", ".json", ".jsonc", ".toml")


@dataclass
class LintContext:
    deploying: bool = False  # ':image' left in the spec is an error when True
    image: str | None = None  # image that will replace spec.image (skip the ':image' finding)


@dataclass
class LoadedSpec:
    path: str  # display path
    data: dict[str, Any] | None  # parsed object (None if it could not be parsed)
    findings: list[Finding]
    _parsed: Parsed | None = field(default=None, repr=False, compare=False)

    def locate(self, json_path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, col) of the value (or of its key) at json_path; nearest existing
        ancestor if the path does not exist; (1, 1) if unknown."""
        line, col, _, _ = self.span(json_path, key=key)
        return line, col

    def span(
        self, json_path: Sequence[str | int], *, key: bool = False
    ) -> tuple[int, int, int | None, int | None]:
        """Like `locate`, plus the end (line, col) when the node sits on one line."""
        parsed = self._parsed
        pos = None
        if parsed is not None:
            path = tuple(json_path)
            if key:
                pos = parsed.key_positions.get(path)
            while pos is None and path:
                pos = parsed.positions.get(path)
                path = path[:-1]
                if pos is None:  # an ancestor: prefer its key (the line that names it)
                    pos = parsed.key_positions.get(path)
            pos = pos or parsed.positions.get(())
        if pos is None:
            return (1, 1, None, None)
        line, col, end_line, end_col = pos
        return (line, col, end_line, end_col) if end_line == line else (line, col, None, None)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]


def read_spec(path: Path, display: str | None = None) -> bytes:
    """Read at most MAX_BYTES + 1 bytes of a regular file; UsageError for an unreadable path."""
    name = display or str(path)
    if name != str(path):
        name += f" (resolved: {os.path.abspath(path)})"
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UsageError(
            f"spec file not found: {name}", hint="pass the path of your paperspace.yaml"
        ) from None
    except IsADirectoryError:
        raise UsageError(f"spec path is a directory: {name}") from None
    except PermissionError:
        raise UsageError(f"permission denied reading spec file: {name}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"could not resolve spec path (symlink loop): {name}") from None
        raise UsageError(f"cannot open spec file {name}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UsageError(f"spec path is a directory: {name}")
        if not stat.S_ISREG(mode):
            raise UsageError(f"spec path is not a regular file: {name}")
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UsageError(f"cannot read spec file {name}: {exc.strerror}") from None
    finally:
        os.close(fd)


def lint_bytes(
    raw: bytes, display: str, suffix: str = ".yaml", ctx: LintContext | None = None
) -> LoadedSpec:
    """Load and check spec content already in memory."""
    from paperspace_deploy.spec.rules import rule_findings
    from paperspace_deploy.spec.validate import schema_findings

    ctx = ctx or LintContext()
    parsed = parse_bytes(raw, display, suffix.lower())
    spec = LoadedSpec(display, parsed.data, list(parsed.findings), parsed)
    if parsed.data is not None:

        def locate(path: Sequence[str | int], key: bool = False) -> Span:
            return spec.span(path, key=key)

        spec.findings += schema_findings(
            parsed.data, display, locate, parsed.hints, parsed.reported
        )
        spec.findings += rule_findings(parsed.data, display, locate, ctx)
    safe = [_safe(f) for f in set(spec.findings)]
    spec.findings = _capped(sorted(safe, key=Finding.sort_key), display)
    return spec


def _safe(finding: Finding) -> Finding:
    message = safe_message(finding.message)
    return finding if message is finding.message else dataclasses.replace(finding, message=message)


MAX_FINDINGS = 40  # per file, with the schema cap (30)
MAX_FILE_MESSAGES = 4096  # characters of messages per file, the note included (reliability §6.4)
_NOTE_ROOM = 100


def _capped(findings: list[Finding], display: str) -> list[Finding]:
    """At most MAX_FINDINGS per file and MAX_FILE_MESSAGES characters of messages; the note says
    how many more, and keeps an error if any dropped finding was one (so the exit code stays
    right)."""
    kept: list[Finding] = []
    budget = MAX_FILE_MESSAGES - _NOTE_ROOM
    for finding in findings:
        budget -= len(finding.message)
        if len(kept) == MAX_FINDINGS or budget < 0:
            break
        kept.append(finding)
    if len(kept) == len(findings):
        return findings
    dropped = findings[len(kept) :]
    worst = (
        Severity.ERROR if any(f.severity is Severity.ERROR for f in dropped) else (Severity.WARNING)
    )
    line, col = dropped[0].line, dropped[0].col
    note = f"{len(dropped)} more finding(s) not shown; fix the ones above and lint again"
    return [*kept, Finding(display, line, col, worst, "too-many-findings", note)]


def lint_file(
    path: Path,
    display: str | None = None,
    ctx: LintContext | None = None,
    *,
    workspace: Path | None = None,
) -> LoadedSpec:
    """Never raises for bad content (returns findings); UsageError for an unreadable path, or one
    outside `workspace` when given."""
    path = Path(path)
    if workspace is not None:
        # a fork PR controls the file: refuse symlinks out of the workspace before opening
        root = Path(os.path.realpath(workspace))
        resolve_inside(root, os.path.relpath(path.absolute(), root))
    return lint_bytes(read_spec(path, display), display or str(path), path.suffix, ctx)


def find_default_spec(root: Path) -> Path | None:
    for name in DEFAULT_SPEC_PATHS:
        candidate = Path(root) / name
        if candidate.is_file():
            return candidate
    return None


def to_api_config(data: dict[str, Any]) -> dict[str, Any]:
    """What is sent to the API: no `$schema`, apiVersion defaulted to latest, `do-spaces` sent as
    `spaces`; a deep copy, so the validated object is never mutated."""
    config = copy.deepcopy(data)
    config.pop("$schema", None)
    config.setdefault("apiVersion", "latest")
    for item in config.get("integrations") or []:
        if isinstance(item, dict) and item.get("type") == "do-spaces":
            item["type"] = "spaces"
    return config
