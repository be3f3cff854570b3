"""Fault injection: per route, for the next N matching requests or a random fraction of them.

Kinds:
  status      answer `status` (500 by default) with a JSON error body
              (`html: true`: an HTML proxy page instead)
  429         answer 429 with `Retry-After: retry_after` (seconds or an HTTP-date string)
  delay       sleep `delay` seconds, then answer normally (slow responses)
  drop        read the request, then close the socket without answering
  drop-after  handle the request (e.g. apply the upsert), then close without answering

Routes are globs on "METHOD /path" without the /v1 prefix, e.g. "POST /deployments",
"GET /deployments/*", "*". CLI form: `KIND[:ARG][@ROUTE][xN|%P]`, e.g.
`status:503@GET /deployments/*x3`, `429:2@*%0.1`, `drop-after@POST /deployments x1`.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from dataclasses import dataclass, field

KINDS = ("status", "429", "delay", "drop", "drop-after")


@dataclass
class Fault:
    kind: str
    route: str = "*"
    count: int | None = 1  # next N matching requests (None: unlimited, use with fraction)
    fraction: float | None = None  # probability per matching request
    status: int = 500
    retry_after: str = "1"
    delay: float = 0.5
    html: bool = False
    injected: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}"
            )
        if self.fraction is not None and not 0 <= self.fraction <= 1:
            raise ValueError("fault fraction must be within 0..1")

    def matches(self, method: str, path: str) -> bool:
        route = f"{method} {path}"
        return self.route == "*" or fnmatch.fnmatchcase(route, self.route)


_CLI = re.compile(
    r"^(?P<kind>[a-z0-9-]+)(?::(?P<arg>[^@]+?))?(?:@(?P<route>.+?))?"
    r"\s*(?:x(?P<count>\d+)|%(?P<fraction>[0-9.]+))?$"
)


def parse_fault(text: str) -> Fault:
    m = _CLI.match(text.strip())
    if not m:
        raise ValueError(f"cannot parse fault {text!r} (KIND[:ARG][@ROUTE][xN|%P])")
    kind, arg = m["kind"], m["arg"]
    fault = Fault(kind=kind, route=(m["route"] or "*").strip())
    if m["fraction"]:
        fault.fraction, fault.count = float(m["fraction"]), None
    elif m["count"]:
        fault.count = int(m["count"])
    if arg:
        if kind == "status":
            fault.status = int(arg)
        elif kind == "429":
            fault.retry_after = arg
        elif kind == "delay":
            fault.delay = float(arg)
    return fault


@dataclass
class Faults:
    rules: list[Fault] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(self.seed)
        self.injected: dict[str, int] = {}

    def add(self, fault: Fault | str) -> Fault:
        if isinstance(fault, str):
            fault = parse_fault(fault)
        with self.lock:
            self.rules.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def total(self) -> int:
        with self.lock:
            return sum(self.injected.values())

    def pick(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.rules:
                if not fault.matches(method, path):
                    continue
                if fault.count is not None and fault.count <= 0:
                    continue
                if fault.fraction is not None and self.rng.random() >= fault.fraction:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                fault.injected += 1
                key = fault.kind if fault.kind != "status" else f"status {fault.status}"
                self.injected[key] = self.injected.get(key, 0) + 1
                return fault
        return None
