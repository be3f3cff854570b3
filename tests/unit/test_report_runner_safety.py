"""No reporter output becomes a GitHub workflow command (issue 11).

The runner executes `::cmd::` after leading blanks and the legacy `##[cmd]` anywhere in a line of
a step's output. Spec keys and values, and directory names, come from the checkout (a fork PR
controls it). Every line of every format is run through the runner-parser port
(tests/helpers/runner_commands.py) with the hostile payload list; the decoded data stays the
same (JSON escapes are not data changes).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from runner_commands import HOSTILE_PAYLOADS, process

from paperspace_deploy.io import Io
from paperspace_deploy.report.github_lint import report as github_report
from paperspace_deploy.report.render import REPORTERS
from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.spec import lint_bytes
from paperspace_deploy.spec.findings import Finding, Severity

PAYLOADS = [
    *HOSTILE_PAYLOADS,
    "x ##[set-output name=result]pass",
    "::error::from a directory name",
    "  ##[add-mask]abc",
    "\t::add-path::/tmp/evil",
]
ANNOTATIONS = {"error", "warning", "notice"}


def hostile_spec(payload: str) -> str:
    q = json.dumps(payload)  # a JSON string is a YAML double-quoted scalar
    return (
        f"apiVersion: v1\nname: {q}\nimage: {q}\n{q}: 1\n"
        f"env:\n  - name: {q}\n    value: {q}\nresources: {{machineType: {q}, ports: [1]}}\n"
    )


def hostile_result() -> LintResult:
    res = LintResult()
    for i, payload in enumerate(PAYLOADS):
        display = f"{payload}/{i}/paperspace.yaml"  # as a directory name
        spec = lint_bytes(hostile_spec(payload).encode(), display)
        res.files.append(display)
        res.findings += spec.findings
        # a message quoting the payload raw, as a future rule might
        res.findings.append(Finding(display, 1, 1, Severity.NOTICE, "schema", payload))
    return res


def commands_in(output: str) -> list[str]:
    return [f"{c.name} {c.properties} {c.data!r}" for c in process(output)]


def test_hostile_findings_do_quote_the_payloads():
    res = hostile_result()
    assert len(res.findings) > 5 * len(PAYLOADS)
    assert any("##[error" in f.message for f in res.findings)
    assert any("::add-mask::" in f.path for f in res.findings)
    # without the runner mode, plain text would execute some (the test can fail)
    plain = REPORTERS["text"](res, ReportContext(Path("/r"), Path("/r")))
    assert commands_in(plain)


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_no_format_emits_a_workflow_command_in_a_runner_log(fmt: str):
    res = hostile_result()
    ctx = ReportContext(root=Path("/r"), cwd=Path("/r"), for_runner=True)
    out = REPORTERS[fmt](res, ctx)
    assert commands_in(out) == []
    if fmt != "text":  # JSON-based: the same data after decoding
        doc = json.loads(out)
        messages = json.dumps(doc, ensure_ascii=False)
        assert "##[error file=README.md" in messages
        assert "##[" not in out


def test_json_formats_are_safe_even_outside_the_runner_mode():
    ctx = ReportContext(root=Path("/r"), cwd=Path("/r"))
    for fmt in ("json", "sarif", "gitlab"):
        assert commands_in(REPORTERS[fmt](hostile_result(), ctx)) == [], fmt


def test_github_format_emits_only_its_own_annotations(tmp_path: Path):
    res = hostile_result()
    out = io.StringIO()
    summary = tmp_path / "summary.md"
    environ = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}
    github_report(res, Io(out, io.StringIO(), environ), ReportContext(Path("/r"), Path("/r")))
    commands = process(out.getvalue())
    assert commands and {c.name for c in commands} <= ANNOTATIONS
    paths = {f.path for f in res.findings}
    for c in commands:
        assert c.properties["file"] in paths  # escaped properties decode to the real path
    summary_text = summary.read_text()
    assert commands_in(summary_text) == []  # the summary file is not a log, but keep it inert


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "gitlab", "github"])
def test_cli_in_github_actions_prints_no_workflow_command(tmp_path: Path, fmt: str):
    """The real `lint` command over a checkout with hostile directory names and specs."""
    for i, payload in enumerate(PAYLOADS):
        name = payload.replace("/", "_").replace("\0", "_")
        spec_dir = tmp_path / f"{name}{i}"
        spec_dir.mkdir()
        (spec_dir / "paperspace.yaml").write_text(hostile_spec(payload))
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "paperspace_deploy", "lint", "--format", fmt, "."],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr  # 1 for the findings; 2: control characters in paths
    assert "Traceback" not in run.stderr
    names = {c.name for c in process(run.stdout)} | {c.name for c in process(run.stderr)}
    assert names <= (ANNOTATIONS if fmt == "github" else set())
    if fmt in ("json", "sarif", "gitlab"):  # the same data, decoded
        assert "x ##[set-output name=result]pass" in json.dumps(json.loads(run.stdout))
