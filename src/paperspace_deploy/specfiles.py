"""Which spec files a run reads: the one place both faces turn `spec` patterns into files.

A pattern is a file, a directory (searched for `paperspace.*` and `.paperspace/app.*`) or a glob
(`deploy/*.yaml`, `**/app.yaml`); no pattern means the first of the standard names. Everything
found in the checkout is attacker-controlled in CI, so:
  * every file must resolve inside the workspace (`workspace.Workspace.file`; a local run may
    name files elsewhere, each bounded by its own directory) -- a symlink committed in a pull
    request cannot make lint read `/proc/self/environ`;
  * directory walks and `**` never follow a directory symlink (two links to `.` would make a
    walk endless) and stop after MAX_ENTRIES entries with a clear problem.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from paperspace_deploy.errors import UsageError
from paperspace_deploy.workspace import GLOB_CHARS, Workspace, display

MAX_ENTRIES = 100_000  # directory entries one walk may visit; a repository has far fewer
SKIP_DIRS = frozenset((".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"))


@dataclass(frozen=True)
class SpecFile:
    path: Path  # the real path, checked to be a regular file inside its root
    shown: str  # what reports call it: relative to the workspace (as given when outside)


@dataclass
class Collected:
    files: list[SpecFile]
    problems: list[str]  # usage/IO messages (exit 2), one per pattern that found nothing


def is_spec_name(path: Path) -> bool:
    from paperspace_deploy.spec import SPEC_SUFFIXES

    stem, suffix = path.stem, path.suffix
    return suffix in SPEC_SUFFIXES and (
        (stem == "paperspace" and not path.name.startswith("."))
        or (path.parent.name == ".paperspace" and stem == "app")
    )


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_ENTRIES

    def spend(self, where: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise UsageError(
                f"stopped searching {where}: more than {MAX_ENTRIES:,} directory entries",
                hint="name the spec files or a smaller directory",
            )


def _entries(directory: Path, budget: _Budget, where: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as it:
            entries = []
            for entry in it:
                budget.spend(where)
                entries.append(entry)
    except OSError:
        return []
    return sorted(entries, key=lambda e: e.name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """A real directory, never a symlink to one."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def walk(directory: Path, where: str, budget: _Budget | None = None) -> list[Path]:
    """Spec files under `directory`, skipping vendored/VCS folders and directory symlinks."""
    budget = budget or _Budget()
    found: list[Path] = []
    todo = [directory]
    while todo:
        current = todo.pop()
        for entry in _entries(current, budget, where):
            path = Path(entry.path)
            if _is_dir(entry):
                if entry.name not in SKIP_DIRS:
                    todo.append(path)
            elif is_spec_name(path):
                found.append(path)
    return sorted(found)


def glob(root: Path, pattern: str, where: str) -> list[Path]:
    """`pattern` (relative to `root`) matched like glob.glob(recursive=True) -- `*` never
    matches a leading dot unless the pattern part starts with one -- but without following
    directory symlinks and within the entry budget."""
    parts = [p for p in pattern.replace("\\", "/").split("/") if p not in ("", ".")]
    budget = _Budget()
    out: list[Path] = []
    states: list[tuple[Path, int]] = [(root, 0)]
    seen: set[tuple[Path, int]] = set()
    while states:
        here, i = states.pop()
        if (here, i) in seen:
            continue
        seen.add((here, i))
        if i == len(parts):
            out.append(here)
            continue
        part = parts[i]
        if part == "**":
            states.append((here, i + 1))  # zero directories
            for entry in _entries(here, budget, where):
                if _is_dir(entry) and not entry.name.startswith("."):
                    states.append((Path(entry.path), i))
            continue
        if part == "..":
            raise UsageError(f"spec pattern must stay inside the workspace: {pattern!r}")
        if not GLOB_CHARS.intersection(part):
            states.append((here / part, i + 1))
            continue
        for entry in _entries(here, budget, where):
            if entry.name.startswith(".") and not part.startswith("."):
                continue
            if fnmatch.fnmatchcase(entry.name, part) and (i + 1 == len(parts) or _is_dir(entry)):
                states.append((Path(entry.path), i + 1))
    return sorted({p for p in out if os.path.lexists(p)})


def collect(patterns: list[str], ws: Workspace) -> Collected:
    """Expand `patterns` (relative to `ws.cwd`) into checked spec files, each once, in order."""
    from paperspace_deploy.spec import DEFAULT_SPEC_PATHS

    root, cwd = ws.root, ws.cwd
    files: list[SpecFile] = []
    problems: list[str] = []
    if not patterns:  # every standard name present (plan and deploy take the first)
        present = [name for name in DEFAULT_SPEC_PATHS if (cwd / name).is_file()]
        if present:
            return Collected([_checked(ws, name) for name in present], problems)
        raise UsageError(
            f"no spec file found in {display(root, cwd) if cwd != root else 'the workspace'}",
            hint=f"looked for {', '.join(DEFAULT_SPEC_PATHS)}; pass a path",
        )
    for pattern in patterns:
        found, trouble = _expand(pattern, ws)
        files += found
        problems += trouble
    unique = list({f.path: f for f in files}.values())
    return Collected(unique, problems)


def _expand(pattern: str, ws: Workspace) -> tuple[list[SpecFile], list[str]]:
    """One pattern's checked files, and a problem for each file refused or nothing found; the
    other files are still read."""
    full = Path(pattern) if Path(pattern).is_absolute() else ws.cwd / pattern
    try:
        if _lstat_is_dir(full):
            paths = [str(p) for p in walk(full, pattern)]
            empty = f"no spec files (paperspace.*, .paperspace/app.*) under {pattern}"
        elif not os.path.lexists(full) and GLOB_CHARS.intersection(pattern):
            base = Path("/") if Path(pattern).is_absolute() else ws.cwd
            paths = [str(m) for m in glob(base, pattern, pattern) if not _lstat_is_dir(m)]
            empty = f"no files match {pattern}"
        else:
            paths, empty = [pattern], ""
    except UsageError as exc:
        return [], [str(exc)]
    if not paths:
        return [], [empty]
    files, problems = [], []
    for path in paths:
        try:
            files.append(_checked(ws, path))
        except UsageError as exc:
            problems.append(str(exc))
    return files, problems


def _lstat_is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _checked(ws: Workspace, user_path: str) -> SpecFile:
    real, shown = ws.file(user_path, "spec")
    return SpecFile(real, shown)
