"""Shared by the BuildKit tests: a DOCKER_CONFIG whose cli-plugins holds the real buildx."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def buildx_config(tmp_path: Path) -> Path:
    """The plugin comes from .ci/install.sh (PSD_BUILDX_PLUGIN, exported by .ci/services.sh);
    without it the test skips, except in CI, where it fails."""
    plugin = os.environ.get("PSD_BUILDX_PLUGIN", "")
    if not plugin or not os.path.exists(plugin):
        if os.environ.get("PSD_REQUIRE_SERVICES") == "1":
            pytest.fail("the docker-buildx plugin is required in CI (bash .ci/install.sh)")
        pytest.skip("no docker-buildx plugin (bash .ci/install.sh, then .ci/services.sh)")
    config = tmp_path / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "cli-plugins" / "docker-buildx").symlink_to(plugin)
    return config
