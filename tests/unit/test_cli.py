import io
import subprocess
import sys

from paperspace_deploy import __version__
from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io


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
