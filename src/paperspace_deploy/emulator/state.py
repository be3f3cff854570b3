"""The emulator's data and the rollout state machine.

Rollout state is computed lazily from timestamps, so there are no background threads: a spec
created at t0 becomes visible at t0+visible_after, gets `externalApplied` at t0+apply_after and
`dtHealthy` at t0+healthy_after -- unless its mode says otherwise (see MODES).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from paperspace_deploy.emulator import pull
from paperspace_deploy.emulator.variance import Variance

if TYPE_CHECKING:
    from paperspace_deploy.emulator.runner import Runner

MODES = ("healthy", "disabled", "pre-apply-error", "crash-loop", "pull-error", "never-healthy")
MODE_ENV = "PSD_EMULATOR_MODE"  # a spec env entry with this name picks a failure mode
GIT_KEYS = ("x-git-host", "x-git-actor", "x-git-owner", "x-git-repo", "x-git-ref", "x-git-sha")
REGISTRY_KINDS = ("other", "dockerhub", "gcr", "ghcr", "digitalocean", "azure")


def iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int(wall * 1000) % 1000:03d}Z"
    )


def spec_hash(data: Any) -> str:
    return hashlib.md5(
        json.dumps(data, sort_keys=True, separators=(",", ":")).encode(), usedforsecurity=False
    ).hexdigest()


def _short_id(prefix: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(10))


@dataclass
class Timings:
    visible_after: float = 0.0  # eventual consistency: new spec hidden (new deployment: 404)
    apply_after: float = 0.05
    healthy_after: float = 0.1
    pull_check: str = "offline"  # pull.PULL_CHECKS: which registries the pull check contacts


@dataclass
class Spec:
    id: str
    deployment_id: str
    data: dict[str, Any]
    metadata: dict[str, Any] | None
    mode: str
    message: str | None
    created: float  # monotonic
    wall: float
    seq: int
    marker: str | None = None
    visible_at: float = 0.0  # monotonic; fixed when created (eventual consistency)
    superseded_at: float | None = None  # monotonic, for "false success" measurements


@dataclass
class Deployment:
    id: str
    name: str
    project_id: str
    team_id: str
    endpoint: str
    wall: float
    seq: int
    specs: list[Spec] = field(default_factory=list)


class State:
    def __init__(self, timings: Timings | None = None, team_id: str = "te1emulatr") -> None:
        self.lock = threading.RLock()
        self.timings = timings or Timings()
        self.team_id = team_id
        self.user_id = "u1emulator"
        self.api_keys: set[str] = set()
        self.projects: dict[str, dict[str, Any]] = {}
        self.registries: dict[str, dict[str, Any]] = {}  # id -> record incl. password
        self.deployments: dict[str, Deployment] = {}
        self.deleted: set[str] = set()
        self.forced_mode: str | None = None  # per-test override for the next upserts
        self.server_rules: set[str] = set()  # optional cross-field rules (validate.SERVER_RULES)
        self.upserts = 0
        self._seq = 0
        self.after_upsert: list[Callable[[Deployment, Spec], None]] = []
        self.after_delete: list[Callable[[Deployment], None]] = []
        self.runner: Runner | None = None  # run mode: real containers decide the rollout
        self.variance = Variance()  # how the open behaviours of the live API are played

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- seeding ----------------------------------------------------------------------------------

    def add_key(self, key: str) -> None:
        self.api_keys.add(key)

    def add_project(self, project_id: str | None = None, name: str = "project") -> dict[str, Any]:
        with self.lock:
            pid = project_id or _short_id("p")
            record = {
                "id": pid,
                "name": name,
                "dtCreated": iso(time.time()),
                "dtDeleted": None,
                "repoNodeId": None,
                "repoName": None,
                "repoUrl": None,
                "_seq": self._next_seq(),
            }
            self.projects[pid] = record
            return record

    def add_registry(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            now = iso(time.time())
            record = {
                "id": str(uuid.uuid4()),
                "name": body["name"],
                "url": body["url"],
                "namespace": body.get("namespace", ""),
                "username": body["username"],
                "kind": body.get("kind") or "other",
                "dtCreated": now,
                "dtModified": now,
                "password": body["password"],
                "_seq": self._next_seq(),
            }
            self.registries[record["id"]] = record
            return record

    @staticmethod
    def public_registry(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k != "password" and not k.startswith("_")}

    def registry_by_name(self, name: str) -> dict[str, Any] | None:
        with self.lock:
            for record in self.registries.values():
                if record["name"] == name:
                    return dict(record)
        return None

    # -- deployments ------------------------------------------------------------------------------

    def decide_mode(self, data: dict[str, Any]) -> tuple[str, str | None]:
        """The rollout outcome of a new spec (called outside the lock: it may call a registry)."""
        env = {e.get("name"): e.get("value") for e in data.get("env") or [] if isinstance(e, dict)}
        replicas = (data.get("resources") or {}).get("replicas", 1)
        if data.get("enabled") is False or replicas == 0:
            return "disabled", None
        if self.runner is not None:
            return self.runner.decide(data)
        mode = self.forced_mode or env.get(MODE_ENV) or "healthy"
        if mode == "pre-apply-error":
            return mode, "Failed to apply deployment: integration download failed (emulated)"
        if mode == "crash-loop":
            return mode, (
                "Back-off restarting failed container app in pod "
                f"{data.get('name', 'app')}-7d9f8c6b5-x2x4z_default: CrashLoopBackOff"
            )
        if mode not in MODES:
            mode = "healthy"
        name = data.get("containerRegistry")
        connection = None
        if name:
            connection = self.registry_by_name(str(name))
            if connection is None:
                return "pre-apply-error", f"container registry '{name}' not found"
        how = self.timings.pull_check
        if isinstance(how, bool):  # the older boolean form
            how = "offline" if how else "off"
        check = pull.check_pull(str(data.get("image", "")), connection, how)
        if check.problem:
            return "pull-error", check.problem
        return mode, check.notice  # a notice shows as the instances' stateMessage

    def upsert(
        self,
        project_id: str,
        data: dict[str, Any],
        *,
        deployment_id: str | None = None,
        headers: dict[str, str] | None = None,
        mode: tuple[str, str | None] | None = None,
    ) -> tuple[Deployment | None, str | None]:
        """Create a spec version; return (deployment, None) or (None, not-found message)."""
        mode = mode or self.decide_mode(data)
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        git = {k: headers[k] for k in GIT_KEYS if k in headers}
        metadata = None
        if len(git) == len(GIT_KEYS) and git["x-git-host"] in ("github", "gitlab"):
            metadata = {"gitHeaders": git}
        with self.lock:
            if project_id not in self.projects:
                return None, "Project not found"
            dep = None
            if deployment_id:
                dep = self.deployments.get(deployment_id)
                if dep is None or dep.project_id != project_id:
                    return None, "Deployment not found"
                dep.name = data["name"]
            else:
                for candidate in self.deployments.values():
                    if candidate.project_id == project_id and candidate.name == data["name"]:
                        dep = candidate
                        break
            now, wall = time.monotonic(), time.time()
            if dep is None:
                dep_id = str(uuid.uuid4())
                dep = Deployment(
                    id=dep_id,
                    name=data["name"],
                    project_id=project_id,
                    team_id=self.team_id,
                    endpoint=f"d{dep_id.replace('-', '')[:16]}.emulated.paperspacegradient.com",
                    wall=wall,
                    seq=self._next_seq(),
                )
                self.deployments[dep.id] = dep
            if dep.specs:
                dep.specs[-1].superseded_at = now
            spec = Spec(
                id=str(uuid.uuid4()),
                deployment_id=dep.id,
                data=data,
                metadata=metadata,
                mode=mode[0],
                message=mode[1],
                created=now,
                wall=wall,
                seq=self._next_seq(),
                marker=headers.get("x-psd-run"),
                visible_at=now + self.timings.visible_after,
            )
            dep.specs.append(spec)
            self.upserts += 1
        for hook in list(self.after_upsert):
            hook(dep, spec)
        return dep, None

    def delete(self, deployment_id: str) -> bool:
        with self.lock:
            dep = self.deployments.pop(deployment_id, None)
            if dep is not None:
                self.deleted.add(deployment_id)
        if dep is not None:
            for hook in list(self.after_delete):
                hook(dep)
        return dep is not None

    def visible_spec(self, dep: Deployment, now: float | None = None) -> Spec | None:
        now = time.monotonic() if now is None else now
        visible = [s for s in dep.specs if now >= s.visible_at]
        return visible[-1] if visible else None

    def get_visible(self, deployment_id: str) -> tuple[Deployment, Spec] | None:
        with self.lock:
            dep = self.deployments.get(deployment_id)
            if dep is None:
                return None
            spec = self.visible_spec(dep)
            return (dep, spec) if spec is not None else None

    # -- views ------------------------------------------------------------------------------------

    def spec_view(self, spec: Spec, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        t = self.timings
        age = now - spec.created
        applied = age >= t.apply_after
        view: dict[str, Any] = {
            "id": spec.id,
            "deploymentId": spec.deployment_id,
            "data": spec.data,
            "externalApplied": None,
            "dtHealthy": None,
            "error": None,
            "metadata": spec.metadata,
            "userId": self.user_id,
        }
        if spec.mode == "run" and self.runner is not None:
            return self.runner.spec_view(spec, view)
        if not applied:
            return view
        if spec.mode == "pre-apply-error":
            view["error"] = spec.message
            return view
        view["externalApplied"] = iso(spec.wall + t.apply_after)
        if spec.mode == "healthy" and age >= t.healthy_after:
            view["dtHealthy"] = iso(spec.wall + t.healthy_after)
        return view

    def deployment_view(self, dep: Deployment, spec: Spec) -> dict[str, Any]:
        return {
            "id": dep.id,
            "name": dep.name,
            "projectId": dep.project_id,
            "teamId": dep.team_id,
            "endpoint": dep.endpoint,
            "latestSpecHash": spec_hash(spec.data),
            "dtCreated": iso(dep.wall),
            "basicAuthKey": None,
            "latestSpec": self.spec_view(spec),
        }

    def runs_view(self, spec: Spec, now: float | None = None) -> list[dict[str, Any]]:
        if spec.mode == "run" and self.runner is not None:
            return self.runner.runs_view(spec)
        now = time.monotonic() if now is None else now
        t = self.timings
        age = now - spec.created
        if age < t.apply_after or spec.mode in ("disabled", "pre-apply-error"):
            return []
        replicas = int((spec.data.get("resources") or {}).get("replicas", 1) or 0)
        healthy = spec.mode == "healthy" and age >= t.healthy_after
        errored = spec.mode in ("crash-loop", "pull-error")
        state = "running" if healthy else ("errored" if errored else "starting")
        message = spec.message  # the failure, or a notice (e.g. "not checked offline")
        started = iso(spec.wall + t.apply_after)
        instances = [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{spec.id}/{i}")),
                "instanceId": f"{spec.data.get('name', 'app')}-{spec.id[:8]}-{i}",
                "state": state,
                "stateMessage": message,
                "dtCreated": started,
                "dtFinished": None,
                "history": [{"state": "pending", "message": None, "timestamp": started}],
            }
            for i in range(replicas)
        ]
        return [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_OID, spec.id)),
                "replicas": replicas,
                "readyReplicas": replicas if healthy else 0,
                "availableReplicas": replicas if healthy else 0,
                "instances": instances,
            }
        ]

    def specs_by_marker(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.lock:
            for dep in self.deployments.values():
                for spec in dep.specs:
                    if spec.marker:
                        counts[spec.marker] = counts.get(spec.marker, 0) + 1
        return counts


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        return None
    if not text.startswith("o:") or not text[2:].isdigit():
        return None
    return int(text[2:])
