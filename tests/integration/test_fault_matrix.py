"""reliability.md §6.2 faults that no other test covers (see docs/reliability.md for the map).

Covered elsewhere and not repeated here: F1, F3-F7, F9-F16, F26, F28, F29 (test_deploy*.py,
tests/action/test_cancel.py), F17-F19, F22-F25 (test_build_push*.py, tests/unit/test_image_push.py).

Here: DNS failure (F2), a slow upsert and slow polls against the deadline (F8), the daemon down
under `deploy --build` (F17), a registry that fails every blob upload (F20), a connection reset
in the middle of a blob upload (F21), a manifest never accepted under `deploy --build` (F22), no
space left while the context is tarred (F27), and keep-alive connections closed by the server
between polls (F30). Faults are injected by the emulator, by a small HTTP relay in front of the
real registry or the emulator, or by pointing the context tar at /dev/full.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import deploy_calls as dc
import pytest
from fault_relay import Relay, start_relay

from paperspace_deploy import deploy
from paperspace_deploy.api.retry import RetryPolicy
from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

pytestmark = pytest.mark.integration

QUICK = RetryPolicy(base=0.01, cap=0.05)
MARGIN_S = 3.0  # a deadline is kept when the run ends within it plus one slow step


def cli(argv: list[str], environ: dict[str, str], cwd: Path) -> tuple[int, str, float]:
    out, err = io.StringIO(), io.StringIO()
    t0 = time.monotonic()
    code = main(argv, Io(stdout=out, stderr=err, environ=environ, cwd=cwd))
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, text
    return code, text, time.monotonic() - t0


def deploy_argv(emulator, spec: Path, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    return ["deploy", "--spec", str(spec), "--project-id", emulator.project_id,
            "--poll-interval", "0.05", *extra]  # fmt: skip


@pytest.fixture
def relay() -> Iterator[type[Relay]]:
    with start_relay() as r:
        yield r


def build_env(registry=None, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {
        "DOCKER_HOST": os.environ.get("DOCKER_HOST", ""),
        "HOME": os.environ["HOME"],
        "PAPERSPACE_DEPLOY_RETRY_BASE": "0.05",
    }
    if registry is not None:
        env |= {"REGISTRY_USERNAME": registry.username, "REGISTRY_PASSWORD": registry.password}
    return env | extra


def context(tmp_path: Path, size: int = 64 * 1024) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY layer.bin /layer.bin\n")
    (ctx / "layer.bin").write_bytes(os.urandom(size))  # a fresh layer: never in the registry
    return ctx


# ------------------------------------------------------------------------------------- API side
def test_f2_dns_failure_is_unavailable_within_the_deadline(make_spec, tmp_path):
    env = {"PAPERSPACE_API_URL": "http://psd-no-such-host.invalid/v1",
           "PAPERSPACE_API_KEY": "psd-dns-canary-key-0123"}  # fmt: skip
    argv = ["deploy", "--spec", str(make_spec()), "--project-id", "p0000000001",
            "--image", "nginx:1.25", "--timeout", "4"]  # fmt: skip
    code, text, elapsed = cli(argv, env, tmp_path)
    assert code == ExitCode.UNAVAILABLE, text
    assert "Paperspace API unavailable" in text and "psd-no-such-host.invalid" in text, text
    assert "psd-dns-canary-key-0123" not in text
    # getaddrinfo is not bounded by our timeouts: allow a slow resolver one extra lookup
    assert elapsed < 4 + MARGIN_S + 5, (elapsed, text)


def test_f8_upsert_slower_than_the_read_timeout_is_adopted_not_posted_twice(emulator, make_spec):
    """The server holds the POST past our read timeout and applies it afterwards: reading back
    must last long enough to see it land, so one run still makes exactly one spec version."""
    emulator.faults.add("delay:0.35@POST /deployments x1")
    result = dc.run_deploy(
        make_spec(), project_id=emulator.project_id, image="nginx:1.25",
        environ=emulator.env(), timeout=10,
        wait_options=deploy.WaitOptions(poll_interval=0.02, grace=1.0, error_grace=0.03),
        client_options={"policy": QUICK, "timeout": (1.0, 0.2)},
    )  # fmt: skip
    time.sleep(0.4)  # any second POST would have landed by now
    assert result.state == "healthy"
    assert result.outcome == "adopted"
    assert emulator.spec_count() == 1, f"{emulator.spec_count()} spec versions for one deploy"
    assert emulator.state.upserts == 1


def test_f8_polls_slower_than_the_deadline_end_at_the_deadline(emulator, make_spec, tmp_path):
    emulator.faults.add("delay:6@GET /deployments/*")
    argv = deploy_argv(emulator, make_spec(), "--image", "nginx:1.25", "--timeout", "3")
    code, text, elapsed = cli(argv, emulator.env(), tmp_path)
    assert code == ExitCode.ROLLOUT_FAILED, text
    assert "timed out after 3.0 s" in text
    assert elapsed < 3 + MARGIN_S, elapsed
    assert emulator.spec_count() == 1


def test_f30_server_closing_keep_alive_between_polls_is_transparent(
    emulator, make_spec, relay, tmp_path
):
    relay.upstream = emulator.url.split("//", 1)[1].split("/", 1)[0]
    relay.close_after_response = True
    env = emulator.env(PAPERSPACE_API_URL=f"http://{relay.address}/v1")
    code, text, _ = cli(deploy_argv(emulator, make_spec(), "--image", "nginx:1.25"), env, tmp_path)
    assert code == ExitCode.OK, text
    assert "healthy" in text
    assert emulator.spec_count() == 1
    calls = sum(emulator.server.requests.values())
    assert relay.connections >= calls >= 4, (relay.connections, calls)  # one per request


# ---------------------------------------------------------------------------------- image side
@pytest.mark.docker
def test_f17_daemon_down_under_deploy_build_stops_before_any_api_call(
    emulator, make_spec, tmp_path
):
    env = emulator.env(DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock", HOME=os.environ["HOME"])
    argv = deploy_argv(emulator, make_spec(), "--build", "--context", str(context(tmp_path)),
                       "--image", "127.0.0.1:9/psd/app", "--push")  # fmt: skip
    code, text, _ = cli(argv, env, tmp_path)
    assert code == ExitCode.UNAVAILABLE, text
    assert "cannot reach the Docker daemon" in text
    assert sum(emulator.server.requests.values()) == 0  # nothing asked, nothing changed


@pytest.mark.docker
def test_f20_registry_failing_every_blob_ends_at_the_deadline_without_a_digest(
    registry, docker_host, relay, tmp_path
):
    relay.upstream = registry.host
    relay.faults = [["POST", "/blobs/uploads/", 500, 10**6]]
    image = f"{relay.address}/fm/blob500-{uuid.uuid4().hex[:8]}"
    argv = ["build", str(context(tmp_path)), "--image", image, "--tag", "v1", "--timeout", "6"]
    code, text, elapsed = cli(argv, build_env(registry), tmp_path)
    assert code == ExitCode.UNAVAILABLE, text
    assert relay.hits, "the fault never fired"
    assert "pushed " not in text  # no digest, so nothing to deploy
    assert "did not finish before the run's deadline" in text
    assert elapsed < 6 + MARGIN_S, elapsed


@pytest.mark.docker
def test_f21_connection_reset_mid_blob_upload_is_retried_and_pushes(
    registry, docker_host, relay, tmp_path
):
    relay.upstream = registry.host
    relay.reset_blob_patches = 1
    image = f"{relay.address}/fm/reset-{uuid.uuid4().hex[:8]}"
    argv = ["build", str(context(tmp_path, 256 * 1024)), "--image", image, "--tag", "v1"]
    code, text, _ = cli(argv, build_env(registry), tmp_path)
    assert code == ExitCode.OK, text
    assert relay.hits and relay.hits[0][2] == 0, relay.hits  # the reset happened
    assert "the engine retried 1 layer upload(s)" in text  # surfaced once, not hidden
    assert f"pushed {image}@sha256:" in text


@pytest.mark.docker
def test_f22_manifest_never_accepted_under_deploy_build_means_no_upsert(
    emulator, make_spec, registry, docker_host, relay, tmp_path
):
    relay.upstream = registry.host
    relay.faults = [["PUT", "/manifests/", 500, 10**6]]
    image = f"{relay.address}/fm/partial-{uuid.uuid4().hex[:8]}"
    env = emulator.env(**build_env(registry))
    argv = deploy_argv(emulator, make_spec(), "--build", "--context", str(context(tmp_path)),
                       "--image", image, "--push")  # fmt: skip
    code, text, _ = cli(argv, env, tmp_path)
    assert code == ExitCode.UNAVAILABLE, text
    assert "failed after 3 attempts" in text
    assert emulator.state.upserts == 0 and emulator.spec_count() == 0


@pytest.mark.docker
def test_f27_a_full_temp_disk_no_longer_matters_to_the_build(docker_host, tmp_path, monkeypatch):
    """docker-py wrote the whole context to a temporary tar (ENOSPC on a full TMPDIR); the
    Engine API path now streams it (image/context_tar.py), so no temporary file is created."""
    import tempfile

    import docker.utils.build

    opened: list = []

    def full_disk(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        opened.append(open("/dev/full", "w+b"))  # noqa: SIM115  (closed below; ENOSPC always)
        return opened[-1]

    monkeypatch.setattr(docker.utils.build.tempfile, "NamedTemporaryFile", full_disk)
    assert tempfile.NamedTemporaryFile is full_disk  # the crash log would hit it too
    argv = ["build", str(context(tmp_path)), "--image", "psd-fm/full", "--no-push"]
    try:
        code, text, _ = cli(argv, build_env(), tmp_path)
    finally:
        monkeypatch.undo()
        for fh in opened:
            with contextlib.suppress(OSError):
                fh.close()
    assert opened == [], "a temporary file was created for the context"
    assert code == ExitCode.OK, text
