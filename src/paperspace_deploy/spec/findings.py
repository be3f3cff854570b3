"""A finding: one problem at one place in one file. Every stage that judges a spec emits these."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):  # noqa: UP042 -- str mixin keeps json.dumps simple
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


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
    # the node the finding is about, as a JSONPath (see json_path); None for loader findings
    json_path: str | None = None

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.rule)


_MEMBER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_SEGMENT = 120  # longer keys/names are cut and tagged with a hash of the whole


def _quoted(text: str) -> str:
    if len(text) > MAX_SEGMENT:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        text = f"{text[:MAX_SEGMENT]}…{digest}"
    out = text.replace("\\", "\\\\").replace("'", "\\'")
    out = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in out)
    return f"'{out}'"


def json_path(data: Any, path: Iterable[str | int]) -> str:
    """An RFC 9535 JSONPath of the node at `path` in `data` that survives unrelated edits: a list
    item that is a mapping with a string `name` (env entries, integrations, headers) is selected
    by that name (`$.env[?@.name=='PORT'].value`), so adding an item before it changes nothing;
    other items by index. Used for fingerprints (SARIF, GitLab) and shown in the JSON report."""
    out, node = "$", data
    for part in path:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            out += f"[?@.name=={_quoted(name)}]" if isinstance(name, str) else f"[{part}]"
            node = item
        else:
            short = len(part) <= MAX_SEGMENT and _MEMBER.fullmatch(part)
            out += f".{part}" if short else f"[{_quoted(part)}]"
            node = node.get(part) if isinstance(node, dict) else None
    return out
