"""Fixtures for the action tests: the runner's files (GITHUB_OUTPUT, summary, event) and a
workspace. Shared helpers (runner_commands, canary) live in tests/helpers (pytest pythonpath)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from runner_commands import parse_output_file, process

from paperspace_deploy import action

HERE = Path(__file__).resolve().parent


@dataclass
class Result:
    code: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    commands: list = field(default_factory=list)

    def annotations(self, level: str) -> list:
        return [c for c in self.commands if c.name == level]


@dataclass
class Runner:
    """Runs `action.main` in-process with the files and environment the runner would give."""

    root: Path
    workspace: Path
    env: dict[str, str]

    def run(self, **inputs: str) -> Result:
        env = dict(self.env)
        for name, value in inputs.items():
            env[f"INPUT_{name.replace('_', '-').upper()}"] = value
        out = io.StringIO()
        code = action.main(environ=env, stdout=out, stderr=out, cwd=self.workspace)
        outputs_text = Path(env["GITHUB_OUTPUT"]).read_text()
        text = out.getvalue()
        result = Result(
            code=code,
            stdout=text,
            outputs=parse_output_file(outputs_text),
            summary=Path(env["GITHUB_STEP_SUMMARY"]).read_text(),
            commands=process(text),
        )
        Path(env["GITHUB_OUTPUT"]).write_text("")
        Path(env["GITHUB_STEP_SUMMARY"]).write_text("")
        return result


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    files = tmp_path / "file_commands"
    files.mkdir()
    ws = tmp_path / "workspace"
    ws.mkdir()
    env = {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": str(ws),
        "GITHUB_OUTPUT": str(files / "set_output_1"),
        "GITHUB_STEP_SUMMARY": str(files / "step_summary_1"),
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "HOME": str(tmp_path / "home"),
    }
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        Path(env[name]).write_text("")
    return Runner(tmp_path, ws, env)


EMULATOR_KEY = "psd-action-key-" + "0123456789abcdef"
PROJECT = "p0000000042"


@dataclass
class Emu:
    server: object
    state: object
    url: str
    key: str = EMULATOR_KEY
    project_id: str = PROJECT

    def add_registry(self, name: str, registry) -> None:  # type: ignore[no-untyped-def]
        self.state.add_registry(  # type: ignore[attr-defined]
            {
                "name": name,
                "url": registry.url,
                "namespace": "",
                "kind": "other",
                "username": registry.username,
                "password": registry.password,
            }
        )


@pytest.fixture
def emulator():  # type: ignore[no-untyped-def]
    """A real emulator on 127.0.0.1:<free port> (the same server `paperspace-deploy emulator`
    runs), with fast rollout timings."""
    from paperspace_deploy.emulator import Emulator, Faults, State, Timings

    state = State(Timings(apply_after=0.02, healthy_after=0.05))
    state.add_key(EMULATOR_KEY)
    state.add_project(PROJECT, "action-tests")
    server = Emulator(state, Faults(seed=1)).start()
    try:
        yield Emu(server, state, server.url)
    finally:
        server.stop()
