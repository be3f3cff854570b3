"""docs/reliability.md's "Threat model" section names tests; every one of them must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "reliability.md"
REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)(?:\[[^\]`]*\])?`")
ACTORS = ("Pull-request author", "Repository owner", "Paperspace API", "Registry", "Build engine")


def _section() -> str:
    text = DOC.read_text()
    start = text.index("## Threat model")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and n.name.startswith("test_")}  # fmt: skip


def test_every_test_named_in_the_threat_model_exists() -> None:
    refs = REF.findall(_section())
    assert len(refs) >= 40, "the section names the tests that cover each row"
    missing = []
    for file, name in sorted(set(refs)):
        path = REPO / file
        if not path.is_file() or name not in _tests_in(path):
            missing.append(f"{file}::{name}")
    assert missing == []


def test_the_threat_model_covers_every_actor() -> None:
    section = _section()
    for actor in ACTORS:
        assert f"**{actor}" in section, actor


def test_the_check_can_fail() -> None:
    """A made-up name is reported missing (the regex and the lookup really look)."""
    ((file, name),) = REF.findall("`tests/unit/test_threat_model_doc.py::test_no_such_test`")
    assert name not in _tests_in(REPO / file)
