"""The version from the git tag, and schemas/ (the single source of the JSON Schema) in the wheel.

Version, first that applies (`docs/releasing.md`):
1. a release commit (the one a `vX.Y.Z` tag points to) tracks `src/paperspace_deploy/_version.py`
   in git: that file, even in a shallow clone without tags (pre-commit's, pip's);
2. a git checkout of this project: `git describe` of the newest `vX.Y.Z` tag. On the tag:
   `X.Y.Z`; N commits after it: `X.Y.(Z+1).devN+g<sha>`; no tag yet: `0.1.devN+g<sha>`;
   uncommitted changes add `.dirty` (setuptools-scm's default scheme);
3. PKG-INFO (building the wheel from an unpacked sdist): the sdist's version;
4. `_version.py` as found: the action image's build context has no .git, so the release
   workflow writes the file before `docker build`;
5. `0+unknown`.
`_version.py` (ignored by git on main) is rewritten when the version differs; the package's
`__version__` reads it.

Why not setuptools-scm: the action image installs the package with --no-build-isolation from
hash-pinned build requirements and a context without .git, so it would need a new hashed build
dependency and still a way to pass the version in; these 40 lines cover the four cases.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
VERSION_FILE = ROOT / "src" / "paperspace_deploy" / "_version.py"
TEMPLATE = "# The package version: written by setup.py (docs/releasing.md).\n__version__ = {!r}\n"
VERSION_LINE = r"^__version__ = ['\"]([^'\"]+)['\"]$"
DESCRIBE = re.compile(r"v(\d+)\.(\d+)\.(\d+)-(\d+)-g([0-9a-f]+)(-dirty)?")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def ours() -> bool:
    """A git checkout of this project (not, say, a copy vendored inside another repository)."""
    top = _git("rev-parse", "--show-toplevel")
    return top is not None and Path(top).resolve() == ROOT


def from_release_commit() -> str | None:
    tracked = _git("ls-files", "--", str(VERSION_FILE.relative_to(ROOT)))
    return from_file(VERSION_FILE, VERSION_LINE) if tracked else None


def from_git() -> str | None:
    described = _git("describe", "--tags", "--long", "--dirty", "--match", "v[0-9]*.[0-9]*.[0-9]*")
    m = DESCRIBE.fullmatch(described or "")
    if m:
        major, minor, patch, distance, sha, dirty = m.groups()
        if distance == "0" and not dirty:
            return f"{major}.{minor}.{patch}"
        local = f"+g{sha}{'.dirty' if dirty else ''}"
        if distance == "0":
            return f"{major}.{minor}.{patch}{local}"
        return f"{major}.{minor}.{int(patch) + 1}.dev{distance}{local}"
    count, sha = _git("rev-list", "--count", "HEAD"), _git("rev-parse", "--short", "HEAD")
    if count is None or sha is None:
        return None
    dirty = ".dirty" if _git("status", "--porcelain", "--untracked-files=no") else ""
    return f"0.1.dev{count}+g{sha}{dirty}"


def from_file(path: Path, pattern: str) -> str | None:
    try:
        m = re.search(pattern, path.read_text(encoding="utf-8"), re.M)
    except OSError:
        return None
    return m.group(1) if m else None


def version() -> str:
    found = (from_release_commit() or from_git()) if ours() else None
    found = (
        found
        or from_file(ROOT / "PKG-INFO", r"^Version: (\S+)$")
        or from_file(VERSION_FILE, VERSION_LINE)
        or "0+unknown"
    )
    try:
        if from_file(VERSION_FILE, VERSION_LINE) != found:
            VERSION_FILE.write_text(TEMPLATE.format(found), encoding="utf-8")
    except OSError:
        pass  # a read-only source tree: the installed copy is written by build_py below
    return found


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        package = Path(self.build_lib) / "paperspace_deploy"
        target = package / "data"
        target.mkdir(parents=True, exist_ok=True)
        for schema in (ROOT / "schemas").glob("*.json"):
            shutil.copy2(schema, target / schema.name)
        (package / "_version.py").write_text(
            TEMPLATE.format(self.distribution.get_version()), encoding="utf-8"
        )


setup(version=version(), cmdclass={"build_py": BuildPy})
