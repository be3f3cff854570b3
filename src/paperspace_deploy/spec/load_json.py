"""JSON and JSONC (comments, trailing commas) with positions: json.loads has none.

One regex match per token takes the whitespace (and in JSONC the comments) before it too, so the
Python loop runs once per token, never once per blank. Every repetition in the regex is
possessive: no input makes it backtrack, and a 1 MiB string costs no more memory than its text.
Lines are counted between tokens with `str.count`, so a position costs two subtractions.
Bounds: nesting (MAX_DEPTH), values per file (MAX_NODES), numeric literals (MAX_NUMBER_CHARS: a
5,000-digit integer would stop Python's int()), non-finite floats (`1e400`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from paperspace_deploy.spec.parsed import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_NUMBER_CHARS,
    Abort,
    Frame,
    Parsed,
    Path_,
    preview,
)

_STRING = r'"[^"\\\x00-\x1f]*+(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*+)*+"'
_NUMBER = r"-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][-+]?[0-9]++)?(?![0-9A-Za-z.])"
_BLANKS = r"[ \t\n\r]*+"
_BLANKS_AND_COMMENTS = r"(?:[ \t\n\r]++|//[^\n]*+|/\*[^*]*+\*++(?:[^/*][^*]*+\*++)*+/)*+"
_TOKEN = (
    r"(?:(?P<s>" + _STRING + r")|(?P<n>" + _NUMBER + r")|(?P<p>[{}\[\]:,])"
    r"|(?P<l>true|false|null)(?![0-9A-Za-z_])|(?P<end>\Z))"
)
_JSON = re.compile(_BLANKS + _TOKEN)
_JSONC = re.compile(_BLANKS_AND_COMMENTS + _TOKEN)
_SKIP = {False: re.compile(_BLANKS), True: re.compile(_BLANKS_AND_COMMENTS)}
_LITERALS = {"true": True, "false": False, "null": None}
_CLOSES = {"}": "{", "]": "["}


class JsonParser:
    """An iterative JSON/JSONC parser that records positions (json.loads has none)."""

    def __init__(self, text: str, out: Parsed, comments: bool):
        self.text, self.out, self.comments = text, out, comments

    def lc(self, offset: int) -> tuple[int, int]:
        """1-based (line, col) of an offset; only used for the one error a file can have."""
        return self.text.count("\n", 0, offset) + 1, offset - (
            self.text.rfind("\n", 0, offset) + 1
        ) + 1

    def fail(self, offset: int, message: str) -> Abort:
        line, col = self.lc(offset)
        return self.out.abort(line, col, "json-syntax", f"JSON syntax error: {message}")

    def _bad_token(self, pos: int) -> Abort:
        """Why no token starts here (after the blanks at `pos`)."""
        at = _SKIP[self.comments].match(self.text, pos).end()  # type: ignore[union-attr]
        ch = self.text[at]
        if ch == '"':
            what = "unterminated string, or a control character or bad escape in it"
        elif ch == "/" and not self.comments:
            what = "comments are not allowed in .json; rename it to .jsonc"
        elif ch == "/":
            what = "unterminated comment"
        else:
            what = f"unexpected character {preview(ch)}"
        return self.fail(at, what)

    def parse(self) -> None:
        """A small state machine: `prev` is what came last ("start", "value", "key", or one of
        `{ [ : ,`), which decides what may come next."""
        text, out, comments = self.text, self.out, self.comments
        match = (_JSONC if comments else _JSON).match
        stack: list[Frame] = []
        top: Frame | None = None
        prev = "start"
        pos, line, line_start, nodes = 0, 1, 0, 0
        while True:
            m = match(text, pos)
            if m is None:
                raise self._bad_token(pos)
            kind = m.lastgroup or "end"
            start, end = m.span(kind)
            newlines = text.count("\n", pos, start)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", pos, start) + 1
            pos = end
            if kind == "end":
                break
            tok = text[start:end]
            col = start - line_start + 1
            if prev == "value" and top is None:
                raise self.fail(start, "extra data after the top-level value")
            if kind == "p" and tok in ",:}]":
                if tok == ",":
                    ok = prev == "value" and top is not None
                elif tok == ":":
                    ok = prev == "key"
                else:
                    opener = _CLOSES[tok]
                    ok = (
                        top is not None
                        and top.is_map == (tok == "}")
                        and (prev in ("value", opener) or (prev == "," and comments))
                    )
                if not ok:
                    what = (
                        "trailing comma" if prev == "," and tok in "}]" else f"unexpected {tok!r}"
                    )
                    raise self.fail(start, what)
                if tok in "}]":
                    frame = stack.pop()
                    top = stack[-1] if stack else None
                    self._attach(
                        top, frame.path, frame.value, (*frame.start, line, end - line_start + 1)
                    )
                    prev = "value"
                else:
                    prev = tok
                continue
            if top is not None and top.is_map and prev in ("{", ","):  # a key
                if kind != "s":
                    raise self.fail(start, "object keys must be strings in double quotes")
                key = json.loads(tok) if "\\" in tok else tok[1:-1]
                first = top.seen.get(key)
                if first is not None:
                    out.add(
                        line,
                        col,
                        "duplicate-key",
                        f"duplicate key {preview(key)} (first defined at line {first})",
                    )
                top.seen[key] = line
                top.key, top.key_pos = key, (line, col, line, end - line_start + 1)
                prev = "key"
                continue
            if prev not in ("start", "[", ":", ","):
                raise self.fail(start, "expected ',' or a closing bracket")
            nodes += 1
            if nodes > MAX_NODES:
                raise out.too_many_nodes(line, col)
            if top is None:
                path: Path_ = ()
            elif top.is_map:
                path = (*top.path, top.key)
            else:
                path = (*top.path, len(top.value))
            if kind == "p":  # { or [
                if len(stack) >= MAX_DEPTH:
                    raise out.too_deep(line, col)
                top = Frame(tok == "{", path, (line, col), None)
                stack.append(top)
                prev = tok
                continue
            value: Any
            if kind == "s":
                value = json.loads(tok) if "\\" in tok else tok[1:-1]
            elif kind == "l":
                value = _LITERALS[tok]
            elif len(tok) > MAX_NUMBER_CHARS:
                out.number_too_large(line, col, path, len(tok))
                value = None
            elif "." in tok or "e" in tok or "E" in tok:
                value = float(tok)
                if not math.isfinite(value):
                    out.non_finite(line, col, path, tok)
                    value = None
            else:
                value = int(tok)
            self._attach(top, path, value, (line, col, line, end - line_start + 1))
            prev = "value"
        if stack:
            raise self.fail(len(text), "unexpected end of file (unclosed bracket)")
        if prev == "start":
            raise out.abort(1, 1, "empty-file", "spec file is empty")

    def _attach(
        self, top: Frame | None, path: Path_, value: Any, pos: tuple[int, int, int, int]
    ) -> None:
        out = self.out
        out.positions[path] = pos
        if top is None:
            out.data = value
        elif top.is_map:
            out.key_positions[path] = top.key_pos  # type: ignore[assignment]
            top.value[top.key] = value
            top.key = None
            top.key_pos = None
        else:
            top.value.append(value)
