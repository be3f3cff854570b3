"""Checks the JSON Schema cannot express, each with a stable rule id (see docs/linting.md)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any

from paperspace_deploy.credentials import (
    is_secret_path,
    looks_like_token,
    looks_secret_by_name,
    url_credentials,
)
from paperspace_deploy.spec.findings import Finding, Severity, json_path
from paperspace_deploy.spec.load import Path_, preview
from paperspace_deploy.spec.parsed import key_preview

PLACEHOLDER = ":image"
_TEMPLATE = re.compile(
    r"[^<>]*+<[^<>]++>.*+"
)  # `<image-name>`, `ghcr.io/<org>/app`: to be filled in

# Documented deployment machine types (reference §4.1); anything else is a warning, not an error.
MACHINE_TYPES = (
    "C3", "C4", "C5", "C7", "M4000", "GPU+", "P4000", "P5000", "P6000", "RTX4000", "RTX5000",
    "A4000", "A5000", "A6000", "V100", "V100-32G", "A100", "A100-80G", "H100",
)  # fmt: skip

_MACHINE = re.compile(r"[A-Za-z0-9+()._-]{1,64}")  # the schema's pattern; others are errors there
SECRET_REF = re.compile(r"secret:[A-Za-z][A-Za-z0-9_]{0,127}")

# Docker reference grammar (distribution/reference), split into bounded pieces (no nested `*`).
_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*(?::[0-9]{1,5})?|\[[0-9A-Fa-f:]+\](?::[0-9]{1,5})?"
)
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


UPPERCASE_PROBLEM = "repository name must be lowercase"


def image_problem(ref: str) -> str | None:
    """Why `ref` is not a valid image reference, or None."""
    if len(ref) > 512 or not ref or any(c.isspace() for c in ref):
        return None  # the schema reports length and blanks
    name, _, digest = ref.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        return "the digest after @ must look like sha256:<64 hex digits>"
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            return "the tag must be 1-128 of letters, digits, _ . - (not starting with . or -)"
    parts = name.split("/")
    if len(parts) > 1 and (
        "." in parts[0] or ":" in parts[0] or parts[0] == "localhost" or parts[0].startswith("[")
    ):
        if not _DOMAIN.fullmatch(parts[0]):
            return f"registry host {preview(parts[0])} is not valid"
        parts = parts[1:]
    for part in parts:
        if not _COMPONENT.fullmatch(part):
            if _COMPONENT.fullmatch(part.lower()):
                return UPPERCASE_PROBLEM
            return f"repository path component {preview(part)} is not valid"
    return None


Locate = Callable[[Path_, bool], tuple[int, int, int | None, int | None]]


class _Rules:
    def __init__(self, data: dict[str, Any], display: str, locate: Locate, ctx: Any):
        self.data, self.display, self._locate, self.ctx = data, display, locate, ctx
        self.found: list[Finding] = []

    def add(self, path: Path_, sev: Severity, rule: str, message: str, key: bool = False) -> None:
        line, col, end_line, end_col = self._locate(path, key)
        self.found.append(Finding(self.display, line, col, sev, rule, message, end_line, end_col,
                                  json_path(self.data, path)))  # fmt: skip

    def run(self) -> list[Finding]:
        for check in (
            self.api_version,
            self.image,
            self.machine_type,
            self.replicas,
            self.integrations,
            self.probes,
            self.secrets,
            self.env,
            self.region,
        ):
            check()
        return self.found

    def legacy_fields(self) -> list[str]:
        """The v0alpha0 fields present (the schema's `legacyMarkers`)."""
        d = self.data
        res = d.get("resources")
        legacy: list[str] = [k for k in ("port", "models", "repositories") if k in d]
        if isinstance(res, dict) and "instanceType" in res:
            legacy.append("resources.instanceType")
        return legacy

    def legacy_shape(self) -> bool:
        """Checked as v0alpha0: said so, or no apiVersion / `latest` with v0alpha0 fields."""
        version = self.data.get("apiVersion")
        return version == "v0alpha0" or (version in (None, "latest") and bool(self.legacy_fields()))

    def api_version(self) -> None:
        d = self.data
        version = d.get("apiVersion")
        legacy = self.legacy_fields()
        if version in (None, "latest") and legacy and self.ctx.deploying:
            from paperspace_deploy.spec.shapes import latest_v0_problems  # the 2024 types refuse it

            for problem in latest_v0_problems(d):
                self.add(problem.path, Severity.ERROR, "legacy-shape", problem.message, key=True)
        elif version in (None, "latest") and legacy:
            what = "no apiVersion" if version is None else "apiVersion latest"
            self.add(
                ("apiVersion",) if version else (),
                Severity.WARNING,
                "legacy-shape",
                f"{what} with legacy v0alpha0 fields ({', '.join(legacy)}): accepted in 2023, "
                "but today's API lists 'latest' only for the v1 shape; set apiVersion: "
                "v0alpha0, or move to v1 (resources.machineType, resources.ports)",
            )
        elif "apiVersion" not in d:
            self.add(
                (),
                Severity.WARNING,
                "api-version-missing",
                "no apiVersion: it is sent as 'latest'; set apiVersion: v1 explicitly",
            )

    def image(self) -> None:
        image = self.data.get("image")
        if self.ctx.image:  # the deploy sends this image instead of the spec's (any, or none)
            problem = image_problem(self.ctx.image)
            if problem:
                self.add(("image",), Severity.ERROR, "image-reference",
                         f"the image to deploy {preview(self.ctx.image)} is not a valid "
                         f"reference: {problem}")  # fmt: skip
            return
        if image is None:  # missing or `image:` left empty for the workflow to fill in
            what = "image is empty" if "image" in self.data else "$: missing required key 'image'"
            if self.ctx.deploying:
                self.add(("image",), Severity.ERROR, "image-missing",
                         f"{what} and no image was given; pass --image (action input `image`) "
                         "or build one")  # fmt: skip
            else:
                self.add(("image",), Severity.WARNING, "image-missing",
                         f"{what}: a deploy must supply one (--image, or the action input "
                         "`image`, which replaces spec.image); Paperspace rejects a spec "
                         "without one")  # fmt: skip
            return
        if not isinstance(image, str):
            return
        if image == PLACEHOLDER or _TEMPLATE.fullmatch(image):
            what = (
                "the ':image' placeholder"
                if image == PLACEHOLDER
                else f"the template placeholder {preview(image, 60)}"
            )
            if self.ctx.deploying:
                self.add(("image",), Severity.ERROR, "image-placeholder",
                         f"spec uses {what} but no image was given; pass --image (action "
                         "input `image`) or build one")  # fmt: skip
            else:
                self.add(("image",), Severity.WARNING, "image-placeholder",
                         f"image is {what}: a deploy replaces it with the image it is given, "
                         "and fails if there is none")  # fmt: skip
            return
        problem = image_problem(image)
        if problem == UPPERCASE_PROBLEM and not self.ctx.deploying:
            # Real specs ship like this (invokeai); the platform cannot pull it, so a deploy
            # refuses it, but plain lint (a PR check) reports it without failing the file.
            self.add(("image",), Severity.WARNING, "image-reference",
                     f"invalid image reference {preview(image)}: {problem}; the platform "
                     "cannot pull it and deploy refuses it")  # fmt: skip
        elif problem:
            self.add(
                ("image",),
                Severity.ERROR,
                "image-reference",
                f"invalid image reference {preview(image)}: {problem}",
            )

    def machine_type(self) -> None:
        res = self.data.get("resources")
        if not isinstance(res, dict):
            return
        for key in ("machineType", "instanceType"):
            value = res.get(key)
            if isinstance(value, str) and value not in MACHINE_TYPES and _MACHINE.fullmatch(value):
                close = {m.lower(): m for m in MACHINE_TYPES}.get(value.lower()) or next(
                    iter(difflib.get_close_matches(value, MACHINE_TYPES, n=1)), None
                )
                self.add(
                    ("resources", key),
                    Severity.WARNING,
                    "machine-type",
                    f"machine type {preview(value)} is not in the documented list"
                    + (f" (did you mean {close!r}?)" if close else "")
                    + f"; known: {', '.join(MACHINE_TYPES)}",
                )

    def replicas(self) -> None:
        res = self.data.get("resources")
        if not isinstance(res, dict) or not isinstance(res.get("autoscaling"), dict):
            return
        replicas = res.get("replicas", 1)
        top = res["autoscaling"].get("maxReplicas")
        if _is_int(replicas) and _is_int(top) and top < replicas:
            self.add(
                ("resources", "autoscaling", "maxReplicas"),
                Severity.ERROR,
                "replicas-range",
                f"maxReplicas ({top}) is lower than replicas "
                f"({replicas}); autoscaling keeps replicas between the two",
            )

    def integrations(self) -> None:
        items = self.data.get("integrations")
        if not isinstance(items, list):
            return
        names: dict[str, int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            name = item.get("name")
            if isinstance(name, str):
                if name in names:
                    self.add(
                        ("integrations", i, "name"),
                        Severity.ERROR,
                        "duplicate-integration",
                        f"integration name {preview(name)} is already used by "
                        f"integrations[{names[name]}]; names must be unique",
                    )
                names.setdefault(name, i)
            if item.get("type") == "do-spaces":
                self.add(
                    ("integrations", i, "type"),
                    Severity.WARNING,
                    "integration-type",
                    "type 'do-spaces' is the docs' spelling; the API calls it 'spaces' "
                    "(paperspace-deploy sends 'spaces')",
                )

    def probes(self) -> None:
        d = self.data
        if "healthChecks" in d and "healthchecks" in d:
            self.add(
                ("healthchecks",),
                Severity.WARNING,
                "healthchecks-conflict",
                "both healthChecks and healthchecks are set; which one wins is undefined: "
                "keep healthChecks",
                key=True,
            )
        elif "healthchecks" in d:
            self.add(
                ("healthchecks",),
                Severity.WARNING,
                "legacy-healthchecks",
                "'healthchecks' is the legacy spelling; use 'healthChecks'",
                key=True,
            )
        res = d["resources"] if isinstance(d.get("resources"), dict) else {}
        ports = res.get("ports")
        if isinstance(ports, list):
            known = [p for p in ports if _is_int(p)]
            field = "resources.ports"
        elif self.legacy_shape():  # v0alpha0: the top-level port, 80 when missing
            known = [d.get("port", 80)]
            field = "port"
        else:
            return
        for block in ("healthChecks", "healthchecks"):
            checks = d.get(block)
            if not isinstance(checks, dict):
                continue
            for kind, probe in checks.items():
                port = probe.get("port") if isinstance(probe, dict) else None
                if _is_int(port) and port not in known:
                    self.add(
                        (block, kind, "port"),
                        Severity.WARNING,
                        "probe-port",
                        f"{key_preview(kind)} probe port {port} is not in {field} "
                        f"({', '.join(map(str, known)) or 'none'})",
                    )

    def _secret_values(self) -> list[tuple[Path_, str, str]]:
        """(path, value, label) of every value that may hold or reference a secret."""
        out: list[tuple[Path_, str, str]] = []
        d = self.data
        if isinstance(d.get("basicAuthKey"), str):
            out.append((("basicAuthKey",), d["basicAuthKey"], "basicAuthKey"))
        for i, item in enumerate(_dicts(d.get("integrations"))):
            if isinstance(item.get("secretAccessKey"), str):
                out.append(
                    (
                        ("integrations", i, "secretAccessKey"),
                        item["secretAccessKey"],
                        "secretAccessKey",
                    )
                )
        repos = d.get("repositories")
        if isinstance(repos, dict):
            for i, repo in enumerate(_dicts(repos.get("repositories"))):
                if isinstance(repo.get("password"), str):
                    out.append(
                        (
                            ("repositories", "repositories", i, "password"),
                            repo["password"],
                            "password",
                        )
                    )
        return out

    def _strings(self) -> Iterator[tuple[Path_, str]]:
        """(path, value) of every string in the spec (a stack: no recursion on deep data)."""
        stack: list[tuple[Path_, Any]] = [((), self.data)]
        while stack:
            path, value = stack.pop()
            if isinstance(value, dict):
                stack.extend(((*path, str(k)), v) for k, v in value.items())
            elif isinstance(value, list):
                stack.extend(((*path, i), v) for i, v in enumerate(value))
            elif isinstance(value, str):
                yield path, value

    def secrets(self) -> None:
        for path, value in self._strings():
            # the secret-field policy (credentials.py): a token in a probe header, a password
            # in a URL (git-lfs https://user:token@host) are plaintext credentials too
            if any(":" in u for u in url_credentials(value)):
                self.add(
                    path,
                    Severity.WARNING,
                    "plaintext-credential",
                    "this URL carries a password or token (not shown); the spec is stored and "
                    "shown in plain text: keep credentials out of URLs",
                )
            elif "headers" in path and is_secret_path(path) and looks_like_token(value):
                self.add(
                    path,
                    Severity.WARNING,
                    "plaintext-credential",
                    "a probe header value looks like a plaintext credential (not shown)",
                )
        for path, value, label in self._secret_values():
            if value.startswith("secret:"):
                self._check_ref(path, value)
            elif value:
                self.add(
                    path,
                    Severity.WARNING,
                    "plaintext-credential",
                    f"{label} holds a plaintext value (not shown); store it as a Paperspace "
                    "secret and write secret:NAME",
                )

    def env(self) -> None:
        names: dict[str, int] = {}
        for i, item in enumerate(_dicts(self.data.get("env"))):
            name, value = item.get("name"), item.get("value")
            if isinstance(name, str):
                if name in names:
                    self.add(
                        ("env", i, "name"),
                        Severity.ERROR,  # reliability §6.1 row 27 asks for an error
                        "duplicate-env",
                        f"environment variable {preview(name)} is already set by "
                        f"env[{names[name]}]; only one value can win",
                    )
                names.setdefault(name, i)
            if not isinstance(value, str):
                continue
            if value.startswith("secret:"):
                self._check_ref(("env", i, "value"), value)
            elif looks_like_token(value):
                self.add(
                    ("env", i, "value"),
                    Severity.WARNING,
                    "plaintext-credential",
                    f"env[{i}].value looks like a plaintext credential (not shown); store it "
                    "as a Paperspace secret and write value: secret:NAME",
                )
            elif isinstance(name, str) and looks_secret_by_name(name) and len(value) >= 8:
                self.add(
                    ("env", i, "value"),
                    Severity.WARNING,
                    "possible-plaintext-credential",
                    f"env {preview(name)} looks secret but its value is plaintext (not "
                    "shown); use value: secret:NAME",
                )

    def _check_ref(self, path: Path_, value: str) -> None:
        if not SECRET_REF.fullmatch(value):
            self.add(
                path,
                Severity.ERROR,
                "secret-name",
                f"{preview(value[:140])} cannot name a secret: secret names match "
                "^[A-Za-z][A-Za-z0-9_]*$ (1-128 characters)",
            )

    def region(self) -> None:
        region = self.data.get("region")
        if isinstance(region, str) and region.lower() != "ny2":
            self.add(
                ("region",),
                Severity.WARNING,
                "region",
                f"region {preview(region)}: Paperspace Deployments run only in ny2",
            )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v if isinstance(v, dict) else {} for v in value] if isinstance(value, list) else []


def rule_findings(data: dict[str, Any], display: str, locate: Locate, ctx: Any) -> list[Finding]:
    return _Rules(data, display, locate, ctx).run()
