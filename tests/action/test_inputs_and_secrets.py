"""The action face: inputs (the runner's INPUT_* spelling, read through the option table),
fork-PR rules and secret masking, in-process."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from canary import leaks, masks_come_first, without_mask_lines
from runner_commands import process

from paperspace_deploy import action, ci_context, options
from paperspace_deploy.errors import ExitCode, InputError


def test_input_spelling_hyphen_and_underscore_trimmed() -> None:
    env = {"INPUT_API-KEY": "  k1 \n", "INPUT_PROJECT_ID": " p1 "}
    assert options.get_input(env, "api-key") == "k1"
    assert options.get_input(env, "project-id") == "p1"  # underscore fallback
    assert options.get_input(env, "missing") == ""


def test_inputs_match_actions_toolkit_get_input(monkeypatch: pytest.MonkeyPatch) -> None:
    from actions_toolkit import core

    monkeypatch.setenv("INPUT_CONTAINER-REGISTRIES", "  a,b \n")
    monkeypatch.setenv("INPUT_MY INPUT", " x ")
    import os

    assert options.get_input(os.environ, "container-registries") == core.get_input(
        "container-registries"
    )
    assert options.get_input(os.environ, "my input") == core.get_input("my input")


@pytest.mark.parametrize("value,expected", [("true", True), ("FALSE", False), ("", True)])
def test_booleans(value: str, expected: bool) -> None:
    inputs = options.read_inputs({"INPUT_WAIT": value}, "deploy")
    assert options.complete(inputs, "deploy", {})["wait"] is expected


@pytest.mark.parametrize("value", ["yes", "1", "on"])
def test_boolean_rejects_yaml_style(value: str) -> None:
    with pytest.raises(InputError, match="input 'wait' must be true"):
        options.read_inputs({"INPUT_WAIT": value}, "deploy")


@pytest.mark.parametrize("value", ["abc", "-1", "0", "100000"])
def test_timeout_bounds(runner, value: str) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(mode="deploy", timeout=value)
    assert result.code == ExitCode.INVALID
    assert "input 'timeout' must be" in result.stdout
    assert result.summary.startswith("## paperspace-deploy")
    assert [c.name for c in result.commands] == ["error"]


def test_unknown_mode(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(mode="destroy")
    assert result.code == ExitCode.INVALID
    assert "input 'mode' must be one of deploy, lint, build, plan" in result.stdout


def test_request_reprs_hide_secrets(runner) -> None:  # type: ignore[no-untyped-def]
    from paperspace_deploy.api.retry import Deadline
    from paperspace_deploy.deploy import DeployRequest
    from paperspace_deploy.image.options import BuildOptions
    from paperspace_deploy.io import Io
    from paperspace_deploy.workspace import Workspace

    (runner.workspace / "paperspace.yaml").write_text("name: a\n")
    env = {"INPUT_API-KEY": "key-canary-1", "INPUT_PASSWORD": "pw-canary-1", "INPUT_USERNAME": "u",
           "INPUT_PROJECT-ID": "p1", "INPUT_IMAGE": "ghcr.io/o/a"}  # fmt: skip
    inputs = options.read_inputs(env, "deploy")
    ws, io_ = Workspace(runner.workspace, runner.workspace), Io(environ=env)
    req = DeployRequest.from_action(inputs, ws, io_, "deploy", deadline=Deadline(60))
    opts = BuildOptions.from_action(inputs, ws, io_, "deploy", deadline=Deadline(60))
    assert "canary" not in repr(req) + repr(opts) + repr(inputs.keys())


def test_deploy_without_api_key(runner) -> None:  # type: ignore[no-untyped-def]
    (runner.workspace / "paperspace.yaml").write_text("name: a\n")
    result = runner.run(mode="deploy", project_id="p1")
    assert result.code == ExitCode.INVALID
    assert "an API key is required (input api-key" in result.stdout


def _fork_event(runner, fork: bool = True) -> None:  # type: ignore[no-untyped-def]
    event = {
        "pull_request": {
            "head": {"repo": {"full_name": "evil/app", "fork": fork}},
            "base": {"repo": {"full_name": "octo/app"}},
        }
    }
    path = runner.root / "event.json"
    path.write_text(json.dumps(event))
    runner.env["GITHUB_EVENT_PATH"] = str(path)
    runner.env["GITHUB_EVENT_NAME"] = "pull_request"


@pytest.mark.parametrize("mode", ["deploy", "plan"])
def test_deploy_refuses_fork_pull_request(runner, mode: str) -> None:  # type: ignore[no-untyped-def]
    _fork_event(runner)
    result = runner.run(mode=mode, api_key="k" * 20)
    assert result.code == ExitCode.INVALID
    assert f"mode '{mode}' refuses to run on a pull request from a fork" in result.stdout
    assert ci_context.detect(runner.env).fork


def test_same_repo_pull_request_is_not_a_fork(runner) -> None:  # type: ignore[no-untyped-def]
    _fork_event(runner, fork=False)
    event = json.loads(Path(runner.env["GITHUB_EVENT_PATH"]).read_text())
    event["pull_request"]["head"]["repo"]["full_name"] = "octo/app"
    Path(runner.env["GITHUB_EVENT_PATH"]).write_text(json.dumps(event))
    assert not ci_context.detect(runner.env).fork


def test_multiline_secret_is_masked_line_by_line_before_anything_else(runner) -> None:  # type: ignore[no-untyped-def]
    password = (
        "-----BEGIN KEY-----\nline-one-" + secrets.token_hex(8) + "\nline%0Atwo\n-----END-----"
    )
    result = runner.run(mode="deploy", password=password, username="ci", timeout="0")
    masks = [c.data for c in result.commands if c.name == "add-mask"]
    assert password in masks  # the escaped whole value round-trips through the runner's parser
    for line in password.splitlines():
        assert line in masks
    assert base64.b64encode(f"ci:{password}".encode()).decode() in masks
    assert masks_come_first(result.stdout, password)


def test_short_values_are_not_masked(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(mode="deploy", username="admin", password="abc", timeout="0")
    masks = [c.data for c in result.commands if c.name == "add-mask"]
    assert "abc" not in masks and "admin" not in masks


@pytest.mark.parametrize("mode", ["deploy", "plan", "build", "lint"])
def test_secret_canaries_never_leak_on_failures(runner, mode: str) -> None:  # type: ignore[no-untyped-def]
    """Failing early runs (bad timeout) with RUNNER_DEBUG=1: nothing but the mask lines."""
    api_key = "psk_" + secrets.token_hex(16)
    password = "pw-" + secrets.token_hex(8) + "\n" + secrets.token_hex(12)
    runner.env["RUNNER_DEBUG"] = "1"
    runner.env["ACTIONS_STEP_DEBUG"] = "true"
    for timeout in ("abc", "15"):
        result = runner.run(
            mode=mode, api_key=api_key, password=password, username="ci", timeout=timeout,
            spec="missing.yaml",
        )  # fmt: skip
        assert result.code != 0
        shown = {"stdout": without_mask_lines(result.stdout), "summary": result.summary,
                 "outputs": json.dumps(result.outputs)}  # fmt: skip
        assert leaks(shown, api_key) == []
        assert leaks(shown, password, "ci") == []
        assert masks_come_first(result.stdout, api_key, password)
        assert all(c.name in ("add-mask", "error", "group", "endgroup") for c in result.commands)
        assert process(without_mask_lines(result.stdout)) == [
            c for c in result.commands if c.name != "add-mask"
        ]


def test_fork_with_unsecure_commands_switch_is_refused(runner) -> None:  # type: ignore[no-untyped-def]
    _fork_event(runner)
    runner.env["ACTIONS_ALLOW_UNSECURE_COMMANDS"] = "true"
    result = runner.run(mode="lint")
    assert result.code == ExitCode.INVALID
    assert "ACTIONS_ALLOW_UNSECURE_COMMANDS=true" in result.stdout


def test_privileged_event_warns_before_deploying(runner) -> None:  # type: ignore[no-untyped-def]
    runner.env["GITHUB_EVENT_NAME"] = "pull_request_target"
    result = runner.run(mode="deploy", api_key="k" * 20, spec="missing.yaml")
    (warning,) = result.annotations("warning")
    assert "running 'deploy' on pull_request_target" in warning.data


def test_hostile_environment_no_runner_files(tmp_path: Path) -> None:
    """No GITHUB_OUTPUT/GITHUB_STEP_SUMMARY, no HOME, junk PATH: a clean result, never the
    deprecated ::set-output fallback."""
    import io

    (tmp_path / "paperspace.yaml").write_text(
        "apiVersion: v1\nname: a\nimage: nginx:1\nresources:\n  machineType: C4\n  ports: [80]\n"
    )
    out = io.StringIO()
    env = {"PATH": "utter-nonsense", "GITHUB_WORKSPACE": str(tmp_path), "INPUT_MODE": "lint"}
    assert action.main(environ=env, stdout=out) == ExitCode.OK
    assert "set-output" not in out.getvalue()
    env["GITHUB_WORKSPACE"] = str(tmp_path / "missing")
    out = io.StringIO()
    assert action.main(environ=env, stdout=out) == ExitCode.USAGE
    assert "workspace" in out.getvalue() and "does not exist" in out.getvalue()


def test_outputs_from_the_api_are_checked_before_they_are_written() -> None:
    """An endpoint with a newline would let the next step's `echo` emit commands (issue 11)."""
    import io as _io

    from paperspace_deploy.io import Io

    err = _io.StringIO()
    values = {"endpoint": "https://x.example\n::add-mask::x", "spec-id": "s1", "changed": "true",
              "digest": "sha256:" + "a" * 64, "deployment-id": "../../etc",
              "tags": "a:1\nb:2"}  # fmt: skip
    got = action.checked_outputs(values, Io(stdout=err, stderr=err, environ={}))
    assert got == {"spec-id": "s1", "changed": "true", "digest": "sha256:" + "a" * 64,
                   "tags": "a:1\nb:2"}  # fmt: skip
    assert "output 'endpoint' left unset" in err.getvalue() and "add-mask" not in err.getvalue()


def test_summary_data_is_scrubbed_before_it_is_escaped(runner) -> None:  # type: ignore[no-untyped-def]
    """An API echoing the password: the summary's entity escaping (`_` -> `&#95;`) would hide it
    from a scrub of the rendered text; it is replaced in the data first (issue 11)."""
    password = "pw_" + secrets.token_hex(6) + "*[x]"
    (runner.workspace / "paperspace.yaml").write_text(f"name: a\nimage: {password}\n")
    result = runner.run(mode="lint", password=password, username="ci")
    assert password not in result.summary
    for form in (password.replace("_", "&#95;"), password.replace("*", "&#42;")):
        assert form not in result.summary
