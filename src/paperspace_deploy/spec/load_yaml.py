"""YAML: PyYAML's event stream (libyaml when present) composed by our own iterative loop.

Scalars follow the YAML 1.2 core schema: `yes`/`on`/`0123`/`22:22`/dates stay strings, and a hint
records the YAML 1.1 meaning for the schema step; `.nan`/`.inf` and leading-zero integers are
findings. Nesting is limited while events stream in (nothing recurses), aliases are counted as
nodes complete (a billion-laughs file stops after a few hundred events), and PyYAML's global
resolver tables are never touched.
"""

from __future__ import annotations

import math
import re
from typing import Any

from paperspace_deploy.spec.parsed import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_NODES,
    MAX_NUMBER_CHARS,
    Frame,
    Parsed,
    Path_,
    Pos,
    preview,
)

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_OCTAL = re.compile(r"[-+]?0[0-7]+")
_NONFINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_BOOL11 = re.compile(r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)")
_OTHER11 = re.compile(
    r"[-+]?0b[01_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
)
_LONG_NUMBER = re.compile(r"[-+]?[0-9]++(?:\.[0-9]*+)?(?:[eE][-+]?[0-9]++)?")
MAX_ALIAS_CHARS = MAX_BYTES  # text that aliases may add, on top of the file's own
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_NUMERIC_START = frozenset("0123456789+-.~")
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_BOOL11_WORDS = frozenset(
    ("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off")
)
_WORDS = _NULLS | _TRUE | _FALSE | _BOOL11_WORDS | {"OFF"}
_CORE = "tag:yaml.org,2002:"
_MERGE = object()
_SKIP = object()


def _plain_scalar(text: str, out: Parsed, where: Path_ | None, pos: Pos) -> Any:
    """YAML 1.2 core schema for an untagged plain scalar, with findings for YAML 1.1 traps."""
    if text[:1] not in _NUMERIC_START and text not in _WORDS:
        return text  # the common case: an ordinary word, no resolution needed
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if len(text) <= MAX_NUMBER_CHARS:  # numbers are short: no regex work on long strings
        if _INT.fullmatch(text):
            return int(text)
        if _LEADING_ZERO.fullmatch(text):
            meaning = ""
            if _OCTAL.fullmatch(text):
                meaning = f": YAML 1.1 reads it as octal ({int(text, 8)}), YAML 1.2 as {int(text)}"
            out.add(
                pos[0],
                pos[1],
                "leading-zero",
                f"number {preview(text)} has a leading zero{meaning}; remove "
                "the zero or quote the value",
            )
            _mark(out, where)
            return text
        if _FLOAT.fullmatch(text) and any(c.isdigit() for c in text):
            number = float(text)
            if not math.isfinite(number):  # 1e400
                out.non_finite(pos[0], pos[1], where, text)
                return text
            return number
        if _NONFINITE.fullmatch(text):
            out.non_finite(pos[0], pos[1], where, text)
            return text
        if where is None:
            pass
        elif _BOOL11.fullmatch(text):
            out.hints[where] = f"YAML 1.1 reads {text} as a boolean; write true or false"
        elif _OTHER11.fullmatch(text):
            out.hints[where] = "YAML 1.1 reads this as a number (base 2/16/60 or with _)"
    elif _LONG_NUMBER.fullmatch(text):  # YAML 1.2 reads it as a number; Python's int() may not
        out.number_too_large(pos[0], pos[1], where, len(text))
        return None
    if where is not None and len(text) < 40 and _DATE.fullmatch(text):
        out.hints[where] = "unquoted dates are strings here; quote the value to make that explicit"
    return text


def _short(tag: str) -> str:
    return preview("!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag)


def _mark(out: Parsed, where: Path_ | None) -> None:
    if where is not None:
        out.reported.add(where)


def _tagged_scalar(tag: str, text: str, out: Parsed, where: Path_ | None, pos: Pos) -> Any:
    kind = tag[len(_CORE) :] if tag.startswith(_CORE) else None
    if tag == "!" or kind == "str":
        return text
    if kind in ("int", "float", "bool", "null"):
        value = _plain_scalar(text, out, where, pos)
        wants: dict[str, type | tuple[type, ...]] = {
            "int": int,
            "float": (int, float),
            "bool": bool,
            "null": type(None),
        }
        want = wants[kind]
        if isinstance(value, want) and not (kind != "bool" and isinstance(value, bool)):
            return float(value) if kind == "float" else value  # type: ignore[arg-type]
        out.add(pos[0], pos[1], "unsupported-tag", f"{preview(text)} is not a valid !!{kind}")
        _mark(out, where)
        return text
    out.add(
        pos[0],
        pos[1],
        "unsupported-tag",
        f"unsupported YAML tag {_short(tag)}; specs use plain values only",
    )
    _mark(out, where)
    return None


def load_yaml(text: str, out: Parsed) -> None:
    import yaml

    loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    anchors: dict[str, tuple[Any, int, int]] = {}  # value, nodes, characters
    open_anchors: set[str] = set()
    stack: list[Frame] = []
    expanded = 0  # nodes counted with aliases expanded
    expanded_chars = 0  # characters of keys and strings that aliases repeat
    used_alias = False
    documents = 0
    root: Any = None
    have_root = False

    def pos_of(ev: Any) -> Pos:
        s, e = ev.start_mark, ev.end_mark
        return (s.line + 1, s.column + 1, e.line + 1, e.column + 1)

    def child_path() -> Path_:
        top = stack[-1]
        if top.is_map:
            key = top.key
            return (*top.path, key) if isinstance(key, str) else (*top.path, "?")
        return (*top.path, len(top.value))

    def attach(value: Any, pos: Pos, is_scalar: bool) -> None:
        nonlocal root, have_root
        if not stack:
            root, have_root = value, True
            out.positions[()] = pos
            return
        top = stack[-1]
        if not top.is_map:
            out.positions[(*top.path, len(top.value))] = pos
            top.value.append(value)
            return
        if top.key is None:  # this node is a key
            if not is_scalar or not isinstance(value, str):
                shown = "a mapping or list" if not is_scalar else preview(value)
                out.add(
                    pos[0],
                    pos[1],
                    "non-string-key",
                    f"mapping keys must be strings; quote {shown}"
                    if is_scalar
                    else f"mapping keys must be strings, got {shown}",
                )
                top.key = _SKIP
                return
            top.key, top.key_pos = value, pos
            return
        key, top.key = top.key, None
        if key is _SKIP:
            return
        if key is _MERGE:
            merged = value if isinstance(value, list) else [value]
            if not all(isinstance(m, dict) for m in merged):
                out.add(pos[0], pos[1], "invalid-merge", "'<<' must merge a mapping")
                return
            top.merges.extend(merged)
            return
        first = top.seen.get(key)
        key_pos = top.key_pos or pos
        if first is not None:
            out.add(
                key_pos[0],
                key_pos[1],
                "duplicate-key",
                f"duplicate key {preview(key)} (first defined at line {first}); YAML keeps only "
                "the last one silently",
            )
        top.seen[key] = key_pos[0]
        path = (*top.path, key)
        out.positions[path] = pos
        out.key_positions[path] = key_pos
        top.value[key] = value

    def count(n: int, ev: Any, alias_chars: int = 0) -> None:
        nonlocal expanded, expanded_chars
        expanded += n
        expanded_chars += alias_chars
        if used_alias and (expanded > MAX_EXPANDED_NODES or expanded_chars > MAX_ALIAS_CHARS):
            p = pos_of(ev)
            what = (
                f"{MAX_EXPANDED_NODES} nodes"
                if expanded > MAX_EXPANDED_NODES
                else f"{MAX_ALIAS_CHARS:,} more characters"
            )
            raise out.abort(
                p[0],
                p[1],
                "alias-bomb",
                f"document expands to more than {what} through aliases "
                "(YAML alias bomb?); remove the anchors and aliases",
            )
        if expanded > MAX_NODES:
            p = pos_of(ev)
            raise out.too_many_nodes(p[0], p[1])

    parser = loader(text)
    ev_scalar, ev_alias = yaml.ScalarEvent, yaml.AliasEvent
    ev_start = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ev_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    ev_doc, ev_stream_end = yaml.DocumentStartEvent, yaml.StreamEndEvent
    try:
        while True:
            ev = parser.get_event()
            cls = type(ev)
            if cls is ev_scalar:
                p = pos_of(ev)
                is_key = bool(stack) and stack[-1].is_map and stack[-1].key is None
                where = child_path() if stack and not is_key else None if is_key else ()
                if ev.tag == "!":  # the non-specific tag: a string
                    value = ev.value
                elif ev.tag is not None:
                    value = _tagged_scalar(ev.tag, ev.value, out, where, p)
                elif ev.implicit[0] and not ev.style:  # plain and untagged
                    if is_key and ev.value == "<<":
                        stack[-1].key = _MERGE
                        continue
                    value = _plain_scalar(ev.value, out, where, p)
                else:
                    value = ev.value
                if is_key and value is not None and not isinstance(value, str):
                    # 1: / true: keys: say so with the text the user wrote
                    out.add(
                        p[0],
                        p[1],
                        "non-string-key",
                        f"mapping keys must be strings; quote {preview(ev.value)}",
                    )
                    stack[-1].key = _SKIP
                    continue
                count(0 if is_key else 1, ev)  # values, as in JSON and TOML
                attach(value, p, True)
                if ev.anchor:
                    anchors[ev.anchor] = (value, 1, len(value) if isinstance(value, str) else 0)
            elif cls in ev_start:
                if len(stack) >= MAX_DEPTH:
                    p = pos_of(ev)
                    raise out.abort(
                        p[0], p[1], "too-deep", f"nesting deeper than {MAX_DEPTH} levels"
                    )
                tag = ev.tag
                is_key = bool(stack) and stack[-1].is_map and stack[-1].key is None
                path = child_path() if stack and not is_key else (("?key",) if is_key else ())
                if tag not in (None, "!", _CORE + "map", _CORE + "seq"):
                    p = pos_of(ev)
                    out.add(
                        p[0],
                        p[1],
                        "unsupported-tag",
                        f"unsupported YAML tag {_short(tag)}; specs use plain values only",
                    )
                    out.reported.add(path)
                s = ev.start_mark
                frame = Frame(
                    cls is yaml.MappingStartEvent, path, (s.line + 1, s.column + 1), ev.anchor
                )
                if ev.anchor:
                    open_anchors.add(ev.anchor)
                stack.append(frame)
                count(1, ev)
            elif cls in ev_end:
                frame = stack.pop()
                if frame.anchor:
                    open_anchors.discard(frame.anchor)
                if frame.merges:
                    merged: dict[str, Any] = {}
                    for m in frame.merges:
                        for k, v in m.items():
                            merged.setdefault(k, v)
                    merged.update(frame.value)
                    frame.value = merged
                e = ev.end_mark
                p = (*frame.start, e.line + 1, e.column + 1)
                attach(frame.value, p, False)
                if frame.anchor:
                    anchors[frame.anchor] = (frame.value, *_size(frame.value))
            elif cls is ev_alias:
                p = pos_of(ev)
                if ev.anchor in open_anchors:
                    raise out.abort(
                        p[0],
                        p[1],
                        "recursive-alias",
                        f"alias *{preview(ev.anchor)[1:-1]} refers to a node that contains it "
                        "(recursive alias)",
                    )
                if ev.anchor not in anchors:
                    raise out.abort(
                        p[0], p[1], "yaml-syntax", f"undefined alias {preview(ev.anchor)}"
                    )
                value, size, chars = anchors[ev.anchor]
                used_alias = True
                count(size, ev, chars)
                attach(value, p, not isinstance(value, dict | list))
            elif cls is ev_stream_end:
                break
            elif cls is ev_doc:
                documents += 1
                if documents > 1:
                    p = pos_of(ev)
                    raise out.abort(
                        p[0],
                        p[1],
                        "multiple-documents",
                        "expected exactly one YAML document, found another one here; keep one "
                        "spec per file",
                    )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in str(exc.problem):
            mark = exc.context_mark  # an unclosed quote or bracket: point at where it opened
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        problem = re.sub(r"\s+", " ", problem)[:200]
        if "maximum nesting depth" in problem:  # libyaml's own limit (1000) hit while scanning
            raise out.abort(
                line, col, "too-deep", f"nesting deeper than {MAX_DEPTH} levels"
            ) from None
        raise out.abort(line, col, "yaml-syntax", f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise out.abort(1, 1, "yaml-syntax", f"YAML error: {type(exc).__name__}") from None
    finally:
        parser.dispose()
    if not have_root or root is None:
        raise out.abort(1, 1, "empty-file", "spec file is empty")
    out.data = root


def _size(value: Any) -> tuple[int, int]:
    """Expanded (node count, characters of keys and strings) of an already-built (acyclic)
    value, without expanding it."""
    memo: dict[int, tuple[int, int]] = {}
    todo: list[tuple[Any, bool]] = [(value, False)]
    while todo:
        node, done = todo.pop()
        if not isinstance(node, dict | list) or id(node) in memo:
            continue
        if done:
            nodes, chars = 1, 0
            pairs = node.items() if isinstance(node, dict) else ((None, c) for c in node)
            for k, c in pairs:
                chars += len(k) if isinstance(k, str) else 0
                if isinstance(c, dict | list):
                    n, ch = memo.get(id(c), (0, 0))
                    nodes, chars = nodes + n, chars + ch
                else:
                    nodes += 1
                    chars += len(c) if isinstance(c, str) else 0
            memo[id(node)] = (nodes, chars)
        else:
            todo.append((node, True))
            children = node.values() if isinstance(node, dict) else node
            todo.extend((c, False) for c in children if isinstance(c, dict | list))
    return memo.get(id(value), (1, 0))
