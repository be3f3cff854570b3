"""Run mode: every spec version really runs, as a container on the Docker Engine.

`Runner(state, environ, secrets).attach()` makes the emulator's rollout follow what happens to
the containers (instance.py) instead of a timer, and gives each deployment a real endpoint
(proxy.py).

Rolling update: the endpoint keeps sending traffic to the old container until the new one is
ready, then the old one is removed. Host networking makes the container's ports this machine's
ports, so a new spec that needs a port the old container holds cannot run beside it: that update
is a recreate (the old one stops first), and the logs say so.

Every container carries LABEL (this process and runner) and is removed when its spec is replaced,
disabled or deleted, when the runner closes, and -- if the process died -- on the next start.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from paperspace_deploy.emulator.instance import LABEL, Instance, RunOptions
from paperspace_deploy.emulator.probes import Probe
from paperspace_deploy.emulator.proxy import EndpointProxy, port_free
from paperspace_deploy.emulator.state import Deployment, Spec, State, iso

__all__ = ["LABEL", "RunOptions", "Runner"]
KEEP_FINISHED = 20  # finished containers whose last log lines are kept for /logs


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks (tells a live pid from a reused one)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def owner_token() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_process_start(pid)}/{uuid.uuid4().hex[:8]}"


def _owner_alive(token: str) -> bool:
    parts = token.split("/")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return True  # another machine's, or not ours to judge
    pid = int(parts[1])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return parts[2] == "?" or _process_start(pid) == parts[2]


@dataclass
class _DeploymentRun:
    proxy: EndpointProxy
    serving: Instance | None = None  # the container the endpoint sends traffic to
    pending: Instance | None = None  # the newest spec's container, until it is ready
    retired: list[Instance] = field(default_factory=list)


class Runner:
    """Run mode for one emulator `State`: `Runner(state, environ, secrets).attach()`."""

    def __init__(
        self,
        state: State,
        environ: Mapping[str, str],
        secrets: Mapping[str, str] | None = None,
        options: RunOptions | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.state = state
        self.environ = dict(environ)
        self.secrets = dict(secrets or {})
        self.options = options or RunOptions()
        self.log = log or (lambda _text: None)
        self.lock = threading.RLock()
        self.owner = owner_token()
        self.deployments: dict[str, _DeploymentRun] = {}
        self.instances: dict[str, Instance] = {}  # spec id -> instance (kept for the views)
        self.containers: set[str] = set()
        self.reserved: dict[int, str] = {}  # our own listening ports -> what listens there
        self.closed = False
        self._reader: Any = None
        self._reader_lock = threading.Lock()

    def attach(self) -> Runner:
        self.state.runner = self
        self.state.after_upsert.append(self.on_upsert)
        self.state.after_delete.append(self.on_delete)
        return self

    # -- the engine -------------------------------------------------------------------------------

    def connect(self) -> Any:
        from paperspace_deploy.image.engine import connect

        client = connect(self.environ)
        client.timeout = self.options.engine_timeout
        return client

    def check_engine(self) -> str:
        """Fail fast (exit 3) when there is no engine; remove leftovers of dead emulators."""
        client = self.connect()
        try:
            version = str(client.version().get("Version", "?"))
            self.reap(client)
        finally:
            client.close()
        return version

    def reap(self, client: Any) -> int:
        """Remove containers left by emulators that died without cleaning up (no leftovers)."""
        removed = 0
        for info in client.containers(all=True, filters={"label": LABEL}):
            token = (info.get("Labels") or {}).get(LABEL, "")
            if not _owner_alive(token):
                with contextlib.suppress(Exception):
                    client.remove_container(info["Id"], force=True)
                    removed += 1
        return removed

    def read_logs(
        self, client: Any, container: str, tail: int | None = None
    ) -> list[tuple[str, str]]:
        raw = client.logs(
            container, stdout=True, stderr=True, timestamps=True, tail=tail or self.options.log_tail
        )
        lines = []
        for line in raw.decode("utf-8", "replace").splitlines():
            stamp, _, text = line.partition(" ")
            lines.append((stamp[:23] + "Z" if len(stamp) >= 23 else stamp, text[:4000]))
        return lines

    def forget_container(self, container: str) -> None:
        with self.lock:
            self.containers.discard(container)

    # -- hooks called by State --------------------------------------------------------------------

    def decide(self, data: Mapping[str, Any]) -> tuple[str, str | None]:
        name = data.get("containerRegistry")
        if name and self.state.registry_by_name(str(name)) is None:
            return "pre-apply-error", f"container registry '{name}' not found"
        return "run", None

    def on_upsert(self, dep: Deployment, spec: Spec) -> None:
        with self.lock:
            if self.closed:
                return
            run = self.deployments.get(dep.id)
            if run is None:
                proxy = EndpointProxy(lambda: self._upstream(dep.id), lambda: self._auth(dep.id))
                run = self.deployments[dep.id] = _DeploymentRun(proxy.start())
            dep.endpoint = run.proxy.url
            self._prune(run)
            stale, run.pending = run.pending, None
            if stale is not None:
                run.retired.append(stale)
                stale.stop(f"superseded by spec {spec.id} before it was ready")
            if spec.mode == "run":
                inst = Instance(self, spec)
                self.instances[spec.id] = inst
                run.pending = inst
                inst.thread.start()
            elif spec.mode == "disabled" and run.serving is not None:
                old, run.serving = run.serving, None
                run.retired.append(old)
                old.stop(f"spec {spec.id} disables the deployment")

    def _prune(self, run: _DeploymentRun) -> None:
        """Bound what finished containers leave behind: their saved logs, for the last few."""
        run.retired = [i for i in run.retired if i.thread.is_alive()]
        finished = [i for i in self.instances.values() if not i.thread.is_alive()]
        for inst in finished[:-KEEP_FINISHED]:
            inst.saved_logs = []

    def on_delete(self, dep: Deployment) -> None:
        with self.lock:
            run = self.deployments.pop(dep.id, None)
        if run is None:
            return
        for inst in self._members(run):
            inst.stop("the deployment was deleted")
        run.proxy.close()

    def spec_view(self, spec: Spec, view: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            inst = self.instances.get(spec.id)
            if inst is not None:
                view["externalApplied"] = iso(inst.applied_wall)
                view["dtHealthy"] = iso(inst.healthy_wall) if inst.healthy_wall else None
        return view

    def runs_view(self, spec: Spec) -> list[dict[str, Any]]:
        with self.lock:
            inst = self.instances.get(spec.id)
            run = self.deployments.get(spec.deployment_id)
            runs = [inst.run_view()] if inst is not None else []
            if run is not None and run.serving is not None and run.serving is not inst:
                runs.append(run.serving.run_view())  # the old spec, still serving (newest first)
            return runs

    def log_items(self, spec: Spec, instance_id: str | None) -> list[dict[str, Any]]:
        """`/deployments/{id}/logs`: the container's output, plus run mode's own event lines."""
        with self.lock:
            inst = self.instances.get(spec.id)
            if inst is None or instance_id not in (None, inst.instance_id):
                return []
            container = inst.container if inst.container in self.containers else None
            lines = list(inst.saved_logs)
            events = [(iso(wall), f"[run mode] {text}") for wall, text in inst.events]
        if container is not None:
            with contextlib.suppress(Exception), self._reader_lock:
                self._reader = self._reader or self.connect()
                lines = self.read_logs(self._reader, container)
        merged = sorted(lines + events, key=lambda item: item[0])[-self.options.log_tail :]
        return [
            {
                "id": f"{inst.id}-{n}",
                "jobId": inst.run_id,
                "message": text,
                "uuid": None,
                "dtCreated": stamp,
                "instanceId": inst.instance_id,
                "_seq": n,
            }
            for n, (stamp, text) in enumerate(merged)
        ]

    # -- rollout decisions, called by instances ---------------------------------------------------

    def probes_for(self, inst: Instance) -> list[Probe]:
        from paperspace_deploy.emulator.probes import probes_from_spec

        return probes_from_spec(inst.data)

    def promote(self, inst: Instance) -> None:
        """`inst` became ready: the endpoint switches to it and the old container goes."""
        with self.lock:
            run = self.deployments.get(inst.dep_id)
            if run is None or run.pending is not inst:
                return  # superseded meanwhile, or already serving
            old, run.serving, run.pending = run.serving, inst, None
            if old is not None:
                run.retired.append(old)
        if old is not None:
            old.stop(f"replaced by spec {inst.spec_id}, which is ready")

    def claim_ports(self, inst: Instance) -> str | None:
        """Before `inst` starts: make its ports free or say why they are not (host networking)."""
        wanted = set(inst.ports)
        with self.lock:
            run = self.deployments.get(inst.dep_id)
            holders = [
                i
                for i in self.instances.values()
                if i is not inst and i.thread.is_alive() and wanted & set(i.ports)
            ]
            serving = run.serving if run is not None else None
        for other in holders:
            shared = ", ".join(map(str, sorted(wanted & set(other.ports))))
            if other is serving:
                inst.note(
                    f"host networking: port(s) {shared} "
                    f"are held by the running container of spec {other.spec_id}, so it is "
                    "stopped first (a recreate, not a rolling update)"
                )
                with self.lock:
                    if run is not None and run.serving is other:
                        run.serving = None
                        run.retired.append(other)
                other.stop(f"spec {inst.spec_id} needs its port(s)")
            if other.stopping.is_set():
                other.thread.join(timeout=self.options.stop_grace + 30)
            else:
                return (
                    f"port(s) {shared} already in use: deployment {other.name!r} (spec "
                    f"{other.spec_id}) runs there. Run mode uses host networking, so each "
                    "container port is a port of this machine"
                )
        ours = {**self.reserved, **self._endpoint_ports()}
        for port in sorted(wanted):
            if port in ours:
                return (
                    f"port {port} is already in use: {ours[port]} listens there. Run mode uses "
                    "host networking, so the container's port is a port of this machine"
                )
            if not port_free(port):
                return (
                    f"port {port} is already in use on this host. Run mode uses host "
                    "networking, so the container's port is a port of this machine: stop "
                    "what listens there, or change resources.ports and the app's port"
                )
        return None

    def _endpoint_ports(self) -> dict[int, str]:
        with self.lock:
            return {run.proxy.port: f"the endpoint of deployment {dep_id}"
                    for dep_id, run in self.deployments.items()}  # fmt: skip

    def _upstream(self, dep_id: str) -> int | None:
        with self.lock:
            run = self.deployments.get(dep_id)
            inst = run.serving if run is not None else None
            if inst is None or not inst.ready or not inst.ports:
                return None
            return inst.ports[0]

    def _auth(self, dep_id: str) -> str | None:
        with self.lock:
            run = self.deployments.get(dep_id)
            if run is None:
                return None
            inst = run.serving or run.pending
            return inst.basic_auth if inst is not None else None

    def _members(self, run: _DeploymentRun) -> Iterator[Instance]:
        for inst in (run.serving, run.pending, *run.retired):
            if inst is not None:
                yield inst

    def serving(self, dep_id: str) -> Instance | None:
        with self.lock:
            run = self.deployments.get(dep_id)
            return run.serving if run is not None else None

    def endpoint(self, dep_id: str) -> str | None:
        with self.lock:
            run = self.deployments.get(dep_id)
            return run.proxy.url if run is not None else None

    # -- shutdown ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop and remove every container this runner started; close the endpoints."""
        with self.lock:
            self.closed = True
            runs = list(self.deployments.values())
            self.deployments.clear()
            instances = list(self.instances.values())
        for inst in instances:
            inst.stop("the emulator is stopping")
        for inst in instances:
            inst.thread.join(timeout=self.options.stop_grace + 30)
        for run in runs:
            run.proxy.close()
        with contextlib.suppress(Exception):  # a last sweep, by label: nothing may be left
            client = self.connect()
            for info in client.containers(all=True, filters={"label": f"{LABEL}={self.owner}"}):
                with contextlib.suppress(Exception):
                    client.remove_container(info["Id"], force=True)
            client.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.close()
