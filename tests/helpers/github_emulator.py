"""The `github` fixture: a real GitHub REST emulator on 127.0.0.1:<free port>, per test.

@pytest.fixture
def github(tmp_path):
    yield from github_emulator.serve(tmp_path)

def test_x(github):
    github.url, github.token, github.repo, github.number      # seeded: acme/app#7
    github.client()                                           # a GitHubClient with the token
    github.env(GITHUB_EVENT_NAME="pull_request")              # environ for pr_comment.publish
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperspace_deploy.api.retry import RetryPolicy
from paperspace_deploy.emulator.faults import Faults
from paperspace_deploy.emulator_github import GitHubEmulator, GitHubState
from paperspace_deploy.github_api import GitHubClient

TOKEN = "ghs_emulatedWriteToken0123456789"
READ_ONLY = "ghs_emulatedReadOnlyToken0123456"
FAST = RetryPolicy(base=0.01, cap=0.05, retry_after_cap=5)


@dataclass
class GitHubHandle:
    server: GitHubEmulator
    tmp: Path
    token: str = TOKEN
    repo: str = "acme/app"
    number: int = 7

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def state(self) -> GitHubState:
        return self.server.state

    @property
    def faults(self) -> Faults:
        return self.server.faults

    def client(self, token: str | None = None, **kw: Any) -> GitHubClient:
        kw.setdefault("policy", FAST)
        return GitHubClient(token or self.token, self.url, environ={}, **kw)

    def comments(self, number: int | None = None) -> list[dict[str, Any]]:
        return self.state.comments(self.repo, number or self.number)

    def env(self, *, fork: bool = False, token: str | None = None, **extra: str) -> dict[str, str]:
        """A pull_request run of acme/app#7 (from a fork when `fork`), as the runner sets it."""
        head = "mallory/app" if fork else self.repo
        event = {
            "number": self.number,
            "pull_request": {
                "number": self.number,
                "head": {"sha": "c0ffee" * 6 + "abcd", "repo": {"full_name": head, "fork": fork}},
                "base": {"repo": {"full_name": self.repo}},
            },
            "repository": {"default_branch": "main"},
        }
        path = self.tmp / f"event-{len(list(self.tmp.glob('event-*')))}.json"
        path.write_text(json.dumps(event))
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_REF": f"refs/pull/{self.number}/merge",
            "GITHUB_REPOSITORY": self.repo,
            "GITHUB_REPOSITORY_OWNER": self.repo.split("/")[0],
            "GITHUB_SHA": "f" * 40,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_WORKFLOW": "PR plan",
            "GITHUB_API_URL": self.url,
            "GITHUB_TOKEN": token or (READ_ONLY if fork else self.token),
            **extra,
        }


def serve(tmp_path: Path) -> Iterator[GitHubHandle]:
    state = GitHubState()
    state.add_token(TOKEN)
    state.add_token(READ_ONLY, write=False)
    state.add_issue("acme/app", 7)
    server = GitHubEmulator(state, Faults(seed=1)).start()
    try:
        yield GitHubHandle(server, tmp_path)
    finally:
        server.stop()
