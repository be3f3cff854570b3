"""TOML: our own scan for positions and limits, then tomllib for the values.

tomllib keeps no positions, and it is not safe on hostile input: each dotted-key part costs it a
tuple as long as the key (32,000 parts in 64 KB took 4 GB), nested arrays recurse, a 5,000-digit
integer stops Python's int(). So one linear pass over the text comes first. It lexes TOML exactly
(strings of all four kinds, comments, dotted keys, headers, arrays, inline tables; one regex
match per token, possessive repetitions only), records the position of every key and value, and
enforces the limits every loader shares before tomllib sees the text: nesting depth counted in
key parts + headers + brackets (MAX_DEPTH), values per file (MAX_NODES), numeric literals
(MAX_NUMBER_CHARS). If the scan meets something it does not understand, tomllib decides (it
rejects what is not TOML), and the rest of the text is held to conservative line-wise bounds.
"""

from __future__ import annotations

import math
import re
from typing import Any

from paperspace_deploy.spec.parsed import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_NUMBER_CHARS,
    Abort,
    Parsed,
    Path_,
    Pos,
)

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOKEN = re.compile(
    r"""[ \t]*+(?:
       (?P<nl>\r?\n)
      |(?P<comment>\#[^\n]*+)
      |(?P<mlb>\"\"\"(?:[^"\\]++|\\(?s:.)|"(?!""))*+\"\"\""{0,2})
      |(?P<mll>'''(?:[^']++|'(?!''))*+'''(?:'{0,2}))
      |(?P<str>"(?:[^"\\\n]++|\\[^\n])*+"|'[^'\n]*+')
      |(?P<atom>[A-Za-z0-9_+\-.:]++)
      |(?P<punct>[\[\]{}=,])
      |(?P<end>\Z)
    )""",
    re.X,
)
_BLANK_LINES = re.compile(r"(?:[ \t]*+(?:\#[^\n]*+)?\r?\n)*+")
# the common line, `key = scalar`, in one match (anything else takes the general path)
_SIMPLE = re.compile(
    r"""[ \t]*+(?P<key>[A-Za-z0-9_-]++(?:[ \t]*+\.[ \t]*+[A-Za-z0-9_-]++)*+)[ \t]*+=[ \t]*+
    (?P<value>"(?:[^"\\\n]++|\\[^\n])*+"|'[^'\n]*+'|[A-Za-z0-9_+\-.:]++)
    [ \t]*+(?:\#[^\n]*+)?(?:\r?\n|\Z)""",
    re.X,
)
_SIMPLE_HEADER = re.compile(
    r"[ \t]*+(?P<open>\[)(?!\[)[ \t]*+"
    r"(?P<key>[A-Za-z0-9_-]++(?:[ \t]*+\.[ \t]*+[A-Za-z0-9_-]++)*+)[ \t]*+\]"
    r"[ \t]*+(?:\#[^\n]*+)?(?:\r?\n|\Z)"
)
# an array item followed by a comma on the same line: a scalar or an empty array/table
_ARRAY_ITEM = re.compile(
    r"""[ \t]*+(?P<v>"(?:[^"\\\n]++|\\[^\n])*+"|'[^'\n]*+'|[A-Za-z0-9_+\-.:]++
    |\{[ \t]*+\}|\[[ \t]*+\])[ \t]*+,""",
    re.X,
)
# tomllib spends ~6 µs on each table header: real specs have a handful
MAX_TABLES = 10_000
# an inline-table entry `key = scalar,` (bare key, no dots)
_INLINE_ITEM = re.compile(
    r"""[ \t]*+(?P<k>[A-Za-z0-9_-]++)[ \t]*+=[ \t]*+
    (?P<v>"(?:[^"\\\n]++|\\[^\n])*+"|'[^'\n]*+'|[A-Za-z0-9_+\-.:]++)[ \t]*+,""",
    re.X,
)
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_NUMERIC = re.compile(r"[-+]?[0-9]")


class _Confused(Exception):
    """The scan met something it does not model; tomllib decides what it is."""


def load_toml(text: str, out: Parsed) -> None:
    import tomllib

    stopped = _Scan(text, out).run()
    if stopped is not None:
        _rest_is_bounded(text, stopped, out)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POS.search(msg)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        raise out.abort(
            line, col, "toml-syntax", f"TOML syntax error: {_TOML_POS.sub('', msg).strip()[:200]}"
        ) from None
    except ValueError:  # int() refused a literal the scan did not see (it stopped early)
        out.number_too_large(1, 1, None, MAX_NUMBER_CHARS + 1)
        raise Abort() from None
    except RecursionError:
        raise out.too_deep(1, 1) from None
    out.positions.setdefault((), (1, 1, 1, 1))
    out.data = _normalise_toml(data, out)


class _Scan:
    """One pass over the text: positions into `out`, limits enforced (Abort), or _Confused."""

    def __init__(self, text: str, out: Parsed):
        self.text, self.out = text, out
        self.line, self.line_start, self.nodes, self.tables = 1, 0, 0, 0
        self.aot: dict[Path_, int] = {}  # array-of-tables path -> entries so far

    def run(self) -> int | None:
        """None when the whole text was scanned, else the offset where the scan stopped."""
        self.pos = 0
        try:
            self._document()
        except _Confused:
            return self.pos
        return None

    # -- tokens ----------------------------------------------------------------------------
    def next(self) -> tuple[str, str, int, int]:
        m = _TOKEN.match(self.text, self.pos)
        if m is None:
            raise _Confused
        kind = m.lastgroup or "end"
        start, end = m.span(kind)
        self.pos = end
        tok = self.text[start:end]
        return kind, tok, start, end

    def col(self, offset: int) -> int:
        return offset - self.line_start + 1

    def advance_lines(self, tok: str, start: int) -> None:
        newlines = tok.count("\n")
        if newlines:
            self.line += newlines
            self.line_start = start + tok.rfind("\n") + 1

    def skip_blank(self, *, newlines: bool) -> tuple[str, str, int, int]:
        """The next token that is not a comment (nor a newline, when `newlines`)."""
        while True:
            if newlines:  # whole blank and comment lines in one match
                blank = _BLANK_LINES.match(self.text, self.pos)
                if blank is not None and blank.end() > self.pos:
                    self.advance_lines(blank.group(), self.pos)
                    self.pos = blank.end()
            kind, tok, start, end = self.next()
            if kind == "comment" or (newlines and kind == "nl"):
                self.advance_lines(tok, start)
                continue
            return kind, tok, start, end

    # -- grammar ---------------------------------------------------------------------------
    def _document(self) -> None:
        table: Path_ = ()
        text = self.text
        while True:
            blank = _BLANK_LINES.match(text, self.pos)
            if blank is not None and blank.end() > self.pos:
                self.advance_lines(blank.group(), self.pos)
                self.pos = blank.end()
            simple = _SIMPLE.match(text, self.pos)
            if simple is not None:  # the whole line, its newline included
                self._simple(table, simple)
                continue
            simple = _SIMPLE_HEADER.match(text, self.pos)
            if simple is not None:
                table = self._simple_header(simple)
                continue
            kind, tok, start, _ = self.skip_blank(newlines=True)
            if kind == "end":
                return
            if kind == "punct" and tok == "[":
                table = self._header(start)
            elif kind in ("atom", "str"):
                self._keyval(table, kind, tok, start)
            else:
                raise _Confused
            kind, tok, start, _ = self.skip_blank(newlines=False)
            if kind == "end":
                return
            if kind != "nl":
                raise _Confused
            self.advance_lines(tok, start)

    def _key(self, kind: str, tok: str, start: int, stop: str) -> tuple[list[str], int]:
        """Key parts up to the token `stop` (`=` or `]`), consumed; returns (parts, offset just
        after the last part)."""
        parts: list[str] = []
        key_end = start
        while True:
            if kind == "atom":
                parts.extend(p for p in tok.split(".") if p)
            elif kind == "str":
                parts.append(_string_value(tok))
            elif kind == "punct" and tok == stop and parts:
                return parts, key_end
            else:
                raise _Confused
            if len(parts) > MAX_DEPTH:
                raise self.out.too_deep(self.line, self.col(start))
            key_end = self.pos
            kind, tok, start, _ = self.next()

    def _simple_header(self, m: re.Match[str]) -> Path_:
        """A `[a.b]` line matched whole by _SIMPLE_HEADER."""
        key = m.group("key")
        parts = [p.strip(" \t") for p in key.split(".")] if "." in key else [key]
        table = self._table(parts, False, self.line, self.col(m.start("open")))
        self.pos = m.end()
        if self.text.endswith("\n", 0, self.pos):
            self.line += 1
            self.line_start = self.pos
        return table

    def _header(self, start: int) -> Path_:
        line, col = self.line, self.col(start)
        array = self.text.startswith("[", start + 1)  # `[[`: no blank allowed in between
        if array:
            self.pos = start + 2
        kind, tok, s, _ = self.next()
        parts, _ = self._key(kind, tok, s, "]")
        if array:
            if not self.text.startswith("]", self.pos):
                raise _Confused
            self.pos += 1
        return self._table(parts, array, line, col)

    def _table(self, parts: list[str], array: bool, line: int, col: int) -> Path_:
        """Record a `[table]` or `[[array of tables]]` header; returns its data path."""
        self._count(len(parts), line, col)
        self.tables += 1
        if self.tables > MAX_TABLES:
            raise self.out.abort(
                line,
                col,
                "too-many-nodes",
                f"more than {MAX_TABLES:,} tables in one file (real specs have a few); "
                "checking stopped here",
            )
        path = self._resolve(parts[:-1])
        full = (*path, parts[-1])
        pos = (line, col, line, col)
        if array:
            index = self.aot.get(full, 0)
            self.aot[full] = index + 1
            self.out.key_positions.setdefault(full, pos)
            self.out.positions.setdefault(full, pos)
            table: Path_ = (*full, index)
        else:
            table = full
            self.out.key_positions[table] = pos
        self._check_depth(table, line, col)
        self.out.positions[table] = pos
        return table

    def _resolve(self, parts: list[str]) -> Path_:
        """Header parts to the data path: through an array of tables, its last entry."""
        path: Path_ = ()
        for part in parts:
            path = (*path, part)
            count = self.aot.get(path)
            if count:
                path = (*path, count - 1)
        return path

    def _keyval(self, base: Path_, kind: str, tok: str, start: int) -> None:
        line, col = self.line, self.col(start)
        parts, after = self._key(kind, tok, start, "=")
        key_end = self.col(after)
        path = (*base, *parts)
        self._count(len(parts) - 1, line, col)  # the parents a dotted key creates
        self._check_depth(path, line, col)
        for i in range(len(base) + 1, len(path)):  # dotted parents point at their key
            self.out.key_positions.setdefault(path[:i], (line, col, line, key_end))
        self.out.key_positions[path] = (line, col, line, key_end)
        self._value(path)

    def _simple(self, base: Path_, m: re.Match[str]) -> None:
        """A `key = scalar` line matched whole by _SIMPLE."""
        line, col = self.line, self.col(m.start("key"))
        key = m.group("key")
        key_pos = (line, col, line, self.col(m.end("key")))
        if "." in key:
            parts = [p.strip(" \t") for p in key.split(".")]
            path = (*base, *parts)
            self._count(len(parts), line, col)
            self._check_depth(path, line, col)
            for i in range(len(base) + 1, len(path)):
                self.out.key_positions.setdefault(path[:i], key_pos)
        else:
            path = (*base, key)
            self._count(1, line, col)
            self._check_depth(path, line, col)
        self.out.key_positions[path] = key_pos
        value, vstart = m.group("value"), m.start("value")
        if len(value) > MAX_NUMBER_CHARS and _NUMERIC.match(value):
            self.out.number_too_large(line, self.col(vstart), None, len(value))
            raise Abort()
        self.out.positions[path] = (line, self.col(vstart), line, self.col(m.end("value")))
        self.pos = m.end()
        if self.text.endswith("\n", 0, self.pos):
            self.line += 1
            self.line_start = self.pos

    def _count(self, nodes: int, line: int, col: int) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise self.out.too_many_nodes(line, col)

    def _check_depth(self, path: Path_, line: int, col: int) -> None:
        if len(path) > MAX_DEPTH:
            raise self.out.too_deep(line, col)

    def _value(self, path: Path_) -> None:
        """One value at `path`; arrays and inline tables with an explicit stack (no recursion)."""
        out = self.out
        # stack entries: [path, is_array, next index]
        stack: list[list[Any]] = []
        starts: list[tuple[int, int]] = []
        kind, tok, start, end = self.skip_blank(newlines=False)
        while True:
            # a value at `path`
            line, col = self.line, self.col(start)
            self._count(1, line, col)
            self._check_depth(path, line, col)
            if len(stack) >= MAX_DEPTH:
                raise out.too_deep(line, col)
            if kind == "punct" and tok in ("[", "{"):
                stack.append([path, tok == "[", 0])
                starts.append((line, col))
                if tok == "[":
                    index = self._array_run(path, 0)
                    kind, tok, start, end = self.skip_blank(newlines=True)
                    if kind == "punct" and tok == "]":
                        stack[-1][2] = -1  # empty (or all items read by _array_run)
                    else:
                        path = (*path, index)
                        stack[-1][2] = index + 1
                        continue
                else:
                    self._inline_run(path)
                    kind, tok, start, end = self.skip_blank(newlines=False)
                    if not (kind == "punct" and tok == "}"):
                        path = self._inline_key(stack[-1][0], kind, tok, start)
                        kind, tok, start, end = self.skip_blank(newlines=False)
                        continue
            elif kind in ("str", "mlb", "mll"):
                self.advance_lines(tok, start)
                out.positions[path] = (line, col, self.line, self.col(end))
                kind, tok, start, end = self._after_value(stack)
            elif kind == "atom":
                if _NUMERIC.match(tok) and len(tok) > MAX_NUMBER_CHARS:
                    # tomllib cannot be told to skip it: int() would refuse it, or a huge hex
                    # number would break every message that shows it
                    out.number_too_large(line, col, None, len(tok))
                    raise Abort()
                kind, _, start2, end2 = self.next()
                while kind == "atom":  # a date and a time separated by a blank
                    end = end2
                    kind, _, start2, end2 = self.next()
                out.positions[path] = (line, col, line, self.col(end))
                self.pos = start2  # not consumed: `_after_value` reads it again
                kind, tok, start, end = self._after_value(stack)
            else:
                raise _Confused
            # close finished containers, then position the next sibling
            while True:
                if not stack:
                    self.pos = start  # the token after the value belongs to the line
                    return
                cpath, is_array, index = stack[-1]
                closer = "]" if is_array else "}"
                if kind == "punct" and tok == closer:
                    stack.pop()
                    line0, col0 = starts.pop()
                    out.positions[cpath] = (line0, col0, self.line, self.col(end))
                    path = cpath
                    kind, tok, start, end = self._after_value(stack)
                    continue
                if kind == "punct" and tok == ",":
                    if is_array:
                        index = self._array_run(cpath, index)
                        stack[-1][2] = index
                        kind, tok, start, end = self.skip_blank(newlines=True)
                        if kind == "punct" and tok == "]":  # trailing comma
                            continue
                        path = (*cpath, index)
                        stack[-1][2] = index + 1
                    else:
                        self._inline_run(cpath)
                        kind, tok, start, end = self.skip_blank(newlines=False)
                        path = self._inline_key(cpath, kind, tok, start)
                        kind, tok, start, end = self.skip_blank(newlines=False)
                    break
                raise _Confused

    def _array_run(self, path: Path_, index: int) -> int:
        """Items `scalar,` on the current line in one match each; returns the next index."""
        if len(path) >= MAX_DEPTH:
            return index  # the general path reports it
        text, positions, line = self.text, self.out.positions, self.line
        match = _ARRAY_ITEM.match
        m = match(text, self.pos)
        while m is not None:
            start, end = m.span("v")
            if end - start > MAX_NUMBER_CHARS and _NUMERIC.match(text, start):
                return index  # the general path reports it
            self._count(1, line, start - self.line_start + 1)
            positions[(*path, index)] = (
                line,
                start - self.line_start + 1,
                line,
                end - self.line_start + 1,
            )
            index += 1
            self.pos = m.end()
            m = match(text, self.pos)
        return index

    def _inline_run(self, path: Path_) -> None:
        """Entries `key = scalar,` of an inline table in one match each."""
        if len(path) >= MAX_DEPTH:
            return
        text, out, line, ls = self.text, self.out, self.line, self.line_start
        match = _INLINE_ITEM.match
        m = match(text, self.pos)
        while m is not None:
            start, end = m.span("v")
            if end - start > MAX_NUMBER_CHARS and _NUMERIC.match(text, start):
                return  # the general path reports it
            ks, ke = m.span("k")
            self._count(1, line, ks - ls + 1)
            where = (*path, m.group("k"))
            out.key_positions[where] = (line, ks - ls + 1, line, ke - ls + 1)
            out.positions[where] = (line, start - ls + 1, line, end - ls + 1)
            self.pos = m.end()
            m = match(text, self.pos)

    def _inline_key(self, base: Path_, kind: str, tok: str, start: int) -> Path_:
        line, col = self.line, self.col(start)
        parts, after = self._key(kind, tok, start, "=")
        path = (*base, *parts)
        self._count(len(parts) - 1, line, col)
        self._check_depth(path, line, col)
        self.out.key_positions[path] = (line, col, line, self.col(after))
        return path

    def _after_value(self, stack: list[list[Any]]) -> tuple[str, str, int, int]:
        """The token after a value: inside an array, newlines and comments may come first."""
        in_array = bool(stack) and stack[-1][1]
        return self.skip_blank(newlines=in_array)


def _string_value(tok: str) -> str:
    """A quoted key's text (basic or literal string)."""
    if tok[0] == "'":
        return tok[1:-1]

    def unescape(m: re.Match[str]) -> str:
        code = m.group(1) or m.group(2)
        if code:
            try:
                return chr(int(code, 16))
            except (ValueError, OverflowError):
                raise _Confused from None
        return _ESCAPES.get(m.group(3), m.group(3))

    return _ESCAPE.sub(unescape, tok[1:-1])


def _rest_is_bounded(text: str, offset: int, out: Parsed) -> None:
    """After the scan stopped early: bound what tomllib could still be made to do, line by line
    and conservatively (dots and commas inside strings count too)."""
    line = text.count("\n", 0, offset) + 1
    rest = text[offset:]
    if rest.count(",") > MAX_NODES:
        raise out.too_many_nodes(line, 1)
    for i, chunk in enumerate(rest.split("\n")):
        if chunk.count(".") > MAX_DEPTH:
            raise out.too_deep(line + i, 1)


def _normalise_toml(data: Any, out: Parsed) -> Any:
    """Dates become strings (with a hint); nan/inf are findings; depth and huge integers are
    checked once more on the values tomllib built."""
    import datetime as dt

    todo: list[tuple[Any, Path_]] = [(data, ())]
    while todo:
        node, path = todo.pop()
        if len(path) > MAX_DEPTH:
            p = out.positions.get(path, (1, 1, 1, 1))
            raise out.too_deep(p[0], p[1])
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
                out.non_finite(p[0], p[1], where, str(v))
            elif isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 128:
                p = out.positions.get(where, (1, 1, 1, 1))
                out.number_too_large(p[0], p[1], where, MAX_NUMBER_CHARS + 1)
                node[k] = None
    return data


__all__ = ["Pos", "load_toml"]
