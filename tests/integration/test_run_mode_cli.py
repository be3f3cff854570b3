"""`up --local` and `emulator --run` as a user runs them: real processes, signals, exit codes."""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from run_mode_images import PAGE, build_web_image, free_port, labelled

from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

pytestmark = [pytest.mark.integration, pytest.mark.docker]
SECRET = "cli-secret-Vb71qQ"


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind(docker_host: str, web_image: str) -> Iterator[None]:
    yield
    assert labelled(docker_host, web_image) == []


@pytest.fixture(scope="module")
def web_image(docker_host: str, registry: Any, base_image: str) -> str:
    return build_web_image(docker_host, registry, base_image)


def write_spec(tmp: Path, image: str, port: int, listen: int | None = None, **extra: Any) -> Path:
    data = {
        "apiVersion": "v1",
        "name": "local-web",
        "image": image,
        "containerRegistry": "ghcr",  # a console connection name; `up` stands in for it
        "command": ["/bin/sh", "-c", f"echo serving; exec httpd -f -v -p {listen or port} -h /www"],
        "resources": {"machineType": "C4", "ports": [port]},
        "healthChecks": {"readiness": {"path": "/healthz", "periodSeconds": 1,
                                       "failureThreshold": 2}},
        **extra,
    }  # fmt: skip
    path = tmp / "paperspace.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def environ(docker_host: str, registry: Any) -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": docker_host, "REGISTRY_USERNAME": registry.username,
            "REGISTRY_PASSWORD": registry.password}  # fmt: skip


class Proc:
    """A CLI process whose stdout/stderr lines are collected as they come."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "paperspace_deploy", *argv], env=env,
                                  cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.text: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(s,), daemon=True)
                        for s in (self.p.stdout, self.p.stderr)]  # fmt: skip
        for reader in self.readers:
            reader.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.text.append(line)
            self.lines.put(line)

    def wait_line(self, needle: str, timeout: float = 60) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.p.poll() is not None and self.lines.empty():
                    break
                continue
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} not seen; output:\n{self.output()}")

    def finish(self, timeout: float = 30) -> int:
        code = self.p.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=5)
        for stream in (self.p.stdout, self.p.stderr):
            if stream is not None:
                stream.close()
        return code

    def output(self) -> str:
        return "".join(self.text)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_up_local_serves_the_page_and_cleans_up_on_a_signal(sig, tmp_path, docker_host, registry,
                                                           web_image):  # fmt: skip
    port = free_port()
    write_spec(tmp_path, web_image, port, basicAuthKey="secret:AUTH")
    (tmp_path / "secrets.env").write_text(f"# local secrets\nAUTH={SECRET}\n", encoding="utf-8")
    proc = Proc(["up", "--local", "paperspace.yaml", "--secrets-file", "secrets.env"],
                environ(docker_host, registry), tmp_path)  # fmt: skip
    try:
        endpoint = proc.wait_line("endpoint:").split()[-1]
        proc.wait_line("Press Ctrl-C")
        assert requests.get(endpoint, timeout=5).status_code == 401
        page = requests.get(endpoint, auth=("paperspace", SECRET), timeout=5)
        assert (page.status_code, page.text) == (200, PAGE)
        assert len(labelled(docker_host, web_image)) == 1
        proc.p.send_signal(sig)
        assert proc.finish() == 0
    finally:
        if proc.p.poll() is None:
            proc.p.kill()
            proc.finish()
    assert labelled(docker_host, web_image) == []
    text = proc.output()
    assert "registry connection 'ghcr' stands in" in text and "local-web: healthy" in text
    assert SECRET not in text and registry.password not in text and "Traceback" not in text


def test_up_local_failing_spec_exits_5_with_the_container_logs(tmp_path, docker_host, registry,
                                                              web_image):  # fmt: skip
    spec_port, app_port = free_port(), free_port()
    write_spec(tmp_path, web_image, spec_port, listen=app_port)
    proc = Proc(["up", "--local", "--timeout", "60", "--error-grace", "1"],
                environ(docker_host, registry), tmp_path)  # fmt: skip
    code = proc.finish(timeout=60)
    text = proc.output()
    assert code == ExitCode.ROLLOUT_FAILED, text
    assert "Readiness probe failed" in text and "connection refused" in text
    assert "log line(s) of local-web-" in text and "  serving" in text  # the container's output
    assert labelled(docker_host, web_image) == []


def test_emulator_run_removes_its_containers_on_sigterm(tmp_path, docker_host, registry,
                                                        web_image):  # fmt: skip
    api_port, port = free_port(), free_port()
    spec = write_spec(tmp_path, web_image, port, containerRegistry="ci")
    env = {**environ(docker_host, registry), "CI_PW": registry.password}
    connection = f"ci={registry.url},{registry.username},CI_PW"
    proc = Proc(["emulator", "--run", "--port", str(api_port), "--api-key", "k",
                 "--project", "p1=demo", "--registry", connection], env, tmp_path)  # fmt: skip
    try:
        proc.wait_line("listening on")
        out, err = io.StringIO(), io.StringIO()
        api = {"PAPERSPACE_API_URL": f"http://127.0.0.1:{api_port}/v1", "PAPERSPACE_API_KEY": "k"}
        code = main(["deploy", "--spec", str(spec), "--project-id", "p1", "--poll-interval",
                     "0.2"], Io(stdout=out, stderr=err, environ=api))  # fmt: skip
        assert code == 0, err.getvalue()
        assert len([c for c in labelled(docker_host, web_image) if c["State"] == "running"]) == 1
        proc.p.send_signal(signal.SIGTERM)
        assert proc.finish() == 0
    finally:
        if proc.p.poll() is None:
            proc.p.kill()
            proc.finish()
    assert labelled(docker_host, web_image) == []
    assert "run mode: Docker Engine" in proc.output()


def cli(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, Io(stdout=out, stderr=err, environ=env, cwd=cwd or Path.cwd()))
    return code, out.getvalue() + err.getvalue()


def test_usage_errors_and_a_missing_engine(tmp_path, web_image):
    spec = write_spec(tmp_path, web_image, free_port())
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    code, text = cli(["up", str(spec)], no_engine)
    assert code == ExitCode.USAGE and "up needs --local" in text
    code, text = cli(["up", "--local", str(spec)], no_engine)
    assert code == ExitCode.UNAVAILABLE and "cannot reach the Docker daemon" in text
    code, text = cli(["emulator", "--run", "--port", "0"], no_engine)
    assert code == ExitCode.UNAVAILABLE and "cannot reach the Docker daemon" in text
    code, text = cli(["emulator", "--run", "--mode", "crash-loop"], no_engine)
    assert code == ExitCode.USAGE and "exclude each other" in text
    code, text = cli(["emulator", "--secrets-file", "x.env"], no_engine)
    assert code == ExitCode.USAGE and "--secrets-file needs --run" in text
    bad = tmp_path / "bad.env"
    bad.write_text(f"GOOD=1\nnot a pair {SECRET}\n", encoding="utf-8")
    code, text = cli(["up", "--local", str(spec), "--secrets-file", str(bad)], no_engine)
    assert code == ExitCode.USAGE and f"{bad}:2: expected NAME=value" in text
    assert SECRET not in text
