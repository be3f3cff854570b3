"""`deploy --build`: build and push with the real engine, then deploy the pushed digest; the
emulator verifies that digest is pullable from the real registry with the connection's creds."""

from __future__ import annotations

import io
import json
import os
import uuid

import pytest

from paperspace_deploy.cli import main
from paperspace_deploy.io import Io

pytestmark = [pytest.mark.docker, pytest.mark.integration]


def test_build_push_then_deploy_the_digest(emulator, make_spec, registry, docker_host, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (ctx / "hello.txt").write_text(uuid.uuid4().hex)
    emulator.add_registry("ci-registry", registry)
    spec = make_spec(containerRegistry="ci-registry")
    repo = f"{registry.host}/psd-deploy-build/app-{uuid.uuid4().hex[:8]}"
    environ = emulator.env(
        DOCKER_HOST=docker_host,
        HOME=os.environ["HOME"],
        REGISTRY_USERNAME=registry.username,
        REGISTRY_PASSWORD=registry.password,
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["deploy", "--build", "--context", str(ctx), "--image", repo, "--tag", "v1",
         "--spec", str(spec), "--project-id", emulator.project_id, "--format", "json",
         "--poll-interval", "0.02"],
        Io(stdout=out, stderr=err, environ=environ, cwd=tmp_path),
    )  # fmt: skip
    assert code == 0, err.getvalue()
    result = json.loads(out.getvalue())
    assert result["state"] == "healthy"
    assert result["image"].startswith(repo + "@sha256:")
    live = emulator.state.deployments[result["deploymentId"]].specs[-1]
    assert live.data["image"] == result["image"]  # pushed digest == deployed image
    assert registry.password not in out.getvalue() + err.getvalue()
