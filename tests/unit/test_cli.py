import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paperspace_deploy import __version__
from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

REPO = Path(__file__).resolve().parents[2]


def test_version_as_module():
    out = subprocess.run(
        [sys.executable, "-m", "paperspace_deploy", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    # read in a fresh process too: the release test's build may rewrite _version.py mid-run
    version = subprocess.run(
        [sys.executable, "-c", "import paperspace_deploy as p; print(p.__version__)"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    assert version and out.stdout.strip() == f"paperspace-deploy {version}"


def test_no_command_is_usage_error():
    err = io.StringIO()
    assert main([], Io(stdout=io.StringIO(), stderr=err)) == ExitCode.USAGE
    assert "usage" in err.getvalue()


def test_unexpected_exception_never_shows_traceback(monkeypatch, tmp_path):
    import tempfile

    from paperspace_deploy.errors import run_guarded

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the crash log lands here

    def boom():
        raise ZeroDivisionError("x")

    outcome = run_guarded(boom)
    assert outcome.code == ExitCode.INTERNAL and outcome.error is None
    assert "Traceback" not in (outcome.message or "")
    assert "unexpected internal error (ZeroDivisionError)" in (outcome.message or "")
    (log,) = tmp_path.glob("paperspace-deploy-crash-*.log")  # the details went to the file
    assert "ZeroDivisionError: x" in log.read_text() and str(log) in (outcome.message or "")


def test_bad_flag_value_returns_usage_code_and_writes_to_injected_stderr():
    out, err = io.StringIO(), io.StringIO()
    assert main(["deploy", "--timeout", "0"], Io(stdout=out, stderr=err)) == ExitCode.USAGE
    assert "argument --timeout" in err.getvalue()


def test_version_goes_to_injected_stdout():
    out = io.StringIO()
    assert main(["--version"], Io(stdout=out, stderr=io.StringIO())) == 0
    assert out.getvalue().strip() == f"paperspace-deploy {__version__}"


def _lint_example(shell: str, tmp_path) -> subprocess.CompletedProcess[str]:
    spec = "examples/.paperspace/app.yaml"
    cmd = f"{shell.format(cli=f'{sys.executable} -m paperspace_deploy lint {spec}')}"
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "TMPDIR": str(tmp_path)})  # fmt: skip


@pytest.mark.parametrize(
    "shell",
    ["exec >&-; {cli}", "set -o pipefail; {cli} | (exec 0<&-; sleep 0.2); exit ${{PIPESTATUS[0]}}"],
    ids=["stdout-closed", "reader-gone"],
)
def test_a_lost_stdout_is_not_a_crash(shell: str, tmp_path) -> None:
    """Started with stdout closed, or its reader gone before the report: the run ends with its
    own exit code (lint: 0), nothing on stderr about the stream, no crash log."""
    run = _lint_example(shell, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "internal error" not in run.stderr and "Exception ignored" not in run.stderr
    assert "BrokenPipe" not in run.stderr and "Traceback" not in run.stderr
    assert list(tmp_path.glob("paperspace-deploy-crash-*")) == []
