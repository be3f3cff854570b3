"""What the reporters render: the lint result (plain data) and the context it is reported in.

Reporters never read os.environ: the caller builds a `ReportContext` (usually with
`ReportContext.for_workspace(workspace.root, io.environ)`) and passes it in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from paperspace_deploy.spec.findings import Finding, Severity

_SERVER = re.compile(r"https://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass
class LintResult:
    files: list[str] = field(default_factory=list)  # display paths, in the order checked
    findings: list[Finding] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def summary(self) -> str:
        errors, warnings = self.count(Severity.ERROR), self.count(Severity.WARNING)
        bad = len({f.path for f in self.findings if f.severity is Severity.ERROR})
        return f"checked {len(self.files)} file(s): {errors} error(s), {warnings} warning(s)" + (
            f" in {bad} invalid file(s)" if bad else ""
        )


def blob_url(environ: Mapping[str, str]) -> str | None:
    """`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/blob/$GITHUB_SHA`, or None unless all three are set
    and look like what GitHub sets (an https origin, owner/name, a commit id): the result goes
    into links in the job summary, so nothing else may pass."""
    server = environ.get("GITHUB_SERVER_URL", "").rstrip("/")
    repo, sha = environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_SHA", "")
    safe = _SERVER.fullmatch(server) and _REPOSITORY.fullmatch(repo) and _SHA.fullmatch(sha)
    if safe and ".." not in repo.split("/"):
        return f"{server}/{repo}/blob/{sha}"
    return None


@dataclass(frozen=True)
class ReportContext:
    root: Path  # repository root: SARIF/GitLab paths and links are relative to it
    cwd: Path  # the directory relative finding paths start from
    for_runner: bool = False  # output goes to a GitHub runner log: text lines are neutralised
    blob_url: str | None = None  # see blob_url(); None: locations are not links

    @classmethod
    def for_workspace(cls, root: Path, environ: Mapping[str, str]) -> ReportContext:
        """The context of a run whose finding paths are relative to the workspace `root`
        (`workspace.Workspace`, `specfiles.collect`)."""
        return cls(
            root=root,
            cwd=root,
            for_runner=environ.get("GITHUB_ACTIONS") == "true",
            blob_url=blob_url(environ),
        )

    def relative(self, path: str) -> str | None:
        """`path` relative to the repository root, with / separators; None if outside it."""
        full = os.path.normpath(os.path.join(self.cwd, path))  # absolute `path` wins
        try:
            rel = os.path.relpath(full, os.path.normpath(self.root))
        except ValueError:  # another drive (Windows)
            return None
        posix = PurePosixPath(rel.replace(os.sep, "/")).as_posix()
        if posix == ".." or posix.startswith("../") or os.path.isabs(posix):
            return None
        return posix

    def line_url(self, path: str, line: int) -> str | None:
        """A link to `line` of `path` at the commit being checked, when that is known."""
        rel = self.relative(path)
        if self.blob_url is None or rel is None or rel == ".":
            return None
        return f"{self.blob_url}/{quote(rel, safe='/')}#L{line}"
