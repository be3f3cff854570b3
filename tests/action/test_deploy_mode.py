"""`mode: deploy` / `build` / `plan` in-process, through the real dockerd, registry and emulator."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from canary import leaks, masks_come_first, without_mask_lines

from paperspace_deploy.errors import ExitCode

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.docker, pytest.mark.integration]


def _workspace(runner, registry, base_image: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The example app copied into the workspace, its image name unique per test."""
    shutil.copytree(REPO / "examples", runner.workspace, dirs_exist_ok=True)
    name = f"hello-{uuid.uuid4().hex[:8]}"
    spec = runner.workspace / ".paperspace" / "app.yaml"
    spec.write_text(
        spec.read_text()
        .replace("name: hello-paperspace", f"name: {name}")
        .replace("containerRegistry: ghcr", "containerRegistry: local")
    )
    return name, f"{registry.host}/action-tests/{name}"


def test_deploy_builds_pushes_and_deploys_by_digest(  # type: ignore[no-untyped-def]
    runner, emulator, registry, docker_host, base_image
) -> None:
    name, repo = _workspace(runner, registry, base_image)
    emulator.add_registry("local", registry)
    runner.env["DOCKER_HOST"] = docker_host
    runner.env["RUNNER_DEBUG"] = "1"
    result = runner.run(
        mode="deploy",
        context=".",
        image=repo,
        build_args=f"BASE_IMAGE={base_image}",
        username=registry.username,
        password=registry.password,
        api_key=emulator.key,
        api_url=emulator.url,
        project_id=emulator.project_id,
        timeout="5",
    )
    assert result.code == ExitCode.OK, result.stdout
    out = result.outputs
    assert out["digest"].startswith("sha256:")
    assert out["image"] == f"{repo}@{out['digest']}"
    assert out["changed"] == "true" and out["lint-errors"] == "0"
    assert out["endpoint"].startswith("https://")
    # the emulator really holds our deployment, running exactly the pushed digest
    dep = emulator.state.deployments[out["deployment-id"]]
    assert dep.name == name
    assert dep.specs[-1].id == out["spec-id"]
    assert dep.specs[-1].data["image"] == out["image"]
    # summary: image + digest + deployment with a link to the endpoint
    assert out["digest"] in result.summary and f"]({out['endpoint']})" in result.summary
    assert "✅ succeeded" in result.summary
    assert "### Plan" in result.summary and "added image" in result.summary  # a new deployment
    # secrets: masked first, never shown anywhere else
    assert masks_come_first(result.stdout, registry.password, emulator.key), result.stdout
    shown = {"stdout": without_mask_lines(result.stdout), "summary": result.summary,
             "outputs": str(out)}  # fmt: skip
    assert leaks(shown, registry.password, registry.username) == []
    assert leaks(shown, emulator.key) == []
    # the build and push logs ran inside groups and stop-commands blocks
    names = [c.name for c in result.commands if c.name != "add-mask"]
    assert names.count("stop-commands") >= 2 and names.count("group") >= 3
    assert not [c for c in result.commands if c.name in ("error", "warning")]

    # the same spec again: plan shows no change
    again = runner.run(
        mode="plan", image=out["image"], api_key=emulator.key, api_url=emulator.url,
        project_id=emulator.project_id,
    )  # fmt: skip
    assert again.code == ExitCode.OK, again.stdout
    assert again.outputs["changed"] == "false"
    assert "No changes" in again.summary


def test_plan_lists_changes(runner, emulator) -> None:  # type: ignore[no-untyped-def]
    (runner.workspace / "paperspace.yaml").write_text(
        "apiVersion: v1\nname: planned\nimage: nginx:1.27\nresources:\n"
        "  replicas: 1\n  machineType: C4\n  ports: [8080]\n"
    )
    result = runner.run(
        mode="plan", api_key=emulator.key, api_url=emulator.url, project_id=emulator.project_id
    )
    assert result.code == ExitCode.OK, result.stdout
    assert result.outputs["changed"] == "true"
    assert "### Plan" in result.summary and "nginx:1.27" in result.summary
    assert emulator.state.deployments == {}  # plan changes nothing


def test_wrong_api_key_fails_cleanly(runner, emulator) -> None:  # type: ignore[no-untyped-def]
    (runner.workspace / "paperspace.yaml").write_text(
        "apiVersion: v1\nname: k\nimage: nginx:1.27\nresources:\n"
        "  replicas: 1\n  machineType: C4\n  ports: [8080]\n"
    )
    bad = "psk_wrong_" + uuid.uuid4().hex
    result = runner.run(
        mode="deploy", api_key=bad, api_url=emulator.url, project_id=emulator.project_id
    )
    assert result.code == ExitCode.INVALID, result.stdout
    assert "Traceback" not in result.stdout
    assert (
        leaks({"stdout": without_mask_lines(result.stdout), "summary": result.summary}, bad) == []
    )


def test_build_output_cannot_issue_commands(runner, registry, docker_host, base_image) -> None:  # type: ignore[no-untyped-def]
    """A Dockerfile whose RUN prints workflow commands: all of it stays text."""
    (runner.workspace / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        'LABEL note="x ##[add-mask]hello"\n'
        'RUN echo "::set-output name=image::evil" && echo "  ::add-mask::hello" '
        '&& echo "::warning title=x::injected from RUN" && echo "::stop-commands::abcdefgh" '
        '&& echo "%0A::error::x" && echo "x ##[error file=README.md;line=1]forged"\n'
    )
    runner.env["DOCKER_HOST"] = docker_host
    result = runner.run(
        mode="build", context=".", image=f"{registry.host}/action-tests/evil", push="false"
    )
    assert result.code == ExitCode.OK, result.stdout
    assert "injected from RUN" in result.stdout  # the output was shown...
    ran = [c for c in result.commands if c.name not in ("group", "endgroup", "stop-commands")]
    assert ran == [], ran  # ...but nothing from it ran
    assert "image" not in result.outputs or result.outputs["image"] != "evil"


def test_rejected_multiline_password_never_leaks(runner, registry, docker_host, base_image) -> None:  # type: ignore[no-untyped-def]
    """A wrong, PEM-like registry password through the real login/push path, RUNNER_DEBUG=1."""
    (runner.workspace / "Dockerfile").write_text(f"FROM {base_image}\nLABEL x=1\n")
    password = "-----BEGIN TOKEN-----\n" + uuid.uuid4().hex + "\n" + uuid.uuid4().hex + "\n-----END"
    runner.env.update(DOCKER_HOST=docker_host, RUNNER_DEBUG="1", ACTIONS_STEP_DEBUG="true")
    result = runner.run(
        mode="build", context=".", image=f"{registry.host}/action-tests/denied",
        username=registry.username, password=password, push="true",
    )  # fmt: skip
    assert result.code in (ExitCode.INVALID, ExitCode.UNAVAILABLE), result.stdout
    assert "Traceback" not in result.stdout
    assert masks_come_first(result.stdout, password, *password.splitlines())
    shown = {"stdout": without_mask_lines(result.stdout), "summary": result.summary,
             "outputs": str(result.outputs)}  # fmt: skip
    assert leaks(shown, password, registry.username) == []
    assert not (Path(runner.env["HOME"]) / ".docker").exists()
    assert "digest" not in result.outputs or not result.outputs["digest"]


def test_a_failed_rollout_shows_its_logs_in_a_group_and_the_summary(runner, emulator) -> None:  # type: ignore[no-untyped-def]
    """Crash loop in the action: exit 5, the instance's last lines in their own log group (as
    text) and in the summary, the ids of the failed rollout still in the outputs."""
    (runner.workspace / "paperspace.yaml").write_text(
        "apiVersion: v1\nname: crashy\nimage: nginx:1.27\nresources:\n"
        "  replicas: 1\n  machineType: C4\n  ports: [8080]\n"
        "env:\n  - name: PSD_EMULATOR_MODE\n    value: crash-loop\n"
    )
    result = runner.run(
        mode="deploy", api_key=emulator.key, api_url=emulator.url,
        project_id=emulator.project_id, error_grace="0", poll_interval="0.05",
        rollback_on_failure="true",
    )  # fmt: skip
    assert result.code == ExitCode.ROLLOUT_FAILED, result.stdout
    groups = [c.data for c in result.commands if c.name == "group"]
    assert any(g.startswith("Logs of crashy-") and "(last 2 line(s))" in g for g in groups)
    assert "CrashLoopBackOff" in result.stdout.split("::group::Logs of", 1)[1]
    assert "### Logs of the failing instances" in result.summary
    assert "pulling image nginx:1.27" in result.summary and "❌ failed" in result.summary
    out = result.outputs
    assert out["deployment-id"] in emulator.state.deployments and out["spec-id"]
    assert out["rollback"] == "skipped"  # a first deploy: nothing to roll back to
    assert "Rollback" in result.summary and "no previous spec" in result.summary
    assert leaks({"stdout": without_mask_lines(result.stdout), "summary": result.summary},
                 emulator.key) == []  # fmt: skip
