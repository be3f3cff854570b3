"""The run's secrets, in every form our code or a server could echo them: one place.

`Secrets.add(value)` registers a secret (an API key, a registry password, a build secret) and
derives the variants a log, a summary or an API error could carry: the value stripped and raw,
each line of a multi-line value (split on CR, LF and CRLF), base64 of `user:password` and of
the value (the three base64 alignments a longer blob can hold it in), URL-safe base64, JSON-,
HTML- and percent-escaped forms. `scrub(text)` replaces all of them; the action also registers
each with the runner (`::add-mask::`) through `on_add`. Everything the project writes -- the log
(`Io`), outputs, the job summary, report files -- goes through `scrub` before it is cut,
escaped or written, so a cut or an escape can never leave half a secret readable.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote

MIN_LENGTH = 4  # shorter masks garble logs (and make GitHub drop job outputs)
REPLACEMENT = "***"


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
    out.append(base64.b64encode(data).decode())  # the whole encoding, padding included
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
    def __init__(self, on_add: Callable[[str], None] | None = None) -> None:
        self._forms: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self.on_add = on_add

    def add(self, value: str | None, *, username: str | None = None) -> None:
        if not value or len(value.strip()) < MIN_LENGTH:
            return
        new = [f for f in variants(value, username) if f not in self._forms]
        if not new:
            return
        self._forms = sorted({*self._forms, *new}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(f) for f in self._forms))
        if self.on_add:
            for form in new:
                self.on_add(form)

    def add_all(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.add(value)

    def scrub(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REPLACEMENT, text)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __repr__(self) -> str:  # never the values
        return f"Secrets({len(self._forms)} forms)"
