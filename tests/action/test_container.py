"""The action run the way the GitHub runner runs it: image built from the Dockerfile, then
`docker run` with the workspace at /github/workspace, the engine socket mounted, INPUT_* variables
(hyphens kept) and the runner's file-command files under a mounted directory.

The image is built once per content hash (tests/helpers/action_images.py; ~30 s cold, 0 s warm).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from canary import leaks, masks_come_first, without_mask_lines
from runner_commands import parse_output_file, process

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.docker, pytest.mark.action]


@pytest.fixture(scope="module")
def client(docker_host: str):  # type: ignore[no-untyped-def]
    import docker

    c = docker.DockerClient(base_url=docker_host)
    yield c
    c.close()


@pytest.fixture(scope="module")
def action_image(client) -> str:  # type: ignore[no-untyped-def]
    from action_images import action_image as build

    return build(client)


def run_like_runner(client, image: str, tmp: Path, workspace: Path, docker_host: str,  # type: ignore[no-untyped-def]
                    inputs: dict[str, str], env: dict[str, str] | None = None) -> dict:  # fmt: skip
    files = tmp / "_runner_file_commands"
    home = tmp / "_github_home"
    files.mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    out_name, sum_name = f"set_output_{uuid.uuid4()}", f"step_summary_{uuid.uuid4()}"
    (files / out_name).write_text("")
    (files / sum_name).write_text("")
    environment = {
        "HOME": "/github/home",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": f"/github/file_commands/{out_name}",
        "GITHUB_STEP_SUMMARY": f"/github/file_commands/{sum_name}",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": "89abcdef0123456789abcdef0123456789abcdef",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "PATH": "utter-nonsense",  # a workflow env: PATH reaches the container (pypa's check)
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
        **(env or {}),
    }
    socket = docker_host.removeprefix("unix://")
    container = client.containers.run(
        image,
        detach=True,
        environment=environment,
        working_dir="/github/workspace",
        network_mode="host",  # the emulator and registry listen on the host's 127.0.0.1
        volumes={
            socket: {"bind": "/var/run/docker.sock", "mode": "rw"},
            str(workspace): {"bind": "/github/workspace", "mode": "rw"},
            str(files): {"bind": "/github/file_commands", "mode": "rw"},
            str(home): {"bind": "/github/home", "mode": "rw"},
        },
    )
    try:
        code = container.wait(timeout=300)["StatusCode"]
        stdout = container.logs(stdout=True, stderr=False).decode()
        stderr = container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True)
    return {
        "code": code,
        "stdout": stdout,
        "stderr": stderr,
        "outputs": parse_output_file((files / out_name).read_text()),
        "summary": (files / sum_name).read_text(),
        "commands": process(stdout) + process(stderr),
        "home": sorted(p.name for p in home.rglob("*")),
    }


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_lint_mode_on_a_broken_spec_annotates_it(client, action_image, tmp_path, docker_host):  # type: ignore[no-untyped-def]
    ws = tmp_path / "ws"
    (ws / "deploy").mkdir(parents=True)
    shutil.copy(REPO / "tests/action/data/broken.yaml", ws / "deploy/app.yaml")
    before = _tree(ws)
    r = run_like_runner(
        client, action_image, tmp_path, ws, docker_host, {"MODE": "lint", "SPEC": "deploy/app.yaml"}
    )
    assert r["code"] == 1, r["stdout"] + r["stderr"]
    errors = [c for c in r["commands"] if c.name == "error"]
    assert {(c.properties["file"], c.properties["line"]) for c in errors} == {
        ("deploy/app.yaml", "4"), ("deploy/app.yaml", "5"), ("deploy/app.yaml", "7"),
        ("deploy/app.yaml", "11"),
    }  # fmt: skip
    assert r["outputs"]["lint-errors"] == "4"
    assert "<code>deploy/app.yaml</code>: ❌ 4 errors" in r["summary"]  # one table per file
    assert "| 11:1 |" in r["summary"]
    assert "Traceback" not in r["stdout"] + r["stderr"]
    assert _tree(ws) == before  # nothing written into the workspace (no root-owned files)


def test_deploy_mode_end_to_end(  # type: ignore[no-untyped-def]
    client, action_image, tmp_path, docker_host, registry, emulator, base_image
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(REPO / "examples", ws)
    name = f"hello-c{uuid.uuid4().hex[:8]}"
    spec = ws / ".paperspace/app.yaml"
    spec.write_text(
        spec.read_text()
        .replace("name: hello-paperspace", f"name: {name}")
        .replace("containerRegistry: ghcr", "containerRegistry: local")
    )
    emulator.add_registry("local", registry)
    before = _tree(ws)
    repo = f"{registry.host}/action-container/{name}"
    password = registry.password
    inputs = {
        "MODE": "deploy",
        "CONTEXT": ".",
        "IMAGE": repo,
        "BUILD-ARGS": f"BASE_IMAGE={base_image}",
        "USERNAME": registry.username,
        "PASSWORD": password,
        "API-KEY": emulator.key,
        "API-URL": emulator.url,
        "PROJECT-ID": emulator.project_id,
        "TIMEOUT": "5",
    }
    r = run_like_runner(client, action_image, tmp_path, ws, docker_host, inputs,
                        env={"RUNNER_DEBUG": "1", "ACTIONS_STEP_DEBUG": "true"})  # fmt: skip
    assert r["code"] == 0, r["stdout"] + r["stderr"]
    out = r["outputs"]
    assert out["image"] == f"{repo}@{out['digest']}"
    assert out["changed"] == "true" and out["lint-errors"] == "0"
    dep = emulator.state.deployments[out["deployment-id"]]
    assert dep.name == name and dep.specs[-1].id == out["spec-id"]
    assert dep.specs[-1].data["image"] == out["image"]  # deployed exactly the pushed digest
    assert out["endpoint"] in r["summary"] and out["digest"] in r["summary"]
    # secrets: masked first; nowhere else in stdout, stderr, summary, outputs or $HOME
    assert masks_come_first(r["stdout"], password, emulator.key)
    shown = {"stdout": without_mask_lines(r["stdout"]), "stderr": r["stderr"],
             "summary": r["summary"], "outputs": str(out)}  # fmt: skip
    assert leaks(shown, password, registry.username) == []
    assert leaks(shown, emulator.key) == []
    assert r["home"] == []  # no ~/.docker/config.json written
    assert _tree(ws) == before
    owners = {os.stat(ws / p).st_uid for p in before}
    assert owners == {os.getuid()}
