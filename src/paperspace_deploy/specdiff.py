"""What would change: the live spec against ours, field by field (`plan`, `--skip-unchanged`).

Specs are compared as the server sees them (defaults filled, `$schema` dropped); values under
secret-bearing fields are redacted unless they are `secret:NAME` references.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from paperspace_deploy.spec.findings import Finding

SECRET_FIELDS = ("basicAuthKey", "secretAccessKey", "accessKeyId", "password")


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


def normalize(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The server's view of a config: defaults filled, `$schema` dropped (zod output)."""
    data = copy.deepcopy(dict(config or {}))
    data.pop("$schema", None)
    data.setdefault("enabled", True)
    resources = data.get("resources")
    if isinstance(resources, dict):
        resources.setdefault("replicas", 1)
    return data


def same_spec(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return normalize(a) == normalize(b)


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


def _is_secretish(path: str) -> bool:
    last = path.rsplit(".", 1)[-1]
    return last in SECRET_FIELDS or (path.startswith("env[") and path.endswith(".value"))


def _redact(path: str, value: Any) -> Any:
    if _is_secretish(path) and isinstance(value, str) and not value.startswith("secret:"):
        return "<redacted>"
    return value


def _show(path: str, value: Any) -> str:
    text = json.dumps(_redact(path, value), default=str)
    return text if len(text) <= 120 else text[:119] + "…"
