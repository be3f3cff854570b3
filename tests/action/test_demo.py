"""The README's first command, `bash examples/demo.sh`, runs the main job end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.docker, pytest.mark.integration]


def test_demo_script(registry, docker_host, base_image) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DOCKER_HOST": docker_host,
        "PSD_TEST_REGISTRY": registry.host,
        "PSD_TEST_REGISTRY_USER": registry.username,
        "PSD_TEST_REGISTRY_PASSWORD": registry.password,
        "PSD_TEST_BASE_IMAGE": base_image,
    }
    run = subprocess.run(
        ["bash", str(REPO / "examples" / "demo.sh")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    text = run.stdout + run.stderr
    assert run.returncode == 0, text
    assert "healthy:   True" in text
    assert "verify: GET http://127.0.0.1:" in text and "/: HTTP 200" in text  # --verify /
    assert f"image:     {registry.host}/demo/hello-paperspace@sha256:" in text
    assert registry.password not in text
    assert "Traceback" not in text
