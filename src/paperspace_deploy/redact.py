"""The run's secrets, in every form our code or a server could echo them: one place.

`Secrets.add(value)` registers a secret (an API key, a registry password, a build secret) and
derives the variants a log, a summary or an API error could carry: the value stripped and raw,
each line of a multi-line value (split on CR, LF and CRLF), base64 of `user:password` and of
the value (the three base64 alignments a longer blob can hold it in, and each line of the
encoding wrapped at 64 or 76 columns), URL-safe base64, JSON-, HTML- and percent-escaped
forms. `scrub(text)` replaces all of them; the action also masks each with the runner
(`::add-mask::`). Everything the project writes -- the log
(`Io`), outputs, the job summary, report files -- goes through `scrub` before it is cut,
escaped or written, so a cut or an escape can never leave half a secret readable.

`run_secrets()` is the process's one set (a run is a process): `Io` uses it, and
`safetext.one_line` scrubs with it before cutting text from a server or a file.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from collections.abc import Iterable
from enum import Enum
from typing import Any, TypeVar, cast
from urllib.parse import quote

T = TypeVar("T")
MIN_LENGTH = 4  # shorter masks garble logs (and make GitHub drop job outputs)
REPLACEMENT = "***"
WRAP_WIDTHS = (64, 76)


def _b64_forms(data: bytes) -> list[str]:
    """base64 of `data` at each of the three byte alignments it can have inside a longer blob
    (an auth header, a config file), both alphabets: only the characters that depend on `data`
    alone -- the edges also depend on the neighbouring bytes."""
    out = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data + b"\0\0").decode()
        first, end = -(-8 * shift // 6), 8 * (shift + len(data)) // 6  # ceil, floor
        core = encoded[first:end]
        for form in (core, core.replace("+", "-").replace("/", "_")):
            if len(form) >= 8:
                out.append(form)
    whole = base64.b64encode(data).decode()
    out.append(whole)  # the whole encoding, padding included
    # `base64 FILE` and `openssl base64` wrap their output at 76 and 64 columns: each line of a
    # wrapped encoding alone (a RUN that prints a build secret that way)
    for width in WRAP_WIDTHS:
        if len(whole) > width:
            out += [c for c in (whole[i : i + width] for i in range(0, len(whole), width))
                    if len(c) >= 8]  # fmt: skip
    return out


def variants(value: str, username: str | None = None) -> list[str]:
    """The forms of `value` worth masking, longest first (so a longer form is replaced whole)."""
    forms: set[str] = set()
    for v in (value, value.strip()):
        forms.add(v)
        forms.update(line.strip() for line in re.split(r"\r\n|\r|\n", v))
        forms.add(json.dumps(v)[1:-1])  # JSON-escaped, as in a request or auth body
        forms.add(html.escape(v))  # entity-escaped, as in the job summary
        forms.add(quote(v, safe=""))  # percent-encoded, as in a URL or an escaped command
        forms.add(v.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
        forms.update(_b64_forms(v.encode()))
        if username:
            forms.update(_b64_forms(f"{username}:{v}".encode()))
    return sorted((f for f in forms if len(f.strip()) >= MIN_LENGTH), key=len, reverse=True)


class Secrets:
    def __init__(self) -> None:
        self._forms: list[str] = []
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | None, *, username: str | None = None) -> None:
        if not value or len(value.strip()) < MIN_LENGTH:
            return
        new = [f for f in variants(value, username) if f not in self._forms]
        if not new:
            return
        self._forms = sorted({*self._forms, *new}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(f) for f in self._forms))

    def add_all(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.add(value)

    def scrub(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REPLACEMENT, text)

    def scrub_data(self, value: T) -> T:
        """`value` with every string inside scrubbed (str, list, tuple, dict, dataclasses): for
        data that is escaped or cut later, such as the job summary or a PR comment."""
        if self._pattern is None:
            return value
        return cast(T, self._scrub_any(value))

    def _scrub_any(self, value: Any) -> Any:
        if isinstance(value, Enum):  # our own vocabulary (Severity), never a secret
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self._scrub_any(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._scrub_any(v) for v in value)
        if isinstance(value, dict):
            return {k: self._scrub_any(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: self._scrub_any(getattr(value, f.name))
                       for f in dataclasses.fields(value) if f.init}  # fmt: skip
            return dataclasses.replace(value, **changes)
        return value

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __repr__(self) -> str:  # never the values
        return f"Secrets({len(self._forms)} forms)"


_RUN = Secrets()


def run_secrets() -> Secrets:
    """The secrets of this run (process-wide: every Io and every one-line cut sees them)."""
    return _RUN
