"""What a loader produces: data, findings and a position for every node; shared helpers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from paperspace_deploy.spec.findings import Finding, Severity

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 10_000  # only enforced when aliases are used; real specs have < 500 nodes
VALUE_PREVIEW = 120

Path_ = tuple[str | int, ...]
Pos = tuple[int, int, int, int]  # 1-based line, col, end_line, end_col

_BIDI = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class Abort(Exception):
    """Stop parsing: the finding already explains why."""


@dataclass
class Parsed:
    path: str
    data: Any = None
    findings: list[Finding] = field(default_factory=list)
    positions: dict[Path_, Pos] = field(default_factory=dict)
    key_positions: dict[Path_, Pos] = field(default_factory=dict)
    hints: dict[Path_, str] = field(default_factory=dict)  # explains odd scalars to the schema step
    reported: set[Path_] = field(default_factory=set)  # the loader already reported these values

    def add(self, line: int, col: int, rule: str, message: str, sev=Severity.ERROR) -> None:
        self.findings.append(Finding(self.path, line, col, sev, rule, message))

    def abort(self, line: int, col: int, rule: str, message: str) -> Abort:
        self.add(line, col, rule, message)
        self.data = None
        return Abort()


def preview(value: object) -> str:
    """A short, single-line rendering of an untrusted value for messages: truncated, with
    control, invisible and bidi-override characters escaped (printable text is kept as is)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text[: VALUE_PREVIEW + 1]
    if not text.isprintable() or _BIDI.search(text):
        text = "".join(
            c if c.isprintable() and not _BIDI.match(c) else c.encode("unicode_escape").decode()
            for c in text
        )
    if len(text) > VALUE_PREVIEW:
        text = text[:VALUE_PREVIEW] + "…"
    return f"'{text}'" if isinstance(value, str) else text


class Frame:
    __slots__ = ("anchor", "is_map", "key", "key_pos", "merges", "path", "seen", "start", "value")

    def __init__(self, is_map: bool, path: Path_, start: tuple[int, int], anchor: str | None):
        self.is_map = is_map
        self.path = path
        self.start = start
        self.anchor = anchor
        self.value: Any = {} if is_map else []
        self.key: Any = None  # pending key (None: the next node is a key)
        self.key_pos: Pos | None = None
        self.seen: dict[str, int] = {}
        self.merges: list[dict[str, Any]] = []
