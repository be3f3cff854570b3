"""Spec, context and Dockerfile paths stay inside the workspace (reliability.md §2.8, §6.1 1-7)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from paperspace_deploy.errors import ExitCode, UsageError
from paperspace_deploy.workspace import (
    check_directory,
    check_regular_file,
    display,
    resolve_specs,
    workspace_root,
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


def test_globs(ws: Path) -> None:
    assert resolve_specs(ws, "deploy/*.yaml") == [ws / "deploy/a.yaml", ws / "deploy/b.yaml"]
    assert ws / ".paperspace/app.yaml" not in resolve_specs(ws, "**/*.yaml")  # hidden skipped
    with pytest.raises(UsageError, match="inside the workspace"):
        resolve_specs(ws, "../*/*.yaml")
    with pytest.raises(UsageError, match="no spec file matches"):
        resolve_specs(ws, "nothing/*.yaml")


def test_glob_match_escaping_through_symlink_refused(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("name: x\n")
    (ws / "deploy" / "c.yaml").symlink_to(outside)
    with pytest.raises(UsageError, match="outside the workspace"):
        resolve_specs(ws, "deploy/*.yaml")


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
