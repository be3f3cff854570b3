"""Tag rules (docker/metadata-action semantics), CI context detection and OCI labels."""

import json

import pytest

from paperspace_deploy import ci_context as ci
from paperspace_deploy.image.labels import oci_labels
from paperspace_deploy.image.tags import (
    ALL_TAG_RULES,
    DEFAULT_TAG_RULES,
    compute_tags,
    parse_semver,
    sanitize,
    version_of,
)

SHA = "860c1904a1ce19322e91ac35af1ab07466440c37"


def gh(tmp_path, ref, event="push", default="main", **extra):
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"repository": {"default_branch": default}, **extra}))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": SHA,
        "GITHUB_REF": ref,
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(payload),
        "GITHUB_REPOSITORY": "Acme/Demo-App",
        "GITHUB_SERVER_URL": "https://github.com",
    }


def tags_for(env, explicit=(), rules=DEFAULT_TAG_RULES):
    return compute_tags(explicit, ci.detect(env), rules)


@pytest.mark.parametrize(
    ("ref", "event", "expected"),
    [
        ("refs/heads/main", "push", ["main", "sha-860c190", "latest"]),
        ("refs/heads/feature/login-page", "push", ["feature-login-page", "sha-860c190"]),
        ("refs/tags/v1.2.3", "push", ["1.2.3", "1.2", "1", "v1.2.3", "sha-860c190"]),
        ("refs/tags/1.2.3", "push", ["1.2.3", "1.2", "1", "sha-860c190"]),
        ("refs/tags/v2.0.0-rc.1", "push", ["2.0.0-rc.1", "v2.0.0-rc.1", "sha-860c190"]),
        ("refs/tags/release-42", "push", ["release-42", "sha-860c190"]),
        (
            "refs/tags/v1.2.3+build.7",
            "push",
            ["1.2.3-build.7", "1.2", "1", "v1.2.3-build.7", "sha-860c190"],
        ),
        ("refs/pull/17/merge", "pull_request", ["pr-17", "sha-860c190"]),
        ("refs/heads/main", "workflow_dispatch", ["main", "sha-860c190", "latest"]),
    ],
)
def test_github_contexts(tmp_path, ref, event, expected):
    assert tags_for(gh(tmp_path, ref, event)) == expected


def test_latest_only_on_the_default_branch(tmp_path):
    assert "latest" not in tags_for(gh(tmp_path, "refs/heads/main", default="trunk"))
    assert "latest" in tags_for(gh(tmp_path, "refs/heads/trunk", default="trunk"))
    assert "latest" not in tags_for(gh(tmp_path, "refs/tags/v1.0.0"))


def test_unknown_default_branch_gives_no_latest(tmp_path):
    env = gh(tmp_path, "refs/heads/main")
    env["GITHUB_EVENT_PATH"] = str(tmp_path / "missing.json")
    assert tags_for(env) == ["main", "sha-860c190"]


def test_pull_request_number_from_payload_when_ref_is_not_a_pull_ref(tmp_path):
    env = gh(tmp_path, "refs/heads/main", event="pull_request_target", number=99)
    context = ci.detect(env)
    assert context.pr == "99" and context.is_pull_request
    assert tags_for(env) == ["pr-99", "sha-860c190"]


def test_sha_long_and_rule_selection(tmp_path):
    env = gh(tmp_path, "refs/heads/main")
    assert tags_for(env, rules=("sha-long",)) == [f"sha-{SHA}"]
    assert tags_for(env, rules=()) == []
    assert set(tags_for(env, rules=ALL_TAG_RULES)) == {
        "main",
        "sha-860c190",
        f"sha-{SHA}",
        "latest",
    }


def test_explicit_tags_first_sanitised_and_deduplicated(tmp_path):
    env = gh(tmp_path, "refs/heads/main")
    got = tags_for(env, explicit=["main", "My Tag!", "--x", "latest", "main"])
    assert got == ["main", "My-Tag-", "x", "latest", "sha-860c190"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("feature/x", "feature-x"),
        ("dependabot/npm_and_yarn/a@1.2", "dependabot-npm_and_yarn-a-1.2"),
        (".hidden", "hidden"),
        ("-dash", "dash"),
        ("a" * 200, "a" * 128),
        ("ünïcode", "n-code"),
        ("::add-mask::x", "add-mask-x"),
        ("", ""),
    ],
)
def test_sanitize(raw, clean):
    assert sanitize(raw) == clean


def test_every_generated_tag_is_valid(tmp_path):
    import re

    env = gh(tmp_path, "refs/heads/" + "wéird//branch name with spaces and ##[error]" * 5)
    for tag in tags_for(env, explicit=["::x::", "@@@"]):
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", tag), tag


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (  # branch pipeline on the default branch
            {
                "GITLAB_CI": "true",
                "CI_COMMIT_SHA": SHA,
                "CI_COMMIT_REF_NAME": "main",
                "CI_COMMIT_BRANCH": "main",
                "CI_DEFAULT_BRANCH": "main",
            },
            ["main", "sha-860c190", "latest"],
        ),
        (
            {
                "GITLAB_CI": "true",
                "CI_COMMIT_SHA": SHA,
                "CI_COMMIT_REF_NAME": "v3.1.4",
                "CI_COMMIT_TAG": "v3.1.4",
                "CI_DEFAULT_BRANCH": "main",
            },
            ["3.1.4", "3.1", "3", "v3.1.4", "sha-860c190"],
        ),
        (
            {
                "GITLAB_CI": "true",
                "CI_COMMIT_SHA": SHA,
                "CI_COMMIT_REF_NAME": "fix/bug",
                "CI_MERGE_REQUEST_IID": "5",
                "CI_DEFAULT_BRANCH": "main",
            },
            ["pr-5", "sha-860c190"],
        ),
        (  # Jenkins
            {"GIT_COMMIT": SHA, "GIT_BRANCH": "origin/develop"},
            ["develop", "sha-860c190"],
        ),
        ({"GIT_COMMIT": SHA, "GIT_TAG": "v0.1.0"}, ["0.1.0", "0.1", "0", "v0.1.0", "sha-860c190"]),
        ({}, []),
        ({"GIT_COMMIT": "not-a-sha"}, []),
    ],
)
def test_gitlab_and_generic_contexts(env, expected):
    assert tags_for(env) == expected


def test_gitlab_merge_request_is_not_pushed_by_default():
    context = ci.detect({"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "5"})
    assert context.is_pull_request


def test_semver_parse():
    assert parse_semver("v1.2.3").version == "1.2.3"
    assert parse_semver("1.2") is None
    assert parse_semver("01.2.3") is None
    assert parse_semver("1.2.3-alpha.1").prerelease == "alpha.1"


def test_strip_credentials_from_source_urls():
    assert (
        ci.strip_credentials("https://user:ghs_token@github.com/o/r.git")
        == "https://github.com/o/r"
    )
    assert ci.strip_credentials("git@gitlab.com:o/r.git") == "https://gitlab.com/o/r"
    assert ci.strip_credentials("file:///etc/passwd") is None


def test_oci_labels_from_github_context(tmp_path):
    env = gh(tmp_path, "refs/tags/v1.2.3") | {"SOURCE_DATE_EPOCH": "1700000000"}
    context = ci.detect(env)
    labels = oci_labels(
        context, version_of(context, []), env, {"org.opencontainers.image.title": "x"}
    )
    assert labels == {
        "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
        "org.opencontainers.image.source": "https://github.com/Acme/Demo-App",
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.version": "1.2.3",
        "org.opencontainers.image.title": "x",  # the user's label wins
    }


def test_oci_labels_from_gitlab_branch():
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": SHA,
        "CI_COMMIT_BRANCH": "feat/a",
        "CI_PROJECT_URL": "https://gitlab.example.com/g/proj",
        "CI_PROJECT_NAME": "proj",
    }
    context = ci.detect(env)
    labels = oci_labels(context, version_of(context, []), env, {})
    assert labels["org.opencontainers.image.version"] == "feat-a"
    assert labels["org.opencontainers.image.title"] == "proj"
    assert labels["org.opencontainers.image.source"] == "https://gitlab.example.com/g/proj"


def test_oversized_or_broken_event_payload_is_ignored(tmp_path):
    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": str(bad)}
    assert ci.detect(env).default_branch is None
