"""JSON and JSONC (comments, trailing commas) with positions: json.loads has none."""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

from paperspace_deploy.spec.parsed import (
    MAX_DEPTH,
    Abort,
    Frame,
    Parsed,
    Path_,
    Pos,
    preview,
)

_JSON_TOKEN = re.compile(
    r"""(?P<ws>[ \t\n\r]+)
      |(?P<comment>//[^\n]*|/\*.*?\*/)
      |(?P<punct>[{}\[\]:,])
      |(?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")
      |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)(?![0-9A-Za-z.])
      |(?P<lit>true|false|null)(?![0-9A-Za-z_])
    """,
    re.X | re.S,
)


class JsonParser:
    """An iterative JSON/JSONC parser that records positions (json.loads has none)."""

    def __init__(self, text: str, out: Parsed, comments: bool):
        self.text, self.out, self.comments = text, out, comments
        self.lines = [0] + [m.end() for m in re.finditer("\n", text)]

    def lc(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.lines, offset) - 1
        return i + 1, offset - self.lines[i] + 1

    def fail(self, offset: int, message: str) -> Abort:
        line, col = self.lc(offset)
        return self.out.abort(line, col, "json-syntax", f"JSON syntax error: {message}")

    def tokens(self):  # type: ignore[no-untyped-def]
        text, pos, n = self.text, 0, len(self.text)
        while pos < n:
            m = _JSON_TOKEN.match(text, pos)
            if not m:
                ch = text[pos]
                what = "unterminated string" if ch == '"' else f"unexpected character {ch!r}"
                raise self.fail(pos, what)
            kind = m.lastgroup
            if kind == "comment" and not self.comments:
                raise self.fail(pos, "comments are not allowed in .json; rename it to .jsonc")
            if kind not in ("ws", "comment"):
                yield kind, m.group(), m.start(), m.end()
            pos = m.end()

    def parse(self) -> None:
        """A small state machine: `prev` is what came last ("start", "value", "key", or one of
        `{ [ : ,`), which decides what may come next."""
        out = self.out
        stack: list[Frame] = []
        prev = "start"
        for kind, tok, start, end in self.tokens():
            top = stack[-1] if stack else None
            if prev == "value" and not stack:
                raise self.fail(start, "extra data after the top-level value")
            if kind == "punct" and tok in ",:}]":
                if tok == ",":
                    ok = prev == "value" and top is not None
                elif tok == ":":
                    ok = prev == "key"
                else:
                    opener = "{" if tok == "}" else "["
                    ok = (
                        top is not None
                        and top.is_map == (tok == "}")
                        and (prev in ("value", opener) or (prev == "," and self.comments))
                    )
                if not ok:
                    what = (
                        "trailing comma" if prev == "," and tok in "}]" else f"unexpected {tok!r}"
                    )
                    raise self.fail(start, what)
                if tok in "}]":
                    stack.pop()
                    self._attach(stack, top.value, (*top.start, *self.lc(end)))  # type: ignore[union-attr]
                    prev = "value"
                else:
                    prev = tok
                continue
            if top is not None and top.is_map and prev in ("{", ","):  # a key
                if kind != "string":
                    raise self.fail(start, "object keys must be strings in double quotes")
                key = json.loads(tok)
                line, col = self.lc(start)
                first = top.seen.get(key)
                if first is not None:
                    out.add(
                        line,
                        col,
                        "duplicate-key",
                        f"duplicate key {preview(key)} (first defined at line {first})",
                    )
                top.seen[key] = line
                top.key, top.key_pos = key, (line, col, *self.lc(end))
                prev = "key"
                continue
            if prev not in ("start", "[", ":", ","):
                raise self.fail(start, "expected ',' or a closing bracket")
            if prev == "start" and stack:
                raise self.fail(start, "unexpected value")
            if tok in ("{", "["):
                if len(stack) >= MAX_DEPTH:
                    line, col = self.lc(start)
                    raise out.abort(
                        line, col, "too-deep", f"nesting deeper than {MAX_DEPTH} levels"
                    )
                stack.append(Frame(tok == "{", self._child_path(stack), self.lc(start), None))
                prev = tok
                continue
            self._attach(stack, json.loads(tok), (*self.lc(start), *self.lc(end)))
            prev = "value"
        if stack:
            raise self.fail(len(self.text), "unexpected end of file (unclosed bracket)")
        if prev == "start":
            raise out.abort(1, 1, "empty-file", "spec file is empty")

    def _child_path(self, stack: list[Frame]) -> Path_:
        if not stack:
            return ()
        top = stack[-1]
        return (*top.path, top.key) if top.is_map else (*top.path, len(top.value))

    def _attach(self, stack: list[Frame], value: Any, pos: Pos) -> None:
        if not stack:
            self.out.data = value
            self.out.positions[()] = pos
            return
        top = stack[-1]
        path = self._child_path(stack)
        self.out.positions[path] = pos
        if top.is_map:
            self.out.key_positions[path] = top.key_pos  # type: ignore[assignment]
            top.value[top.key] = value
            top.key = None
            top.key_pos = None
        else:
            top.value.append(value)
