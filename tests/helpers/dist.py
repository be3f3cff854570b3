"""The project's sdist and wheel, as `.ci/test` builds them (PSD_DIST_DIR) or built now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def build(project: Path, out: Path, *what: str) -> list[Path]:
    """`python -m build --no-isolation` (the venv's setuptools: fast, offline) into `out`."""
    run = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", *what, "--outdir", str(out),
         str(project)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return sorted(out.iterdir())


def project_dist(out: Path) -> dict[str, Path]:
    """{"wheel": ..., "sdist": ...} of this checkout."""
    given = os.environ.get("PSD_DIST_DIR")
    if given:
        files = sorted(Path(given).iterdir())
    else:
        if not (REPO / ".git").exists():
            pytest.skip("not a git checkout: the version comes from git")
        files = build(REPO, out)
    wheels = [f for f in files if f.suffix == ".whl"]
    sdists = [f for f in files if f.name.endswith(".tar.gz")]
    assert len(wheels) == 1 and len(sdists) == 1, files
    return {"wheel": wheels[0], "sdist": sdists[0]}
