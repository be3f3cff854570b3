"""What the CI run is building: commit, branch or tag, pull request, default branch, repository.

Read from GitHub Actions, GitLab CI or generic `GIT_*` variables (Jenkins and friends). Pure: the
environment comes in as a mapping, so every context can be unit tested. Image tags and labels,
the `x-git-*` upsert headers and the action's fork check all read the run from here.
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
# Events that run a fork's pull request in the fork's trust (no secrets). pull_request_target and
# workflow_run run in the base repository's trust and are handled by the action separately.
FORK_EVENTS = ("pull_request", "pull_request_review", "pull_request_review_comment")
# Events that run with the base repository's secrets and write token, often on a pull
# request's code: building or deploying here is how "pwn requests" happen (job.py's policy).
PRIVILEGED_EVENTS = ("pull_request_target", "workflow_run", "issue_comment")


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
    actor: str | None = None  # who triggered the run
    owner: str | None = None  # repository owner / GitLab namespace
    head_ref: str | None = None  # the branch the commit came from (a PR's head branch)
    head_sha: str | None = None  # the commit under review (a PR's head, not the merge commit)
    fork: bool = False  # a pull request from another repository: untrusted, no secrets

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


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _from_a_fork(head_repo: Any, base_repo: dict[str, Any]) -> bool:
    """Fails closed: an unreadable or missing event payload, or a head repository that is null
    (a deleted fork) or unnamed, counts as a fork -- untrusted, no secrets, no push."""
    if not isinstance(head_repo, dict) or not isinstance(head_repo.get("full_name"), str):
        return True
    if head_repo.get("fork"):
        return True
    return head_repo["full_name"] != base_repo.get("full_name")


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
    head_sha = env.get("GITHUB_SHA") or None
    head_ref = env.get("GITHUB_REF_NAME") or None
    fork = False
    if event.startswith("pull_request"):  # includes pull_request_target (not a fork run)
        raw_pull = payload.get("pull_request")
        pull: dict[str, Any] = raw_pull if isinstance(raw_pull, dict) else {}
        head = _mapping(pull.get("head"))
        base = _mapping(pull.get("base"))
        head_sha = head.get("sha") if isinstance(head.get("sha"), str) else head_sha
        head_ref = env.get("GITHUB_HEAD_REF") or head_ref
        fork = event in FORK_EVENTS and _from_a_fork(head.get("repo"), _mapping(base.get("repo")))
    return CiContext(
        provider="github",
        sha=env.get("GITHUB_SHA") or None,
        branch=branch,
        tag=tag,
        pr=pr,
        default_branch=default_branch if isinstance(default_branch, str) else None,
        source_url=strip_credentials(f"{server}/{repository}") if repository else None,
        title=repository.rsplit("/", 1)[-1] or None,
        actor=env.get("GITHUB_ACTOR") or None,
        owner=env.get("GITHUB_REPOSITORY_OWNER") or repository.partition("/")[0] or None,
        head_ref=head_ref,
        head_sha=head_sha,
        fork=fork,
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
        actor=env.get("GITLAB_USER_LOGIN") or None,
        owner=env.get("CI_PROJECT_NAMESPACE") or None,
        head_ref=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
        or env.get("CI_COMMIT_REF_NAME")
        or None,
        head_sha=env.get("CI_COMMIT_SHA") or None,
    )


def _generic(env: Mapping[str, str]) -> CiContext:
    sha = env.get("GIT_COMMIT") or env.get("GIT_SHA") or env.get("COMMIT_SHA") or None
    tag = env.get("GIT_TAG") or None
    branch = env.get("GIT_BRANCH") or env.get("BRANCH_NAME") or None
    if branch:
        branch = re.sub(r"^(refs/heads/|origin/)", "", branch)
    pr = env.get("CHANGE_ID") or None  # Jenkins multibranch pull requests
    head_ref = branch
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
        head_ref=head_ref,
        head_sha=sha,
    )


def detect(env: Mapping[str, str]) -> CiContext:
    if env.get("GITHUB_ACTIONS") == "true" or env.get("GITHUB_SHA"):
        return _github(env)
    if env.get("GITLAB_CI") == "true" or env.get("CI_COMMIT_SHA"):
        return _gitlab(env)
    return _generic(env)


# ---------------------------------------------------------------- the upsert's x-git-* headers
# The API types require the set as a whole (`metadata.gitHeaders`: all six keys, `x-git-host`
# github or gitlab; reference §2.1), so a run sends all six or none: a partial set may be
# dropped, or refused by a stricter server.
GIT_KEYS = ("x-git-host", "x-git-actor", "x-git-owner", "x-git-repo", "x-git-ref", "x-git-sha")
GIT_HOSTS = ("github", "gitlab")
MAX_HEADER_VALUE = 256


def _header_value(value: str | None) -> str | None:
    """Single-line printable ASCII, bounded: header values come from untrusted branch names."""
    if not value:
        return None
    value = "".join(c for c in value if 32 <= ord(c) < 127).strip()
    return value[:MAX_HEADER_VALUE] or None


def git_headers(env: Mapping[str, str]) -> dict[str, str]:
    """All six headers for the upsert, or none; `PSD_GIT_SHA`, `PSD_GIT_REF`, ... (and
    `PSD_GIT_HOST=github|gitlab`) override or complete what CI says."""
    ctx = detect(env)
    raw = {
        "x-git-host": ctx.provider if ctx.provider in GIT_HOSTS else None,
        "x-git-actor": ctx.actor,
        "x-git-owner": ctx.owner,
        "x-git-repo": ctx.title,
        "x-git-ref": ctx.head_ref,
        "x-git-sha": ctx.head_sha,
    }
    for key in GIT_KEYS:
        override = env.get("PSD_GIT_" + key.removeprefix("x-git-").upper())
        if override:
            raw[key] = override
    headers = {k: v for k, v in ((k, _header_value(raw[k])) for k in GIT_KEYS) if v}
    complete = len(headers) == len(GIT_KEYS) and headers["x-git-host"] in GIT_HOSTS
    return headers if complete else {}
