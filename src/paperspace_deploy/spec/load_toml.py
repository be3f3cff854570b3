"""TOML through tomllib; positions come from a line scan (tomllib keeps none)."""

from __future__ import annotations

import math
import re
from typing import Any

from paperspace_deploy.spec.parsed import (
    MAX_DEPTH,
    Parsed,
    Path_,
)

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_KEY = re.compile(
    r"\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"
    r"\"[^\"]*\"|'[^']*'))*)\s*=\s*"
)
_TOML_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")


def _toml_parts(dotted: str) -> tuple[str, ...]:
    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)", dotted)
    return tuple(a or b or c for a, b, c in parts)


def load_toml(text: str, out: Parsed) -> None:
    import tomllib

    depth = 0
    for ch in text:  # cheap bound on inline nesting (tomllib recurses)
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH * 2:
                raise out.abort(1, 1, "too-deep", f"nesting deeper than {MAX_DEPTH} levels")
        elif ch in "]}":
            depth = max(depth - 1, 0)
        elif ch == "\n":
            depth = 0 if depth <= 2 else depth
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POS.search(msg)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        raise out.abort(
            line, col, "toml-syntax", f"TOML syntax error: {_TOML_POS.sub('', msg).strip()[:200]}"
        ) from None
    out.positions[()] = (1, 1, 1, 1)
    table: Path_ = ()
    arrays: dict[Path_, int] = {}
    in_multiline = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.count('"""') % 2 or line.count("'''") % 2:
            in_multiline = not in_multiline
            if not in_multiline:
                continue
        elif in_multiline:
            continue
        h = _TOML_HEADER.match(line)
        if h and not _TOML_KEY.match(line):
            parts = _toml_parts(h.group(2))
            col = line.index("[") + 1
            if h.group(1) == "[[":
                index = arrays.get(parts, 0)
                arrays[parts] = index + 1
                out.key_positions.setdefault(parts, (lineno, col, lineno, col))
                out.positions.setdefault(parts, (lineno, col, lineno, col))
                table = (*parts, index)
            else:
                table = parts
                out.key_positions[table] = (lineno, col, lineno, col)
            out.positions[table] = (lineno, col, lineno, col)
            continue
        k = _TOML_KEY.match(line)
        if k:
            path = (*table, *_toml_parts(k.group(1)))
            out.key_positions[path] = (lineno, k.start(1) + 1, lineno, k.end(1) + 1)
            out.positions[path] = (lineno, k.end() + 1, lineno, len(line) + 1)
    out.data = _normalise_toml(data, out)


def _normalise_toml(data: Any, out: Parsed) -> Any:
    """Dates become strings (with a hint); nan/inf are findings."""
    import datetime as dt

    todo: list[tuple[Any, Path_]] = [(data, ())]
    while todo:
        node, path = todo.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for k, v in items:
            where = (*path, k)
            if isinstance(v, dict | list):
                todo.append((v, where))
            elif isinstance(v, dt.date | dt.time):
                node[k] = v.isoformat()
                out.hints[where] = "TOML reads this as a date; quote it to make it a string"
            elif isinstance(v, float) and not math.isfinite(v):
                p = out.positions.get(where, (1, 1, 1, 1))
                out.add(p[0], p[1], "non-finite-number", f"{v} is not a finite number")
                out.reported.add(where)
    return data
