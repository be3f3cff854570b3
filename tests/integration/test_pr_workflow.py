"""The pull-request workflow through the action's entry point (`action.main`), against the
Paperspace emulator and the GitHub emulator over real HTTP: the plan-and-cost comment (created,
edited, one per spec, a notice on a fork's 403, escaped, secret-free) and previews (create,
update, cleanup twice, sweep, caps, forks)."""

from __future__ import annotations

import html
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from canary import leaks, without_mask_lines
from github_emulator import GitHubHandle, serve
from runner_commands import parse_output_file, process

from paperspace_deploy import action
from paperspace_deploy.errors import ExitCode

pytestmark = pytest.mark.integration
DAY = 86400.0
CPU = {"metric": "cpu", "summary": "average", "value": 60}
FAST = {"poll-interval": "0.02", "error-grace": "1", "timeout": "1"}  # timeout: 1 minute


@dataclass
class Run:
    code: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    commands: list[Any] = field(default_factory=list)

    def annotations(self, level: str) -> list[str]:
        return [c.data for c in self.commands if c.name == level]


@pytest.fixture
def github(tmp_path: Path) -> Iterator[GitHubHandle]:
    yield from serve(tmp_path)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / ".paperspace").mkdir(parents=True)
    return root


def run_action(ws: Path, env: dict[str, str], **inputs: str) -> Run:
    """`action.main` with the runner's files and `INPUT_*` variables, as the runner starts it."""
    files = ws.parent / "runner-files"
    files.mkdir(exist_ok=True)
    out_file, summary_file = files / "output", files / "summary"
    out_file.write_text("")
    summary_file.write_text("")
    full = {**env, "GITHUB_WORKSPACE": str(ws), "GITHUB_OUTPUT": str(out_file),
            "GITHUB_STEP_SUMMARY": str(summary_file), "CI": "true"}  # fmt: skip
    for name, value in inputs.items():
        full[f"INPUT_{name.replace('_', '-').upper()}"] = value
    stream = io.StringIO()
    code = action.main(environ=full, stdout=stream, stderr=stream, cwd=ws)
    text = stream.getvalue()
    return Run(code, text, parse_output_file(out_file.read_text()), summary_file.read_text(),
               process(text))  # fmt: skip


def write_spec(ws: Path, rel: str = ".paperspace/app.yaml", name: str = "demo",
               **resources: Any) -> str:  # fmt: skip
    res = {"machineType": "A4000", "ports": [8000], "replicas": 1,
           "autoscaling": {"maxReplicas": 5, "metrics": [CPU]}, **resources}  # fmt: skip
    spec = {"apiVersion": "v1", "name": name, "image": ":image", "resources": res}
    (ws / rel).write_text(yaml.safe_dump(spec, sort_keys=False))
    return rel


def pr_env(emulator: Any, github: GitHubHandle, *, fork: bool = False, **extra: str) -> dict:
    """A pull_request run of acme/app#7 with both emulators' addresses."""
    return {**github.env(fork=fork), "GITHUB_WORKFLOW": "Plan and cost", **extra}


def api(emulator: Any) -> dict[str, str]:
    return {"api_key": emulator.key, "api_url": emulator.url, "project_id": emulator.project_id}


def by_name(emulator: Any) -> dict[str, Any]:
    return {d.name: d for d in emulator.state.deployments.values()}


def deploy_production(ws: Path, emulator: Any, image: str = "nginx:1.0") -> None:
    push = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main",
            "GITHUB_REPOSITORY": "acme/app", "GITHUB_SHA": "e" * 40}  # fmt: skip
    done = run_action(ws, push, mode="deploy", image=image, **api(emulator), **FAST)
    assert done.code == ExitCode.OK, done.stdout


# --------------------------------------------------------------------------- the plan comment
def test_plan_comment_created_edited_and_one_per_spec(emulator, github, ws: Path) -> None:
    spec = write_spec(ws)
    deploy_production(ws, emulator)
    write_spec(ws, machineType="H100")  # the pull request's change: A4000 -> H100
    env = pr_env(emulator, github)
    first = run_action(ws, env, mode="plan", spec=spec, image="nginx:1.1", comment="true",
                       **api(emulator))  # fmt: skip
    assert first.code == ExitCode.OK, first.stdout
    comments = github.comments()
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith("<!-- paperspace-deploy:Plan_and_cost:.paperspace/app.yaml -->\n")
    assert "Would **update** deployment <code>demo</code>" in body
    assert (
        "| ~ | <code>resources.machineType</code> | <code>A4000</code> | <code>H100</code> |"
        in (body)
    )
    assert "**Change:** +$1,701/month at 1 replica, up to +$8,505 at 5" in body
    assert "| This spec (<code>H100</code>) | 1 | $3.09 | $2,256 |" in body
    assert "| Live (<code>A4000</code>) | 1 | $0.76 | $555 |" in body
    assert "An estimate, not a quote" in body and "2026-09-20" in body
    assert first.outputs["cost-per-hour"] == "3.09" and first.outputs["cost-per-month"] == "2255.70"
    assert "PR comment created" in first.stdout
    # the job summary shows the same estimate
    assert "### Cost estimate" in first.summary
    assert "+$1,701/month at 1 replica, up to +$8,505 at 5" in first.summary
    # the next push edits the same comment
    second = run_action(ws, env, mode="plan", spec=spec, image="nginx:1.2", comment="true",
                        **api(emulator))  # fmt: skip
    assert second.code == ExitCode.OK and "PR comment updated" in second.stdout
    after = github.comments()
    assert len(after) == 1 and after[0]["id"] == comments[0]["id"]
    assert "nginx:1.2" in after[0]["body"] and "nginx:1.1" not in after[0]["body"]
    # the same push again: nothing to edit
    third = run_action(ws, env, mode="plan", spec=spec, image="nginx:1.2", comment="true",
                       **api(emulator))  # fmt: skip
    assert "PR comment unchanged" in third.stdout and len(github.comments()) == 1
    # a second spec gets its own comment; the first is left alone
    other = write_spec(ws, ".paperspace/worker.yaml", name="worker", machineType="C5")
    fourth = run_action(ws, env, mode="plan", spec=other, image="nginx:1.2", comment="true",
                        **api(emulator))  # fmt: skip
    assert fourth.code == ExitCode.OK, fourth.stdout
    bodies = [c["body"] for c in github.comments()]
    assert len(bodies) == 2 and bodies[0] == after[0]["body"]
    assert bodies[1].startswith("<!-- paperspace-deploy:Plan_and_cost:.paperspace/worker.yaml -->")
    assert "Would **create** deployment <code>worker</code>" in bodies[1]
    assert "No price known for <code>C5</code>" in bodies[1]  # never a guess
    assert "cost-per-hour" not in fourth.outputs and "cost-per-month" not in fourth.outputs


def test_lint_comment_on_a_fork_is_a_notice(emulator, github, ws: Path) -> None:
    spec = write_spec(ws, replicas=1)
    env = pr_env(emulator, github, fork=True)  # a fork's run: a read-only token, no secrets
    done = run_action(ws, env, mode="lint", spec=spec, comment="true")
    assert done.code == ExitCode.OK, done.stdout
    assert github.comments() == []
    notices = done.annotations("notice")
    assert any("PR comment skipped: GitHub refused it (403)" in n for n in notices), notices
    assert not done.annotations("error")
    assert not [w for w in done.annotations("warning") if "comment" in w]  # a notice, no more
    # lint's own cost estimate still shows (no live spec is read: no change claimed)
    assert "### Cost estimate" in done.summary and "Change" not in done.summary
    assert done.outputs["cost-per-hour"] == "0.76"


def test_comment_is_escaped_and_holds_no_secret(emulator, github, ws: Path) -> None:
    key = emulator.key
    hostile = ("[click](https://evil.example/x) <img src=x onerror=alert(1)> **bold** @octocat "
               "#1 ![i](https://evil.example/i.png) <!-- --> `code` " + key)  # fmt: skip
    res = {"machineType": "A4000", "ports": [8000], "replicas": 1}
    spec = {"apiVersion": "v1", "name": "demo", "image": ":image", "resources": res,
            "command": ["sh", "-c", hostile],  # shown in the plan (env values are redacted)
            "env": [{"name": "LEAKED", "value": key}],
            "x-<b>note</b>": "y"}  # an unknown key: an error that quotes it  # fmt: skip
    path = ws / ".paperspace/app.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    env = pr_env(emulator, github)
    run = {"mode": "plan", "spec": ".paperspace/app.yaml", "image": "nginx:1.1", "comment": "true",
           **api(emulator)}  # fmt: skip
    invalid = run_action(ws, env, **run)
    assert invalid.code == ExitCode.INVALID, invalid.stdout  # the comment still says why
    bodies = [github.comments()[0]["body"]]
    assert "❌ 1 error(s)" in bodies[0] and "x-&lt;b&gt;note&lt;/b&gt;" in bodies[0]
    assert "the spec has 1 error(s); nothing was changed" in bodies[0]
    del spec["x-<b>note</b>"]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    done = run_action(ws, env, **run)
    assert done.code == ExitCode.OK, done.stdout
    assert len(github.comments()) == 1
    bodies.append(github.comments()[0]["body"])
    assert "<code>command&#91;2&#93;</code>" in bodies[1] and "click" in bodies[1]
    assert (
        "| + | <code>env&#91;0&#93;.value</code> |  | <code>&lt;redacted&gt;</code> |" in bodies[1]
    )
    for body in bodies:
        shown = html.unescape(body)  # what GitHub renders as text
        # no secret, in any encoding, raw or as GitHub shows it
        assert leaks({"body": body, "shown": shown}, key) == []
        # the hostile text is inert: no tag, link, image, mention or issue reference
        for live in ("<img", "<b>", "](https://evil", "![", "**bold**", "<!-- -->", "`code`"):
            assert live not in body, live
        # GitHub links no mention or issue number inside <code> (html-pipeline skips code)
        outside_code = re.sub(r"<code>.*?</code>", "", body)
        assert "@octocat" not in outside_code and not re.search(r"#1\b", outside_code)
        assert body.count("<!--") == 1  # only our marker
    assert "`code` ***</code>" in html.unescape(bodies[1])  # the key became *** before escaping
    for out in (invalid, done):
        assert leaks({"stdout": without_mask_lines(out.stdout), "summary": out.summary}, key) == []


# ----------------------------------------------------------------------------------- previews
def test_preview_create_update_cleanup_twice(emulator, github, ws: Path) -> None:
    spec = write_spec(ws, replicas=3, autoscaling={"maxReplicas": 6, "metrics": [CPU]})
    deploy_production(ws, emulator)
    env = pr_env(emulator, github, GITHUB_WORKFLOW="Preview")
    first = run_action(ws, env, mode="preview", spec=spec, image="nginx:1.25", comment="true",
                       **api(emulator), **FAST)  # fmt: skip
    assert first.code == ExitCode.OK, first.stdout
    assert first.outputs["preview-name"] == "demo-pr-7"
    dep = by_name(emulator)["demo-pr-7"]
    assert first.outputs["endpoint"] == f"https://{dep.endpoint}"
    live = dep.specs[-1].data["resources"]
    assert live["replicas"] == 1 and "autoscaling" not in live  # capped, autoscaling off
    assert first.outputs["cost-per-hour"] == "0.76"  # the capped preview's cost
    body = github.comments()[0]["body"]
    assert body.startswith("<!-- paperspace-deploy:Preview:.paperspace/app.yaml -->")
    assert f"| Endpoint | [{dep.endpoint}](https://{dep.endpoint}) |" in body
    assert "(3 days after the last deploy); the nightly sweep deletes it then |" in body
    assert "replicas: 3 -&gt; 1 (preview-max-replicas)" in body
    assert "| This spec (<code>A4000</code>) | 1 | $0.76 | $555 |" in body
    assert "Would **create** deployment <code>demo-pr-7</code>" in body
    assert "| Preview | demo-pr-7 |" in first.summary and "| Expires |" in first.summary
    # the next push updates the same preview and the same comment
    second = run_action(ws, env, mode="preview", spec=spec, image="nginx:1.26", comment="true",
                        **api(emulator), **FAST)  # fmt: skip
    assert second.code == ExitCode.OK, second.stdout
    assert second.outputs["deployment-id"] == first.outputs["deployment-id"] == dep.id
    assert len(dep.specs) == 2 and dep.specs[-1].data["image"] == "nginx:1.26"
    assert len(github.comments()) == 1 and "nginx:1.26" in github.comments()[0]["body"]
    # closed: cleanup deletes it and the comment says so
    closed = run_action(ws, env, mode="cleanup", spec=spec, comment="true", **api(emulator))
    assert closed.code == ExitCode.OK, closed.stdout
    assert dep.id in emulator.state.deleted and closed.outputs["preview-name"] == "demo-pr-7"
    assert f"preview demo-pr-7: deleted deployment {dep.id}" in closed.summary
    comments = github.comments()
    assert len(comments) == 1 and "deleted (the pull request was closed)" in comments[0]["body"]
    # cleanup again: nothing to delete, no DELETE sent, still a success
    deletes = emulator.server.requests["DELETE /deployments/{id}"]
    again = run_action(ws, env, mode="cleanup", spec=spec, **api(emulator))
    assert again.code == ExitCode.OK, again.stdout
    assert emulator.server.requests["DELETE /deployments/{id}"] == deletes == 1
    assert "no deployment; nothing to clean up" in again.summary
    assert "demo" in by_name(emulator)  # production untouched


def _age(emulator: Any, name: str, days: float) -> None:
    dep = by_name(emulator)[name]
    dep.wall -= days * DAY
    for s in dep.specs:
        s.wall -= days * DAY


def test_sweep_removes_only_expired_previews(emulator, ws: Path) -> None:
    spec = write_spec(ws)
    base = {"apiVersion": "v1", "image": "nginx:1.25",
            "resources": {"machineType": "C4", "ports": [8000]}}  # fmt: skip
    names = ["demo", "demo-pr-1", "demo-pr-2", "demo-pr-3", "other-pr-1", "demo-pr-x"]
    for name in names:
        emulator.state.upsert(emulator.project_id, {**base, "name": name})
    time.sleep(0.1)  # applied and healthy
    for name in ("demo", "demo-pr-1", "other-pr-1", "demo-pr-x"):
        _age(emulator, name, 10)
    _age(emulator, "demo-pr-2", 2)  # within the 3-day TTL
    schedule = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule",
                "GITHUB_REF": "refs/heads/main", "GITHUB_REPOSITORY": "acme/app"}  # fmt: skip
    done = run_action(ws, schedule, mode="sweep", spec=spec, **api(emulator))
    assert done.code == ExitCode.OK, done.stdout
    assert set(by_name(emulator)) == set(names) - {"demo-pr-1"}
    assert "deleted expired preview demo-pr-1" in done.summary
    assert "sweep: 1 deleted, 2 kept, 3 other deployment(s) not previews of demo" in done.stdout
    shorter = run_action(ws, schedule, mode="sweep", spec=spec, preview_ttl="1d", **api(emulator))
    assert shorter.code == ExitCode.OK, shorter.stdout
    assert set(by_name(emulator)) == {"demo", "demo-pr-3", "other-pr-1", "demo-pr-x"}


def test_caps_refuse_or_downgrade(emulator, github, ws: Path) -> None:
    spec = write_spec(ws, machineType="H100", replicas=4)
    env = pr_env(emulator, github, GITHUB_WORKFLOW="Preview")
    refused = run_action(ws, env, mode="preview", spec=spec, image="nginx:1.25",
                         preview_machine_types="A4000, C5", comment="true",
                         **api(emulator), **FAST)  # fmt: skip
    assert refused.code == ExitCode.INVALID, refused.stdout
    errors = refused.annotations("error")
    assert any("H100 is not allowed for previews (preview-machine-types: A4000, C5)" in e
               for e in errors), errors  # fmt: skip
    assert emulator.server.total_requests() == 0 and not emulator.state.deployments
    body = github.comments()[0]["body"]  # the comment says why
    assert "❌ failed" in body and "H100 is not allowed for previews" in body
    made = run_action(ws, env, mode="preview", spec=spec, image="nginx:1.25",
                      preview_machine_types="A4000\nC5", preview_machine_type="A4000",
                      preview_max_replicas="2", **api(emulator), **FAST)  # fmt: skip
    assert made.code == ExitCode.OK, made.stdout
    res = by_name(emulator)["demo-pr-7"].specs[-1].data["resources"]
    assert res["machineType"] == "A4000" and res["replicas"] == 2
    assert "preview: machine type: H100 -> A4000 (allowed: A4000, C5)" in made.stdout
    assert made.outputs["cost-per-hour"] == "1.52"  # 2 x A4000, not 4 x H100
    bad = run_action(ws, env, mode="preview", spec=spec, image="nginx:1.25",
                     preview_max_replicas="11", **api(emulator))  # fmt: skip
    assert bad.code == ExitCode.INVALID and "input 'preview-max-replicas'" in bad.stdout


@pytest.mark.parametrize("mode", ["preview", "cleanup", "sweep", "plan"])
def test_forks_are_refused(emulator, github, ws: Path, mode: str) -> None:
    spec = write_spec(ws)
    env = pr_env(emulator, github, fork=True)
    done = run_action(ws, env, mode=mode, spec=spec, image="nginx:1.25", **api(emulator))
    assert done.code == ExitCode.INVALID, done.stdout
    assert any("fork" in e for e in done.annotations("error")), done.stdout
    assert emulator.server.total_requests() == 0


def test_preview_refuses_privileged_events(emulator, github, ws: Path) -> None:
    spec = write_spec(ws)
    for event in ("pull_request_target", "workflow_run"):
        env = pr_env(emulator, github, GITHUB_EVENT_NAME=event)
        done = run_action(ws, env, mode="preview", spec=spec, image="nginx:1.25",
                          **api(emulator))  # fmt: skip
        assert done.code == ExitCode.INVALID, done.stdout
        assert any(f"refuses to run on {event}" in e for e in done.annotations("error"))
    assert emulator.server.total_requests() == 0


def test_bad_prices_file_is_named(emulator, github, ws: Path) -> None:
    spec = write_spec(ws, machineType="C5")
    (ws / "prices.json").write_text('{"machines": {"C5": 0.09, "C5": 0.1}}')
    done = run_action(ws, pr_env(emulator, github), mode="lint", spec=spec,
                      prices_file="prices.json")  # fmt: skip
    assert done.code == ExitCode.INVALID and "prices.json: duplicate key 'C5'" in done.stdout
    (ws / "prices.json").write_text(
        json.dumps({"source": "our contract", "machines": {"C5": 0.09}})
    )
    ok = run_action(ws, pr_env(emulator, github), mode="lint", spec=spec, prices_file="prices.json")
    assert ok.code == ExitCode.OK, ok.stdout
    assert ok.outputs["cost-per-hour"] == "0.09" and ok.outputs["cost-per-month"] == "65.70"
    assert "our contract" in ok.summary
    outside = run_action(ws, pr_env(emulator, github), mode="lint", spec=spec,
                         prices_file="/etc/passwd")  # fmt: skip
    assert outside.code == ExitCode.USAGE and "prices file path must be inside" in outside.stdout


@pytest.mark.docker
def test_preview_with_a_build_pushes_on_auto(emulator, github, ws: Path, registry, docker_host,
                                             base_image) -> None:  # fmt: skip
    """`push: auto` skips pull requests, but a preview deploys what it builds: it pushes, and
    the preview runs the pushed digest."""
    import shutil
    import uuid

    shutil.copytree(Path(__file__).resolve().parents[2] / "examples", ws, dirs_exist_ok=True)
    spec = ws / ".paperspace" / "app.yaml"
    spec.write_text(spec.read_text().replace("containerRegistry: ghcr", "containerRegistry: local"))
    emulator.add_registry("local", registry)
    repo = f"{registry.host}/pr-tests/hello-{uuid.uuid4().hex[:8]}"
    env = pr_env(emulator, github, GITHUB_WORKFLOW="Preview", DOCKER_HOST=docker_host)
    done = run_action(ws, env, mode="preview", spec=".paperspace/app.yaml", context=".",
                      image=repo, build_args=f"BASE_IMAGE={base_image}",
                      username=registry.username, password=registry.password, comment="true",
                      **api(emulator), **FAST)  # fmt: skip
    assert done.code == ExitCode.OK, done.stdout
    digest = done.outputs["digest"]
    assert digest.startswith("sha256:") and done.outputs["image"] == f"{repo}@{digest}"
    dep = by_name(emulator)["hello-paperspace-pr-7"]
    assert dep.specs[-1].data["image"] == f"{repo}@{digest}"
    assert "the image is built but not pushed" not in done.stdout
    assert leaks({"stdout": without_mask_lines(done.stdout), "summary": done.summary,
                  "comment": github.comments()[0]["body"]}, registry.password,
                 registry.username) == []  # fmt: skip
