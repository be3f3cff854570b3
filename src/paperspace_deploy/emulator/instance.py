"""One spec version's container in run mode ("pod"): pull, start, probe, restart, remove.

An `Instance` thread pulls the image with the registry connection's credentials, starts it on
HOST networking with the spec's `command`, `env` (`secret:NAME` from the runner's secrets) and
ports, runs the probes (probes.py) and keeps its API view true: `state`/`stateMessage`,
`dtHealthy` when first ready, restarts with the kubelet's back-off (CrashLoopBackOff). Rollout
decisions that involve other containers (ports, the endpoint) belong to the Runner (runner.py).
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.emulator.probes import Outcome, Tracker, app_ports, run_probe
from paperspace_deploy.emulator.state import Spec, iso
from paperspace_deploy.errors import DeployError, Unavailable
from paperspace_deploy.image.reference import DOCKER_HUB, parse_reference, same_registry
from paperspace_deploy.safetext import one_line

if TYPE_CHECKING:
    from paperspace_deploy.emulator.runner import Runner

LABEL = "io.paperspace-deploy.emulator"  # owner: host/pid/process start/runner id
LABEL_DEPLOYMENT = "io.paperspace-deploy.deployment"
LABEL_SPEC = "io.paperspace-deploy.spec"
SECRET_PREFIX = "secret:"
MESSAGE_CAP = 500


@dataclass
class RunOptions:
    pull_timeout: float = 300.0  # seconds for one image pull
    backoff_base: float = 10.0  # CrashLoopBackOff: 10 s, doubling ...
    backoff_max: float = 300.0  # ... up to 5 min, like the kubelet
    stop_grace: int = 2  # SIGTERM -> SIGKILL seconds when a container is removed
    tick: float = 0.1  # how often a container's state is looked at
    log_tail: int = 1000  # lines of container output kept and served by /logs
    engine_timeout: float = 30.0  # seconds for one engine call (pulls stream separately)


def _engine_error(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return one_line(explanation or exc, MESSAGE_CAP)


def pull_auth(image: str, connection: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The connection's credentials when its host is the image's registry (as a pull secret)."""
    if connection is None:
        return None
    if not same_registry(str(connection.get("url", "")), image):
        return None
    if not connection.get("username") and not connection.get("password"):
        return None  # an anonymous stand-in connection (`up --local`)
    host = parse_reference(image).registry
    server = "https://index.docker.io/v1/" if host == DOCKER_HUB else host
    return {
        "username": str(connection.get("username", "")),
        "password": str(connection.get("password", "")),
        "serveraddress": server,
    }


class ConfigError(Exception):
    """The spec cannot become a container (a missing secret): CreateContainerConfigError."""


def resolve_secret(value: str, secrets: Mapping[str, str], where: str) -> str:
    if not value.startswith(SECRET_PREFIX):
        return value
    name = value[len(SECRET_PREFIX) :]
    if name not in secrets:
        raise ConfigError(
            f'{where}: secret "{name}" not found (run mode reads secrets from --secrets-file)'
        )
    return secrets[name]


def container_env(data: Mapping[str, Any], secrets: Mapping[str, str]) -> list[str]:
    env = []
    for item in data.get("env") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            value = resolve_secret(str(item.get("value", "")), secrets, f"env {item['name']}")
            env.append(f"{item['name']}={value}")
    return env


class Instance:
    """One spec version's container ("pod"): pull, start, probe, restart, remove."""

    def __init__(self, runner: Runner, spec: Spec) -> None:
        self.runner = runner
        self.spec_id, self.dep_id, self.data = spec.id, spec.deployment_id, spec.data
        self.name = str(spec.data.get("name") or "app")
        self.id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{spec.id}/0"))
        self.run_id = str(uuid.uuid5(uuid.NAMESPACE_OID, spec.id))
        self.instance_id = f"{re.sub(r'[^a-z0-9-]+', '-', self.name.lower())[:40]}-{spec.id[:8]}-0"
        self.ports = app_ports(spec.data)
        replicas = (spec.data.get("resources") or {}).get("replicas", 1)
        self.replicas = int(replicas) if isinstance(replicas, int | float) else 1
        self.state: str = "pending"  # state and message are guarded by runner.lock
        self.message: str | None = None
        self.history: collections.deque[dict[str, Any]] = collections.deque(maxlen=50)
        self.events: collections.deque[tuple[float, str]] = collections.deque(maxlen=200)
        self.applied_wall = time.time()
        self.healthy_wall: float | None = None
        self.finished_wall: float | None = None
        self.ready = False
        self.restarts = 0
        self.container: str | None = None
        self.saved_logs: list[tuple[str, str]] = []
        self.basic_auth: str | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._main, daemon=True, name=f"psd-run-{spec.id[:8]}"
        )
        self._set("pending", None)
        if self.replicas > 1:
            self.note(f"the spec asks for {self.replicas} replicas; run mode runs one")

    # -- state, guarded by runner.lock ------------------------------------------------------------

    def _set(self, state: str, message: str | None, ready: bool | None = None) -> None:
        with self.runner.lock:
            if ready is not None:
                self.ready = ready
                if ready and self.healthy_wall is None:
                    self.healthy_wall = time.time()
            changed = (state, message) != (self.state, self.message) or not self.history
            self.state, self.message = state, message
            if changed:
                self.history.append(
                    {"state": state, "message": message, "timestamp": iso(time.time())}
                )
        if changed and message:
            self.note(message)

    def note(self, text: str) -> None:
        """An event line: shown in /logs (prefixed) and on the emulator's stderr when verbose."""
        text = one_line(text, 2 * MESSAGE_CAP)  # spec and probe text: one safe line
        with self.runner.lock:
            self.events.append((time.time(), text))
        self.runner.log(one_line(f"{self.name} {self.spec_id[:8]}: {text}", 3 * MESSAGE_CAP))

    def stop(self, why: str) -> None:
        if not self.stopping.is_set():
            self.note(f"stopping: {why}")
            self.stopping.set()

    def state_message(self) -> str | None:
        if self.message or self.replicas <= 1:
            return self.message
        return f"running 1 of {self.replicas} replicas locally (run mode)"

    # -- the lifecycle ----------------------------------------------------------------------------

    def _main(self) -> None:
        client = None
        try:
            client = self.runner.connect()
            self._run(client)
        except DeployError as exc:  # e.g. the engine is not reachable
            self._set("errored", one_line(exc, MESSAGE_CAP))
        except Exception as exc:  # an engine failure mid-way (or a bug): say it, never hang
            self._set("errored", f"run mode: {type(exc).__name__}: {_engine_error(exc)}")
        finally:
            self._remove(client)
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            with self.runner.lock:
                self.ready = False
                self.finished_wall = time.time()
            if self.stopping.is_set():
                self._set("stopped", None, ready=False)

    def _run(self, client: Any) -> None:
        from docker.errors import APIError

        try:
            env = container_env(self.data, self.runner.secrets)
            key = self.data.get("basicAuthKey")
            if isinstance(key, str) and key:
                self.basic_auth = resolve_secret(key, self.runner.secrets, "basicAuthKey")
        except ConfigError as exc:
            self._set("errored", f"CreateContainerConfigError: {exc}")
            return
        image = str(self.data.get("image", ""))
        self.note(f"pulling image {image}")
        failure = self._pull(client, image)
        if failure:
            self._set("errored", failure)
            return
        if self.stopping.is_set():
            return
        clash = self.runner.claim_ports(self)
        if clash:
            self._set("errored", clash)
            return
        command = self.data.get("command") or None
        try:
            created = client.create_container(
                image,
                entrypoint=command,
                environment=env,
                detach=True,
                labels={
                    LABEL: self.runner.owner,
                    LABEL_DEPLOYMENT: self.dep_id,
                    LABEL_SPEC: self.spec_id,
                },
                name=f"psd-{self.instance_id}-{self.runner.owner[-8:]}",
                host_config=client.create_host_config(network_mode="host"),
            )
        except APIError as exc:
            self._set("errored", f"CreateContainerError: {_engine_error(exc)}")
            return
        self.container = created["Id"]
        with self.runner.lock:
            self.runner.containers.add(self.container)
        while not self.stopping.is_set():
            reason = self._start_and_watch(client)
            if self.stopping.is_set():
                return
            self.restarts += 1
            delay = min(
                self.runner.options.backoff_base * 2 ** (self.restarts - 1),
                self.runner.options.backoff_max,
            )
            last = self._last_line(client)
            self._set(
                "errored",
                f"CrashLoopBackOff: back-off {delay:g}s restarting failed "
                f"container ({reason}; restarts: {self.restarts})"
                + (f'; last log line: "{last}"' if last else ""),
                ready=False,
            )
            if self.stopping.wait(delay):
                return

    def _pull(self, client: Any, image: str) -> str | None:
        from docker.errors import APIError

        from paperspace_deploy.image.engine import abort, stream_with_deadline

        name = self.data.get("containerRegistry")
        connection = self.runner.state.registry_by_name(str(name)) if name else None
        auth = pull_auth(image, connection)
        prefix = f'ErrImagePull: Failed to pull image "{one_line(image, 200)}"'
        try:
            events = stream_with_deadline(
                lambda: client.pull(image, stream=True, decode=True, auth_config=auth),
                deadline=Deadline(self.runner.options.pull_timeout),
                phase="image pull",
                on_abort=lambda: abort(client),
            )
            for event in events:
                if isinstance(event, dict) and event.get("error"):
                    return f"{prefix}: {one_line(event['error'], MESSAGE_CAP)}"
                if self.stopping.is_set():
                    return None  # superseded mid-pull: the stream is cut, nothing starts
        except APIError as exc:
            return f"{prefix}: {_engine_error(exc)}"
        except Unavailable as exc:
            return f"{prefix}: {exc}"
        return None

    def _start_and_watch(self, client: Any) -> str:
        """Start the container and watch it; return why it must restart."""
        from docker.errors import APIError

        try:
            client.start(self.container)
        except APIError as exc:  # e.g. the command does not exist in the image
            return f"start failed: {_engine_error(exc)}"
        started = time.monotonic()
        self.note("container started" + (f" (restart {self.restarts})" if self.restarts else ""))
        if self.restarts == 0 or self.state != "errored":
            self._set("starting", None, ready=False)
        probes = [Tracker(p, started) for p in self.runner.probes_for(self)]
        startup_done = not any(t.probe.kind == "startup" for t in probes)
        tick = self.runner.options.tick
        while not self.stopping.is_set():
            status = client.inspect_container(self.container)["State"]
            if not status.get("Running"):
                code = status.get("ExitCode")
                why = "OOMKilled" if status.get("OOMKilled") else f"exit code {code}"
                error = one_line(status.get("Error") or "", 200)
                return why + (f": {error}" if error else "")
            for tracker in probes:
                if tracker.probe.kind != "startup" and not startup_done:
                    continue
                if tracker.probe.kind == "startup" and startup_done:
                    continue
                if not tracker.due(time.monotonic()) or self.stopping.is_set():
                    continue
                outcome = run_probe(tracker.probe, lambda cmd, t: self._exec(client, cmd, t))
                tracker.record(outcome, time.monotonic())
                restart = self._judge(tracker, outcome)
                if tracker.probe.kind == "startup" and outcome.ok:
                    startup_done = True
                if restart:
                    self._kill(client)
                    return restart
            self.stopping.wait(tick)
        return "stopped"

    def _judge(self, tracker: Tracker, outcome: Outcome) -> str | None:
        """Apply one probe result; return a restart reason when the container must restart."""
        kind = tracker.probe.kind
        if kind in ("startup", "liveness"):
            if tracker.failed:
                return f"{outcome.message}; the container is restarted"
            if not outcome.ok:
                self.note(
                    f"{outcome.message} ({tracker.failures}/{tracker.probe.failure_threshold})"
                )
            return None
        if outcome.ok:
            if not self.ready:
                self._set("running", None, ready=True)
                self.runner.promote(self)
            return None
        if self.ready and not tracker.failed:
            return None  # one failure does not take a ready container out of the endpoint
        if self.healthy_wall is None and tracker.failed:
            self._set("errored", outcome.message, ready=False)  # never ready: fail early
        elif self.state == "errored":
            self._set("errored", self.message, ready=False)  # a crash loop stays errored
        else:
            state = "running" if self.healthy_wall is not None else "starting"
            self._set(state, outcome.message, ready=False)
        return None

    def _exec(self, client: Any, command: list[str], timeout: float) -> tuple[int | None, str]:
        import requests

        exec_id = client.exec_create(self.container, command, stdout=True, stderr=True)["Id"]
        previous, client.timeout = client.timeout, timeout
        try:
            output = client.exec_start(exec_id)
        except requests.RequestException:
            return None, ""
        finally:
            client.timeout = previous
        info = client.exec_inspect(exec_id)
        if info.get("Running"):
            return None, ""
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
        return info.get("ExitCode"), text

    def _kill(self, client: Any) -> None:
        with contextlib.suppress(Exception):
            client.stop(self.container, timeout=self.runner.options.stop_grace)

    def _remove(self, client: Any) -> None:
        if self.container is None:
            return
        own = None
        with contextlib.suppress(Exception):
            if client is None:
                client = own = self.runner.connect()
            self._kill(client)
            self.saved_logs = self.runner.read_logs(client, self.container)
            client.remove_container(self.container, force=True)
        if own is not None:
            own.close()
        self.runner.forget_container(self.container)

    def _last_line(self, client: Any) -> str:
        if self.container is None:
            return ""
        with contextlib.suppress(Exception):
            lines = self.runner.read_logs(client, self.container, tail=5)
            for _ts, text in reversed(lines):
                if text.strip():
                    return one_line(text, 200)
        return ""

    # -- views ------------------------------------------------------------------------------------

    def run_view(self) -> dict[str, Any]:
        ready = 1 if self.ready else 0
        return {
            "id": self.run_id,
            "replicas": self.replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "instances": [
                {
                    "id": self.id,
                    "instanceId": self.instance_id,
                    "state": self.state,
                    "stateMessage": self.state_message(),
                    "dtCreated": iso(self.applied_wall),
                    "dtFinished": iso(self.finished_wall) if self.finished_wall else None,
                    "history": list(self.history),
                }
            ],
        }
