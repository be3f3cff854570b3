"""The `x-git-*` headers Paperspace stores in `latestSpec.metadata.gitHeaders`.

The server records them only when all six are present and `x-git-host` is github or gitlab
(reference §2.1), so a generic CI sends what it knows (`PSD_GIT_*` overrides) and the server
ignores partial sets. Values are single-line printable ASCII, bounded in length.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

GIT_KEYS = ("x-git-host", "x-git-actor", "x-git-owner", "x-git-repo", "x-git-ref", "x-git-sha")
MAX_VALUE = 256


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = "".join(c for c in value if 32 <= ord(c) < 127).strip()
    return value[:MAX_VALUE] or None


def _github(env: Mapping[str, str]) -> dict[str, str | None]:
    owner, _, repo = env.get("GITHUB_REPOSITORY", "").partition("/")
    event = env.get("GITHUB_EVENT_NAME", "")
    ref, sha = env.get("GITHUB_REF_NAME"), env.get("GITHUB_SHA")
    if event.startswith("pull_request"):
        ref = env.get("GITHUB_HEAD_REF") or ref
        sha = _pr_head_sha(env.get("GITHUB_EVENT_PATH")) or sha
    return {
        "x-git-host": "github",
        "x-git-actor": env.get("GITHUB_ACTOR"),
        "x-git-owner": env.get("GITHUB_REPOSITORY_OWNER") or owner,
        "x-git-repo": repo,
        "x-git-ref": ref,
        "x-git-sha": sha,
    }


def _pr_head_sha(event_path: str | None) -> str | None:
    if not event_path:
        return None
    try:
        path = Path(event_path)
        if path.stat().st_size > 5 * 1024 * 1024:
            return None
        event = json.loads(path.read_text(encoding="utf-8"))
        sha = event["pull_request"]["head"]["sha"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return sha if isinstance(sha, str) else None


def _gitlab(env: Mapping[str, str]) -> dict[str, str | None]:
    return {
        "x-git-host": "gitlab",
        "x-git-actor": env.get("GITLAB_USER_LOGIN"),
        "x-git-owner": env.get("CI_PROJECT_NAMESPACE"),
        "x-git-repo": env.get("CI_PROJECT_NAME"),
        "x-git-ref": env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
        or env.get("CI_COMMIT_REF_NAME"),
        "x-git-sha": env.get("CI_COMMIT_SHA"),
    }


def _generic(env: Mapping[str, str]) -> dict[str, str | None]:
    return {
        "x-git-ref": env.get("GIT_BRANCH") or env.get("BRANCH_NAME"),
        "x-git-sha": env.get("GIT_COMMIT") or env.get("GIT_SHA") or env.get("COMMIT_SHA"),
    }


def git_headers(env: Mapping[str, str]) -> dict[str, str]:
    """Headers for the upsert, from GitHub Actions, GitLab CI or generic CI variables."""
    if env.get("GITHUB_ACTIONS") == "true":
        raw = _github(env)
    elif env.get("GITLAB_CI") == "true":
        raw = _gitlab(env)
    else:
        raw = _generic(env)
    for key in GIT_KEYS:  # explicit overrides: PSD_GIT_SHA, PSD_GIT_REF, ...
        override = env.get("PSD_GIT_" + key.removeprefix("x-git-").upper())
        if override:
            raw[key] = override
    headers = {k: v for k, v in ((k, _clean(raw.get(k))) for k in GIT_KEYS) if v}
    return headers
