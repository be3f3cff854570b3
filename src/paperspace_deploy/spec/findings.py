"""A finding: one problem at one place in one file. Every stage that judges a spec emits these."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum


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

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.rule)
