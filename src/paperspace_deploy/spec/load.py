"""Bounded loading of spec files (YAML, JSON, JSONC, TOML) with a position for every node.

Hostile input is cut off before it can cost anything: a byte cap before parsing, a control
character scan, a nesting limit enforced while events stream in (no recursion anywhere, so neither
the C loader's stack nor Python's recursion limit is ever reached), and an alias expansion budget
counted as nodes complete (a billion-laughs file is rejected after a few hundred events).

YAML is read from PyYAML's event stream (libyaml when present) by our own iterative composer, so:
  * scalars follow YAML 1.2 core rules: `yes`/`on`/`0123`/`22:22`/dates stay strings, and the
    schema step explains them with a hint (the YAML 1.1 meaning) if they land where a non-string
    is expected; `.nan`/`.inf` are rejected, leading-zero integers are rejected;
  * PyYAML's global resolver tables are never touched (`yaml.safe_load` is unaffected);
  * duplicate keys (with both lines), non-string keys, unsupported tags and several documents are
    findings, never exceptions.
Parser messages never include source lines: only positions and a short problem description.
"""

from __future__ import annotations

import re

from paperspace_deploy.spec.findings import Finding, Severity
from paperspace_deploy.spec.parsed import (  # re-exported: the loaders' shared vocabulary
    MAX_BYTES,
    MAX_DEPTH,
    Abort,
    Parsed,
    Path_,
    Pos,
    preview,
)

__all__ = ["MAX_BYTES", "MAX_DEPTH", "Parsed", "Path_", "Pos", "parse_bytes", "preview"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")


def parse_bytes(raw: bytes, display: str, suffix: str) -> Parsed:
    out = Parsed(display)
    try:
        text = _decode(raw, out)
        if suffix == ".toml":
            from paperspace_deploy.spec.load_toml import load_toml

            load_toml(text, out)
        elif suffix in (".json", ".jsonc"):
            from paperspace_deploy.spec.load_json import JsonParser

            JsonParser(text, out, comments=suffix == ".jsonc").parse()
        else:
            from paperspace_deploy.spec.load_yaml import load_yaml

            load_yaml(text, out)
        if not isinstance(out.data, dict):  # the loaders abort on empty files themselves
            kind = "list" if isinstance(out.data, list) else type(out.data).__name__
            kind = {"str": "string", "int": "number", "float": "number", "bool": "boolean"}.get(
                kind, "null" if out.data is None else kind
            )
            raise out.abort(1, 1, "top-level-type", f"top level must be a mapping, got {kind}")
    except Abort:
        out.data = None
    except RecursionError:  # belt and braces: no path should recurse deeply
        out.findings.append(
            Finding(display, 1, 1, Severity.ERROR, "too-deep", "nesting too deep to read")
        )
        out.data = None
    return out


def _decode(raw: bytes, out: Parsed) -> str:
    if len(raw) > MAX_BYTES:
        raise out.abort(
            1,
            1,
            "file-too-large",
            f"spec file too large (more than {MAX_BYTES} bytes, the 1 MiB limit); "
            "real specs are a few KB",
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise out.abort(1, 1, "encoding", "spec is UTF-16 encoded; save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise out.abort(
            line,
            col,
            "encoding",
            f"spec is not valid UTF-8 (byte offset {exc.start}); save it as UTF-8",
        ) from None
    text = text.removeprefix("\ufeff")
    bad = _CONTROL.search(text)
    if bad:
        line, col = _line_col(text, bad.start())
        raise out.abort(
            line,
            col,
            "control-character",
            f"control character U+{ord(bad.group()):04X} at offset {bad.start()}; remove it",
        )
    if not text.strip():
        raise out.abort(1, 1, "empty-file", "spec file is empty")
    return text


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
