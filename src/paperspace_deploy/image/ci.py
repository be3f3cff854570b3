"""What the CI run is building: commit, branch or tag, pull request, default branch, repository.

Read from GitHub Actions, GitLab CI or generic `GIT_*` variables (Jenkins and friends). Pure: the
environment comes in as a mapping, so every context can be unit tested.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

EVENT_PAYLOAD_LIMIT = 5 * 1024 * 1024  # GitHub event payloads are far smaller; never read more


@dataclass(frozen=True)
class CiContext:
    provider: str  # github | gitlab | generic | none
    sha: str | None = None
    branch: str | None = None  # set on branch builds only (not tags, not pull requests)
    tag: str | None = None  # the git tag being built
    pr: str | None = None  # pull/merge request number
    default_branch: str | None = None
    source_url: str | None = None  # repository web URL, credentials stripped
    title: str | None = None  # repository name

    @property
    def is_pull_request(self) -> bool:
        return self.pr is not None

    @property
    def on_default_branch(self) -> bool:
        return bool(self.branch) and self.branch == self.default_branch


def strip_credentials(url: str | None) -> str | None:
    """`https://user:token@host/x.git` -> `https://host/x` (a label must never carry a token)."""
    if not url:
        return None
    if url.startswith("git@") and ":" in url:  # scp-like git@host:org/repo.git
        host, _, path = url[4:].partition(":")
        url = f"https://{host}/{path}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    path = re.sub(r"\.git$", "", parts.path.rstrip("/"))
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _event_payload(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        p = Path(path)
        if not p.is_file() or p.stat().st_size > EVENT_PAYLOAD_LIMIT:
            return {}
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _github(env: Mapping[str, str]) -> CiContext:
    ref = env.get("GITHUB_REF", "")
    event = env.get("GITHUB_EVENT_NAME", "")
    payload = _event_payload(env.get("GITHUB_EVENT_PATH"))
    repo = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    default_branch = repo.get("default_branch") if isinstance(repo, dict) else None
    branch = tag = pr = None
    if m := re.match(r"^refs/pull/(\d+)/", ref):
        pr = m.group(1)
    elif event.startswith("pull_request"):
        number = payload.get("number") or (payload.get("pull_request") or {}).get("number")
        pr = str(number) if number else None
    elif ref.startswith("refs/heads/"):
        branch = ref[len("refs/heads/") :]
    elif ref.startswith("refs/tags/"):
        tag = ref[len("refs/tags/") :]
    elif env.get("GITHUB_REF_TYPE") == "tag":
        tag = env.get("GITHUB_REF_NAME") or None
    elif env.get("GITHUB_REF_NAME"):
        branch = env["GITHUB_REF_NAME"]
    repository = env.get("GITHUB_REPOSITORY", "")
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    return CiContext(
        provider="github",
        sha=env.get("GITHUB_SHA") or None,
        branch=branch,
        tag=tag,
        pr=pr,
        default_branch=default_branch if isinstance(default_branch, str) else None,
        source_url=strip_credentials(f"{server}/{repository}") if repository else None,
        title=repository.rsplit("/", 1)[-1] or None,
    )


def _gitlab(env: Mapping[str, str]) -> CiContext:
    tag = env.get("CI_COMMIT_TAG") or None
    pr = env.get("CI_MERGE_REQUEST_IID") or None
    branch = None
    if not tag and not pr:
        branch = env.get("CI_COMMIT_BRANCH") or env.get("CI_COMMIT_REF_NAME") or None
    return CiContext(
        provider="gitlab",
        sha=env.get("CI_COMMIT_SHA") or None,
        branch=branch,
        tag=tag,
        pr=pr,
        default_branch=env.get("CI_DEFAULT_BRANCH") or None,
        source_url=strip_credentials(env.get("CI_PROJECT_URL")),
        title=env.get("CI_PROJECT_NAME") or None,
    )


def _generic(env: Mapping[str, str]) -> CiContext:
    sha = env.get("GIT_COMMIT") or env.get("GIT_SHA") or None
    tag = env.get("GIT_TAG") or None
    branch = env.get("GIT_BRANCH") or env.get("BRANCH_NAME") or None
    if branch:
        branch = re.sub(r"^(refs/heads/|origin/)", "", branch)
    pr = env.get("CHANGE_ID") or None  # Jenkins multibranch pull requests
    if tag or pr:
        branch = None
    source = strip_credentials(env.get("GIT_URL"))
    return CiContext(
        provider="generic" if (sha or tag or branch or pr) else "none",
        sha=sha,
        branch=branch,
        tag=tag,
        pr=pr,
        default_branch=env.get("GIT_DEFAULT_BRANCH") or None,
        source_url=source,
        title=source.rsplit("/", 1)[-1] if source else None,
    )


def detect(env: Mapping[str, str]) -> CiContext:
    if env.get("GITHUB_ACTIONS") == "true" or env.get("GITHUB_SHA"):
        return _github(env)
    if env.get("GITLAB_CI") == "true" or env.get("CI_COMMIT_SHA"):
        return _gitlab(env)
    return _generic(env)
