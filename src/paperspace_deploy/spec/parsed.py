"""What a loader produces: data, findings and a position for every node; shared helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from paperspace_deploy.credentials import hide_url_credentials
from paperspace_deploy.redact import run_secrets
from paperspace_deploy.spec.findings import Finding, Severity, escape_unprintable

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 10_000  # only enforced when aliases are used; real specs have < 500 nodes
# Values per file, in every format. Real specs have < 500; the largest real one (a v1 spec listing
# all 65,535 ports) has 65,544. The bound keeps the worst 1 MiB file (half a million one-byte
# values) from costing seconds and ~170 MB in positions.
MAX_NODES = 100_000
MAX_NUMBER_CHARS = 40  # longer numeric literals are refused (Python's int() stops at 4,300 digits)
VALUE_PREVIEW = 120
SECRET_SPAN = 4096  # a secret starting inside a preview is matched whole if at most this long
KEY_PREVIEW = 40

Path_ = tuple[str | int, ...]
Pos = tuple[int, int, int, int]  # 1-based line, col, end_line, end_col


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

    def add(
        self, line: int, col: int, rule: str, message: str, sev: Severity = Severity.ERROR
    ) -> None:
        self.findings.append(Finding(self.path, line, col, sev, rule, message))

    def abort(self, line: int, col: int, rule: str, message: str) -> Abort:
        self.add(line, col, rule, message)
        self.data = None
        return Abort()

    # the limits every loader enforces, worded once
    def too_deep(self, line: int, col: int) -> Abort:
        return self.abort(line, col, "too-deep", f"nesting deeper than {MAX_DEPTH} levels")

    def too_many_nodes(self, line: int, col: int) -> Abort:
        return self.abort(
            line,
            col,
            "too-many-nodes",
            f"more than {MAX_NODES:,} values in one file (real specs have a few hundred); "
            "checking stopped here",
        )

    def number_too_large(self, line: int, col: int, where: Path_ | None, length: int) -> None:
        """Report a numeric literal over MAX_NUMBER_CHARS; the loader stores None instead."""
        self.add(
            line,
            col,
            "number-too-large",
            f"number of {length} characters: no spec field takes one that large "
            f"(at most {MAX_NUMBER_CHARS} characters are read)",
        )
        if where is not None:
            self.reported.add(where)

    def non_finite(self, line: int, col: int, where: Path_ | None, text: str) -> None:
        self.add(
            line,
            col,
            "non-finite-number",
            f"{preview(text, 40)} is not a finite number; use a plain number (or quote it for a "
            "string)",
        )
        if where is not None:
            self.reported.add(where)


def preview(value: object, limit: int = VALUE_PREVIEW) -> str:
    """A short, single-line rendering of an untrusted value for messages: truncated, with
    control, invisible and bidi-override characters escaped (printable text is kept as is),
    the run's secrets and credentials inside URLs hidden (before the cut: none half shown)."""
    if isinstance(value, str):
        # the run's secrets (a deploy lints with them known) and URL credentials go before
        # the cut: a cut through one would leave a part no scrub matches
        head = run_secrets().scrub(value[: limit + SECRET_SPAN])
        text = hide_url_credentials(head)[: limit + 1]
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        text = f"(a {value.bit_length()}-bit number)"  # str() of a huge int is slow or refused
    else:
        text = json.dumps(value, default=str)[: limit + 1]
    text = escape_unprintable(text)
    if len(text) > limit:
        text = text[:limit] + "…"
    return f"'{text}'" if isinstance(value, str) else text


def key_preview(key: object) -> str:
    """A key as it appears inside a location (`$.resources.<key>`): shorter than a value."""
    if isinstance(key, str) and len(key) <= KEY_PREVIEW and key.isprintable():
        return key
    return preview(key, KEY_PREVIEW)


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
