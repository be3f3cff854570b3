"""Resolve user-given paths (spec, build context, Dockerfile) strictly inside the workspace.

In a fork pull request the files and the symlinks they may be come from the PR author, and a
parser error can echo file content: a spec that is a symlink to `/proc/self/environ` or to a
docker `config.json` would turn a lint error into an exfiltration channel. So every path is
refused unless it stays inside the workspace lexically (no `..` escape, no absolute path
elsewhere) AND after resolving symlinks, and a file must be a regular file, checked on an
`O_NOFOLLOW | O_NONBLOCK` descriptor (a FIFO or `/dev/zero` never hangs the run).
See reliability.md §2.8 and §6.1 rows 1-7 and 52.
"""

from __future__ import annotations

import errno
import glob
import os
import stat
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from paperspace_deploy.errors import UsageError

GLOB_CHARS = frozenset("*?[")


def workspace_root(environ: Mapping[str, str], cwd: Path) -> Path:
    """GITHUB_WORKSPACE (`/github/workspace` in the action's container), else the working dir."""
    root = environ.get("GITHUB_WORKSPACE") or str(cwd)
    try:
        real = Path(root).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"workspace {root!r} does not exist or cannot be resolved") from exc
    if not real.is_dir():
        raise UsageError(f"workspace {root!r} is not a directory")
    return real


def display(root: Path, path: Path) -> str:
    """The workspace-relative POSIX path used in annotations and the summary."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _lexical(root: Path, user_path: str, what: str) -> Path:
    """Join and normalise without touching the file system; refuse escapes and odd input."""
    if not user_path.strip():
        raise UsageError(f"{what} path is empty")
    if "\0" in user_path or "\n" in user_path or "\r" in user_path:
        raise UsageError(f"{what} path contains a control character")
    raw = PurePosixPath(user_path.strip())
    joined = raw if raw.is_absolute() else PurePosixPath(root) / raw
    normal = PurePosixPath(os.path.normpath(str(joined)))
    if normal != PurePosixPath(root) and PurePosixPath(root) not in normal.parents:
        raise UsageError(
            f"{what} path must be inside the workspace: {user_path.strip()!r}",
            hint=f"give a path relative to the repository root ({root})",
        )
    return Path(str(normal))


def resolve_inside(root: Path, user_path: str, what: str = "spec") -> Path:
    """The real path of `user_path` (relative to `root`), refused unless it stays inside `root`.

    The target may not exist yet only if nothing in the path escapes; callers check existence.
    """
    candidate = _lexical(root, user_path, what)
    try:
        real = candidate.resolve(strict=False)
    except RuntimeError as exc:  # Python < 3.13 raises RuntimeError on symlink loops
        raise UsageError(f"could not resolve {what} path {user_path!r} (symlink loop)") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"could not resolve {what} path {user_path!r} (symlink loop)") from exc
        raise UsageError(f"could not resolve {what} path {user_path!r}: {exc.strerror}") from exc
    if real != root and root not in real.parents:
        raise UsageError(
            f"refusing to follow symlink outside the workspace: {user_path!r}",
            hint="a spec, context or Dockerfile must be a file inside the repository",
        )
    return real


def check_regular_file(root: Path, user_path: str, what: str = "spec") -> Path:
    """Resolve inside the workspace and require an existing regular file (never blocks)."""
    real = resolve_inside(root, user_path, what)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        if os.path.islink(real):  # a dangling or looping link left after resolution
            raise UsageError(
                f"could not resolve {what} path {user_path!r} (symlink loop)"
            ) from None
        raise UsageError(
            f"{what} file not found: {user_path.strip()} (resolved: {real})",
            hint="check the path; it is relative to the repository root",
        ) from None
    except IsADirectoryError:
        raise UsageError(f"{what} path is a directory: {user_path.strip()}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(
                f"could not resolve {what} path {user_path!r} (symlink loop)"
            ) from None
        raise UsageError(f"cannot open {what} file {user_path.strip()}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    if stat.S_ISDIR(mode):
        raise UsageError(f"{what} path is a directory: {user_path.strip()}")
    if not stat.S_ISREG(mode):
        raise UsageError(f"{what} path is not a regular file: {user_path.strip()}")
    return real


def check_directory(root: Path, user_path: str, what: str = "build context") -> Path:
    real = resolve_inside(root, user_path, what)
    if not real.exists():
        raise UsageError(f"{what} not found: {user_path.strip()} (resolved: {real})")
    if not real.is_dir():
        raise UsageError(f"{what} must be a directory: {user_path.strip()}")
    return real


def resolve_specs(root: Path, pattern: str) -> list[Path]:
    """One path or a glob (`deploy/*.yaml`, `**/app.yaml`), every match checked on its own."""
    pattern = pattern.strip()
    if not GLOB_CHARS.intersection(pattern):
        return [check_regular_file(root, pattern)]
    base = _lexical(root, pattern, "spec")  # refuses `../*.yaml` and absolute globs elsewhere
    matches = sorted(glob.glob(str(base), recursive=True))
    files = [
        check_regular_file(root, os.path.relpath(m, root))
        for m in matches
        if not os.path.isdir(m) or os.path.islink(m)
    ]
    if not files:
        raise UsageError(f"no spec file matches {pattern!r} in the workspace")
    return sorted(set(files))
