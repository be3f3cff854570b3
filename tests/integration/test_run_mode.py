"""Run mode on the real engine and registry: the spec's container really runs and is probed.

Every test deploys through the real client (`run_deploy` or the CLI) to an emulator whose Runner
pulls from the CI registry with the connection's credentials and starts busybox httpd on host
networking. Ports come from the OS (free at test time) so concurrent runs do not clash.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import deploy_calls as dc
import pytest
import requests
from run_mode_images import PAGE, build_web_image, engine, free_port, labelled

from paperspace_deploy import deploy
from paperspace_deploy.cli import main
from paperspace_deploy.emulator import Emulator, State, Timings
from paperspace_deploy.emulator.runner import LABEL, Runner, RunOptions
from paperspace_deploy.errors import ExitCode, RolloutFailed
from paperspace_deploy.io import Io

pytestmark = [pytest.mark.integration, pytest.mark.docker]
KEY = "psd-run-key-0123456789"
PROJECT = "prun0000001"
AUTH_SECRET = "run-mode-auth-Zq8x1"
FAST = deploy.WaitOptions(poll_interval=0.1, grace=2.0, error_grace=0.5)


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind(docker_host: str, web_image: str) -> Iterator[None]:
    """After the module: no container with run mode's label, running or not."""
    yield
    assert labelled(docker_host, web_image) == []


@pytest.fixture(scope="module")
def web_image(docker_host: str, registry: Any, base_image: str) -> str:
    return build_web_image(docker_host, registry, base_image)


@dataclass
class RunEmulator:
    server: Emulator
    runner: Runner
    registry: Any
    tmp: Path
    image: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def state(self) -> State:
        return self.server.state

    def env(self) -> dict[str, str]:
        return {"PAPERSPACE_API_URL": self.url, "PAPERSPACE_API_KEY": KEY}

    def spec(self, name: str = "web", port: int | None = None, listen: int | None = None,
             **extra: Any) -> Path:  # fmt: skip
        """A v1 spec running httpd on `listen` (default: the spec's port)."""
        import yaml

        port = port or free_port()
        data: dict[str, Any] = {
            "apiVersion": "v1",
            "name": name,
            "image": self.image,
            "containerRegistry": "ci",
            "command": httpd(listen or port),
            "resources": {"machineType": "C4", "ports": [port], "replicas": 1},
            "healthChecks": {"readiness": {"path": "/healthz", "periodSeconds": 1}},
        }
        for key, value in extra.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        path = self.tmp / f"{name}-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    def deploy(self, spec: Path, **kw: Any) -> deploy.DeployResult:
        kw.setdefault("wait_options", FAST)
        kw.setdefault("timeout", 60)
        kw.setdefault("environ", self.env())
        return dc.run_deploy(spec, project_id=PROJECT, **kw)

    def cli(self, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), Io(stdout=out, stderr=err, environ={**self.env(), **(env or {})}))
        return code, out.getvalue(), err.getvalue()

    def api(self, path: str) -> Any:
        resp = requests.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {KEY}"},
                            timeout=10)  # fmt: skip
        assert resp.status_code == 200, resp.text
        return resp.json()

    def logs(self, dep_id: str) -> list[str]:
        items = self.api(f"/deployments/{dep_id}/logs?limit=120&order=asc")["items"]
        return [item["message"] for item in items]

    def instance(self, dep_id: str) -> dict[str, Any]:
        return self.api(f"/deployments/{dep_id}/runs")[0]["instances"][0]


def httpd(port: int, page: str | None = None, delay: float = 0) -> list[str]:
    """A command that (optionally) writes its own page, waits, then serves on `port`."""
    if page is None and not delay:
        return ["/bin/busybox", "httpd", "-f", "-v", "-p", str(port), "-h", "/www"]
    script = "echo starting; "
    root = "/www"
    if page is not None:
        script += f"mkdir -p /tmp/w; echo '{page}' > /tmp/w/index.html; echo ok > /tmp/w/healthz; "
        root = "/tmp/w"
    if delay:
        script += f"sleep {delay}; "
    script += f"exec httpd -f -v -p {port} -h {root}"
    return ["/bin/sh", "-c", script]


@pytest.fixture
def run_emulator(docker_host: str, registry: Any, web_image: str, tmp_path: Path,
                 ) -> Iterator[RunEmulator]:  # fmt: skip
    state = State(Timings(apply_after=0.02, healthy_after=0.05))
    state.add_key(KEY)
    state.add_project(PROJECT, "run-mode")
    state.add_registry({"name": "ci", "url": registry.url, "username": registry.username,
                        "password": registry.password})  # fmt: skip
    environ = {"DOCKER_HOST": docker_host}
    options = RunOptions(backoff_base=0.3, backoff_max=1.0, stop_grace=1)
    runner = Runner(state, environ, {"AUTH": AUTH_SECRET}, options).attach()
    runner.check_engine()
    server = Emulator(state).start()
    try:
        yield RunEmulator(server, runner, registry, tmp_path, web_image)
    finally:
        runner.close()
        server.stop()
        assert [c for c in labelled(docker_host, web_image)
                if c["Labels"][LABEL] == runner.owner] == []  # fmt: skip


def wait_for(predicate: Any, timeout: float = 20.0, step: float = 0.1) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


# -- the happy path -------------------------------------------------------------------------------


def test_httpd_goes_healthy_and_serves_its_page_through_the_endpoint(run_emulator, docker_host):
    result = run_emulator.deploy(run_emulator.spec())
    assert result.state == "healthy"
    dep = run_emulator.api(f"/deployments/{result.deployment_id}")
    endpoint = dep["endpoint"]
    assert endpoint.startswith("http://127.0.0.1:")
    page = requests.get(endpoint + "/", timeout=5)
    assert (page.status_code, page.text) == (200, PAGE)
    assert dep["latestSpec"]["dtHealthy"] and dep["latestSpec"]["externalApplied"]
    run = run_emulator.api(f"/deployments/{result.deployment_id}/runs")[0]
    assert (run["replicas"], run["readyReplicas"]) == (1, 1)
    assert run["instances"][0]["state"] == "running"
    # the container really runs, labelled, on host networking
    (container,) = [c for c in labelled(docker_host, run_emulator.image) if c["State"] == "running"]
    assert container["HostConfig"]["NetworkMode"] == "host"
    # httpd -v logs each request to stderr: the logs endpoint shows the container's output
    assert wait_for(
        lambda: any("response:200" in m for m in run_emulator.logs(result.deployment_id))
    )


def test_basic_auth_key_is_enforced_like_endpoint_security(run_emulator):
    result = run_emulator.deploy(run_emulator.spec(basicAuthKey="secret:AUTH"))
    endpoint = run_emulator.runner.endpoint(result.deployment_id)
    none = requests.get(endpoint + "/", timeout=5)
    assert none.status_code == 401 and "Basic" in none.headers["WWW-Authenticate"]
    wrong = requests.get(endpoint + "/", auth=("paperspace", "nope"), timeout=5)
    assert wrong.status_code == 401
    other_user = requests.get(endpoint + "/", auth=("admin", AUTH_SECRET), timeout=5)
    assert other_user.status_code == 401
    good = requests.get(endpoint + "/", auth=("paperspace", AUTH_SECRET), timeout=5)
    assert (good.status_code, good.text) == (200, PAGE)
    # the secret's value is nowhere in what the API returns
    assert AUTH_SECRET not in json.dumps(run_emulator.api(f"/deployments/{result.deployment_id}"))


def test_exec_probe_runs_in_the_container(run_emulator):
    port = free_port()
    ready_file = {"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1}
    command = ["/bin/sh", "-c", f"sleep 1; echo > /tmp/ready; exec httpd -f -p {port} -h /www"]
    spec = run_emulator.spec(port=port, command=command, healthChecks={"readiness": ready_file})
    t0 = time.monotonic()
    result = run_emulator.deploy(spec)
    assert result.state == "healthy" and time.monotonic() - t0 >= 1.0  # not before the file
    never = {"exec": {"command": ["cat", "/tmp/nope"]}, "periodSeconds": 1,
             "failureThreshold": 2}  # fmt: skip
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(run_emulator.spec(name="never", healthChecks={"readiness": never}))
    assert "Readiness probe failed: exec [cat /tmp/nope] exited with code 1" in str(err.value)
    assert "No such file" in str(err.value)  # cat's own output, from docker exec


def test_secret_env_reaches_the_container_and_a_missing_one_is_a_config_error(run_emulator):
    port = free_port()
    env = [{"name": "TOKEN", "value": "secret:AUTH"}, {"name": "PLAIN", "value": "x"}]
    check = 'test "$TOKEN" = "$EXPECTED" && test "$PLAIN" = x'
    command = ["/bin/sh", "-c", f"{check} && exec httpd -f -p {port} -h /www; exit 3"]
    spec = run_emulator.spec(port=port, command=command,
                             env=[*env, {"name": "EXPECTED", "value": AUTH_SECRET}])  # fmt: skip
    assert run_emulator.deploy(spec).state == "healthy"
    missing = run_emulator.spec(name="missing", env=[{"name": "X", "value": "secret:NOPE"}])
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(missing)
    assert 'CreateContainerConfigError: env X: secret "NOPE" not found' in str(err.value)


# -- what goes wrong, and how it is reported -------------------------------------------------------


def test_app_on_another_port_is_never_ready_exit_5_before_the_timeout(run_emulator):
    spec_port, app_port = free_port(), free_port()
    command = ["/bin/sh", "-c", f"echo app listens on {app_port}; "
               f"exec httpd -f -v -p {app_port} -h /www"]  # fmt: skip
    spec = run_emulator.spec(port=spec_port, command=command, healthChecks={
        "readiness": {"path": "/healthz", "periodSeconds": 1, "failureThreshold": 2}})  # fmt: skip
    t0 = time.monotonic()
    code, _out, err = run_emulator.cli("deploy", "--spec", str(spec), "--project-id", PROJECT,
                                       "--timeout", "60", "--poll-interval", "0.2",
                                       "--error-grace", "1")  # fmt: skip
    took = time.monotonic() - t0
    assert code == ExitCode.ROLLOUT_FAILED, err
    assert took < 30, took  # the instance error ends it, not the 60 s deadline
    assert "timed out" not in err
    assert f'Readiness probe failed: Get "http://127.0.0.1:{spec_port}/healthz"' in err
    assert "connection refused" in err
    dep_id = next(iter(run_emulator.state.deployments))
    assert run_emulator.instance(dep_id)["state"] == "errored"
    assert f"app listens on {app_port}" in run_emulator.logs(dep_id)  # the container's output
    # ... and deploy fetched it from /logs into its own output
    assert "log line(s) of web-" in err and f"\n  app listens on {app_port}\n" in err
    assert requests.get(run_emulator.runner.endpoint(dep_id), timeout=5).status_code == 503


def test_no_probe_still_checks_the_endpoint_port(run_emulator):
    spec = run_emulator.spec(listen=free_port(), healthChecks=None)
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(spec)
    assert "the spec has no readiness probe" in str(err.value)


def test_readiness_path_that_404s(run_emulator):
    spec = run_emulator.spec(healthChecks={"readiness": {"path": "/nope", "periodSeconds": 1,
                                                         "failureThreshold": 2}})  # fmt: skip
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(spec)
    assert "Readiness probe failed: HTTP 404 Not Found from GET http://127.0.0.1:" in str(err.value)
    assert "/nope" in str(err.value)


def test_command_that_exits_1_crash_loops_with_exit_code_restarts_and_logs(run_emulator):
    command = ["/bin/sh", "-c", "echo loading model >&2; echo boom: no GPU >&2; exit 1"]
    spec = run_emulator.spec(command=command)
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(spec, wait_options=deploy.WaitOptions(poll_interval=0.1,
                                                                  error_grace=2.0))  # fmt: skip
    message = str(err.value)
    assert "CrashLoopBackOff" in message and "exit code 1" in message
    assert 'last log line: "boom: no GPU"' in message
    dep_id = next(iter(run_emulator.state.deployments))
    inst = run_emulator.instance(dep_id)
    assert inst["state"] == "errored"
    restarts = [h["message"] for h in inst["history"] if "restarts:" in (h["message"] or "")]
    assert len(restarts) >= 2  # restarted with back-off, not given up after one try
    assert "back-off 0.3s" in restarts[0] and "back-off 0.6s" in restarts[1]
    assert run_emulator.logs(dep_id).count("boom: no GPU") >= 2  # every run's output


def test_liveness_failure_restarts_the_container(run_emulator):
    port = free_port()
    probes = {
        "readiness": {"path": "/healthz", "periodSeconds": 1},
        "liveness": {"exec": {"command": ["test", "-f", "/tmp/alive"]}, "periodSeconds": 1,
                     "initialDelaySeconds": 1, "failureThreshold": 1},
    }  # fmt: skip
    result = run_emulator.deploy(run_emulator.spec(port=port, healthChecks=probes))
    assert result.state == "healthy"

    def liveness_restart() -> Any:
        history = run_emulator.instance(result.deployment_id)["history"]
        return next((h for h in history if "Liveness probe failed" in (h["message"] or "")), None)

    inst = wait_for(liveness_restart)
    assert "restarts: 1" in inst["message"] and "the container is restarted" in inst["message"]


def test_startup_probe_gates_readiness_and_restarts_when_it_fails(run_emulator):
    probes = {
        "startup": {"exec": {"command": ["test", "-f", "/tmp/never"]}, "periodSeconds": 1,
                    "failureThreshold": 2},
        "readiness": {"path": "/healthz", "periodSeconds": 1},  # would pass at once
    }  # fmt: skip
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(run_emulator.spec(healthChecks=probes))
    assert "Startup probe failed: exec [test -f /tmp/never] exited with code 1" in str(err.value)
    dep_id = next(iter(run_emulator.state.deployments))
    assert run_emulator.api(f"/deployments/{dep_id}")["latestSpec"]["dtHealthy"] is None


def test_image_that_cannot_be_pulled_is_an_instance_error(run_emulator):
    missing = run_emulator.image.rsplit(":", 1)[0] + ":no-such-tag"
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(run_emulator.spec(image=missing))
    assert f'ErrImagePull: Failed to pull image "{missing}"' in str(err.value)
    run_emulator.state.add_registry({"name": "bad", "url": run_emulator.registry.url,
                                     "username": "ci", "password": "wrong"})  # fmt: skip
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(run_emulator.spec(name="badauth", containerRegistry="bad"))
    assert "ErrImagePull" in str(err.value) and "unauthorized" in str(err.value).lower()
    assert "wrong" not in str(err.value)


def test_port_clash_is_an_instance_error(run_emulator):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(RolloutFailed) as err:
            run_emulator.deploy(run_emulator.spec(port=port))
    assert f"port {port} is already in use on this host" in str(err.value)
    assert "host networking" in str(err.value)


def test_two_deployments_on_one_port_clash_clearly(run_emulator):
    port = free_port()
    assert run_emulator.deploy(run_emulator.spec(name="first", port=port)).state == "healthy"
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(run_emulator.spec(name="second", port=port))
    assert f"port(s) {port} already in use: deployment 'first'" in str(err.value)


def test_missing_engine_is_an_instance_error_not_a_hang(run_emulator, tmp_path):
    run_emulator.runner.environ["DOCKER_HOST"] = f"unix://{tmp_path}/no-docker.sock"
    t0 = time.monotonic()
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(run_emulator.spec())
    assert "cannot reach the Docker daemon" in str(err.value) and time.monotonic() - t0 < 20


def test_replicas_above_one_run_one_and_say_so(run_emulator):
    port = free_port()
    resources = {"machineType": "C4", "ports": [port], "replicas": 3}
    spec = run_emulator.spec(port=port, resources=resources)
    result = run_emulator.deploy(spec)
    assert result.state == "healthy"
    run = run_emulator.api(f"/deployments/{result.deployment_id}/runs")[0]
    assert (run["replicas"], run["readyReplicas"], len(run["instances"])) == (3, 1, 1)
    assert run["instances"][0]["stateMessage"] == "running 1 of 3 replicas locally (run mode)"
    assert any("run mode runs one" in m for m in run_emulator.logs(result.deployment_id))


# -- updates, stop, delete ----------------------------------------------------------------------


def test_update_replaces_the_old_container_only_once_the_new_one_is_ready(run_emulator,
                                                                         docker_host):  # fmt: skip
    p1, p2 = free_port(), free_port()
    first = run_emulator.deploy(run_emulator.spec(port=p1, command=httpd(p1, page="v1")))
    endpoint = run_emulator.runner.endpoint(first.deployment_id)
    assert requests.get(endpoint, timeout=5).text.strip() == "v1"
    seen: list[tuple[float, int, str]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            resp = requests.get(endpoint, timeout=5)
            seen.append((time.monotonic(), resp.status_code, resp.text.strip()))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        t0 = time.monotonic()
        second = run_emulator.deploy(
            run_emulator.spec(port=p2, command=httpd(p2, page="v2", delay=2))
        )
        healthy_at = time.monotonic()
        wait_for(lambda: seen and seen[-1][2] == "v2")
    finally:
        done.set()
        watcher.join()
    assert second.deployment_id == first.deployment_id and healthy_at - t0 >= 2
    assert all(status == 200 for _t, status, _text in seen)  # no downtime
    during = [text for t, _s, text in seen if t0 < t < healthy_at - 0.5]
    assert during and set(during) == {"v1"}  # the old one served while the new one started
    wait_for(
        lambda: len(labelled(docker_host, run_emulator.image)) == 1
    )  # then the old container was removed
    runs = run_emulator.api(f"/deployments/{first.deployment_id}/runs")
    assert [r["instances"][0]["state"] for r in runs] == ["running"]


def test_a_failing_update_leaves_the_old_container_serving(run_emulator):
    p1 = free_port()
    first = run_emulator.deploy(run_emulator.spec(port=p1, command=httpd(p1, page="v1")))
    endpoint = run_emulator.runner.endpoint(first.deployment_id)
    broken = run_emulator.spec(command=["/bin/sh", "-c", "echo broken >&2; exit 1"])
    with pytest.raises(RolloutFailed):
        run_emulator.deploy(broken)
    assert requests.get(endpoint, timeout=5).text.strip() == "v1"
    runs = run_emulator.api(f"/deployments/{first.deployment_id}/runs")
    assert [r["instances"][0]["state"] for r in runs] == ["errored", "running"]  # new, old


def test_same_port_update_is_a_recreate_and_says_so(run_emulator):
    port = free_port()
    first = run_emulator.deploy(run_emulator.spec(port=port, command=httpd(port, page="v1")))
    second = run_emulator.deploy(run_emulator.spec(port=port, command=httpd(port, page="v2")))
    assert second.state == "healthy"
    endpoint = run_emulator.runner.endpoint(first.deployment_id)
    assert requests.get(endpoint, timeout=5).text.strip() == "v2"
    assert any("a recreate, not a rolling update" in m
               for m in run_emulator.logs(first.deployment_id))  # fmt: skip


def test_disable_stops_it_and_delete_removes_it(run_emulator, docker_host):
    port = free_port()
    spec = run_emulator.spec(port=port)
    first = run_emulator.deploy(spec)
    endpoint = run_emulator.runner.endpoint(first.deployment_id)
    assert requests.get(endpoint, timeout=5).status_code == 200
    stopped = run_emulator.deploy(run_emulator.spec(port=port, enabled=False))
    assert stopped.state == "disabled"
    wait_for(lambda: labelled(docker_host, run_emulator.image) == [])
    assert requests.get(endpoint, timeout=5).status_code == 503
    again = run_emulator.deploy(spec)
    assert again.state == "healthy" and requests.get(endpoint, timeout=5).status_code == 200
    resp = requests.delete(f"{run_emulator.url}/deployments/{first.deployment_id}",
                           headers={"Authorization": f"Bearer {KEY}"}, timeout=10)  # fmt: skip
    assert resp.status_code == 200
    wait_for(lambda: labelled(docker_host, run_emulator.image) == [])
    with pytest.raises(requests.ConnectionError):
        requests.get(endpoint, timeout=5)


def test_leftovers_of_a_dead_emulator_are_removed_on_the_next_start(run_emulator, docker_host,
                                                                    base_image):  # fmt: skip
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    token = f"{socket.gethostname()}/{dead.pid}/1/deadbeef"
    client = engine(docker_host)
    try:
        created = client.create_container(base_image, ["sleep", "600"], labels={LABEL: token},
                                          host_config=client.create_host_config(
                                              network_mode="none"))  # fmt: skip
        client.start(created["Id"])
        assert any(c["Id"] == created["Id"] for c in labelled(docker_host))
        run_emulator.runner.check_engine()
        assert not any(c["Id"] == created["Id"] for c in labelled(docker_host))
    finally:
        if any(c["Id"] == created["Id"] for c in labelled(docker_host)):
            client.remove_container(created["Id"], force=True)
        client.close()


# -- the real path: verify, rollback, logs ------------------------------------------------------


def test_verify_gets_the_page_through_the_protected_endpoint(run_emulator):
    spec = run_emulator.spec(basicAuthKey="secret:AUTH")
    result = run_emulator.deploy(spec, verify_path="/index.html",
                                 environ={**run_emulator.env(),
                                          "PAPERSPACE_SECRET_AUTH": AUTH_SECRET})  # fmt: skip
    assert result.verify is not None and (result.verify.status, result.verify.ok) == (200, True)
    assert result.as_dict()["verify"] == {"path": "/index.html", "status": 200,
                                          "attempts": result.verify.attempts}  # fmt: skip


def test_verify_of_a_path_that_404s_exits_6_and_the_key_is_never_shown(run_emulator):
    spec = run_emulator.spec(basicAuthKey="secret:AUTH")
    code, out, err = run_emulator.cli(
        "deploy", "--spec", str(spec), "--project-id", PROJECT, "--timeout", "6",
        "--poll-interval", "0.2", "--verify", "/nope", "--format", "json",
        env={"PAPERSPACE_SECRET_AUTH": AUTH_SECRET},
    )  # fmt: skip
    assert code == ExitCode.VERIFY_FAILED, err
    assert "verify failed: GET http://127.0.0.1:" in err and "/nope answered HTTP 404" in err
    assert "the rollout itself is healthy" in err
    assert AUTH_SECRET not in out + err
    # without the secret's value nothing is deployed
    before = run_emulator.state.upserts
    code, _out, err = run_emulator.cli("deploy", "--spec", str(spec), "--project-id", PROJECT,
                                       "--verify", "/")  # fmt: skip
    assert code == ExitCode.USAGE and "PAPERSPACE_SECRET_AUTH is not set" in err
    assert run_emulator.state.upserts == before


def test_rollback_restores_the_previous_container_and_it_serves_again(run_emulator, docker_host):
    p1, p2 = free_port(), free_port()
    first = run_emulator.deploy(run_emulator.spec(port=p1, command=httpd(p1, page="v1")))
    endpoint = run_emulator.runner.endpoint(first.deployment_id)
    assert requests.get(endpoint, timeout=5).text.strip() == "v1"
    broken = run_emulator.spec(port=p2, command=["/bin/sh", "-c", "echo v2 broken >&2; exit 1"])
    with pytest.raises(RolloutFailed) as err:
        run_emulator.deploy(broken, rollback_on_failure=True)
    result = err.value.result
    assert isinstance(result, deploy.DeployResult) and result.rollback is not None
    assert result.rollback.state == "healthy" and result.rollback.restored == first.spec_id
    assert "exit code 1" in str(err.value) and "the previous spec is live again" in str(err.value)
    assert any("v2 broken" in line for line in result.failure_logs.instances[0].lines)
    # a new container of the previous spec serves, and only it is left running
    serving = run_emulator.runner.serving(first.deployment_id)
    assert serving is not None and serving.spec_id == result.rollback.spec_id
    assert requests.get(endpoint, timeout=5).text.strip() == "v1"
    wait_for(lambda: [c["Labels"]["io.paperspace-deploy.spec"]
                      for c in labelled(docker_host) if c["State"] == "running"]
             == [result.rollback.spec_id])  # fmt: skip


def test_failure_logs_from_the_container_are_scrubbed_and_inert(run_emulator):
    port = free_port()
    script = ('echo "::warning::pwned"; echo "##[group]x"; echo "key=$TOKEN"; '
              "echo done >&2; exit 1")  # fmt: skip
    spec = run_emulator.spec(port=port, command=["/bin/sh", "-c", script],
                             env=[{"name": "TOKEN", "value": "secret:AUTH"}],
                             basicAuthKey="secret:AUTH")  # fmt: skip
    code, _out, err = run_emulator.cli(
        "deploy", "--spec", str(spec), "--project-id", PROJECT, "--timeout", "30",
        "--poll-interval", "0.2", "--error-grace", "1", "--verify", "/",
        env={"PAPERSPACE_SECRET_AUTH": AUTH_SECRET},
    )  # fmt: skip
    assert code == ExitCode.ROLLOUT_FAILED, err
    assert "  key=***" in err and AUTH_SECRET not in err  # verify's key is a secret of the run
    assert "  \u200b::warning::pwned" in err and "  #\u200b#[group]x" in err
    assert not any(line.lstrip().startswith("::") for line in err.splitlines())
