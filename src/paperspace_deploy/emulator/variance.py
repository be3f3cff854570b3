"""Variance profiles: each behaviour the live API leaves open (reference §5), played one way.

The default emulator is one reading of the API. A profile switches one open point to another
plausible reading, so the client is tested against all of them (`--variance a,b`, the seed key
`variance`, or `state.variance = Variance(["a"])` in a test). docs/emulator.md gives the evidence
for each. The server and the state call the small hooks below; nothing else knows the profiles.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paperspace_deploy.emulator.state import Deployment, Spec, State


@dataclass(frozen=True)
class Profile:
    name: str
    what: str


PROFILES = (
    Profile("defaults-filled", "the stored spec has every documented default filled in"),
    Profile("verbatim", "the stored spec is exactly what was sent (no defaults, no stripping)"),
    Profile("reject-unknown", "unknown keys are `unrecognized_keys` issues, not stripped"),
    Profile("zod-union", "a bad config gets one `invalid_union` issue at [config]"),
    Profile("latest-v1-only", "`latest` takes only the v1 shape (2024 types)"),
    Profile("states-lower", "instance states healthy / pending / error"),
    Profile("states-legacy", "instance states Provisioning / Running / Errored / Failed"),
    Profile("states-k8s", "instance states ContainerCreating / Running / CrashLoopBackOff"),
    Profile("runs-many", "/runs also lists older specs' runs, newest first"),
    Profile("runs-many-oldest-first", "/runs also lists older specs' runs, oldest first"),
    Profile("disabled-draining", "a disabled deployment keeps listing a 0-replica run"),
    Profile("name-exact", "`?name=` matches the whole name only"),
    Profile("small-pages", "every list page holds at most 2 items (PAGE_CAP)"),
    Profile("git-headers-strict", "a partial x-git-* set (or another host) is a 400"),
    Profile("logs-oldest-first", "/logs ignores `order`: oldest line first, paged"),
    Profile("logs-bare", "/logs answers a bare array, oldest first, `instanceId` ignored"),
)
NAMES = tuple(p.name for p in PROFILES)
EXCLUSIVE = (
    frozenset({"defaults-filled", "verbatim"}),
    frozenset({"states-lower", "states-legacy", "states-k8s"}),
    frozenset({"runs-many", "runs-many-oldest-first"}),
    frozenset({"logs-oldest-first", "logs-bare"}),
)
PAGE_CAP = 2
DRAIN_SECONDS = 3600.0  # "a while": longer than any test's deadline
GIT_KEYS = ("x-git-host", "x-git-actor", "x-git-owner", "x-git-repo", "x-git-ref", "x-git-sha")

# instance-state spellings: the canonical state (or the failure mode) -> the word shown
SPELLINGS: dict[str, dict[str, str]] = {
    "states-lower": {"starting": "pending", "running": "healthy", "crash-loop": "error",
                     "pull-error": "error", "stopping": "stopping"},
    "states-legacy": {"starting": "Provisioning", "running": "Running", "crash-loop": "Errored",
                      "pull-error": "Failed", "stopping": "Stopping"},
    "states-k8s": {"starting": "ContainerCreating", "running": "Running",
                   "crash-loop": "CrashLoopBackOff", "pull-error": "ErrImagePull",
                   "stopping": "Terminating"},
}  # fmt: skip

# documented defaults (CLI api/openapi.ts @default; DOC-HC probe timings; DOC-AS autoscaling)
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
                  "failureThreshold": 3}  # fmt: skip


class Variance:
    def __init__(self, names: Iterable[str] = ()) -> None:
        chosen = frozenset(n.strip() for n in names if n and n.strip())
        unknown = sorted(chosen - set(NAMES))
        if unknown:
            raise ValueError(
                f"unknown variance profile(s): {', '.join(unknown)}; expected {', '.join(NAMES)}"
            )
        for group in EXCLUSIVE:
            if len(chosen & group) > 1:
                raise ValueError(f"variance profiles {', '.join(sorted(chosen & group))} "
                                 "exclude each other")  # fmt: skip
        self.names = chosen

    @classmethod
    def parse(cls, text: str | None) -> Variance:
        return cls((text or "").split(","))

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __repr__(self) -> str:
        return f"Variance({sorted(self.names)!r})"

    # -- POST /deployments ----------------------------------------------------------------------

    def validation(self) -> dict[str, bool]:
        """Keyword arguments for `validate.validate_upsert`."""
        return {"union": "zod-union" in self, "latest_v1_only": "latest-v1-only" in self}

    def rules(self) -> set[str]:
        return {"strict"} if "reject-unknown" in self else set()

    def stored(self, sent: Any, parsed: dict[str, Any]) -> dict[str, Any]:
        """The spec data the server keeps and returns for an accepted `config`."""
        if "verbatim" in self and isinstance(sent, dict):
            return copy.deepcopy(sent)
        if "defaults-filled" in self:
            return _fill_defaults(copy.deepcopy(parsed))
        return parsed  # zod's output: unknown keys stripped, enabled/replicas filled

    def header_issues(self, headers: Mapping[str, str]) -> list[dict[str, Any]]:
        if "git-headers-strict" not in self:
            return []
        sent = [k for k in GIT_KEYS if k in headers]
        if not sent:
            return []
        issues: list[dict[str, Any]] = [
            {"code": "invalid_type", "expected": "string", "received": "undefined",
             "path": ["headers", k], "message": "Required"}
            for k in GIT_KEYS if k not in headers
        ]  # fmt: skip
        if headers.get("x-git-host", "github") not in ("github", "gitlab"):
            issues.append({"code": "invalid_enum_value", "path": ["headers", "x-git-host"],
                           "options": ["github", "gitlab"],
                           "message": "Invalid enum value. Expected 'github' | 'gitlab'"},
                          )  # fmt: skip
        return issues

    # -- lists ------------------------------------------------------------------------------------

    def page_limit(self, limit: int) -> int:
        return min(limit, PAGE_CAP) if "small-pages" in self else limit

    def name_matches(self, wanted: str | None, name: str) -> bool:
        if not wanted:
            return True
        return name == wanted if "name-exact" in self else wanted in name

    # -- GET /deployments/{id}/logs ---------------------------------------------------------------

    def logs_query(self, query: Mapping[str, str]) -> dict[str, str]:
        """The query as this reading of the logs route honours it."""
        out = dict(query)
        if "logs-oldest-first" in self or "logs-bare" in self:
            out["order"] = "asc"
        if "logs-bare" in self:
            out.pop("instanceId", None)
        return out

    @property
    def logs_bare(self) -> bool:
        return "logs-bare" in self

    # -- GET /deployments/{id}/runs ---------------------------------------------------------------

    def runs(self, state: State, dep: Deployment, spec: Spec, now: float) -> list[dict[str, Any]]:
        current = self._spelled(state.runs_view(spec, now), spec)
        older = [s for s in dep.specs if s.seq < spec.seq and now >= s.visible_at]
        age = now - spec.created
        draining = state.timings.apply_after <= age < DRAIN_SECONDS
        if "disabled-draining" in self and spec.mode == "disabled" and draining:
            current = [self._draining(state, spec, older[-1] if older else None, now)]
        if "runs-many" in self or "runs-many-oldest-first" in self:
            for old in reversed(older[-9:]):
                current += self._spelled(state.runs_view(old, now), old)
            if "runs-many-oldest-first" in self:
                current.reverse()
        return current

    def _word(self, canonical: str, spec: Spec) -> str:
        for name, table in SPELLINGS.items():
            if name in self:
                key = spec.mode if canonical == "errored" else canonical
                return table.get(key, canonical)
        return canonical

    def _spelled(self, runs: list[dict[str, Any]], spec: Spec) -> list[dict[str, Any]]:
        if not any(name in self for name in SPELLINGS):
            return runs
        for run in runs:
            for inst in run.get("instances") or []:
                inst["state"] = self._word(inst["state"], spec)
                for entry in inst.get("history") or []:
                    entry["state"] = self._word("starting", spec)
        return runs

    def _draining(self, state: State, spec: Spec, previous: Spec | None,
                  now: float) -> dict[str, Any]:  # fmt: skip
        """The run a disabled spec leaves listed: 0 replicas, the old instances stopping."""
        instances = []
        for run in state.runs_view(previous, now) if previous is not None else []:
            for inst in run["instances"]:
                instances.append({**inst, "state": self._word("stopping", spec),
                                  "stateMessage": None})  # fmt: skip
        return {"id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{spec.id}/drain")), "replicas": 0,
                "readyReplicas": 0, "availableReplicas": 0, "instances": instances}  # fmt: skip


def _fill_defaults(config: dict[str, Any]) -> dict[str, Any]:
    config.setdefault("enabled", True)
    resources = config.get("resources") or {}
    resources.setdefault("replicas", 1)
    if "instanceType" in resources:  # the v0alpha0 shape
        config.setdefault("port", 80)
    if isinstance(resources.get("autoscaling"), dict):
        resources["autoscaling"].setdefault("enabled", True)
    for block in ("healthChecks", "healthchecks"):
        for probe in (config.get(block) or {}).values():
            if isinstance(probe, dict):
                for key, value in PROBE_DEFAULTS.items():
                    probe.setdefault(key, value)
    for item in config.get("integrations") or []:
        if isinstance(item, dict) and item.get("type") == "model":
            item.setdefault("path", "/opt/models")
    return config
