"""ci_context.py: what the CI run is, and whether it comes from a fork."""

from __future__ import annotations

import pytest


# -- the fork check fails closed (issue 11) -------------------------------------------------
def _pr_env(tmp_path, payload) -> dict[str, str]:
    import json

    path = tmp_path / "event.json"
    if payload is not None:
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(path), "GITHUB_REF": "refs/pull/7/merge"}  # fmt: skip


def _pull(head_repo) -> dict:
    return {"pull_request": {"head": {"repo": head_repo}, "base": {"repo": {"full_name": "o/a"}}}}


@pytest.mark.parametrize(
    ("payload", "fork"),
    [
        (_pull({"full_name": "o/a", "fork": False}), False),  # same repository
        (_pull({"full_name": "evil/a", "fork": True}), True),
        (_pull(None), True),  # a deleted fork: head.repo is null
        (_pull({"fork": False}), True),  # no name: unknown
        ({}, True),  # no pull_request object
        ("{not json", True),  # unreadable payload
        (None, True),  # the payload file is missing
    ],
)
def test_fork_detection_fails_closed(tmp_path, payload, fork):
    from paperspace_deploy import ci_context

    assert ci_context.detect(_pr_env(tmp_path, payload)).fork is fork
