"""specfiles.py: which spec files a run reads (patterns, directories, globs), safely."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from paperspace_deploy.errors import UsageError
from paperspace_deploy.specfiles import collect
from paperspace_deploy.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / ".paperspace").mkdir(parents=True)
    (root / ".paperspace" / "app.yaml").write_text("name: a\n")
    (root / "deploy").mkdir()
    (root / "deploy" / "a.yaml").write_text("name: a\n")
    (root / "deploy" / "b.yaml").write_text("name: b\n")
    return root.resolve()


def files(ws: Path, *patterns: str, cwd: Path | None = None) -> list[str]:
    return [f.shown for f in collect(list(patterns), Workspace(ws, cwd or ws)).files]


def test_globs(ws: Path) -> None:
    assert files(ws, "deploy/*.yaml") == ["deploy/a.yaml", "deploy/b.yaml"]
    assert ".paperspace/app.yaml" not in files(ws, "**/*.yaml")  # hidden skipped, like glob
    assert files(ws, "**/a.yaml") == ["deploy/a.yaml"]
    (problem,) = collect(["../*/*.yaml"], Workspace(ws, ws)).problems
    assert "inside the workspace" in problem
    assert collect(["nothing/*.yaml"], Workspace(ws, ws)).problems == [
        "no files match nothing/*.yaml"
    ]


def test_default_and_directory_search(ws: Path) -> None:
    assert files(ws) == [".paperspace/app.yaml"]
    (ws / "paperspace.json").write_text("{}")
    assert files(ws) == ["paperspace.json", ".paperspace/app.yaml"]  # all present, in order
    (ws / "paperspace.json").unlink()
    (ws / "svc" / ".paperspace").mkdir(parents=True)
    (ws / "svc" / ".paperspace" / "app.json").write_text("{}")
    (ws / "svc" / "paperspace.toml").write_text("")
    assert files(ws, "svc") == ["svc/.paperspace/app.json", "svc/paperspace.toml"]
    with pytest.raises(UsageError, match="no spec file found"):
        collect([], Workspace(ws, ws / "deploy"))


def test_each_file_once_in_the_order_given(ws: Path) -> None:
    assert files(ws, "deploy/b.yaml", "deploy/*.yaml") == ["deploy/b.yaml", "deploy/a.yaml"]


def test_glob_match_escaping_through_symlink_refused(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("name: x\n")
    (ws / "deploy" / "c.yaml").symlink_to(outside)
    got = collect(["deploy/*.yaml"], Workspace(ws, ws))
    assert [f.shown for f in got.files] == ["deploy/a.yaml", "deploy/b.yaml"]  # still read
    (problem,) = got.problems
    assert "refusing to follow symlink outside the workspace: 'deploy/c.yaml'" in problem


def test_symlink_loops_end_at_once(ws: Path) -> None:
    """Two directory links to `.` made `**` (and the directory walk) never finish (issue 11)."""
    (ws / "deploy" / "loop1").symlink_to(ws)
    (ws / "deploy" / "loop2").symlink_to(ws / "deploy")
    start = time.monotonic()
    assert files(ws, "**/*.yaml") == ["deploy/a.yaml", "deploy/b.yaml"]
    assert files(ws, ".") == [".paperspace/app.yaml"]
    assert time.monotonic() - start < 5  # a hang is the failure mode; the real figure is ms


def test_walk_is_bounded(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import paperspace_deploy.specfiles as specfiles

    monkeypatch.setattr(specfiles, "MAX_ENTRIES", 3)
    (problem,) = collect(["**/*.yaml"], Workspace(ws, ws)).problems
    assert "more than 3 directory entries" in problem
