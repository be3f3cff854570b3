"""Shared fixtures: HOME isolation and the real local services started by .ci/services.sh.

Docker and registry tests read the environment `.ci/test` exports (DOCKER_HOST,
PSD_TEST_REGISTRY, ...). Without it they skip with a reason -- unless PSD_REQUIRE_SERVICES=1
(set by .ci/run), where a missing service is a failure, so CI can never go green by skipping.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# The CI system running the suite must not leak into what the code under test detects (a
# GitHub workspace, a GitLab project dir, a pull request): tests set what they need themselves.
HOST_CI_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH",
                     "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITLAB_CI", "CI_PROJECT_DIR",
                     "CI_MERGE_REQUEST_IID", "RUNNER_DEBUG")  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes the real ~/.docker or other dotfiles, or sees the host's CI."""
    for name in HOST_CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))
    return home


def _need(what: str) -> None:
    if os.environ.get("PSD_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required in CI but not available")
    pytest.skip(f"{what} not available (run the tests through `bash .ci/test` as root)")


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:PORT
    username: str
    password: str

    @property
    def url(self) -> str:
        return f"http://{self.host}"


@pytest.fixture(scope="session")
def registry() -> Registry:
    host = os.environ.get("PSD_TEST_REGISTRY")
    if not host:
        _need("the local registry")
    return Registry(
        host=host,  # type: ignore[arg-type]
        username=os.environ["PSD_TEST_REGISTRY_USER"],
        password=os.environ["PSD_TEST_REGISTRY_PASSWORD"],
    )


@pytest.fixture(scope="session")
def docker_host() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("unix://") or not Path(host[len("unix://") :]).exists():
        _need("a Docker engine")
    return host


@pytest.fixture(scope="session")
def base_image(docker_host: str) -> str:
    """A busybox image imported locally by .ci/services.sh (FROM it for RUN steps)."""
    return os.environ.get("PSD_TEST_BASE_IMAGE", "psd-test/busybox:latest")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Session end: no container started by the emulator's run mode is left (label filter).

    Checked once, by the controller when the suite runs on xdist workers: a worker that finishes
    early would otherwise see the containers of tests still running on another worker.
    """
    if hasattr(session.config, "workerinput"):
        return
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("unix://") or not Path(host[len("unix://") :]).exists():
        return
    import docker

    client = docker.APIClient(base_url=host)
    try:
        left = client.containers(all=True, filters={"label": "io.paperspace-deploy.emulator"})
    finally:
        client.close()
    if left:
        names = [c["Names"] for c in left]
        session.config.get_terminal_writer().line(
            f"run mode left containers behind: {names}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
