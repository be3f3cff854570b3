"""The one option table: parsers, both faces' readings, and agreement with action.yml/docs."""

import argparse
import re
from pathlib import Path

import pytest
import yaml

from paperspace_deploy import options
from paperspace_deploy.cli import build_parser
from paperspace_deploy.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600)])
def test_durations(text, seconds):
    assert options.duration("s")(text) == seconds


def test_bare_timeout_is_minutes_in_the_action():
    assert options.duration("m")("15") == 900 and options.duration("m")("90s") == 90


@pytest.mark.parametrize("text", ["0", "-1", "abc", "7h", "m", ""])
def test_bad_durations(text):
    with pytest.raises(options.OptionError):
        options.duration("s")(text)


def test_plan_takes_the_same_duration_as_deploy():
    """Drift (issue 9): plan --timeout took float seconds with its own bound."""
    args = build_parser().parse_args(["plan", "--timeout", "2m"])
    assert options.complete(options.from_namespace(args, "plan"), "plan", {})["timeout"] == 120


def test_inputs_parse_like_flags():
    env = {"INPUT_TAGS": "a,b\nc", "INPUT_BUILD-ARGS": "A=1\nB=x,y", "INPUT_PUSH": "auto",
           "INPUT_WAIT": "false", "INPUT_POLL-INTERVAL": "2.5", "INPUT_TIMEOUT": "10"}  # fmt: skip
    got = options.complete(options.read_inputs(env, "deploy"), "deploy", {})
    assert got["tags"] == ["a", "b", "c"] and got["build-args"] == [("A", "1"), ("B", "x,y")]
    assert got["push"] is None and got["wait"] is False and got["poll-interval"] == 2.5
    assert got["timeout"] == 600


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [("wait", "yes", "true/True/TRUE"), ("poll-interval", "0", "within"),
     ("timeout", "500", "at most 6h"), ("builder", "a b", "one of"),
     ("build-args", "NOEQUALS", "KEY=VALUE"), ("push", "maybe", "auto, true or false")],
)  # fmt: skip
def test_bad_inputs_name_the_input(name, value, match):
    with pytest.raises(InputError, match=f"input '{name}' .*{match}"):
        options.read_inputs({f"INPUT_{name.upper()}": value}, "deploy")


def test_environment_fallback_and_defaults():
    got = options.complete({}, "deploy", {"PAPERSPACE_PROJECT_ID": " p1 "})
    assert got["project-id"] == "p1" and got["api-url"] == "https://api.paperspace.com/v1"
    assert got["timeout"] == 900 and got["wait"] is True


# -- the table, action.yml, the request objects and the docs agree ---------------------------
def _action_inputs() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]


def test_every_action_option_is_an_action_input_and_back():
    table = {name for o in options.OPTIONS if o.action for name in (o.name, *o.aliases)}
    assert set(_action_inputs()) == table | {"mode"}


def test_action_yml_and_docs_are_generated_from_the_table():
    import subprocess
    import sys

    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "sync_inputs.py"), "--check"],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_action_yml_descriptions_and_defaults_come_from_the_table():
    inputs = _action_inputs()
    for o in options.OPTIONS:
        if not o.action:
            continue
        assert inputs[o.name]["description"] == o.help, o.name
        assert str(inputs[o.name].get("default", "")) == options.action_default(o), o.name


def test_every_cli_flag_is_in_the_table_or_named_cli_only():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    table_flags = {f for o in options.OPTIONS for f in o.cli_flags}
    for command in ("lint", "build", "plan", "deploy", "preview", "cleanup", "sweep"):
        for action in sub.choices[command]._actions:
            flags = [f for f in action.option_strings if f.startswith("--") and f != "--help"]
            negated = {f"--no-{f[2:]}" for f in table_flags}
            unknown = [f for f in flags if f not in table_flags and f not in negated]
            assert not unknown or set(unknown) <= options.CLI_ONLY.keys(), (command, unknown)


def test_request_objects_read_every_option_they_are_given():
    """Each option names the request field it fills; the field exists."""
    from dataclasses import fields

    from paperspace_deploy.deploy.request import DeployRequest
    from paperspace_deploy.deploy.result import WaitOptions
    from paperspace_deploy.image.options import BuildOptions
    from paperspace_deploy.lint import LintRequest
    from paperspace_deploy.pr_comment import CommentRequest
    from paperspace_deploy.preview import PreviewPolicy, PreviewRequest

    known = {
        "lint": {f.name for f in fields(LintRequest)},
        "build": {f.name for f in fields(BuildOptions)},
        "deploy": {f.name for f in fields(DeployRequest)}
        | {f"wait.{f.name}" for f in fields(WaitOptions)},
        "preview": {f.name for f in fields(PreviewRequest)}
        | {f"policy.{f.name}" for f in fields(PreviewPolicy)},
        "comment": {f.name for f in fields(CommentRequest)},
    }
    for o in options.OPTIONS:
        for target in o.fills:
            request, _, name = target.partition(":")
            assert name in known[request], (o.name, target)


def test_docs_list_every_input():
    doc = (ROOT / "docs" / "action.md").read_text()
    listed = set(re.findall(r"^\| `([a-z-]+)`", doc, re.M))
    assert listed == {o.name for o in options.OPTIONS if o.action} | {"mode"}
