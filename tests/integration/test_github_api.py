"""The GitHub REST client against the GitHub emulator over real HTTP on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from github_emulator import READ_ONLY, GitHubHandle, serve

from paperspace_deploy.emulator.faults import Fault
from paperspace_deploy.emulator_github import GitHubEmulator, GitHubState
from paperspace_deploy.errors import ExitCode, InputError
from paperspace_deploy.github_api import (
    GitHubAmbiguousWrite,
    GitHubAuthFailed,
    GitHubClient,
    GitHubError,
    GitHubForbidden,
    GitHubNotFound,
    GitHubUnavailable,
    GitHubValidation,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def github(tmp_path: Path) -> Iterator[GitHubHandle]:
    yield from serve(tmp_path)


def test_pagination_follows_link_next_to_the_last_page(github) -> None:
    client = github.client()
    for i in range(205):
        client.create_issue_comment(github.repo, github.number, f"comment {i}")
    got = list(client.list_issue_comments(github.repo, github.number))
    assert [c["body"] for c in got] == [f"comment {i}" for i in range(205)]  # oldest first
    # page 1 by name, pages 2 and 3 through the Link URLs (GitHub's /repositories/{id} form)
    assert github.server.requests["GET /repos/acme/app/issues/{n}/comments"] == 1
    assert github.server.requests["GET /repositories/{n}/issues/{n}/comments"] == 2


def test_emulator_link_header_and_bodies_are_githubs(github) -> None:
    client = github.client()
    for i in range(5):
        client.create_issue_comment(github.repo, github.number, f"c{i}")
    url = f"{github.url}/repos/acme/app/issues/7/comments?per_page=2&page=2"
    resp = requests.get(url, headers={"Authorization": f"Bearer {github.token}"}, timeout=5)
    assert resp.status_code == 200 and [c["body"] for c in resp.json()] == ["c2", "c3"]
    assert set(resp.links) == {"prev", "next", "last", "first"}
    assert resp.links["next"]["url"].endswith("/comments?per_page=2&page=3")
    assert (
        resp.links["last"]["url"].endswith("page=3")
        and "/repositories/" in resp.links["last"]["url"]
    )
    comment = resp.json()[0]
    assert {"id", "node_id", "url", "html_url", "issue_url", "user", "created_at", "updated_at",
            "author_association", "body"} <= set(comment)  # fmt: skip
    assert comment["user"] == {"login": "github-actions[bot]", "id": comment["user"]["id"],
                               "type": "Bot", "site_admin": False}  # fmt: skip
    missing = requests.get(f"{github.url}/repos/acme/app/issues/99/comments", timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/issues/comments#list-issue-comments",
        "status": "404",
    }


def test_create_and_update(github) -> None:
    client = github.client()
    made = client.create_issue_comment(github.repo, github.number, "first")
    assert made["body"] == "first" and made["html_url"].endswith(f"#issuecomment-{made['id']}")
    edited = client.update_issue_comment(github.repo, made["id"], "second")
    assert edited["id"] == made["id"] and [c["body"] for c in github.comments()] == ["second"]


def test_read_only_token_gets_githubs_403(github) -> None:
    with pytest.raises(GitHubForbidden) as err:
        github.client(READ_ONLY).create_issue_comment(github.repo, github.number, "x")
    assert err.value.status == 403 and "Resource not accessible by integration" in str(err.value)
    assert "pull-requests: write" in err.value.hint
    raw = requests.post(f"{github.url}/repos/acme/app/issues/7/comments", json={"body": "x"},
                        headers={"Authorization": f"Bearer {READ_ONLY}"}, timeout=5)  # fmt: skip
    assert raw.json() == {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        "status": "403",
    }
    assert raw.headers["X-Accepted-GitHub-Permissions"] == "issues=write; pull_requests=write"
    assert github.comments() == []


def test_auth_not_found_and_validation_errors(github) -> None:
    with pytest.raises(GitHubAuthFailed, match="Bad credentials") as err:
        github.client("ghs_wrong").create_issue_comment(github.repo, github.number, "x")
    assert err.value.exit_code == ExitCode.INVALID
    with pytest.raises(GitHubNotFound, match=r"Not Found \(HTTP 404\)"):
        github.client().create_issue_comment(github.repo, 8, "x")
    with pytest.raises(GitHubNotFound):
        github.client().update_issue_comment(github.repo, 123, "x")
    with pytest.raises(GitHubValidation, match="Body is too long") as err:
        github.client().create_issue_comment(github.repo, github.number, "x" * 65537)
    assert err.value.status == 422
    raw = requests.post(f"{github.url}/repos/acme/app/issues/7/comments", data=b"{}",
                        headers={"Authorization": f"Bearer {github.token}"}, timeout=5)  # fmt: skip
    assert (
        raw.status_code == 422
        and raw.json()["message"] == 'Invalid request.\n\n"body" wasn\'t supplied.'
    )
    auth = {"Authorization": f"Bearer {github.token}"}
    bad_json = requests.post(f"{github.url}/repos/acme/app/issues/7/comments", data=b"{",
                             headers=auth, timeout=5)  # fmt: skip
    assert bad_json.status_code == 400 and bad_json.json()["message"] == "Problems parsing JSON"
    anonymous = requests.post(f"{github.url}/repos/acme/app/issues/7/comments", json={"body": "x"},
                              timeout=5)  # fmt: skip
    assert anonymous.status_code == 401 and anonymous.json()["message"] == "Requires authentication"


def test_get_retried_on_503_and_a_patch_on_a_dropped_connection(github) -> None:
    client = github.client()
    made = client.create_issue_comment(github.repo, github.number, "a")
    github.faults.add("status:503@GET /repos/*x2")
    assert len(list(client.list_issue_comments(github.repo, github.number))) == 1
    github.faults.add("drop@PATCH /repos/*x1")
    assert client.update_issue_comment(github.repo, made["id"], "b")["body"] == "b"
    assert client.stats.retries == 3


def test_post_is_never_blindly_repeated(github) -> None:
    client = github.client()
    github.faults.add("drop-after@POST /repos/*x1")
    with pytest.raises(GitHubAmbiguousWrite, match="may have been applied"):
        client.create_issue_comment(github.repo, github.number, "once")
    assert [c["body"] for c in github.comments()] == ["once"]  # applied exactly once
    github.faults.add("status:502@POST /repos/*x1")
    with pytest.raises(GitHubAmbiguousWrite) as err:
        client.create_issue_comment(github.repo, github.number, "twice")
    assert err.value.exit_code == ExitCode.UNAVAILABLE
    # read, then the connection closed without an answer: ambiguous as well
    github.faults.add("drop@POST /repos/*x1")
    with pytest.raises(GitHubAmbiguousWrite):
        client.create_issue_comment(github.repo, github.number, "x")
    assert client.stats.retries == 0


def test_post_retried_when_it_never_reached_github() -> None:
    """Connection refused: nothing was sent, so even a POST is retried (then gives up)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    slept: list[float] = []
    client = GitHubClient("t0ken", f"http://127.0.0.1:{port}", environ={}, sleep=slept.append)
    with pytest.raises(GitHubUnavailable, match=r"failed after 5 attempts \(connection failed"):
        client.create_issue_comment("acme/app", 7, "x")
    assert client.stats.calls == 5 and len(slept) == 4


def test_rate_limits_wait_as_github_asks(github) -> None:
    slept: list[float] = []
    client = github.client(sleep=slept.append)
    github.state.rate_limited, github.state.rate_reset_in = 1, 2.0
    client.create_issue_comment(github.repo, github.number, "after the primary limit")
    assert 1.0 <= slept[-1] <= 3.0  # until x-ratelimit-reset, not a blind backoff
    github.faults.add(Fault(kind="429", route="POST /repos/*", status=403, retry_after="1"))
    client.create_issue_comment(github.repo, github.number, "after a secondary limit (403)")
    github.faults.add(Fault(kind="429", route="GET /repos/*", retry_after="2"))
    list(client.list_issue_comments(github.repo, github.number))
    assert slept[-2:] == [1.0, 2.0]
    assert len(github.comments()) == 2  # rate-limited POSTs were not applied, retried once each
    github.faults.add(Fault(kind="429", route="GET /repos/*", retry_after="3600"))
    with pytest.raises(GitHubUnavailable, match="asked to wait 3600 s"):
        list(client.list_issue_comments(github.repo, github.number))


def test_unavailable_after_the_retries(github) -> None:
    client = github.client()
    github.faults.add("status:503@GET /repos/*x10")
    with pytest.raises(GitHubUnavailable, match="failed after 5 attempts") as err:
        list(client.list_issue_comments(github.repo, github.number))
    assert err.value.exit_code == ExitCode.UNAVAILABLE


def test_deadline_bounds_the_whole_call(github) -> None:
    from paperspace_deploy.api.retry import Deadline

    github.faults.add("delay:0.5@GET /repos/*x5")
    client = github.client(deadline=Deadline(0.3), timeout=(1.0, 0.2))
    start = time.monotonic()
    with pytest.raises(GitHubUnavailable):
        list(client.list_issue_comments(github.repo, github.number))
    assert time.monotonic() - start < 2.0


def test_response_size_is_capped(github) -> None:
    client = github.client()
    client.create_issue_comment(github.repo, github.number, "y" * 5000)
    small = github.client(max_response=1000)
    with pytest.raises(GitHubError, match="response larger than"):
        list(small.list_issue_comments(github.repo, github.number))


def test_token_never_leaves_the_api_host(github) -> None:
    client = github.client()
    with pytest.raises(GitHubError, match="refusing to send the token to another host"):
        client.request("GET", "http://127.0.0.2:9/elsewhere")
    assert "ghs_" not in repr(client)


def test_github_enterprise_layout_with_a_path_prefix() -> None:
    state = GitHubState()
    state.add_token("t0ken")
    state.add_issue("Acme/App", 3)
    with GitHubEmulator(state, prefix="/api/v3").start() as server:
        client = GitHubClient("t0ken", server.url, environ={})
        for i in range(120):
            client.create_issue_comment("acme/app", 3, str(i))
        assert len(list(client.list_issue_comments("acme/app", 3))) == 120


def test_inputs_are_checked_before_anything_is_sent(github) -> None:
    with pytest.raises(InputError, match="token is required"):
        GitHubClient(None, github.url, environ={})
    with pytest.raises(InputError, match="whitespace"):
        GitHubClient("a b", github.url, environ={})
    with pytest.raises(InputError, match="OWNER/NAME"):
        list(github.client().list_issue_comments("../x", 1))
    with pytest.raises(InputError, match="positive integer"):
        github.client().create_issue_comment(github.repo, 0, "x")
    with pytest.raises(InputError, match="must not carry credentials"):
        GitHubClient("t", "https://u:p@api.github.com", environ={})
    env_client = GitHubClient(
        None, None, environ={"GITHUB_TOKEN": "abc", "GITHUB_API_URL": github.url}
    )
    assert env_client.base_url == github.url
    assert json.dumps(github.server.requests) == "{}"
