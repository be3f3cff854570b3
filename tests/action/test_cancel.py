"""Cancellation: the runner sends SIGINT, then SIGTERM 7.5 s later. The entrypoint stops promptly,
says what was submitted, and still writes its outputs and job summary."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runner_commands import parse_output_file

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration]
SPEC = """\
apiVersion: v1
name: slow
image: nginx:1.27
resources:
  replicas: 1
  machineType: C4
  ports: [8080]
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_wait(runner, emulator, tmp_path, sig: signal.Signals) -> None:  # type: ignore[no-untyped-def]
    emulator.state.timings.healthy_after = 600  # the rollout never finishes during the test
    (runner.workspace / "paperspace.yaml").write_text(SPEC)
    scratch, home = tmp_path / "scratch", tmp_path / "home"
    scratch.mkdir()
    (home / ".docker").mkdir(parents=True)
    config = home / ".docker" / "config.json"
    config.write_bytes(b'{"auths": {"ghcr.io": {"auth": "dXNlcjpvbGQ="}}}\n')
    before = config.read_bytes()
    env = {
        **runner.env,
        "TMPDIR": str(scratch),  # nothing may be left here after the signal
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "INPUT_MODE": "deploy",
        "INPUT_API-KEY": emulator.key,
        "INPUT_API-URL": emulator.url,
        "INPUT_PROJECT-ID": emulator.project_id,
    }
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "entrypoint.py")], env=env, cwd=runner.workspace,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not emulator.state.deployments:
        time.sleep(0.05)
    assert emulator.state.deployments, "the upsert never happened"
    time.sleep(0.3)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=15)
    assert time.monotonic() - sent < 7.5, "did not stop before the runner's SIGTERM escalation"
    assert proc.returncode == 130, out
    dep_id = next(iter(emulator.state.deployments))
    assert f"submitted deployment {dep_id}" in out
    assert "Traceback" not in out
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "❌ failed" in summary and "interrupted" in summary
    assert parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text())["lint-errors"] == "0"
    # nothing left behind (reliability.md F26): no temp files, docker config byte-identical,
    # nothing new in the workspace
    assert list(scratch.iterdir()) == []
    assert config.read_bytes() == before
    assert sorted(p.name for p in runner.workspace.iterdir()) == ["paperspace.yaml"]
