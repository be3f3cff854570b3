"""A small structural check of the upsert body that mirrors the server's zod schema.

It is deliberately NOT our strict lint schema: like zod it strips unknown keys, fills defaults
(`enabled: true`, `resources.replicas: 1`) and reports problems as zod issues, e.g.
`{"code":"invalid_type","expected":"string","received":"number","path":["config","image"],
"message":"Expected string, received number"}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from paperspace_deploy.credentials import hide_url_credentials, is_secret_path

Issue = dict[str, Any]
Path = list[str | int]
API_VERSIONS = ("v0alpha0", "v0alpha1", "v1", "latest")


def _received(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Checker:
    def __init__(self, strict: bool = False) -> None:
        self.issues: list[Issue] = []
        self.strict = strict  # zod .strict(): unknown keys are an issue instead of stripped

    def type_issue(self, path: Path, expected: str, value: Any, missing: bool) -> None:
        received = "undefined" if missing else _received(value)
        message = "Required" if missing else f"Expected {expected}, received {received}"
        self.issues.append(
            {
                "code": "invalid_type",
                "expected": expected,
                "received": received,
                "path": path,
                "message": message,
            }
        )

    def custom(self, path: Path, code: str, message: str, **extra: Any) -> None:
        self.issues.append({"code": code, "path": path, "message": message, **extra})

    # primitive checkers return (ok, value)
    def string(self, v: Any, path: Path, *, nonempty: bool = False) -> Any:
        if not isinstance(v, str):
            self.type_issue(path, "string", v, False)
            return None
        if nonempty and not v:
            self.custom(path, "too_small", "String must contain at least 1 character(s)")
        return v

    def number(self, v: Any, path: Path) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.type_issue(path, "number", v, False)
            return None
        return v

    def boolean(self, v: Any, path: Path) -> Any:
        if not isinstance(v, bool):
            self.type_issue(path, "boolean", v, False)
        return v

    def array(
        self, v: Any, path: Path, item: Callable[[Any, Path], Any], max_items: int = 0
    ) -> Any:
        if not isinstance(v, list):
            self.type_issue(path, "array", v, False)
            return None
        if max_items and len(v) > max_items:
            self.custom(
                path,
                "too_big",
                f"Array must contain at most {max_items} element(s)",
                maximum=max_items,
                type="array",
            )
        return [item(x, [*path, i]) for i, x in enumerate(v)]

    def obj(
        self,
        v: Any,
        path: Path,
        fields: Mapping[str, tuple[bool, Callable[..., Any]]],
        defaults: dict[str, Any] | None = None,
    ) -> Any:
        if not isinstance(v, dict):
            self.type_issue(path, "object", v, False)
            return None
        out: dict[str, Any] = {}
        for key, (required, check) in fields.items():
            if key not in v or (v[key] is None and not required):
                if required:
                    self.type_issue([*path, key], "value", None, True)
                elif defaults and key in defaults:
                    out[key] = defaults[key]
                continue
            out[key] = check(v[key], [*path, key])
        unknown = [k for k in v if k not in fields]
        if self.strict and unknown:
            self.custom(
                path, "unrecognized_keys",
                f"Unrecognized key(s) in object: {', '.join(repr(k) for k in unknown)}",
                keys=unknown,
            )  # fmt: skip
        return out  # unknown keys stripped, as zod does by default

    def enum(self, v: Any, path: Path, options: tuple[str, ...]) -> Any:
        if v not in options:
            # zod echoes the value; never a credential's (the one secret-field policy)
            shown = "<redacted>" if is_secret_path(path) else hide_url_credentials(str(v))
            self.custom(
                path,
                "invalid_enum_value",
                f"Invalid enum value. Expected {' | '.join(repr(o) for o in options)}, "
                f"received {shown[:50]!r}",
                options=list(options),
                received=v if isinstance(v, str) and shown == v else shown,
            )
        return v


SERVER_RULES = (
    "probe-port",
    "max-replicas",
    "strict",
)  # cross-field rules the live server MAY enforce


def _cross_field(config: dict[str, Any], rules: set[str], c: _Checker) -> None:
    """Optional checks the reference marks [?]; off unless a test or seed switches them on."""
    res = config.get("resources") or {}
    if "probe-port" in rules and isinstance(res.get("ports"), list):
        for block in ("healthChecks", "healthchecks"):
            for kind, probe in (config.get(block) or {}).items():
                port = (probe or {}).get("port")
                if port is not None and port not in res["ports"]:
                    c.custom(["config", block, kind, "port"], "custom",
                             f"Probe port {port} must be one of resources.ports")  # fmt: skip
    scaling = res.get("autoscaling") or {}
    top, floor = scaling.get("maxReplicas"), res.get("replicas", 1)
    if "max-replicas" in rules and isinstance(top, int | float) and top < (floor or 0):
        c.custom(["config", "resources", "autoscaling", "maxReplicas"], "too_small",
                 f"maxReplicas must be greater than or equal to replicas ({floor})")  # fmt: skip


def _shape(c: _Checker, v: dict[str, Any], p: Path, legacy: bool) -> Any:
    """Check `v` against one config shape: the v0alpha0 one (`legacy`) or the v1 one."""
    s, n, b = c.string, c.number, c.boolean

    def strs(v: Any, p: Path) -> Any:
        return c.array(v, p, s)

    def env_item(v: Any, p: Path) -> Any:
        return c.obj(v, p, {"name": (True, s), "value": (True, s)})

    def header(v: Any, p: Path) -> Any:
        return c.obj(v, p, {"name": (True, s), "value": (True, s)})

    probe_common = {
        k: (False, n)
        for k in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold")
    }

    def probe(v: Any, p: Path) -> Any:
        if isinstance(v, dict) and "exec" in v:
            exec_ = (True, lambda x, q: c.obj(x, q, {"command": (True, strs)}))
            return c.obj(v, p, {"exec": exec_, **probe_common})
        return c.obj(
            v,
            p,
            {
                "path": (True, s),
                "port": (False, n),
                "host": (False, s),
                "headers": (False, lambda x, q: c.array(x, q, header)),
                **probe_common,
            },
        )

    def health(v: Any, p: Path) -> Any:
        return c.obj(v, p, {k: (False, probe) for k in ("liveness", "readiness", "startup")})

    def metric(v: Any, p: Path) -> Any:
        return c.obj(
            v,
            p,
            {
                "metric": (True, lambda x, q: c.enum(x, q, ("cpu", "memory", "requestDuration"))),
                "summary": (True, lambda x, q: c.enum(x, q, ("average",))),
                "value": (True, n),
            },
        )

    def autoscaling(v: Any, p: Path) -> Any:
        return c.obj(
            v,
            p,
            {
                "enabled": (False, b),
                "maxReplicas": (True, n),
                "metrics": (True, lambda x, q: c.array(x, q, metric)),
            },
        )

    integration_fields = {
        "git-lfs": {"name": (True, s), "url": (True, s), "path": (False, s)},
        "s3": {
            k: (k in ("name", "url"), s)
            for k in ("name", "url", "path", "region", "endpoint", "accessKeyId", "secretAccessKey")
        },
        "spaces": {
            k: (k in ("name", "endpoint"), s)
            for k in ("name", "endpoint", "path", "accessKeyId", "secretAccessKey")
        },
        "model": {"id": (True, s), "name": (True, s), "path": (False, s)},
        "volume": {"name": (True, s)},
    }

    def integration(v: Any, p: Path) -> Any:
        kind = v.get("type") if isinstance(v, dict) else None
        if kind not in integration_fields:
            c.custom(
                [*p, "type"],
                "invalid_union_discriminator",
                "Invalid discriminator value. Expected 'git-lfs' | 's3' | 'spaces' | "
                "'model' | 'volume'",
                options=list(integration_fields),
            )
            return v
        out = c.obj(v, p, integration_fields[kind])
        if isinstance(out, dict):
            out = {"type": kind, **out}
        return out

    common: dict[str, tuple[bool, Callable[..., Any]]] = {
        "apiVersion": (True, lambda x, q: x),
        "name": (True, lambda x, q: s(x, q, nonempty=True)),
        "image": (True, lambda x, q: s(x, q, nonempty=True)),
        "enabled": (False, b),
        "containerRegistry": (False, s),
        "command": (False, strs),
        "env": (False, lambda x, q: c.array(x, q, env_item)),
        "region": (False, s),
        "healthChecks": (False, health),
    }
    resources: dict[str, tuple[bool, Callable[..., Any]]]
    extra: dict[str, tuple[bool, Callable[..., Any]]]
    if legacy:
        resources = {
            "instanceType": (True, s),
            "replicas": (False, n),
            "autoscaling": (False, autoscaling),
        }
        extra = {
            "port": (False, n),
            "models": (False, lambda x, q: x),
            "repositories": (False, lambda x, q: x),
        }
    else:
        resources = {
            "machineType": (True, s),
            "ports": (True, lambda x, q: c.array(x, q, n)),
            "replicas": (False, n),
            "autoscaling": (False, autoscaling),
        }
        extra = {
            "healthchecks": (False, health),
            "basicAuthKey": (False, s),
            "integrations": (False, lambda x, q: c.array(x, q, integration, 5)),
        }
    fields = {
        **common,
        **extra,
        "resources": (True, lambda x, q: c.obj(x, q, resources, {"replicas": 1})),
    }
    return c.obj(v, p, fields, {"enabled": True})


# The `config` union, as the API types list it: each branch maps its apiVersion values to the
# shape they take (True: the v0alpha0 shape); a discriminated branch reports a bad apiVersion as
# one `invalid_union_discriminator` issue, a plain one as `invalid_literal` plus the shape's.
Branch = tuple[dict[str, bool], bool]  # (apiVersion -> legacy shape, discriminated)
UNION_2023: tuple[Branch, ...] = (  # DA src/api.ts (2023-06)
    ({"v0alpha0": True, "latest": True}, False),
    ({"v0alpha1": False}, False),
    ({"v1": False, "latest": False}, False),
)
UNION_2024: tuple[Branch, ...] = (  # CLI api/openapi.ts (2024-04)
    ({"v0alpha0": True, "v0alpha1": False}, True),
    ({"v1": False, "latest": False}, False),
)


def _config(c: _Checker, v: Any, p: Path, union: bool, latest_v1_only: bool) -> Any:
    if not isinstance(v, dict):
        c.type_issue(p, "object", v, v is None)
        return None
    version = v.get("apiVersion")
    res: dict[str, Any] = v["resources"] if isinstance(v.get("resources"), dict) else {}
    if not union:  # discriminate on apiVersion and report that shape's issues, flat
        if version is None:
            c.type_issue([*p, "apiVersion"], "string", None, True)
        else:
            c.enum(version, [*p, "apiVersion"], API_VERSIONS)
        legacy = version == "v0alpha0" or (
            version == "latest" and not latest_v1_only
            and "instanceType" in res and "machineType" not in res
        )  # fmt: skip
        return _shape(c, v, p, legacy)
    # zod `z.union`: every branch is tried; if none passes, ONE issue at the union's path
    union_errors = []
    for options, discriminated in UNION_2024 if latest_v1_only else UNION_2023:
        b = _Checker(c.strict)
        legacy = options.get(str(version), next(iter(options.values())))
        if version not in options:
            expected = " | ".join(repr(o) for o in options)
            if discriminated:
                b.custom([*p, "apiVersion"], "invalid_union_discriminator",
                         f"Invalid discriminator value. Expected {expected}",
                         options=list(options))  # fmt: skip
                union_errors.append({"issues": b.issues, "name": "ZodError"})
                continue
            b.custom([*p, "apiVersion"], "invalid_literal",
                     f"Invalid literal value, expected {expected}",
                     expected=next(iter(options)), received=version)  # fmt: skip
        out = _shape(b, v, p, legacy)
        if not b.issues:
            return out
        union_errors.append({"issues": b.issues, "name": "ZodError"})
    c.custom(p, "invalid_union", "Invalid input", unionErrors=union_errors)
    return None


def validate_upsert(
    body: Any,
    rules: set[str] | frozenset[str] = frozenset(),
    *,
    union: bool = False,
    latest_v1_only: bool = False,
) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Return (parsed body with config normalised, issues).

    `union`: config problems come back as zod's union answer (one `invalid_union` issue at
    ["config"] with `unionErrors`) instead of the flat issues of the apiVersion's shape.
    `latest_v1_only`: `latest` takes only the v1 shape (the 2024 types), not the v0 one too.
    """
    c = _Checker(strict="strict" in rules)
    s = c.string

    def config(v: Any, p: Path) -> Any:
        return _config(c, v, p, union, latest_v1_only)

    if not isinstance(body, dict):
        c.type_issue([], "object", body, body is None)
        return None, c.issues
    parsed = c.obj(
        body,
        [],
        {
            "projectId": (True, lambda x, q: s(x, q, nonempty=True)),
            "deploymentId": (False, s),
            "config": (True, config),
        },
    )
    if not c.issues and parsed is not None and rules:
        _cross_field(parsed["config"], set(rules), c)
    return (parsed if not c.issues else None), c.issues
