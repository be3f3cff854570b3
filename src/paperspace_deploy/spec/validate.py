"""Schema errors -> findings at the exact node, with messages a person can act on.

The key is reported for unknown, misplaced and missing keys; the value for a bad value. Values
under secret-bearing keys are never shown, and every shown value is truncated.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any

from paperspace_deploy.credentials import hidden_in_messages
from paperspace_deploy.spec.findings import Finding, Severity, json_path
from paperspace_deploy.spec.load import Path_, preview
from paperspace_deploy.spec.parsed import key_preview
from paperspace_deploy.spec.schema import fast_is_valid, schema, validator

MAX_SCHEMA_FINDINGS = 30  # keeps the log of one broken file short (reliability §6.4: <= 4 KB)
# jsonschema errors looked at per file, reported or not (if/anyOf wrappers, reported paths): a
# file of 100,000 bad list items stops here instead of formatting every one of them
MAX_SCHEMA_ERRORS_SEEN = 300
SUGGEST_MAX_LEN = 64  # did-you-mean only for keys and values this short (difflib is quadratic)
_DOCS_SPACES = (
    "'url' is how the DigitalOcean docs write a do-spaces integration; the API's 'spaces' type "
    "takes 'endpoint' instead (docs and API disagree; which one the platform accepts is "
    "unknown): prefer type: spaces with endpoint"
)
_QUOTED_NUMBER = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
}

# Why a key is refused where the schema says `not: {}` (shape-specific keys)
_MISPLACED = {
    "port": "the v1 shape takes resources.ports: [PORT] instead (or set apiVersion: v0alpha0)",
    "models": "models exist only in apiVersion v0alpha0",
    "repositories": "repositories exist only in apiVersion v0alpha0",
    "integrations": "integrations need apiVersion v1 (or v0alpha1)",
    "basicAuthKey": "basicAuthKey needs apiVersion v1 (or v0alpha1)",
    "instanceType": "the v1 shape uses resources.machineType (instanceType is v0alpha0)",
    "machineType": "the v0alpha0 shape uses resources.instanceType",
    "ports": "the v0alpha0 shape uses the top-level port",
}

_PATTERN_HELP = {
    "name": "use letters, digits, spaces and . _ - / (start with a letter or digit)",
    "image": "an image reference has no spaces",
    "path": "a path starts with / and has no spaces",
}


def describe(path: Iterable[str | int]) -> str:
    """`$.resources.ports[0]`-style location."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{key_preview(part)}"
    return out


def is_sensitive(path: Iterable[str | int]) -> bool:
    return hidden_in_messages(path)  # the one secret-field policy (credentials.py)


def show(value: Any, path: Path_) -> str:
    if value is None:
        return "(empty)"
    if is_sensitive(path):
        return "(value hidden)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return preview(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "mapping" if isinstance(value, dict) else "list"


def schema_findings(
    data: dict[str, Any],
    display: str,
    locate: Callable[[Path_, bool], tuple[int, int, int | None, int | None]],
    hints: dict[Path_, str],
    reported: set[Path_],
) -> list[Finding]:
    fast = fast_is_valid()
    if fast is not None and fast(data):
        return []  # valid: jsonschema (the source of messages) is only needed for errors
    found: list[Finding] = []
    seen: set[tuple[Path_, str]] = set()
    full = False

    def add(
        path: Path_, rule: str, message: str, *, key: bool = False, sev: Severity = Severity.ERROR
    ) -> None:
        nonlocal full
        if rule == "key-not-allowed" and _docs_spaces_url(data, path):
            rule, message, sev = "do-spaces-shape", _DOCS_SPACES, Severity.WARNING
        if full or (path, message) in seen:
            return
        if len(found) >= MAX_SCHEMA_FINDINGS:
            full = True
            return
        seen.add((path, message))
        line, col, end_line, end_col = locate(path, key)
        found.append(Finding(display, line, col, sev, rule, message, end_line, end_col,
                             json_path(data, path)))  # fmt: skip

    for looked, err in enumerate(validator().iter_errors(data)):  # lazy: stops early
        if full or looked >= MAX_SCHEMA_ERRORS_SEEN:
            full = True
            break
        path: Path_ = tuple(err.absolute_path)
        if path in reported:
            continue
        where = describe(path)
        kind, value = err.validator, err.instance
        hint = hints.get(path)
        if kind == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            for extra in [k for k in value if k not in err.schema.get("properties", {})]:
                if full:
                    break
                add((*path, extra), "unknown-key", _unknown(extra, allowed, where), key=True)
        elif kind is None or (kind == "not" and path):
            # a `false` property schema (the editor then flags the key): jsonschema reports it
            # at the object, without the key, so the keys are found again in the schema
            keys = [path] if kind == "not" else [(*path, k) for k in _false_keys(err, data)]
            if not keys:
                add(path, "schema", f"{where}: not allowed here")
            for key_path in keys:
                name = key_path[-1]
                why = _MISPLACED.get(str(name)) if not _in_probe(key_path) else None
                if why is None and _in_probe(key_path):
                    why = "an exec probe takes no HTTP fields (path, port, host, headers)"
                if why is None and len(key_path) >= 3 and key_path[-3] == "integrations":
                    itype = data["integrations"][key_path[-2]].get("type")
                    why = f"{preview(name)} is not a field of a {preview(itype)} integration"
                why = why or "it does not belong to this apiVersion shape"
                message = f"key {preview(name)} is not allowed here: {why}"
                add(key_path, "key-not-allowed", message, key=True)
        elif kind == "required":
            for missing in err.validator_value:
                if not isinstance(value, dict) or missing in value:
                    continue
                if (path, missing) == ((), "image"):
                    continue  # rules.py: the deploy may supply the image (image-missing)
                if missing == "endpoint" and _docs_spaces_url(data, (*path, "url")):
                    continue  # reported once, as do-spaces-shape
                add(
                    path,
                    "missing-key",
                    f"{where}: missing required key {preview(missing)}"
                    + _required_hint(path, missing),
                    key=True,
                )
        elif kind == "type" and path == ("image",) and value is None:
            continue  # rules.py: image-missing
        elif kind == "type" and _quoted_number(value, err.validator_value):
            add(
                path,
                "quoted-number",
                f"{where}: {show(value, path)} is a string where a number is expected; remove the "
                "quotes (whether Paperspace converts it is unknown)",
                sev=Severity.WARNING,
            )
        elif kind == "type":
            want = err.validator_value
            want_s = _TYPE_NAMES.get(want, want) if isinstance(want, str) else " or ".join(want)
            shown = f" {show(value, path)}" if not isinstance(value, dict | list) else ""
            msg = f"{where}: expected {want_s}, got {_kind(value)}{shown}"
            if want == "string" and isinstance(value, int | float | bool):
                msg += '; quote it ("...") so it stays a string'
            elif want in ("integer", "number") and isinstance(value, str) and _numeric(value):
                msg += "; remove the quotes"
            add(path, "wrong-type", msg + (f" ({hint})" if hint else ""))
        elif kind in ("enum", "const"):
            options = err.validator_value if kind == "enum" else [err.validator_value]
            msg = f"{where}: must be one of {', '.join(map(str, options))}; got {show(value, path)}"
            if isinstance(value, str) and len(value) <= SUGGEST_MAX_LEN and not is_sensitive(path):
                close = difflib.get_close_matches(value, [str(o) for o in options], n=1)
                msg += f" (did you mean {close[0]!r}?)" if close else ""
            add(path, "invalid-value", msg + (f" ({hint})" if hint else ""))
        elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = {
                "minimum": ">=",
                "maximum": "<=",
                "exclusiveMinimum": ">",
                "exclusiveMaximum": "<",
            }[kind]
            add(
                path,
                "out-of-range",
                f"{where}: must be {bound} {err.validator_value}, got {show(value, path)}",
            )
        elif kind in ("minLength", "maxLength", "pattern", "format"):
            if kind == "maxLength":
                msg = f"{where}: longer than {err.validator_value} characters"
            elif kind == "minLength":
                msg = f"{where}: must not be empty"
            elif kind == "format":
                msg = f"{where}: {show(value, path)} is not a valid {err.validator_value}"
            elif _relative_path(err.schema, value):
                add(
                    path,
                    "relative-path",
                    f"{where}: {show(value, path)} must start with /: container paths are "
                    "absolute (whether Paperspace accepts a relative one is unknown)",
                    sev=Severity.WARNING,
                )
                continue
            else:
                help_ = _PATTERN_HELP.get(str(path[-1]) if path else "", "")
                msg = f"{where}: {show(value, path)} has characters that are not allowed" + (
                    f"; {help_}" if help_ else ""
                )
            add(path, "invalid-string", msg)
        elif kind in ("minItems", "maxItems"):
            if kind == "maxItems" and path == ("integrations",):
                add(
                    path,
                    "too-many-integrations",
                    f"{where}: at most {err.validator_value} integrations, got {len(value)}",
                    key=True,
                )
            else:
                word = "at least" if kind == "minItems" else "at most"
                add(
                    path,
                    "wrong-count",
                    f"{where}: needs {word} {err.validator_value} item(s)",
                    key=True,
                )
        elif kind in ("if", "allOf", "anyOf", "oneOf", "then", "else", "$ref"):
            continue  # their sub-errors are reported on their own
        else:
            add(path, "schema", f"{where}: {str(err.message)[:200]}")
    if full:
        line, col, _, _ = locate((), False)
        found.append(
            Finding(display, line, col, Severity.ERROR, "too-many-findings",
                    f"more than {MAX_SCHEMA_FINDINGS} schema errors; fix these and lint again")
        )  # fmt: skip
    return found


def _false_keys(err: Any, data: dict[str, Any]) -> list[str]:
    """The keys of the object at err's path whose subschema, in the `properties` err came from,
    is `false` (jsonschema's descend() drops the key for boolean schemas)."""
    root = validator().schema
    node: Any = root
    try:
        for part in err.schema_path:
            # the schema path goes on inside a referenced definition (with or without "$ref")
            while isinstance(node, dict) and "$ref" in node and part not in node:
                ref, node = node["$ref"], root
                for name in ref.removeprefix("#/").split("/"):
                    node = node[name]
            if part != "$ref":
                node = node[part]
    except (KeyError, IndexError, TypeError):
        return []
    if not err.schema_path or err.schema_path[-1] != "properties" or not isinstance(node, dict):
        return []
    target: Any = data
    for part in err.absolute_path:
        target = target[part]
    if not isinstance(target, dict):
        return []
    return [key for key, sub in node.items() if sub is False and key in target]


def _quoted_number(value: Any, want: Any) -> bool:
    """ "7860" where a number is expected: the 2023 deploy-action examples quote ports, and
    whether the server converts such strings is unknown (reference §1.4), so it is a warning."""
    return (
        want in ("integer", "number")
        and isinstance(value, str)
        and _QUOTED_NUMBER.fullmatch(value) is not None
        and (want == "number" or "." not in value)
    )


def _relative_path(subschema: Any, value: Any) -> bool:
    """A mount path (the `absPath` definition) that is fine except for the leading /."""
    return (
        subschema is schema()["$defs"]["absPath"]
        and isinstance(value, str)
        and not value.startswith("/")
        and value.isprintable()
    )


def _docs_spaces_url(data: dict[str, Any], path: Path_) -> bool:
    """`integrations[i].url` of a `do-spaces` integration that has no `endpoint`."""
    if len(path) != 3 or path[0] != "integrations" or path[2] != "url":
        return False
    items = data.get("integrations")
    item = items[path[1]] if isinstance(items, list) and isinstance(path[1], int) else None
    return (
        isinstance(item, dict)
        and item.get("type") == "do-spaces"
        and "url" in item
        and "endpoint" not in item
    )


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _in_probe(path: Path_) -> bool:
    return len(path) >= 3 and path[-3] in ("healthChecks", "healthchecks")


def _required_hint(path: Path_, missing: str) -> str:
    hints = {
        "ports": " (the ports the container listens on, e.g. ports: [8000])",
        "name": " (the deployment name: Paperspace updates the deployment that has this name; "
        "specs written for the old `gradient deployments create --name NAME` CLI had no name "
        "key: add name: NAME)",
        "image": " (the container image, or ':image' for the one paperspace-deploy builds)",
        "resources": " (machineType and ports, e.g. resources: {machineType: C5, ports: [8000]})",
        "machineType": " (e.g. machineType: C5)",
        "instanceType": " (e.g. instanceType: C4)",
        "path": " (an HTTP probe needs a path, e.g. path: /healthz)",
    }
    return hints.get(missing, "")


_NEVER_SUGGEST = frozenset(("healthchecks", "$schema"))  # legacy or editor-only keys


def _unknown(key: str, allowed: list[str], where: str) -> str:
    allowed = [a for a in allowed if a not in _NEVER_SUGGEST]
    lower = {a.lower(): a for a in allowed}
    guess = lower.get(key.lower()) or lower.get(key.lower() + "s")
    if guess is None and len(key) <= SUGGEST_MAX_LEN:
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        guess = close[0] if close else None
    text = f"unknown key {preview(key)} " + ("at the top level" if where == "$" else f"in {where}")
    if guess:
        text += f" (did you mean {guess!r}?)"
    return text + "; Paperspace would drop it silently"
