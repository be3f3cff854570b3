"""Untrusted text made safe to print: the one home for what a GitHub runner would execute.

The runner executes `::command::` at the start of a line (after blanks) and the legacy
`##[command]` anywhere in a line. Three forms, each scrubbing the run's secrets FIRST (a cut or
an escape through a secret would leave a part no mask or scrub matches):

- `inert(line)` breaks both command forms with a zero-width space and changes nothing else, so
  it can be applied to any line (twice too); `Io` applies it to every line on a runner.
- `collapse(text)`: secrets replaced, line breaks and control characters (C0, C1, U+2028/9,
  bidi overrides) collapsed to a space; for our own one-line formats off a runner.
- `one_line(text, limit)` is for text that must stay on one line of ours -- an API, engine or
  registry message in an error, a value in a finding: `collapse`, `inert`, then the cut.
- `neutralize(text)` is for a line printed raw on a runner that must keep its characters: line
  breaks and `%` are percent-escaped the way workflow commands escape data, then `inert`.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def _scrub(text: object) -> str:
    from paperspace_deploy.redact import run_secrets

    return run_secrets().scrub(str(text))


def inert(line: str) -> str:
    line = line.replace("##[", f"#{ZWSP}#[")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        cut = len(line) - len(stripped)
        line = line[:cut] + ZWSP + stripped
    return line


def collapse(text: object) -> str:
    return _CONTROL.sub(" ", _scrub(text)).strip()


def one_line(text: object, limit: int = 300) -> str:
    line = inert(collapse(text))
    return line if len(line) <= limit else line[:limit] + "…"


def neutralize(text: object) -> str:
    escaped = _scrub(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return inert(escaped)
