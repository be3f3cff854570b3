"""Privileged events (`pull_request_target`, `workflow_run`, `issue_comment`) run with the base
repository's secrets, often on a pull request's code: the action warns, and an image built there
is never pushed unless `push: true` is set explicitly (job.py's policy), through the real
dockerd, registry and emulator."""

from __future__ import annotations

import uuid

import pytest
import requests

from paperspace_deploy.errors import ExitCode

pytestmark = [pytest.mark.docker, pytest.mark.integration]
SPEC = (
    "apiVersion: v1\nname: {name}\nimage: {repo}\ncontainerRegistry: local\n"
    "resources:\n  replicas: 1\n  machineType: C4\n  ports: [8080]\n"
)


def _tags(registry, repo_path: str) -> list[str]:  # type: ignore[no-untyped-def]
    got = requests.get(f"{registry.url}/v2/{repo_path}/tags/list",
                       auth=(registry.username, registry.password), timeout=10)  # fmt: skip
    return (got.json().get("tags") or []) if got.status_code == 200 else []


def _setup(runner, registry, docker_host, base_image, event):  # type: ignore[no-untyped-def]
    name = f"priv-{uuid.uuid4().hex[:8]}"
    path = f"action-tests/{name}"
    (runner.workspace / "Dockerfile").write_text(f"FROM {base_image}\nLABEL x=1\n")
    (runner.workspace / "paperspace.yaml").write_text(
        SPEC.format(name=name, repo=f"{registry.host}/{path}")
    )
    runner.env.update(DOCKER_HOST=docker_host, GITHUB_EVENT_NAME=event)
    return name, path


def _deploy(runner, registry, emulator, path, **extra):  # type: ignore[no-untyped-def]
    return runner.run(
        mode="deploy", context=".", image=f"{registry.host}/{path}",
        username=registry.username, password=registry.password, api_key=emulator.key,
        api_url=emulator.url, project_id=emulator.project_id, timeout="60", **extra,
    )  # fmt: skip


@pytest.mark.parametrize("event", ["pull_request_target", "workflow_run", "issue_comment"])
def test_privileged_event_warns_and_never_auto_pushes(  # type: ignore[no-untyped-def]
    runner, emulator, registry, docker_host, base_image, event
) -> None:
    emulator.add_registry("local", registry)
    name, path = _setup(runner, registry, docker_host, base_image, event)
    result = _deploy(runner, registry, emulator, path)
    warnings = [c.data for c in result.annotations("warning")]
    assert any(event in w and "secrets" in w for w in warnings), result.stdout
    assert f"{event}: the image is built but not pushed" in result.stdout
    assert result.code == ExitCode.USAGE, result.stdout  # no digest, so nothing deployed
    assert _tags(registry, path) == []  # the registry never saw it
    assert not [d for d in emulator.state.deployments.values() if d.name == name]


def test_privileged_event_pushes_when_asked_explicitly(  # type: ignore[no-untyped-def]
    runner, emulator, registry, docker_host, base_image
) -> None:
    emulator.add_registry("local", registry)
    name, path = _setup(runner, registry, docker_host, base_image, "workflow_run")
    result = _deploy(runner, registry, emulator, path, push="true")
    assert result.code == ExitCode.OK, result.stdout
    assert any("workflow_run" in c.data for c in result.annotations("warning"))
    assert _tags(registry, path), "push: true was explicit: the image is pushed"
    assert [d for d in emulator.state.deployments.values() if d.name == name]
