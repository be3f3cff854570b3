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

import contextlib
import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from paperspace_deploy.errors import UsageError

GLOB_CHARS = frozenset("*?[")


def workspace_root(environ: Mapping[str, str], cwd: Path) -> Path:
    """The checkout a run may read and write: GITHUB_WORKSPACE (`/github/workspace` in the
    action's container), else GitLab's CI_PROJECT_DIR, else the working directory."""
    root = environ.get("GITHUB_WORKSPACE") or environ.get("CI_PROJECT_DIR") or str(cwd)
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


def in_ci(environ: Mapping[str, str]) -> bool:
    """The workspace comes from CI (GitHub, GitLab): its checkout is a pull request's to shape,
    so nothing outside it is read. A local run (the workspace is the working directory) may
    name files elsewhere: they are the caller's own."""
    return bool(environ.get("GITHUB_WORKSPACE") or environ.get("CI_PROJECT_DIR"))


@dataclass(frozen=True)
class Workspace:
    """Where a run's paths may lead: `root` (the checkout), `cwd` (what relative paths start
    from: the working directory on the command line, the repository root in the action) and
    whether a path named outside the root is allowed (a local run only)."""

    root: Path
    cwd: Path
    outside_ok: bool = False

    @classmethod
    def for_cli(cls, environ: Mapping[str, str], cwd: Path) -> Workspace:
        return cls(workspace_root(environ, cwd), cwd, outside_ok=not in_ci(environ))

    @classmethod
    def for_action(cls, environ: Mapping[str, str], cwd: Path) -> Workspace:
        root = workspace_root(environ, cwd)
        return cls(root, root)

    def file(self, user_path: str, what: str = "spec") -> tuple[Path, str]:
        return contained(self.root, self.cwd, user_path, what, outside_ok=self.outside_ok)

    def directory(self, user_path: str, what: str = "build context") -> tuple[Path, str]:
        return contained_directory(self.root, self.cwd, user_path, what, outside_ok=self.outside_ok)

    def write(self, user_path: str, text: str, what: str = "report") -> Path:
        return write_inside(self.root, self.cwd, user_path, text, what)


def contained(
    root: Path, cwd: Path, user_path: str, what: str = "spec", *, outside_ok: bool = False
) -> tuple[Path, str]:
    """(real path, display path) of a regular file named relative to `cwd`. Inside the
    workspace it must resolve inside the workspace, symlinks included. Outside it (only with
    `outside_ok`, a local run) it must resolve inside its own directory."""
    given, rel = _relative(root, cwd, user_path, what, outside_ok)
    if rel is None:
        return check_regular_file(given.parent, given.name, what), user_path.strip()
    return check_regular_file(root, rel, what), rel


def contained_directory(
    root: Path, cwd: Path, user_path: str, what: str = "build context", *, outside_ok: bool = False
) -> tuple[Path, str]:
    """`contained` for a directory (the build context)."""
    given, rel = _relative(root, cwd, user_path, what, outside_ok)
    if rel is None:
        return check_directory(given.parent, given.name, what), user_path.strip()
    return check_directory(root, rel, what), rel


def _relative(
    root: Path, cwd: Path, user_path: str, what: str, outside_ok: bool
) -> tuple[Path, str | None]:
    """`user_path` (relative to `cwd`) normalised, and as a POSIX path relative to `root` (None
    when outside and allowed); refused when it leaves the workspace otherwise."""
    if "\0" in user_path or "\n" in user_path or "\r" in user_path:
        raise UsageError(f"{what} path contains a control character")
    if not user_path.strip():
        raise UsageError(f"{what} path is empty")
    given = Path(os.path.normpath(os.path.join(os.path.realpath(cwd), user_path.strip())))
    rel = os.path.relpath(given, root)
    if rel == ".." or rel.startswith("../") or os.path.isabs(rel):
        if outside_ok:
            return given, None
        raise UsageError(
            f"{what} path must be inside the workspace: {user_path.strip()!r}",
            hint=f"give a path inside the repository ({root})",
        )
    return given, PurePosixPath(rel).as_posix()


def check_directory(root: Path, user_path: str, what: str = "build context") -> Path:
    real = resolve_inside(root, user_path, what)
    if not real.exists():
        raise UsageError(f"{what} not found: {user_path.strip()} (resolved: {real})")
    if not real.is_dir():
        raise UsageError(f"{what} must be a directory: {user_path.strip()}")
    return real


def write_inside(root: Path, cwd: Path, user_path: str, text: str, what: str = "report") -> Path:
    """Write `text` to a file inside the workspace without following any symlink.

    A pull request can commit `report.sarif -> ~/.local/lib/python3.11/site-packages/x.pth`:
    the target must be inside the workspace lexically and through its real parent, and the
    file is written to a fresh temporary name (O_EXCL | O_NOFOLLOW) and renamed over the
    target -- a rename replaces a symlink itself, never what it points to."""
    if "\0" in user_path or "\n" in user_path or "\r" in user_path:
        raise UsageError(f"{what} path contains a control character")
    given = Path(os.path.normpath(Path(os.path.realpath(cwd)) / user_path.strip()))
    if root not in given.parents:
        raise UsageError(
            f"{what} path must be inside the workspace: {user_path.strip()!r}",
            hint=f"write it somewhere under {root}",
        )
    parent = Path(os.path.realpath(given.parent))
    if parent != root and root not in parent.parents:
        raise UsageError(f"refusing to write {what} through a symlink out of the workspace: "
                         f"{user_path.strip()!r}")  # fmt: skip
    import secrets

    target = parent / given.name
    if target.is_dir() and not target.is_symlink():
        raise UsageError(f"{what} path is a directory: {user_path.strip()}")
    temp = parent / f".{given.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(temp, flags, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise UsageError(f"cannot write {what} to {user_path.strip()}: {exc.strerror}") from None
    return target
