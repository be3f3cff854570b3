"""Preview deployments against the Paperspace emulator over real HTTP (and the GitHub emulator
for the comment): create, update on the next push, cleanup on close (twice), sweep, caps, forks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import deploy_calls as dc
import pytest
import yaml
from github_emulator import FAST as GITHUB_FAST
from github_emulator import GitHubHandle, serve

from paperspace_deploy import cost, deploy, pr_comment, preview
from paperspace_deploy.errors import ExitCode

pytestmark = pytest.mark.integration
FAST = deploy.WaitOptions(poll_interval=0.02, grace=1.0, error_grace=0.03)
DAY = 86400.0
CPU = {"metric": "cpu", "summary": "average", "value": 60}


@pytest.fixture
def github(tmp_path: Path) -> Iterator[GitHubHandle]:
    yield from serve(tmp_path)


def pr_env(emulator, tmp_path: Path, number: int = 12, *, fork: bool = False,
           event: str = "pull_request", **extra: str) -> dict[str, str]:  # fmt: skip
    head = {"sha": "a" * 40, "repo": {"full_name": "mallory/app" if fork else "acme/app",
                                      "fork": fork}}  # fmt: skip
    base = {"repo": {"full_name": "acme/app"}}
    payload = {"number": number, "pull_request": {"number": number, "head": head, "base": base}}
    path = tmp_path / f"event-{number}-{fork}-{event}.json"
    path.write_text(json.dumps(payload))
    return emulator.env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME=event, GITHUB_EVENT_PATH=str(path),
        GITHUB_REF=f"refs/pull/{number}/merge", GITHUB_REPOSITORY="acme/app",
        GITHUB_SHA="b" * 40, **extra,
    )  # fmt: skip


def write_spec(tmp_path: Path, **resources: object) -> Path:
    res = {"machineType": "A4000", "ports": [8000], "replicas": 3,
           "autoscaling": {"maxReplicas": 6, "metrics": [CPU]}, **resources}  # fmt: skip
    spec = {"apiVersion": "v1", "name": "demo", "image": ":image", "resources": res}
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_preview(emulator, spec: Path, env: dict[str, str], policy=None, number: int = 12,
                image: str = "nginx:1.25") -> preview.PreviewResult:  # fmt: skip
    req = dc.request(spec, environ=env, image=image, project_id=emulator.project_id,
                     timeout=10, wait_options=FAST)  # fmt: skip
    return preview.deploy_preview(req, number, policy or preview.PreviewPolicy(), dc.quiet(env))


def by_name(emulator) -> dict[str, object]:
    return {d.name: d for d in emulator.state.deployments.values()}


def test_create_update_cleanup_and_cleanup_again(emulator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    env = pr_env(emulator, tmp_path)
    prod = dc.run_deploy(spec, image="nginx:1.0", project_id=emulator.project_id,
                             environ=emulator.env(), timeout=10, wait_options=FAST)  # fmt: skip
    first = run_preview(emulator, spec, env)
    assert first.name == "demo-pr-12" and first.result.state == "healthy"
    assert first.outputs() == {"preview-name": "demo-pr-12", "endpoint": first.endpoint}
    dep = by_name(emulator)["demo-pr-12"]
    live = dep.specs[-1].data
    assert live["resources"]["replicas"] == 1 and "autoscaling" not in live["resources"]
    assert live["image"] == "nginx:1.25" and first.endpoint == f"https://{dep.endpoint}"
    assert abs((first.expires_at - datetime.now(UTC)).total_seconds() - 3 * DAY) < 60
    assert "autoscaling: off (a preview runs a fixed number of replicas)" in first.notes
    # the next push updates the same deployment
    second = run_preview(emulator, spec, env, image="nginx:1.26")
    assert second.result.deployment_id == first.result.deployment_id
    assert len(dep.specs) == 2 and dep.specs[-1].data["image"] == "nginx:1.26"
    # the pull request is closed: cleanup deletes the preview, then finds nothing
    gone = preview.cleanup_preview("demo", 12, preview.PreviewPolicy(), environ=env,
                                   project_id=emulator.project_id)  # fmt: skip
    assert gone.deleted and gone.deployment_id == dep.id and dep.id in emulator.state.deleted
    before = emulator.server.total_requests()
    again = preview.cleanup_preview("demo", 12, preview.PreviewPolicy(), environ=env,
                                    project_id=emulator.project_id)  # fmt: skip
    assert (again.deleted, again.deployment_id) == (False, None)
    assert "DELETE /deployments/{id}" in emulator.server.requests
    assert emulator.server.requests["DELETE /deployments/{id}"] == 1  # the no-op sent none
    assert emulator.server.total_requests() - before == 1  # one lookup
    assert prod.deployment_id in emulator.state.deployments  # production untouched


def _age(emulator, name: str, days: float) -> None:
    dep = by_name(emulator)[name]
    shift = days * DAY
    dep.wall -= shift
    for s in dep.specs:
        s.wall -= shift


def test_sweep_removes_only_expired_previews(emulator, tmp_path: Path) -> None:
    state = emulator.state
    base = {"apiVersion": "v1", "image": "nginx:1.25",
            "resources": {"machineType": "C4", "ports": [8000]}}  # fmt: skip
    names = ["demo", "demo-pr-1", "demo-pr-2", "demo-pr-3", "demo-pr-x", "demo-pr-01",
             "other-pr-1", "xdemo-pr-4", "demo-pr-5-old", "demo pr 6"]  # fmt: skip
    for name in names:
        state.upsert(emulator.project_id, {**base, "name": name})
    time.sleep(0.1)  # applied and healthy: externalApplied/dtHealthy are set
    for name in names:
        if name != "demo-pr-3":
            _age(emulator, name, 4)  # everything old except one preview
    _age(emulator, "demo-pr-2", -3.5)  # redeployed 12 hours ago: its TTL restarted
    env = emulator.env(GITHUB_EVENT_NAME="schedule")
    policy = preview.PreviewPolicy(ttl=3 * DAY)
    dry = preview.sweep_previews("demo", policy, environ=env, project_id=emulator.project_id,
                                 dry_run=True)  # fmt: skip
    assert dry.deleted == ["demo-pr-1"] and not state.deleted
    result = preview.sweep_previews("demo", policy, environ=env, project_id=emulator.project_id)
    assert result.deleted == ["demo-pr-1"]
    assert sorted(n for n, _ in result.kept) == ["demo-pr-2", "demo-pr-3"]
    assert result.ignored == 7  # the names that are not previews of demo, however old
    assert set(by_name(emulator)) == set(names) - {"demo-pr-1"}
    # a shorter TTL sweeps the 12-hour-old one too, never the others
    short = preview.sweep_previews("demo", preview.PreviewPolicy(ttl=6 * 3600), environ=env,
                                   project_id=emulator.project_id)  # fmt: skip
    assert short.deleted == ["demo-pr-2"] and "demo-pr-3" in by_name(emulator)
    assert "demo" in by_name(emulator) and "demo-pr-5-old" in by_name(emulator)


def test_caps_refuse_or_downgrade(emulator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, machineType="H100", replicas=4)
    env = pr_env(emulator, tmp_path)
    strict = preview.PreviewPolicy(machine_types=("A4000", "C5"))
    with pytest.raises(preview.PreviewRefused) as err:
        run_preview(emulator, spec, env, strict)
    assert "H100 is not allowed for previews (preview-machine-types: A4000, C5)" in str(err.value)
    assert "preview-machine-type" in err.value.hint and err.value.exit_code == ExitCode.INVALID
    assert emulator.server.total_requests() == 0 and not emulator.state.deployments
    downgrade = preview.PreviewPolicy(machine_types=("A4000", "C5"), machine_type="A4000",
                                      max_replicas=2)  # fmt: skip
    made = run_preview(emulator, spec, env, downgrade)
    data = by_name(emulator)["demo-pr-12"].specs[-1].data
    assert data["resources"]["machineType"] == "A4000" and data["resources"]["replicas"] == 2
    assert "machine type: H100 -> A4000 (allowed: A4000, C5)" in made.notes
    assert "replicas: 4 -> 2 (preview-max-replicas)" in made.notes


def test_fork_and_privileged_events_are_refused(emulator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    fork = pr_env(emulator, tmp_path, fork=True)
    with pytest.raises(preview.PreviewRefused, match="never runs for a pull request from a fork"):
        run_preview(emulator, spec, fork)
    with pytest.raises(preview.PreviewRefused, match="fork"):
        preview.cleanup_preview("demo", 12, preview.PreviewPolicy(), environ=fork,
                                project_id=emulator.project_id)  # fmt: skip
    with pytest.raises(preview.PreviewRefused, match="fork"):
        preview.sweep_previews("demo", preview.PreviewPolicy(), environ=fork,
                               project_id=emulator.project_id)  # fmt: skip
    target = pr_env(emulator, tmp_path, event="pull_request_target")
    with pytest.raises(preview.PreviewRefused, match="refuses to run on pull_request_target"):
        run_preview(emulator, spec, target)
    assert emulator.server.total_requests() == 0
    # cleanup may run on pull_request_target (it deletes; it never runs the PR's code)
    out = preview.cleanup_preview("demo", 12, preview.PreviewPolicy(), environ=target,
                                  project_id=emulator.project_id)  # fmt: skip
    assert not out.deleted


def test_pr_number_comes_from_the_run(emulator, tmp_path: Path) -> None:
    assert preview.pr_number(pr_env(emulator, tmp_path, 31), "preview") == 31
    with pytest.raises(Exception, match="needs a pull request") as err:
        preview.pr_number(emulator.env(GITHUB_ACTIONS="true", GITHUB_REF="refs/heads/main",
                                       GITHUB_EVENT_NAME="push"), "cleanup")  # fmt: skip
    assert err.value.exit_code == ExitCode.USAGE
    assert preview.spec_name(write_spec(tmp_path)) == "demo"


def test_preview_comment_shows_endpoint_expiry_and_cost(emulator, github, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    env = pr_env(emulator, tmp_path, 7, GITHUB_API_URL=github.url, GITHUB_TOKEN=github.token,
                 GITHUB_WORKFLOW="Preview")  # fmt: skip
    policy = preview.PreviewPolicy()
    made = run_preview(emulator, spec, env, policy, number=7)
    est = cost.estimate(made.spec, None, cost.load_prices())
    c = pr_comment.CommentContent(spec="app.yaml", workflow="Preview", findings=[],
                                  cost=est, preview=made.info(policy))  # fmt: skip
    out = pr_comment.publish(c, environ=env, client_options={"policy": GITHUB_FAST})
    assert out.action == "created"
    body = github.comments()[0]["body"]
    host = made.endpoint.removeprefix("https://")
    assert f"| Endpoint | [{host}](https://{host}) |" in body
    assert (
        f"| Expires | {made.expires_at:%Y-%m-%d %H:%M} UTC (3 days after the last deploy)" in body
    )
    assert "| This spec (<code>A4000</code>) | 1 | $0.76 | $555 |" in body  # capped: 1 replica
    # closed: cleanup, and the same comment now says the preview is gone
    preview.cleanup_preview("demo", 7, policy, environ=env, project_id=emulator.project_id)
    gone = pr_comment.PreviewInfo(made.name, None, None, "deleted")
    c2 = pr_comment.CommentContent(spec="app.yaml", workflow="Preview", preview=gone)
    assert pr_comment.publish(c2, environ=env).action == "updated"
    assert (
        len(github.comments()) == 1
        and "deleted (the pull request was closed)" in github.comments()[0]["body"]
    )


def test_last_activity_reads_the_api_timestamps() -> None:
    spec = {"externalApplied": "2026-09-05T10:00:00.000Z", "dtHealthy": None}
    dep = {"dtCreated": "2026-09-01T10:00:00.000Z", "latestSpec": spec}
    assert preview.last_activity(dep) == datetime(2026, 9, 5, 10, tzinfo=UTC)
    assert preview.last_activity({"dtCreated": "garbage", "latestSpec": None}) is None
    assert preview.last_activity({"dtCreated": "2026-09-01T10:00:00"}) == datetime(
        2026, 9, 1, 10, tzinfo=UTC
    )
    assert timedelta(days=3) == timedelta(seconds=preview.DEFAULT_TTL)
