"""A finding: one problem at one place in one file. Every stage that judges a spec emits these.

Untrusted text (keys and values decoded from the spec, escapes included) reaches a message only
through `parsed.preview`, which shortens it and escapes every character that is not printable
(C0/C1 controls, ESC, line and paragraph separators, bidi overrides and other format characters,
lone surrogates, unassigned code points) with `escape_unprintable` below. `spec.lint_bytes`
passes every finding it returns through `safe_message` as well, so nothing that bypassed
`preview` (a library's message) can carry such a character or run past MAX_MESSAGE.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

MAX_MESSAGE = 400  # characters; spec.MAX_FILE_MESSAGES bounds the sum over one file
_KEEP = "\u200b"  # the zero-width space other modules insert on purpose to break `::` / `##[`


class Severity(str, Enum):  # noqa: UP042 -- str mixin keeps json.dumps simple
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


def escape_unprintable(text: str, keep: str = "") -> str:
    """`text` with every non-printable character (except those in `keep`) as a Python escape
    (`\\x1b`, `\\u202e`, `\\ud800`); printable text, non-ASCII letters included, is kept."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c in keep else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def safe_message(message: str, limit: int = MAX_MESSAGE) -> str:
    message = escape_unprintable(message, keep=_KEEP)
    return message if len(message) <= limit else message[: limit - 1] + "…"


@dataclass(frozen=True)
class Finding:
    path: str  # as the user gave it (or relative to the workspace)
    line: int  # 1-based
    col: int  # 1-based
    severity: Severity
    rule: str  # stable rule id, e.g. "unknown-key"
    message: str  # what is wrong and what to do; never echoes secret values
    end_line: int | None = None
    end_col: int | None = None

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.rule)
