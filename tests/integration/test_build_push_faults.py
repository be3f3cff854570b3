"""Registry faults the engine does not retry (reliability.md §5.1, F19/F22), injected by a small
HTTP proxy in front of the real registry: the real engine pushes through it, our retry recovers,
and a push that never gets a manifest in ends with exit 3 and no digest."""

from __future__ import annotations

import io
import os
import uuid

import pytest
from fault_relay import start_relay

from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

pytestmark = [pytest.mark.docker, pytest.mark.integration]


@pytest.fixture
def proxy(registry):
    with start_relay(registry.host) as relay:
        yield relay


def build(tmp_path, image, registry):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (ctx / "a").write_text(uuid.uuid4().hex)
    environ = {
        "DOCKER_HOST": os.environ["DOCKER_HOST"],
        "HOME": os.environ["HOME"],
        "PAPERSPACE_DEPLOY_RETRY_BASE": "0.05",
        "REGISTRY_USERNAME": registry.username,
        "REGISTRY_PASSWORD": registry.password,
    }
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["build", str(ctx), "--image", image, "--tag", "v1"],
        Io(stdout=out, stderr=err, environ=environ, cwd=tmp_path),
    )
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("method", "fragment", "status"),
    [
        ("PUT", "/manifests/", 500),  # partial push: blobs in, tag not written (F22)
        ("POST", "/blobs/uploads/", 429),  # rate limited blob upload (F19)
    ],
)
def test_engine_unretried_fault_is_retried_once_and_recovers(
    tmp_path, registry, proxy, method, fragment, status
):
    proxy.faults = [[method, fragment, status, 1]]
    image = f"{proxy.address}/it/fault-{uuid.uuid4().hex[:8]}"
    code, out, err = build(tmp_path, image, registry)
    assert code == 0, err
    assert proxy.hits and proxy.hits[0][2] == status
    assert "attempt 2/3" in err
    assert out.strip().startswith(f"{image}@sha256:")


def test_manifest_never_accepted_means_no_digest_and_exit_3(tmp_path, registry, proxy):
    proxy.faults = [["PUT", "/manifests/", 500, 99]]
    code, out, err = build(tmp_path, f"{proxy.address}/it/partial-{uuid.uuid4().hex[:8]}", registry)
    assert code == ExitCode.UNAVAILABLE
    assert out == ""
    assert "failed after 3 attempts" in err and "500" in err
    assert "Traceback" not in err


def test_forbidden_manifest_put_is_not_retried(tmp_path, registry, proxy):
    proxy.faults = [["PUT", "/manifests/", 403, 99]]
    code, out, err = build(
        tmp_path, f"{proxy.address}/it/forbidden-{uuid.uuid4().hex[:8]}", registry
    )
    assert code == ExitCode.INVALID, err
    assert "rejected the push" in err and "attempt 2" not in err
    assert len(proxy.hits) == 1 and out == ""
