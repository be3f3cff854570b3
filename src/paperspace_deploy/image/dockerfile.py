"""What a Dockerfile asks of its builder, read line by line (no full parser: hints, not verdicts).

* `buildkit_features`: syntax the legacy builder (the Engine API path) refuses or runs wrongly;
  listed in the notice when BuildKit is not available and in the hint when the build fails;
* `automatic_args`: BuildKit's automatic platform ARGs, silently empty on the legacy builder
  (a download URL becomes `tool__.tar.gz`);
* `mounts`: `RUN --mount=type=secret|ssh` ids, so a secret the build was not given is a warning
  (BuildKit mounts nothing and the step runs on without it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

SCAN_LIMIT = 1024 * 1024  # bytes of the Dockerfile read for these hints

_MARKERS = [
    (re.compile(r"^\s*RUN\s+.*--mount", re.I), "RUN --mount"),
    (
        re.compile(
            r"^\s*(COPY|ADD)\s+.*--(chmod|link|parents|exclude|checksum|keep-git-dir)", re.I
        ),
        "COPY/ADD --chmod/--link/...",
    ),
    (re.compile(r"<<-?\s*['\"]?[A-Za-z_]\w*['\"]?\s*$"), "heredoc (<<EOF)"),
    (re.compile(r"^\s*RUN\s+(--\S+\s+)*--(network|security)", re.I), "RUN --network/--security"),
    (re.compile(r"^\s*FROM\s+--platform=\S*\$", re.I), "FROM --platform=$BUILDPLATFORM"),
    (re.compile(r"^\s*#\s*syntax\s*=", re.I), "# syntax= directive"),
]
_AUTOMATIC = re.compile(r"(?:TARGET|BUILD)(?:PLATFORM|OS|ARCH|VARIANT)")
_ARG = re.compile(r"^\s*ARG\s+(.*)$", re.I)
_RUN = re.compile(r"^\s*RUN\s", re.I)
_MOUNT = re.compile(r"--mount=(\S+)")


def _lines(text: str) -> list[tuple[int, str]]:
    return list(enumerate(text.splitlines(), 1))


def buildkit_features(text: str) -> list[str]:
    """BuildKit-only syntax the legacy builder (the Engine API's /build) cannot run."""
    found: list[str] = []
    for number, line in _lines(text):
        for pattern, name in _MARKERS:
            if pattern.search(line):
                found.append(f"{name} at line {number}")
    return found


def automatic_args(text: str) -> list[str]:
    """`ARG TARGETARCH` and friends without a default, which only BuildKit fills in, as
    `NAME (line N)`."""
    found = []
    for number, line in _lines(text):
        m = _ARG.match(line)
        for token in m.group(1).split() if m else ():
            name, has_default, _ = token.partition("=")
            if not has_default and _AUTOMATIC.fullmatch(name):
                found.append(f"{name} (line {number})")
    return found


@dataclass(frozen=True)
class Mount:
    kind: str  # secret | ssh
    id: str
    line: int
    required: bool


def mounts(text: str) -> list[Mount]:
    """The secret and ssh mounts of RUN steps, with the id BuildKit would look up."""
    found = []
    for number, line in _lines(text):
        if not _RUN.match(line):
            continue
        for value in _MOUNT.findall(line):
            opts = dict(part.partition("=")[::2] for part in value.split(","))
            kind = opts.get("type", "")
            if kind not in ("secret", "ssh"):
                continue
            ident = opts.get("id") or ""
            if not ident and kind == "secret" and opts.get("target"):
                ident = os.path.basename(opts["target"])
            if not ident and kind == "ssh":
                ident = "default"
            required = "required" in opts and opts["required"].lower() in ("true", "1", "")
            found.append(Mount(kind, ident, number, required))
    return found
