"""Untrusted text made safe to print: one home for what a GitHub runner would execute.

The runner executes `::command::` at the start of a line (after blanks) and the legacy
`##[command]` anywhere in a line. `inert(line)` breaks both with a zero-width space and changes
nothing else, so it can be applied to any line (twice too). `one_line(text, limit)` is for text
that must stay on one line of ours -- an API message in an error, a value in a finding: line
breaks and control characters collapse to a space, then `inert`, then the cut.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def inert(line: str) -> str:
    line = line.replace("##[", f"#{ZWSP}#[")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        cut = len(line) - len(stripped)
        line = line[:cut] + ZWSP + stripped
    return line


def one_line(text: object, limit: int = 300) -> str:
    line = inert(_CONTROL.sub(" ", str(text)).strip())
    return line if len(line) <= limit else line[:limit] + "…"
