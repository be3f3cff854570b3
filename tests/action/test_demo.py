"""The README's first command, `bash examples/demo.sh`: the whole job with Docker, plain mode
(lint -> plan -> deploy of a prebuilt image) without root or Docker, and nothing left behind.

The install path (as root on a fresh Debian 12/13: `.ci/install.sh --demo`, a private dockerd)
is not run here: it needs apt and minutes. It was run in debootstrapped Debian 12 and 13 roots
(docs/action.md, "Quick start").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo.sh"
SERVICE_VARS = ("DOCKER_HOST", "PSD_TEST_REGISTRY", "PSD_TEST_REGISTRY_USER",
                "PSD_TEST_REGISTRY_PASSWORD", "PSD_TEST_BASE_IMAGE")  # fmt: skip
NOBODY = 65534


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """The demo's TMPDIR, empty again after each run; under /tmp and world-writable, since the
    non-root run is uid 65534 (pytest's own tmp_path sits in a root-only directory)."""
    tmp = Path(tempfile.mkdtemp(prefix="psd-demo-test-"))
    tmp.chmod(0o777)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No services configured, a private TMPDIR (the demo's state dir must be gone after)."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    return {**env, "PYTHON": sys.executable, "TMPDIR": str(tmp_path), **extra}


def _session_procs(sid: int) -> list[str]:
    """Processes still in the demo's session (it ran as a session leader)."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
            left.append(f"{stat.parent.name} {fields[0]} {cmdline.decode(errors='replace')}")
    return left


def _run(args: list[str], env: Mapping[str, str], *, timeout: float = 120, **kw: object):  # type: ignore[no-untyped-def]
    """Run in a new session; after it ends nothing of it may still run."""
    proc = subprocess.Popen(args, env=env, cwd=REPO, start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        _assert_session_ended(proc.pid)
    return proc.returncode, out, err


def _assert_session_ended(sid: int) -> None:
    left = _session_procs(sid)
    for entry in left:  # end them (by pid) so a failure does not leak them into other tests
        with contextlib.suppress(OSError):
            os.kill(int(entry.split()[0]), signal.SIGKILL)
    assert left == [], "left running after the demo"


def _assert_clean(text: str, tmp_path: Path) -> None:
    assert "Traceback" not in text and "internal error" not in text, text
    assert list(tmp_path.iterdir()) == [], "the demo's state dir was not removed"


def _nobody_python() -> tuple[list[str], dict[str, str]]:
    """A way to run the package as uid 65534: this interpreter when nobody can run it, else the
    system python3 of the same version with this environment's site-packages on PYTHONPATH."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) not available to drop root")
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    paths = os.pathsep.join(
        [str(REPO / "src"), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    )
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    check = '[ -x "$0" ] && "$0" -c "import paperspace_deploy, docker, yaml"'  # as demo.sh runs it
    for python in (sys.executable, shutil.which(version) or "", f"/usr/bin/{version}"):
        if not python:
            continue
        env = {"PYTHON": python, "PYTHONPATH": paths}
        probe = subprocess.run([*drop, "bash", "-c", check, python],
                               env={**os.environ, **env}, capture_output=True)  # fmt: skip
        if probe.returncode == 0:
            return drop, env
    pytest.skip("no Python that uid 65534 can run with this environment's packages")


@pytest.mark.docker
@pytest.mark.integration
def test_demo_script(registry, docker_host, base_image, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Full mode with running services: build, push, run, healthy, the page; nothing left."""
    import docker

    services = {
        "DOCKER_HOST": docker_host,
        "PSD_TEST_REGISTRY": registry.host,
        "PSD_TEST_REGISTRY_USER": registry.username,
        "PSD_TEST_REGISTRY_PASSWORD": registry.password,
        "PSD_TEST_BASE_IMAGE": base_image,
    }
    env = _env(tmp_path, **services)  # fmt: skip
    rc, out, err = _run(["bash", str(DEMO), "--full"], env, timeout=300)
    text = out + err
    assert rc == 0, text
    assert "healthy:   True" in text
    assert "verify: GET http://127.0.0.1:" in text and "/: HTTP 200" in text  # --verify /
    assert f"image:     {registry.host}/demo/hello-paperspace@sha256:" in text
    assert "<h1>Hello from paperspace-deploy</h1>" in out  # fetched through the endpoint
    assert "2/3 Plan" in out and "would CREATE" in out
    assert registry.password not in text
    _assert_clean(text, tmp_path)
    spec_id = text.split("  spec:       ", 1)[1].split()[0]
    client = docker.APIClient(base_url=docker_host)
    try:  # run mode names the app's container psd-<name>-<spec id[:8]>-0-<owner>
        prefix = f"/psd-hello-paperspace-{spec_id[:8]}-"
        running = [
            n for c in client.containers(all=True) for n in c["Names"] if n.startswith(prefix)
        ]
    finally:
        client.close()
    assert running == [], f"the app's container was not removed: {running}"


@pytest.mark.integration
def test_plain_mode_without_root(tmp_path: Path) -> None:
    """Not root, no Docker configured: lint -> plan -> deploy against the plain emulator, then
    the list of what was skipped and why; exit 0."""
    drop: list[str] = []
    extra: dict[str, str] = {}
    if os.geteuid() == 0:
        drop, extra = _nobody_python()
    rc, out, err = _run([*drop, "bash", str(DEMO)], _env(tmp_path, **extra))
    text = out + err
    assert rc == 0, text
    assert "Plain mode (not root: cannot install" in out
    for step in ("1/3 Lint", "2/3 Plan", "3/3 Check the registry connection, deploy"):
        assert step in out, out
    assert "would CREATE a new deployment in project pdemo00001" in out
    assert "image:     ghcr.io/acme/hello-paperspace:1.0" in out
    assert "healthy:   True" in out
    assert "Skipped in plain mode (not root" in out
    assert "building examples/Dockerfile and pushing it" in out
    assert "fetching the app's page" in out
    assert "Installing" not in out and "dockerd at" not in text  # no apt, no services
    _assert_clean(text, tmp_path)


@pytest.mark.integration
@pytest.mark.parametrize("shell", ["exec >&-; bash \"$0\" --plain",
                                   "set -o pipefail; bash \"$0\" --plain | head -n 1"],
                         ids=["stdout-closed", "reader-gone"])  # fmt: skip
def test_plain_mode_survives_a_lost_stdout(tmp_path: Path, shell: str) -> None:
    """A closed stdout, or a reader that stops after one line: the job still runs to the end."""
    rc, out, err = _run(["bash", "-c", shell, str(DEMO)], _env(tmp_path))
    assert rc == 0, out + err
    assert "write error" not in err and "Broken pipe" not in err, err
    assert len(out.splitlines()) <= 1
    _assert_clean(out + err, tmp_path)


@pytest.mark.integration
def test_sigterm_mid_deploy_stops_everything(tmp_path: Path) -> None:
    """SIGTERM while the deploy waits: exit 143 at once, the emulator and the CLI gone."""
    proc = subprocess.Popen(["bash", str(DEMO), "--plain"], env=_env(tmp_path), cwd=REPO,
                            start_new_session=True, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "3/3 Check the registry connection" in line:
            break
    assert any("3/3" in line for line in seen), "".join(seen)
    time.sleep(0.3)  # the deploy's first poll
    assert len(_session_procs(proc.pid)) > 1, "nothing was running to interrupt"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 143, "".join(seen) + rest
    assert time.monotonic() - started < 10
    _assert_session_ended(proc.pid)
    _assert_clean("".join(seen) + rest, tmp_path)


@pytest.mark.parametrize(
    ("args", "extra", "code", "message"),
    [
        (["--help"], {}, 0, "usage: bash examples/demo.sh [--plain | --full] [--no-install]"),
        (["--bogus"], {}, 2, "demo: unknown argument --bogus (see bash examples/demo.sh --help)"),
        ([], {"PSD_TEST_REGISTRY": "127.0.0.1:5000"}, 2,
         "demo: PSD_TEST_REGISTRY set but not DOCKER_HOST PSD_TEST_REGISTRY_USER "
         "PSD_TEST_REGISTRY_PASSWORD: export all four"),
        ([], {"PYTHON": "/nonexistent/python"}, 2,
         "demo: PYTHON=/nonexistent/python is not an executable"),
    ],
    ids=["help", "unknown-argument", "partial-services-env", "bad-python"],
)  # fmt: skip
def test_help_and_bad_environment(tmp_path: Path, args: list[str], extra: dict[str, str],
                                  code: int, message: str) -> None:  # fmt: skip
    """Answered at once, before anything starts: no venv, no apt, no emulator, no state dir."""
    started = time.monotonic()
    rc, out, err = _run(["bash", str(DEMO), *args], _env(tmp_path, **extra), timeout=30)
    assert rc == code, out + err
    assert message in (out if code == 0 else err), out + err
    assert time.monotonic() - started < 5
    _assert_clean(out + err, tmp_path)


@pytest.mark.integration
def test_services_env_that_does_not_answer(tmp_path: Path) -> None:
    """All four service variables, but no engine behind DOCKER_HOST: exit 2, what to do."""
    env = _env(tmp_path, DOCKER_HOST=f"unix://{tmp_path}.sock", PSD_TEST_REGISTRY="127.0.0.1:9",
               PSD_TEST_REGISTRY_USER="ci", PSD_TEST_REGISTRY_PASSWORD="x")  # fmt: skip
    rc, out, err = _run(["bash", str(DEMO)], env, timeout=60)
    assert rc == 2, out + err
    assert f"demo: DOCKER_HOST=unix://{tmp_path}.sock does not answer" in err
    assert "--plain" in err
    _assert_clean(out + err, tmp_path)
