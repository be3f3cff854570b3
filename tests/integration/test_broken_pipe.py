"""A reader that leaves early (`paperspace-deploy lint ... | head -1`): the CLI finishes quietly
with its usual exit code -- no traceback, no crash file, no `Exception ignored` at exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD = "name: x\nimage: nginx:1.27\nbogus{i}: 1\n"


def _specs(root: Path, count: int) -> None:
    for i in range(count):
        (root / f"s{i}.paperspace.yaml").write_text(BAD.format(i=i))


def _env(tmp: Path) -> dict[str, str]:
    crash = tmp / "crash-dir"
    crash.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(crash), "PYTHONUNBUFFERED": "0"}


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "gitlab"])
def test_stdout_closed_before_the_report(tmp_path: Path, fmt: str):
    _specs(tmp_path, 30)
    argv = [sys.executable, "-m", "paperspace_deploy", "lint", "--format", fmt, "*.paperspace.yaml"]
    with subprocess.Popen(argv, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before anything is written
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert code == 1, err  # the usual code: the specs have errors
    assert "Traceback" not in err and "internal error" not in err and "Exception" not in err
    assert list((tmp_path / "crash-dir").iterdir()) == []


def test_piped_into_head(tmp_path: Path):
    _specs(tmp_path, 1500)  # ~500 KB of report: far more than a pipe holds
    script = (
        f"{sys.executable} -m paperspace_deploy lint '*.paperspace.yaml' 2>err | head -1; "
        'echo "rc=${PIPESTATUS[0]}"'
    )
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    first, status = out.stdout.splitlines()
    assert first.startswith("s") and ": " in first
    assert status == "rc=1"
    err = (tmp_path / "err").read_text()
    assert "Traceback" not in err and "internal error" not in err and "Exception" not in err
    assert list((tmp_path / "crash-dir").iterdir()) == []
