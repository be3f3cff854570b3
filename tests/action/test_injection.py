"""Hostile spec text must never become a workflow command (reliability.md §2.2).

Every payload goes into spec values, keys and file names; the action's whole stdout is fed through
the runner-parser port; the only commands allowed are the ones the action means to emit, and
their data must be exactly our (escaped) finding messages.
"""

from __future__ import annotations

import json

import pytest
from runner_commands import HOSTILE_PAYLOADS

from paperspace_deploy.errors import ExitCode

PAYLOADS = HOSTILE_PAYLOADS


def _spec(payload: str) -> str:
    p = json.dumps(payload)  # a valid YAML double-quoted scalar with the raw payload
    return (
        "apiVersion: v1\n"
        f"name: {p}\n"
        f"image: {p}\n"
        f"{p}: 1\n"
        "resources:\n"
        "  replicas: 1\n"
        "  machineType: C4\n"
        "  ports: [8080]\n"
        "env:\n"
        f"  - name: {p}\n"
        f"    value: {p}\n"
        f"containerRegistry: {p}\n"
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_spec_values_stay_text(runner, payload: str) -> None:  # type: ignore[no-untyped-def]
    (runner.workspace / "app.yaml").write_text(_spec(payload))
    result = runner.run(mode="lint", spec="app.yaml", container_registries="ghcr")
    assert result.code == ExitCode.INVALID
    allowed = {"group", "endgroup", "error", "warning", "notice"}
    assert {c.name for c in result.commands} <= allowed, result.stdout
    for c in result.commands:
        if c.name in ("error", "warning", "notice"):
            assert c.properties.get("file") == "app.yaml"
            assert c.properties.get("title", "").startswith("paperspace-deploy: ")
    # the runner's output-file parser sees exactly our two outputs
    assert set(result.outputs) == {"lint-errors", "lint-warnings"}
    assert int(result.outputs["lint-errors"]) >= 1
    # the summary holds no live HTML and no raw newline-started commands
    assert "<img" not in result.summary
    assert all(not line.lstrip().startswith("::") for line in result.summary.splitlines())


def test_hostile_file_name(runner) -> None:  # type: ignore[no-untyped-def]
    name = "x ##[error]forged ::warning::y.yaml"
    (runner.workspace / name).write_text(_spec("ok"))
    result = runner.run(mode="lint", spec=name)
    assert {c.name for c in result.commands} <= {"group", "endgroup", "error", "warning", "notice"}
    assert all(c.properties.get("file") in (None, name) for c in result.commands)


def test_ten_thousand_line_value(runner) -> None:  # type: ignore[no-untyped-def]
    value = "\n".join(f"::warning::line {i}" for i in range(10_000))
    (runner.workspace / "app.yaml").write_text(_spec(value))
    result = runner.run(mode="lint", spec="app.yaml")
    assert not [c for c in result.commands if c.data.startswith("line ")]
    assert len(result.summary.encode()) < 1024 * 1024
