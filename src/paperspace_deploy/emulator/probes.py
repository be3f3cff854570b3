"""The spec's health checks, run like the platform's kubelet runs them (run mode).

A probe is HTTP (`path`, `port`, `host`, `headers`) or exec (`exec.command`, run with `docker
exec`), with `initialDelaySeconds` (0), `periodSeconds` (10), `timeoutSeconds` (1) and
`failureThreshold` (3). A status >= 200 and < 400 is a success. `startup` gates the other two;
`readiness` decides whether the endpoint sends traffic; `liveness` restarts the container.

Run mode's containers share the host's network, so every probe connects to 127.0.0.1. `host` is
sent as the Host header rather than dialled (dialling a name from this machine would probe
something else entirely). A spec without a readiness probe gets an implicit TCP check of the
port the endpoint forwards to: locally, "nothing listens there" is the mistake worth catching.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("startup", "readiness", "liveness")
MESSAGE_CAP = 300  # characters of probe output kept in a stateMessage
ExecRunner = Callable[[list[str], float], tuple[int | None, str]]  # (exit code or None, output)


@dataclass(frozen=True)
class Probe:
    kind: str  # startup | readiness | liveness
    port: int  # the HTTP/TCP port (defaults to the app's port)
    path: str | None = None  # HTTP probe
    host: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] | None = None  # exec probe
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    failure_threshold: int = 3
    implicit: bool = False  # run mode's TCP check when the spec has no readiness probe

    @property
    def title(self) -> str:
        return f"{self.kind.capitalize()} probe"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str = ""  # why it failed, already prefixed with "<Kind> probe failed: "


def app_ports(data: Mapping[str, Any]) -> list[int]:
    """The container ports: `resources.ports` (v0alpha1+) or the legacy top-level `port` (80)."""
    ports = (data.get("resources") or {}).get("ports")
    if isinstance(ports, list) and ports:
        return [int(p) for p in ports if isinstance(p, int | float) and not isinstance(p, bool)]
    if data.get("apiVersion") == "v0alpha0" or "port" in data:
        return [int(data.get("port") or 80)]
    return []


def _number(value: Any, default: float, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return max(float(value), minimum)


def probes_from_spec(data: Mapping[str, Any]) -> list[Probe]:
    """The spec's probes (`healthChecks`, else the legacy `healthchecks`) plus the implicit one."""
    block = data.get("healthChecks")
    if not isinstance(block, dict):
        block = data.get("healthchecks")
    block = block if isinstance(block, dict) else {}
    ports = app_ports(data)
    default_port = ports[0] if ports else 80
    probes = []
    for kind in KINDS:
        raw = block.get(kind)
        if not isinstance(raw, dict):
            continue
        common: dict[str, Any] = {
            "kind": kind,
            "port": int(_number(raw.get("port"), default_port, 1)),
            "initial_delay": _number(raw.get("initialDelaySeconds"), 0.0, 0.0),
            "period": _number(raw.get("periodSeconds"), 10.0, 1.0),
            "timeout": _number(raw.get("timeoutSeconds"), 1.0, 1.0),
            "failure_threshold": int(_number(raw.get("failureThreshold"), 3, 1)),
        }
        exec_block = raw.get("exec")
        if isinstance(exec_block, dict):
            command = exec_block.get("command") or []
            probes.append(Probe(command=tuple(str(c) for c in command), **common))
        else:
            headers = tuple(
                (str(h.get("name")), str(h.get("value")))
                for h in raw.get("headers") or []
                if isinstance(h, dict)
            )
            probes.append(
                Probe(
                    path=str(raw.get("path") or "/"),
                    host=raw.get("host"),
                    headers=headers,
                    **common,
                )
            )
    if not any(p.kind == "readiness" for p in probes) and ports:
        probes.append(Probe("readiness", ports[0], period=1.0, failure_threshold=3, implicit=True))
    return probes


def _dial_error(exc: OSError, target: str) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"dial tcp {target}: connect: connection refused"
    if isinstance(exc, TimeoutError):
        return f"dial tcp {target}: i/o timeout"
    return f"dial tcp {target}: {exc.strerror or type(exc).__name__}"


def check_http(probe: Probe) -> Outcome:
    target = f"127.0.0.1:{probe.port}"
    url = f"http://{target}{probe.path}"
    headers = {"User-Agent": "kube-probe/1.29", "Accept": "*/*"}
    if probe.host:
        headers["Host"] = probe.host
    headers.update(dict(probe.headers))
    conn = http.client.HTTPConnection("127.0.0.1", probe.port, timeout=probe.timeout)
    try:
        conn.request("GET", probe.path or "/", headers=headers)
        resp = conn.getresponse()
        resp.read(64 * 1024)  # the body is not judged; read a bounded part and drop it
    except TimeoutError:
        return Outcome(
            False,
            f'{probe.title} failed: Get "{url}": context deadline exceeded '
            f"(Client.Timeout {probe.timeout:g}s exceeded while awaiting "
            "headers)",
        )
    except OSError as exc:
        return Outcome(False, f'{probe.title} failed: Get "{url}": {_dial_error(exc, target)}')
    except http.client.HTTPException as exc:
        return Outcome(
            False,
            f'{probe.title} failed: Get "{url}": malformed HTTP response ({type(exc).__name__})',
        )
    finally:
        conn.close()
    if 200 <= resp.status < 400:
        return Outcome(True)
    return Outcome(
        False, f"{probe.title} failed: HTTP {resp.status} {resp.reason} from GET {url}".rstrip()
    )


def check_tcp(probe: Probe) -> Outcome:
    target = f"127.0.0.1:{probe.port}"
    try:
        socket.create_connection(("127.0.0.1", probe.port), timeout=probe.timeout).close()
    except OSError as exc:
        return Outcome(
            False,
            f"{probe.title} failed: {_dial_error(exc, target)} (the spec has no readiness "
            f"probe; run mode checks that port {probe.port}, where the endpoint sends traffic, "
            "accepts connections)",
        )
    return Outcome(True)


def check_exec(probe: Probe, run_exec: ExecRunner) -> Outcome:
    command = list(probe.command or ())
    shown = "[" + " ".join(command) + "]"
    if not command:
        return Outcome(False, f"{probe.title} failed: exec probe has an empty command")
    try:
        code, output = run_exec(command, probe.timeout)
    except Exception as exc:  # the engine refused the exec (container gone, bad command)
        text = " ".join(str(exc).split())[:MESSAGE_CAP]
        return Outcome(False, f"{probe.title} failed: exec {shown}: {text}")
    if code == 0:
        return Outcome(True)
    tail = " ".join(output.split())[-MESSAGE_CAP:]
    if code is None:
        return Outcome(
            False, f"{probe.title} failed: command {shown} timed out after {probe.timeout:g}s"
        )
    return Outcome(
        False,
        f"{probe.title} failed: exec {shown} exited with code {code}"
        + (f": {tail}" if tail else ""),
    )


def run_probe(probe: Probe, run_exec: ExecRunner) -> Outcome:
    if probe.command is not None:
        return check_exec(probe, run_exec)
    if probe.implicit:
        return check_tcp(probe)
    return check_http(probe)


class Tracker:
    """One probe's schedule and consecutive results for one container start."""

    def __init__(self, probe: Probe, started: float) -> None:
        self.probe = probe
        self.next_at = started + probe.initial_delay
        self.failures = 0
        self.passed = False  # the latest result
        self.last: Outcome | None = None

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def record(self, outcome: Outcome, now: float) -> None:
        self.last = outcome
        self.passed = outcome.ok
        self.failures = 0 if outcome.ok else self.failures + 1
        self.next_at = now + self.probe.period

    @property
    def failed(self) -> bool:
        """failureThreshold consecutive failures."""
        return self.failures >= self.probe.failure_threshold

    def wait(self, now: float | None = None) -> float:
        return max(0.0, self.next_at - (time.monotonic() if now is None else now))
