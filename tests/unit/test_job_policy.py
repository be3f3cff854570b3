"""job.py's policy for the pull-request modes: which modes a fork or a privileged event may run,
which stages each mode builds, and that a refusal comes before any request is built."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from paperspace_deploy import job
from paperspace_deploy.errors import InputError, UsageError
from paperspace_deploy.preview import PreviewRefused


class Quiet:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def findings(self, findings: list[Any]) -> None:
        pass

    def stage(self, title: str) -> Any:
        return nullcontext()

    def event(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def pr_env(tmp_path: Path, *, fork: bool, event: str = "pull_request") -> dict[str, str]:
    head = {"repo": {"full_name": "mallory/app" if fork else "acme/app", "fork": fork}}
    base = {"repo": {"full_name": "acme/app"}}
    payload = {"number": 3, "pull_request": {"number": 3, "head": head, "base": base}}
    path = tmp_path / f"event-{fork}-{event}.json"
    path.write_text(json.dumps(payload))
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(path),
            "GITHUB_REF": "refs/pull/3/merge", "GITHUB_REPOSITORY": "acme/app"}  # fmt: skip


def built(mode: str, env: dict[str, str], *, building: bool = False) -> tuple[job.Job, list[str]]:
    """make_job with factories that record which requests were asked for."""
    asked: list[str] = []

    def factory(name: str) -> Any:
        def make() -> Any:
            asked.append(name)
            return (
                type("Req", (), {"deploy": "the-deploy-request"})() if name == "preview" else name
            )

        return make

    made = job.make_job(mode, env, Quiet(), has_spec=True, building=building,
                        lint=factory("lint"), build=factory("build"), deploy=factory("deploy"),
                        preview=factory("preview"))  # fmt: skip
    return made, asked


@pytest.mark.parametrize("mode", ["deploy", "plan", "preview", "cleanup", "sweep"])
def test_fork_pull_requests_are_refused_before_any_request(tmp_path: Path, mode: str) -> None:
    with pytest.raises(InputError, match="fork") as err:
        built(mode, pr_env(tmp_path, fork=True))
    assert err.value.exit_code == 1


def test_a_fork_may_lint_and_build(tmp_path: Path) -> None:
    env = pr_env(tmp_path, fork=True)
    assert built("lint", env)[1] == ["lint"]
    made, asked = built("build", env)
    assert asked == ["lint", "build"] and made.fork  # run_job then builds without pushing


@pytest.mark.parametrize("event", ["pull_request_target", "workflow_run", "issue_comment"])
def test_preview_refuses_privileged_events(tmp_path: Path, event: str) -> None:
    env = pr_env(tmp_path, fork=False, event=event)
    with pytest.raises(PreviewRefused, match=f"refuses to run on {event}"):
        built("preview", env)
    made, asked = built("cleanup", env)  # deleting runs none of the pull request's code
    assert asked == ["preview"] and made.deploy == "the-deploy-request"


def test_stages_per_mode(tmp_path: Path) -> None:
    env = pr_env(tmp_path, fork=False)
    assert built("preview", env)[1] == ["lint", "preview"]
    assert built("preview", env, building=True)[1] == ["lint", "build", "preview"]
    for mode in ("cleanup", "sweep"):  # the spec's name is all they read: no lint
        made, asked = built(mode, env)
        assert asked == ["preview"] and made.lint is None and made.deploy == "the-deploy-request"
    assert built("plan", env)[1] == ["lint", "deploy"]
    assert built("deploy", env, building=True)[1] == ["lint", "build", "deploy"]


def test_a_face_without_previews_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="mode 'sweep' is not available here"):
        job.make_job("sweep", {}, Quiet(), has_spec=True, building=False, lint=lambda: None,
                     build=lambda: None, deploy=lambda: None)  # type: ignore[arg-type,return-value]  # fmt: skip
