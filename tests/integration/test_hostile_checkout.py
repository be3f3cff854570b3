"""What a pull request commits into the checkout, met by the CLI as a CI job runs it (GitLab, other
CI systems): the workspace is GITHUB_WORKSPACE, CI_PROJECT_DIR or the current directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SPEC = (
    "apiVersion: v1\nname: a\nimage: nginx:1.27\ncontainerRegistry: ghcr\n"
    "resources: {machineType: C4, ports: [8080]}\n"
)
SECRET_LINES = "root-secret-line-one\nroot-secret-line-two\n"


def _checkout(tmp_path: Path) -> tuple[Path, Path]:
    ws, outside = tmp_path / "ws", tmp_path / "site-packages"
    ws.mkdir()
    outside.mkdir()
    (ws / "paperspace.yaml").write_text(SPEC)
    return ws, outside


def _lint(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR")}
    env["CI_PROJECT_DIR"] = str(ws)  # a GitLab job
    return subprocess.run([sys.executable, "-m", "paperspace_deploy", "lint", *args],
                          capture_output=True, text=True, cwd=ws, env=env, timeout=60)  # fmt: skip


def test_lint_output_never_writes_through_a_committed_symlink(tmp_path: Path) -> None:
    ws, outside = _checkout(tmp_path)
    for name, target in (("report.sarif", "evil.pth"), ("live.sarif", "live.pth")):
        (ws / name).symlink_to(outside / target)  # dangling, and (below) existing
    (outside / "live.pth").write_text("import os\n")
    for name in ("report.sarif", "live.sarif"):
        proc = _lint(ws, "--format", "sarif", "--output", name, "paperspace.yaml")
        assert proc.returncode == 0, proc.stderr
        assert not (ws / name).is_symlink() and '"version"' in (ws / name).read_text()
    assert not (outside / "evil.pth").exists()  # a dangling link created nothing
    assert (outside / "live.pth").read_text() == "import os\n"  # nor was a live one written


def test_lint_output_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    ws, outside = _checkout(tmp_path)
    (ws / "sub").symlink_to(outside, target_is_directory=True)
    for path in ("../site-packages/x.pth", str(outside / "x.pth"), "sub/x.pth"):
        proc = _lint(ws, "--format", "sarif", "--output", path, "paperspace.yaml")
        assert proc.returncode == 2, (path, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert list(outside.iterdir()) == []


def test_registries_file_symlink_is_refused_and_never_echoed(tmp_path: Path) -> None:
    ws, outside = _checkout(tmp_path)
    (outside / "shadow").write_text(SECRET_LINES)
    (ws / "registries.txt").symlink_to(outside / "shadow")
    proc = _lint(ws, "--registries-file", "registries.txt", "paperspace.yaml")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "symlink" in proc.stderr
    assert "root-secret" not in proc.stdout + proc.stderr


def test_symlinked_spec_outside_the_ci_project_dir_is_refused(tmp_path: Path) -> None:
    ws, outside = _checkout(tmp_path)
    (outside / "spec.yaml").write_text("name: " + SECRET_LINES.splitlines()[0] + "\nbad: 1\n")
    (ws / "paperspace.yml").symlink_to(outside / "spec.yaml")
    proc = _lint(ws, "paperspace.yml")
    assert proc.returncode == 2, proc.stdout
    assert "root-secret" not in proc.stdout + proc.stderr
