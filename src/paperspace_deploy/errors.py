"""One exception family for everything a user can act on, and the exit codes it maps to.

Exit codes (documented in README and docs/reliability.md):
  0  success (warnings allowed unless --strict)
  1  invalid input: the spec, a flag value, credentials or the build -- something the user fixes
  2  usage or I/O error: bad command line, unreadable path
  3  infrastructure unavailable after retries (API, registry, Docker daemon); nothing half-done
  4  superseded: another spec became live while we waited for ours
  5  the platform rejected or failed the rollout (pre-apply error, crash loop, timeout)
  6  verify failed: the rollout is healthy but the endpoint did not answer --verify PATH
  70  internal error (a bug: the traceback goes to a file, never to the log)
  130 interrupted (SIGINT/SIGTERM)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    INVALID = 1
    USAGE = 2
    UNAVAILABLE = 3
    SUPERSEDED = 4
    ROLLOUT_FAILED = 5
    VERIFY_FAILED = 6
    INTERNAL = 70
    INTERRUPTED = 130


class DeployError(Exception):
    """Base of every expected failure. `str(err)` is the message; `hint` says what to do."""

    exit_code: ExitCode = ExitCode.INVALID
    # what the stage had done when it failed (a deploy's DeployResult: ids, the failing
    # instances' logs, a rollback), for the summary and outputs; None before anything happened
    result: object | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def render(self) -> str:
        return f"{self}\nhint: {self.hint}" if self.hint else str(self)


class UsageError(DeployError):
    """The command line or an action input is wrong, or a path cannot be read."""

    exit_code = ExitCode.USAGE


class SpecInvalid(DeployError):
    """The deployment spec has errors; the findings were already reported."""

    exit_code = ExitCode.INVALID


class InputError(DeployError):
    """A value the user gave (flag, input, credential) is unacceptable."""

    exit_code = ExitCode.INVALID


class Unavailable(DeployError):
    """A service stayed unreachable or failing after the bounded retries."""

    exit_code = ExitCode.UNAVAILABLE


class RolloutFailed(DeployError):
    """Paperspace did not bring the submitted spec to a healthy state."""

    exit_code = ExitCode.ROLLOUT_FAILED


class VerifyFailed(DeployError):
    """The rollout is healthy, but the endpoint did not answer --verify PATH with 2xx/3xx."""

    exit_code = ExitCode.VERIFY_FAILED


class Superseded(DeployError):
    """Another spec replaced ours while we were waiting."""

    exit_code = ExitCode.SUPERSEDED


def report_internal_error(exc: BaseException) -> str:
    """A bug: save the traceback to a temp file (never the CI log) and say where it went.

    Call from an `except` block. It must not fail itself, even under a memory cap after a
    MemoryError: the frames of the failed call are cleared first (their locals hold what used
    the memory), the file is created with os.open (no `tempfile` import: importing costs memory
    too), and whatever still goes wrong only shortens the message -- never a traceback."""
    import os
    import sys

    name = type(exc).__name__
    if isinstance(exc, MemoryError):
        tb = exc.__traceback__
        while tb is not None:  # finished frames only: clearing a running one raises
            try:  # noqa: SIM105 -- no contextlib import on this path
                tb.tb_frame.clear()
            except RuntimeError:
                pass
            tb = tb.tb_next
    where = "no details saved (could not write a crash log)"
    try:
        tempfile = sys.modules.get("tempfile")  # if already imported: its directory, for free
        directory = tempfile.gettempdir() if tempfile else (os.environ.get("TMPDIR") or "/tmp")
        unique = f"{os.getpid()}-{os.urandom(4).hex()}"
        path = os.path.join(directory, f"paperspace-deploy-crash-{unique}.log")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            try:
                import traceback

                text = "".join(traceback.format_exception(exc))
                redact = sys.modules.get("paperspace_deploy.redact")  # loaded if any secret is
                if redact is not None:  # the file outlives the run: no secret in it either
                    text = redact.run_secrets().scrub(text)
            except Exception:  # formatting is best effort
                text = f"{name} (the traceback could not be formatted)\n"
            os.write(fd, text.encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
        where = f"details in {path}"
    except Exception:  # a full or unwritable TMPDIR: say so, nothing else
        pass
    return f"unexpected internal error ({name}); {where}. Please report it."


def silence(stream: Any) -> None:
    """Point a stream whose reader left at /dev/null: what is still buffered, and the
    interpreter's flush at exit, go nowhere instead of raising BrokenPipeError again."""
    import os

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory stream: nothing to redirect
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


@dataclass
class Outcome:
    """How a run ended, for both faces: the exit code, and the error to show (None on success)."""

    code: int
    error: DeployError | None = None  # an expected failure: its render() is what to show
    message: str | None = None  # what to print: the rendered error, or the internal-error note

    @property
    def ok(self) -> bool:
        return self.code == ExitCode.OK


def run_guarded(fn: Callable[[], int]) -> Outcome:
    """The one error handler: expected errors -> their exit code, Ctrl-C/SIGTERM -> 130, a
    reader that left -> 0, quietly; a bug -> 70 with the traceback saved to a file. Never a
    traceback in the log."""
    try:
        return Outcome(int(fn()))
    except DeployError as exc:
        return Outcome(int(exc.exit_code), exc, exc.render())
    except KeyboardInterrupt:
        return Outcome(int(ExitCode.INTERRUPTED), None, "interrupted")
    except BrokenPipeError:
        # a reader that left (`| head -1`) on a stream Io does not wrap: nothing to report to
        # it, and not a bug; the streams Io wraps already finish with the command's own code
        import sys

        for stream in (sys.stdout, sys.stderr):
            silence(stream)
        return Outcome(int(ExitCode.OK))
    except Exception as exc:  # a bug: keep the details out of the CI log but findable
        return Outcome(int(ExitCode.INTERNAL), None, report_internal_error(exc))
