"""What would change: the live spec against ours, field by field (`plan`, `--skip-unchanged`).

Specs are compared as the server sees them (every documented default filled, `$schema`
dropped). Both sides -- ours and the live one -- are redacted by the one secret-field policy
(`credentials.is_secret_path`: basicAuthKey, access keys, passwords, env and probe header values)
unless a value is a `secret:NAME` reference, and credentials inside URLs are hidden everywhere.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from paperspace_deploy.credentials import hide_url_credentials, is_secret_path
from paperspace_deploy.spec.findings import Finding

REDACTED = "<redacted>"
_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


@dataclass
class Change:
    path: str
    kind: str  # added | removed | changed
    before: Any = None
    after: Any = None

    def render(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {_show(self.path, self.after)}"
        if self.kind == "removed":
            return f"- {self.path}: {_show(self.path, self.before)}"
        return f"~ {self.path}: {_show(self.path, self.before)} -> {_show(self.path, self.after)}"


@dataclass
class PlanResult:
    name: str
    project_id: str
    deployment_id: str | None
    live_spec_id: str | None
    changes: list[Change]
    findings: list[Finding] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.deployment_id is not None

    @property
    def no_op(self) -> bool:
        return self.exists and not self.changes

    @property
    def changed(self) -> bool:
        return not self.no_op

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "projectId": self.project_id,
            "deploymentId": self.deployment_id,
            "liveSpecId": self.live_spec_id,
            "exists": self.exists,
            "noOp": self.no_op,
            "changes": [
                {
                    "path": c.path,
                    "kind": c.kind,
                    "before": _redact(c.path, c.before),
                    "after": _redact(c.path, c.after),
                }
                for c in self.changes
            ],
        }


# Every default the API documents (CLI `api/openapi.ts` @default, DOC-HC, DOC-AS). A server may
# or may not fill them into the spec it stores, so both sides are compared with all of them filled.
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
                  "failureThreshold": 3}  # fmt: skip
V0_PORT_DEFAULT = 80
MODEL_PATH_DEFAULT = "/opt/models"


def is_v0_shape(config: Mapping[str, Any]) -> bool:
    """v0alpha0, or `latest`/missing with the v0 machine field (the 2023 reading of `latest`)."""
    resources = config.get("resources")
    legacy = isinstance(resources, dict) and "instanceType" in resources
    return config.get("apiVersion") == "v0alpha0" or (
        config.get("apiVersion") in (None, "latest") and (legacy or "port" in config)
    )


def normalize(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The server's view of a config: `$schema` dropped and every documented default filled
    (`enabled`, `resources.replicas`, v0 `port`, `autoscaling.enabled`, probe timings, the model
    integration `path`), so a spec compares equal whether or not the server filled them."""
    data = copy.deepcopy(dict(config or {}))
    data.pop("$schema", None)
    data.setdefault("enabled", True)
    if is_v0_shape(data):
        data.setdefault("port", V0_PORT_DEFAULT)
    resources = data.get("resources")
    if isinstance(resources, dict):
        resources.setdefault("replicas", 1)
        scaling = resources.get("autoscaling")
        if isinstance(scaling, dict):
            scaling.setdefault("enabled", True)
    for block in ("healthChecks", "healthchecks"):
        probes = data.get(block)
        for probe in (probes or {}).values() if isinstance(probes, dict) else ():
            if isinstance(probe, dict):
                for key, value in PROBE_DEFAULTS.items():
                    probe.setdefault(key, value)
    for item in data.get("integrations") or []:
        if isinstance(item, dict) and item.get("type") == "model":
            item.setdefault("path", MODEL_PATH_DEFAULT)
    return data


def same_spec(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Equal once both sides are normalised (never byte equality: servers fill defaults)."""
    return normalize(a) == normalize(b)


def compatible(stored: Mapping[str, Any] | None, ours: Mapping[str, Any]) -> bool:
    """No value contradicts: the same name and image, and every field present on both sides
    equal. A server that adds an undocumented default or strips a key it does not know still
    stores a compatible copy of our spec; another run's spec (other image, env, ...) is not."""
    if not isinstance(stored, Mapping):
        return False
    mine, theirs = dict(_flatten(normalize(ours))), dict(_flatten(normalize(stored)))
    if any(mine.get(k) != theirs.get(k) for k in ("name", "image")):
        return False
    return all(theirs[path] == value for path, value in mine.items() if path in theirs)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key in value:
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def diff(live: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    before = dict(_flatten(normalize(live))) if live is not None else {}
    after = dict(_flatten(normalize(new)))
    changes = []
    for path in [*after, *(p for p in before if p not in after)]:
        if path not in before:
            changes.append(Change(path, "added", None, after[path]))
        elif path not in after:
            changes.append(Change(path, "removed", before[path], None))
        elif before[path] != after[path]:
            changes.append(Change(path, "changed", before[path], after[path]))
    return changes


def _parts(path: str) -> list[str | int]:
    """`healthChecks.liveness.headers[0].value` -> ["healthChecks", "liveness", "headers", 0,
    "value"] (a key holding a dot splits too: over-redacting is the safe side)."""
    return [int(i) if i else key for i, key in _PATH_PART.findall(path)]


def _redact(path: str, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("secret:"):
        return value
    if value is not None and is_secret_path(_parts(path)):
        return REDACTED
    return hide_url_credentials(value) if isinstance(value, str) else value


def _show(path: str, value: Any) -> str:
    from paperspace_deploy.redact import run_secrets

    # the run's secrets before the cut (a live value may hold one under a field we do not know)
    text = run_secrets().scrub(json.dumps(_redact(path, value), default=str))
    return text if len(text) <= 120 else text[:119] + "…"
