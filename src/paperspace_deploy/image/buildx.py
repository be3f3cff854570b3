"""The optional `--builder buildx` path: `docker buildx build --load` through the docker CLI.

The Engine API path (build.py) stays the default; it works against any engine. Where the buildx
CLI plugin exists (GitHub-hosted runners), BuildKit builds the image and `--load`s it into the
engine, and the push stays on the Engine API: credentials never go through `docker login` or a
config file. The CLI runs from an argv list (never a shell) with no credentials in argv or env.
Untested against a real buildx on the development machine: tests use a fake `docker`.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

from paperspace_deploy.errors import InputError, Unavailable
from paperspace_deploy.image.build import BuildRequest
from paperspace_deploy.image.console import Console, one_line
from paperspace_deploy.image.engine import stream_with_deadline
from paperspace_deploy.image.stream import TAIL_LINES, LineSplitter
from paperspace_deploy.options import BUILDERS

PROBE_TIMEOUT = 30.0  # seconds for `docker buildx version`
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
INSTALL_HINT = (
    "install the docker CLI with the buildx plugin (Debian/Ubuntu: apt-get install docker.io "
    "docker-buildx, or docker-ce-cli docker-buildx-plugin from Docker's repository; GitHub-hosted "
    "runners have it), or use --builder engine"
)
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
# never handed to the docker CLI: registry/API credentials and the action's inputs
_SECRET_ENV = ("REGISTRY_PASSWORD", "PAPERSPACE_API_KEY")


def child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for the docker CLI: ours minus credentials (DOCKER_*, proxies, HOME and
    the ACTIONS_* cache variables stay, so `--cache-from type=gha` can work)."""
    return {k: v for k, v in environ.items() if k not in _SECRET_ENV and not k.startswith("INPUT_")}


def _docker_cli(environ: Mapping[str, str]) -> str | None:
    return shutil.which("docker", path=environ.get("PATH", os.defpath))


def buildx_missing(environ: Mapping[str, str], deadline: float | None = None) -> str | None:
    """Why buildx cannot be used (None: `docker buildx version` exited 0)."""
    docker = _docker_cli(environ)
    if docker is None:
        return "no docker CLI on PATH"
    timeout = PROBE_TIMEOUT
    if deadline is not None:
        timeout = max(0.1, min(timeout, deadline - time.monotonic()))
    try:
        done = subprocess.run(
            [docker, "buildx", "version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=child_env(environ),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`docker buildx version` did not answer within {timeout:.0f} s"
    except OSError as exc:
        return f"cannot run {docker}: {one_line(str(exc), 200)}"
    if done.returncode != 0:
        said = one_line(done.stderr.decode("utf-8", "replace") or "", 200)
        return f"`docker buildx version` exited {done.returncode}" + (f": {said}" if said else "")
    return None


def choose_builder(
    requested: str, environ: Mapping[str, str], console: Console, deadline: float | None = None
) -> str:
    """'engine' or 'buildx' for the requested auto/engine/buildx."""
    if requested not in BUILDERS:
        raise InputError(f"unknown builder {requested!r}; choose from {', '.join(BUILDERS)}")
    if requested == "engine":
        return "engine"
    reason = buildx_missing(environ, deadline)
    if reason is None:
        return "buildx"
    if requested == "buildx":
        raise InputError(f"--builder buildx needs docker buildx: {reason}", hint=INSTALL_HINT)
    console.notice(
        f"docker buildx is not available ({reason}); building through the Docker Engine API "
        "(legacy builder: no BuildKit-only Dockerfile syntax)"
    )
    return "engine"


def buildx_argv(docker: str, req: BuildRequest, refs: list[str], iidfile: Path) -> list[str]:
    """`docker buildx build ...`; `--flag=value` so no value can be read as another flag."""
    dockerfile = Path(req.dockerfile)
    if not dockerfile.is_absolute():  # the CLI reads -f relative to its cwd, not the context
        dockerfile = req.context / dockerfile
    argv = [docker, "buildx", "build", "--progress=plain", "--load", f"--iidfile={iidfile}"]
    argv.append(f"--file={dockerfile}")
    if req.target:
        argv.append(f"--target={req.target}")
    if req.platform:
        argv.append(f"--platform={req.platform}")
    argv += [f"--build-arg={k}={v}" for k, v in req.build_args.items()]
    argv += [f"--label={k}={v}" for k, v in req.labels.items()]
    argv += [f"--cache-from={c}" for c in req.cache_from]
    if req.pull:
        argv.append("--pull")
    if req.no_cache:
        argv.append("--no-cache")
    argv += [f"--tag={ref}" for ref in refs]
    argv.append(str(req.context))
    return argv


def _lines(pipe: IO[bytes]) -> Iterator[str]:
    """Whole lines as they arrive; closes the pipe at EOF (this runs in the reader thread,
    which alone may touch the descriptor)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    splitter = LineSplitter()
    with pipe:
        while chunk := os.read(pipe.fileno(), 65536):
            yield from splitter.feed(decoder.decode(chunk))
    yield from splitter.feed(decoder.decode(b"", final=True))
    yield from splitter.flush()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Stop the CLI and its plugin process (their own process group), TERM then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(KILL_GRACE)


def run_buildx_build(
    req: BuildRequest,
    refs: list[str],
    console: Console,
    deadline: float | None,
    title: str,
    environ: Mapping[str, str],
    cwd: Path,
) -> str:
    """Build with `docker buildx build --load`; return the image ID from the iidfile."""
    docker = _docker_cli(environ)
    if docker is None:
        raise InputError("--builder buildx needs the docker CLI: none on PATH", hint=INSTALL_HINT)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with tempfile.TemporaryDirectory(prefix="psd-buildx-") as tmp:
        iidfile = Path(tmp) / "iid"
        try:
            proc = subprocess.Popen(
                buildx_argv(docker, req, refs, iidfile),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # buildx writes its progress to stderr
                env=child_env(environ),
                cwd=cwd,
                start_new_session=True,  # one group to kill: the CLI and its buildx plugin
            )
        except OSError as exc:
            raise InputError(f"cannot run {docker}: {one_line(str(exc), 200)}") from None
        pipe = proc.stdout
        assert pipe is not None
        try:
            with console.untrusted(title):
                for line in stream_with_deadline(
                    lambda: _lines(pipe),
                    deadline=deadline,
                    phase="build",
                    on_abort=lambda: _kill(proc),
                ):
                    tail.append(line)
                    console.raw(line)
            code = proc.wait()
        finally:  # deadline, Ctrl-C or SIGTERM: the CLI must not build on unattended
            _kill(proc)
        if code != 0:
            _report_failure(code, tail, console)
        try:
            image_id = iidfile.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            image_id = ""
    if not _IMAGE_ID.fullmatch(image_id):
        raise Unavailable(
            "docker buildx build succeeded but wrote no image ID to its --iidfile "
            f"(got {one_line(image_id, 80)!r})"
        )
    return image_id


def _report_failure(code: int, tail: deque[str], console: Console) -> None:
    if console.github:  # the live output is folded away in the group: repeat its end
        with console.untrusted("Failed build (last lines):", fold=False):
            for line in tail:
                console.raw(line)
    errors = [line for line in tail if line.lstrip().startswith("ERROR")]
    last = errors[-1] if errors else next((x for x in reversed(tail) if x.strip()), "")
    raise InputError(
        f"docker buildx build failed with exit code {code}"
        + (f": {one_line(last, 300)}" if last else ""),
        hint="the build output above shows the failing step",
    )
