"""x-git-* headers from GitHub, GitLab and generic CI environments."""

from __future__ import annotations

import json

from paperspace_deploy.ci_context import GIT_KEYS, git_headers


def test_github_push():
    env = {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_REPOSITORY": "acme/app",
           "GITHUB_REPOSITORY_OWNER": "acme", "GITHUB_REF_NAME": "main", "GITHUB_SHA": "abc",
           "GITHUB_EVENT_NAME": "push"}  # fmt: skip
    assert git_headers(env) == {
        "x-git-host": "github", "x-git-actor": "octocat", "x-git-owner": "acme",
        "x-git-repo": "app", "x-git-ref": "main", "x-git-sha": "abc",
    }  # fmt: skip


def test_github_pull_request_uses_head_ref_and_head_sha(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": "headsha"}}}))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/app", "GITHUB_ACTOR": "a",
           "GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": "feature",
           "GITHUB_REF_NAME": "12/merge", "GITHUB_SHA": "mergesha",
           "GITHUB_EVENT_PATH": str(event)}  # fmt: skip
    headers = git_headers(env)
    assert headers["x-git-ref"] == "feature" and headers["x-git-sha"] == "headsha"


def test_gitlab_merge_request():
    env = {"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "dev", "CI_PROJECT_NAMESPACE": "grp",
           "CI_PROJECT_NAME": "svc", "CI_COMMIT_REF_NAME": "main",
           "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "topic", "CI_COMMIT_SHA": "s1"}  # fmt: skip
    headers = git_headers(env)
    assert set(headers) == set(GIT_KEYS) and headers["x-git-host"] == "gitlab"
    assert headers["x-git-ref"] == "topic"


def test_generic_ci_sends_no_partial_set():
    # the API takes the six headers as a whole, with x-git-host github or gitlab
    assert git_headers({"GIT_COMMIT": "c0ffee", "GIT_BRANCH": "main"}) == {}
    assert git_headers({}) == {}
    gitlab_without_actor = {"GITLAB_CI": "true", "CI_PROJECT_NAMESPACE": "grp",
                            "CI_PROJECT_NAME": "svc", "CI_COMMIT_REF_NAME": "main",
                            "CI_COMMIT_SHA": "s1"}  # fmt: skip
    assert git_headers(gitlab_without_actor) == {}
    other_host = {f"PSD_GIT_{k.removeprefix('x-git-').upper()}": "v" for k in GIT_KEYS}
    assert git_headers(other_host) == {}  # x-git-host "v" is neither github nor gitlab


def test_overrides_complete_the_set_and_are_sanitised():
    env = {"GIT_COMMIT": "c0ffee", "PSD_GIT_HOST": "gitlab", "PSD_GIT_ACTOR": "bot",
           "PSD_GIT_OWNER": "acme", "PSD_GIT_REPO": "app", "PSD_GIT_REF": "r" * 500,
           "PSD_GIT_SHA": "x\r\ny"}  # fmt: skip
    headers = git_headers(env)
    assert set(headers) == set(GIT_KEYS) and headers["x-git-host"] == "gitlab"
    assert headers["x-git-sha"] == "xy" and len(headers["x-git-ref"]) == 256
