"""The shapes the API's `config` union takes (the 2024 types, Paperspace/cli `api/openapi.ts`).

Our JSON Schema is one permissive union (it still takes the 2023 `latest` + v0 fields). This
module names each shape of today's API, says which shape a spec is closest to and how it
differs, so a vague rejection ("Invalid input" for the whole `config`) becomes something a user
can act on, and deploy mode can refuse `latest` with v0 fields before any request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

V0_ONLY = ("port", "models", "repositories")
_COMMON = frozenset(
    ("apiVersion", "name", "image", "enabled", "containerRegistry", "command", "env", "region",
     "healthChecks", "resources")
)  # fmt: skip


@dataclass(frozen=True)
class Shape:
    name: str
    versions: tuple[str, ...]  # the apiVersion values this shape takes
    keys: frozenset[str]  # top-level keys it knows
    resource_keys: frozenset[str]
    resource_required: tuple[str, ...]


_V0_RESOURCES = frozenset(("instanceType", "replicas", "autoscaling"))
V0ALPHA0 = Shape(
    "v0alpha0", ("v0alpha0",), _COMMON | set(V0_ONLY), _V0_RESOURCES, ("instanceType",)
)
_V1_KEYS = _COMMON | {"healthchecks", "basicAuthKey", "integrations"}
_V1_RESOURCES = frozenset(("machineType", "ports", "replicas", "autoscaling"))
V0ALPHA1 = Shape("v0alpha1", ("v0alpha1",), _V1_KEYS, _V1_RESOURCES, ("machineType", "ports"))
V1 = Shape("v1", ("v1", "latest"), _V1_KEYS, _V1_RESOURCES, ("machineType", "ports"))
SHAPES = (V1, V0ALPHA1, V0ALPHA0)  # ties go to the first
_REQUIRED = ("name", "image", "resources")


@dataclass(frozen=True)
class Difference:
    path: Path  # where in the spec (the key's line), () for the top level
    text: str


def differences(config: Mapping[str, Any], shape: Shape) -> list[Difference]:
    """What keeps `config` from being `shape`, in file order (apiVersion first)."""
    out: list[Difference] = []
    version = config.get("apiVersion", "latest")
    if version not in shape.versions:
        out.append(Difference(("apiVersion",), f"apiVersion {version!r} is not {shape.name}'s "
                              f"({' or '.join(shape.versions)})"))  # fmt: skip
    for key in config:
        if key not in shape.keys and key != "$schema":
            out.append(Difference((key,), f"`{key}` is not a {shape.name} field"))
    for key in _REQUIRED:
        if key not in config:
            out.append(Difference((), f"`{key}` is required"))
    resources = config.get("resources")
    if isinstance(resources, Mapping):
        for key in resources:
            if key not in shape.resource_keys:
                text = f"`resources.{key}` is not a {shape.name} field"
                out.append(Difference(("resources", key), text))
        for key in shape.resource_required:
            if key not in resources:
                text = f"`resources.{key}` is required in {shape.name}"
                out.append(Difference(("resources",), text))
    return out


def closest(config: Mapping[str, Any]) -> tuple[Shape, list[Difference]]:
    """The shape with the fewest differences (v1 first on a tie)."""
    ranked = [(len(d), i, s, d) for i, s in enumerate(SHAPES) for d in [differences(config, s)]]
    _n, _i, shape, diffs = min(ranked, key=lambda r: (r[0], r[1]))
    return shape, diffs


def latest_v0_fields(config: Mapping[str, Any]) -> list[Path]:
    """v0alpha0-only fields in a spec sent as `latest` (a missing apiVersion is sent as latest)."""
    if config.get("apiVersion", "latest") != "latest":
        return []
    found: list[Path] = [(k,) for k in config if k in V0_ONLY]
    resources = config.get("resources")
    if isinstance(resources, Mapping) and "instanceType" in resources:
        found.append(("resources", "instanceType"))
    return found


def v1_rewrite(config: Mapping[str, Any]) -> dict[str, Any]:
    """The v1 form of a v0-shaped spec's shape-bearing fields: apiVersion and resources."""
    given = config.get("resources")
    resources: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    port = config.get("port", 80)
    if isinstance(port, str) and port.strip().isdigit():  # `port: "7860"` (quoted in YAML)
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool):
        port = 80
    new: dict[str, Any] = {
        "machineType": resources.get("instanceType", resources.get("machineType", "C4")),
        "ports": [port],
    }
    new.update({k: v for k, v in resources.items() if k in ("replicas", "autoscaling")})
    return {"apiVersion": "v1", "resources": new}


def _flow(value: Any) -> str:
    """A short YAML flow rendering: {a: 1, b: [2]} (json for strings that need quotes)."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str) and value.replace("-", "").replace("_", "").isalnum():
        return value
    return json.dumps(value)


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str


def latest_v0_problems(config: Mapping[str, Any]) -> list[Problem]:
    """Why today's API refuses `latest` with v0 fields, one Problem per offending key; the
    first carries the whole story and the v1 rewrite (empty when the spec is fine)."""
    fields = latest_v0_fields(config)
    if not fields:
        return []
    names = ", ".join(".".join(map(str, f)) for f in fields)
    sent = "apiVersion 'latest'" if "apiVersion" in config else "no apiVersion (sent as 'latest')"
    new = v1_rewrite(config)
    rewrite = f"apiVersion: v1, resources: {_flow(new['resources'])}"
    dropped = [k for k in V0_ONLY if k in config]
    if dropped:
        rewrite += f", and remove {', '.join(dropped)}"
    if "models" in config:
        rewrite += " (models become integrations of type: model)"
    head = (
        f"{sent} with v0alpha0 fields ({names}): today's API takes 'latest' only in the v1 "
        f"shape and rejects this spec; set apiVersion: v0alpha0 to keep these fields, or "
        f"rewrite it for v1: {rewrite}"
    )
    where: Path = ("apiVersion",) if "apiVersion" in config else ()
    out = [Problem(where, head)]
    for field in fields:
        if field == ("port",):
            text = "`port` is a v0alpha0 field; v1 takes the port as resources.ports: [" + (
                f"{config.get('port')}]"
            )
        elif field == ("resources", "instanceType"):
            text = "`resources.instanceType` is a v0alpha0 field; v1 calls it resources.machineType"
        else:
            text = f"`{field[0]}` is a v0alpha0 field with no place in the v1 shape"
        out.append(Problem(field, text))
    return out


def explain(config: Mapping[str, Any]) -> list[Problem]:
    """Problems that explain a rejection of the whole `config`: the latest + v0 story if that
    is the case, else the closest shape's differences (empty: the spec fits a shape)."""
    problems = latest_v0_problems(config)
    if problems:
        return problems
    shape, diffs = closest(config)
    if not diffs:
        return []
    summary = "; ".join(d.text for d in diffs[:3])
    out = [Problem((), f"closest API shape: {shape.name}, {len(diffs)} difference(s): {summary}")]
    return out + [Problem(d.path, d.text) for d in diffs[:5]]
