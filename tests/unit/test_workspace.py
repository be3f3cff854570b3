"""workspace.py: spec, context, Dockerfile and report paths stay inside the workspace
(reliability.md §2.8, §6.1 1-7)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from paperspace_deploy.errors import ExitCode, UsageError
from paperspace_deploy.workspace import (
    Workspace,
    check_directory,
    check_regular_file,
    contained,
    display,
    workspace_root,
    write_inside,
)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / ".paperspace").mkdir(parents=True)
    (root / ".paperspace" / "app.yaml").write_text("name: a\n")
    (root / "deploy").mkdir()
    (root / "deploy" / "a.yaml").write_text("name: a\n")
    (root / "deploy" / "b.yaml").write_text("name: b\n")
    return root.resolve()


def refused(root: Path, path: str, fragment: str) -> str:
    with pytest.raises(UsageError) as info:
        check_regular_file(root, path)
    assert fragment in str(info.value), str(info.value)
    assert info.value.exit_code == ExitCode.USAGE
    return str(info.value)


def test_relative_and_absolute_inside(ws: Path) -> None:
    assert check_regular_file(ws, ".paperspace/app.yaml") == ws / ".paperspace/app.yaml"
    assert check_regular_file(ws, f"{ws}/deploy/a.yaml") == ws / "deploy/a.yaml"
    assert check_regular_file(ws, "deploy/../deploy/a.yaml") == ws / "deploy/a.yaml"
    assert display(ws, ws / "deploy/a.yaml") == "deploy/a.yaml"


@pytest.mark.parametrize("path", ["../../etc/passwd", "../ws2/x.yaml", "deploy/../../x"])
def test_dotdot_escape_refused(ws: Path, path: str) -> None:
    refused(ws, path, "must be inside the workspace")


@pytest.mark.parametrize("path", ["/etc/passwd", "/proc/self/environ"])
def test_absolute_outside_refused_without_opening(ws: Path, path: str) -> None:
    refused(ws, path, "must be inside the workspace")


def test_symlink_escaping_refused_and_content_never_read(ws: Path, tmp_path: Path) -> None:
    secret = tmp_path / "home" / ".docker" / "config.json"
    secret.parent.mkdir(parents=True)
    secret.write_text('{"auths": {"x": {"auth": "Q0FOQVJZ"}}}')
    (ws / "paperspace.yaml").symlink_to(secret)
    message = refused(ws, "paperspace.yaml", "refusing to follow symlink outside the workspace")
    assert "Q0FOQVJZ" not in message
    (ws / "linkdir").symlink_to(tmp_path / "home")  # a directory component escaping
    refused(ws, "linkdir/.docker/config.json", "outside the workspace")
    (ws / "dangling.yaml").symlink_to("/nonexistent/x.yaml")
    refused(ws, "dangling.yaml", "outside the workspace")


def test_symlink_inside_workspace_allowed(ws: Path) -> None:
    (ws / "app.yaml").symlink_to(ws / "deploy" / "a.yaml")
    assert check_regular_file(ws, "app.yaml") == ws / "deploy" / "a.yaml"


def test_symlink_loop(ws: Path) -> None:
    (ws / "a.yaml").symlink_to(ws / "b.yaml")
    (ws / "b.yaml").symlink_to(ws / "a.yaml")
    refused(ws, "a.yaml", "symlink loop")


def test_fifo_refused_without_hanging(ws: Path) -> None:
    os.mkfifo(ws / "pipe.yaml")
    start = time.monotonic()
    refused(ws, "pipe.yaml", "not a regular file")
    assert time.monotonic() - start < 1.0


def test_missing_and_directory(ws: Path) -> None:
    message = refused(ws, "missing.yaml", "spec file not found: missing.yaml")
    assert str(ws / "missing.yaml") in message
    refused(ws, "deploy", "is a directory")
    refused(ws, ".", "is a directory")


@pytest.mark.parametrize("path", ["", "   ", "a\nb.yaml", "a\0b"])
def test_empty_or_control_characters(ws: Path, path: str) -> None:
    with pytest.raises(UsageError):
        check_regular_file(ws, path)


def test_context_directory(ws: Path, tmp_path: Path) -> None:
    assert check_directory(ws, ".") == ws
    assert check_directory(ws, "deploy") == ws / "deploy"
    with pytest.raises(UsageError, match="inside the workspace"):
        check_directory(ws, "..")
    with pytest.raises(UsageError, match="must be a directory"):
        check_directory(ws, "deploy/a.yaml")


def test_workspace_root(tmp_path: Path) -> None:
    assert workspace_root({"GITHUB_WORKSPACE": str(tmp_path)}, Path("/")) == tmp_path.resolve()
    assert workspace_root({}, tmp_path) == tmp_path.resolve()
    with pytest.raises(UsageError, match="does not exist"):
        workspace_root({"GITHUB_WORKSPACE": str(tmp_path / "nope")}, Path("/"))


def test_workspace_root_is_github_then_gitlab_then_cwd(tmp_path: Path) -> None:
    gl = tmp_path / "gl"
    gl.mkdir()
    assert workspace_root({"CI_PROJECT_DIR": str(gl)}, tmp_path) == gl
    assert workspace_root({"GITHUB_WORKSPACE": str(tmp_path), "CI_PROJECT_DIR": str(gl)}, gl) == (
        tmp_path.resolve()
    )


def test_contained_is_relative_to_cwd_and_shown_from_the_root(ws: Path, tmp_path: Path) -> None:
    real, shown = contained(ws, ws / "deploy", "a.yaml")
    assert real == ws / "deploy" / "a.yaml" and shown == "deploy/a.yaml"
    assert contained(ws, ws / "deploy", "../.paperspace/app.yaml")[1] == ".paperspace/app.yaml"
    other = tmp_path / "other.yaml"
    other.write_text("name: x\n")
    with pytest.raises(UsageError, match="inside the workspace"):  # in CI, and the action
        contained(ws, ws, str(other))
    (ws / "link.yaml").symlink_to(other)
    with pytest.raises(UsageError, match="outside the workspace"):
        contained(ws, ws, "link.yaml", outside_ok=True)


def test_a_local_run_may_name_files_elsewhere_but_not_through_symlinks(ws, tmp_path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "paperspace.yaml").write_text("name: x\n")
    local = Workspace.for_cli({}, ws)
    assert local.file(str(other / "paperspace.yaml"))[0] == other / "paperspace.yaml"
    (other / "link.yaml").symlink_to("/etc/hostname")
    with pytest.raises(UsageError, match="outside the workspace"):
        local.file(str(other / "link.yaml"))
    in_ci = Workspace.for_cli({"CI_PROJECT_DIR": str(ws)}, ws)
    with pytest.raises(UsageError, match="inside the workspace"):
        in_ci.file(str(other / "paperspace.yaml"))


def test_write_inside_never_follows_a_symlink(ws: Path, tmp_path: Path) -> None:
    """A committed `report.sarif -> site-packages/x.pth` (dangling or not) must not be written
    through (issue 11: that became code execution on the next Python start)."""
    target = tmp_path / "site-packages" / "evil.pth"
    target.parent.mkdir()
    (ws / "report.sarif").symlink_to(target)  # dangling: the old code created the target
    write_inside(ws, ws, "report.sarif", "{}")
    assert not target.exists()
    assert (ws / "report.sarif").read_text() == "{}" and not (ws / "report.sarif").is_symlink()
    target.write_text("keep")
    (ws / "r2.sarif").symlink_to(target)
    write_inside(ws, ws, "r2.sarif", "new")
    assert target.read_text() == "keep"


@pytest.mark.parametrize("path", ["../out.sarif", "/tmp/out.sarif", "linkdir/out.sarif"])
def test_write_inside_refuses_paths_out_of_the_workspace(
    ws: Path, tmp_path: Path, path: str
) -> None:
    (ws / "linkdir").symlink_to(tmp_path)
    with pytest.raises(UsageError, match=r"inside the workspace|out of the workspace"):
        write_inside(ws, ws, path, "x")
    assert not (tmp_path / "out.sarif").exists()
