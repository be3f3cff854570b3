"""Parse the Docker Engine's JSON event streams for build and push (no docker import here).

The engine reports failures *inside* a 200 response: any event with `errorDetail` (preferred) or
the deprecated `error` field is a failure, whatever came before it. Pure state machines, fed one
decoded event at a time, so recorded transcripts test them without a daemon.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

TAIL_LINES = 20
MAX_LINE = 64 * 1024  # characters of one output line kept and printed
_IMAGE_ID = re.compile(r"(?:^Successfully built |sha256:)([0-9a-f]+)$")
_STEP = re.compile(r"^Step \d+/\d+ : ")


def event_error(event: object) -> str | None:
    """The error message of an event, or None. Anything not a dict is a protocol error."""
    if not isinstance(event, dict):
        return f"unexpected event from the Docker Engine: {str(event)[:200]!r}"
    detail = event.get("errorDetail")
    if isinstance(detail, dict) and detail.get("message"):
        return str(detail["message"])
    if detail:
        return str(detail)
    if event.get("error"):
        return str(event["error"])
    return None


class LineSplitter:
    """Engine `stream` chunks are arbitrary slices of output; hand on whole lines only."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        text = (self._partial + text).replace("\r\n", "\n")
        *lines, self._partial = text.split("\n")
        while len(self._partial) > MAX_LINE:  # output without newlines: bound memory
            lines.append(self._partial[:MAX_LINE])
            self._partial = self._partial[MAX_LINE:]
        # keep the last of \r-redrawn text; cut absurd lines
        return [line.rsplit("\r", 1)[-1][:MAX_LINE] for line in lines]

    def flush(self) -> list[str]:
        rest, self._partial = self._partial, ""
        return [rest] if rest else []


@dataclass
class BuildLog:
    """Consumes build events; `emit` receives each output line as it arrives."""

    emit: Callable[[str], None]
    image_id: str | None = None
    error: str | None = None
    step: str | None = None  # "Step 3/5 : RUN false"
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    _lines: LineSplitter = field(default_factory=LineSplitter)
    _status: dict[str, str] = field(default_factory=dict)

    def feed(self, event: object) -> None:
        message = event_error(event)
        if message is not None:
            for line in self._lines.flush():
                self._line(line)
            self.error = self.error or message
            return
        assert isinstance(event, dict)
        if isinstance(event.get("stream"), str):
            for line in self._lines.feed(event["stream"]):
                self._line(line)
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            self.image_id = aux["ID"]
        status = event.get("status")
        if isinstance(status, str):  # base-image pulls during the build
            key = str(event.get("id") or "")
            state = _state(status)
            if self._status.get(key) != state:
                self._status[key] = state
                self._line(f"{key}: {state}" if key else status)

    def finish(self) -> None:
        for line in self._lines.flush():
            self._line(line)

    def _line(self, line: str) -> None:
        if _STEP.match(line):
            self.step = line
            self.tail.clear()
        self.tail.append(line)
        if self.image_id is None and (m := _IMAGE_ID.search(line.strip())):
            self.image_id = m.group(1)
        self.emit(line)


def _state(status: str) -> str:
    """Collapse per-second countdowns ("Retrying in 4 seconds") into one state."""
    if status.startswith("Retrying in"):
        return "Retrying"
    if status.startswith("Mounted from"):
        return status
    return status.split(" ", 1)[0] if status.startswith(("Pushing", "Downloading")) else status


def _size(total: object) -> str:
    if not isinstance(total, int) or total <= 0:
        return ""
    n = float(total)
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f" ({n:.0f} {unit})" if unit == "B" else f" ({n:.1f} {unit})"
        n /= 1000
    return ""


@dataclass
class PushLog:
    """Consumes push events: one line per layer state change, the digest, the first error."""

    emit: Callable[[str], None]
    digest: str | None = None
    size: int | None = None
    error: str | None = None
    retries: int = 0
    layers: dict[str, str] = field(default_factory=dict)

    def feed(self, event: object) -> None:
        message = event_error(event)
        if message is not None:
            self.error = self.error or message
            return
        assert isinstance(event, dict)
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
            self.digest = aux["Digest"]
            self.size = aux.get("Size") if isinstance(aux.get("Size"), int) else None
            return
        status = event.get("status")
        if not isinstance(status, str):
            return
        layer = event.get("id")
        if not layer or not isinstance(layer, str):
            self.emit(status)  # "The push refers to repository [...]", "tag: digest: ..."
            return
        state = _state(status)
        if self.layers.get(layer) == state:
            return
        if state == "Retrying":
            self.retries += 1
        self.layers[layer] = state
        detail = event.get("progressDetail") or {}
        total = detail.get("total") if state == "Pushing" and isinstance(detail, dict) else None
        self.emit(f"{layer}: {state}{_size(total)}")


class Failure(Enum):
    AUTH = "auth"  # 401/403/denied: never retried
    NOT_FOUND = "not-found"  # name unknown, tag does not exist, bad reference: never retried
    TRANSIENT = "transient"  # 429, 5xx, connection-class: retried a bounded number of times
    INSECURE = "insecure"  # HTTP registry the daemon does not trust
    TLS = "tls"  # certificate problems
    OTHER = "other"


_PATTERNS: list[tuple[Failure, re.Pattern[str]]] = [
    (Failure.INSECURE, re.compile(r"http response to https client", re.I)),
    (Failure.TLS, re.compile(r"x509|certificate|tls: ", re.I)),
    (
        Failure.AUTH,
        re.compile(
            r"unauthori[sz]ed|authentication required|no basic auth credentials|denied|"
            r"forbidden|\b40[13]\b|incorrect username or password|insufficient_scope",
            re.I,
        ),
    ),
    (
        Failure.TRANSIENT,
        re.compile(
            r"toomanyrequests|too many requests|\b429\b|\b5\d\d\b|connection refused|"
            r"connection reset|no such host|i/o timeout|timeout|timed out|\bEOF\b|"
            r"broken pipe|temporar|unavailable|network is unreachable|no route to host|"
            r"server misbehaving|internal server error|bad gateway",
            re.I,
        ),
    ),
    (
        Failure.NOT_FOUND,
        re.compile(
            r"name unknown|tag does not exist|invalid reference|repository name must|"
            r"manifest unknown|not found|does not exist",
            re.I,
        ),
    ),
]


def classify(message: str) -> Failure:
    for kind, pattern in _PATTERNS:
        if pattern.search(message):
            return kind
    return Failure.OTHER
