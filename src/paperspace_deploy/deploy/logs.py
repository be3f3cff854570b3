"""The failing instances' last log lines, for a rollout that failed or timed out.

`GET /deployments/{id}/logs` is documented as paginated, items `{id, jobId, message, uuid,
dtCreated, instanceId}`, with an `instanceId` filter (reference §2.5); its order, and whether
the filter and `order` are honoured, are not. So for each instance of our spec (the failing
ones first, at most MAX_INSTANCES) one small page is asked for, newest first, and read
tolerantly: a bare list as well as `{items}`; the text from `message` (or `line`, `text`,
`log`); items naming another instance dropped; ordered by `dtCreated` when every item has one
(a server that ignored `order` and answered oldest first is paged on, boundedly, to its end);
the last MAX_LINES kept.

Every line is made one safe line (`safetext.one_line`: the run's secrets replaced, control
characters collapsed, workflow commands broken) and cut at MAX_LINE; all instances together
stay under MAX_BYTES. The run is already failing, so nothing here may make it fail worse: any
error becomes one warning, and the whole fetch gets its own BUDGET seconds -- a timeout is when
the logs matter most, and by then the run's deadline has passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.deploy.decide import classify, our_runs
from paperspace_deploy.deploy.session import Run
from paperspace_deploy.safetext import one_line

MAX_INSTANCES = 3
MAX_LINES = 40  # per instance
MAX_LINE = 400  # characters of one line
MAX_BYTES = 16 * 1024  # all instances together
MAX_PAGES = 10  # only for a server that answers oldest first
BUDGET = 5.0  # seconds for the whole fetch
TEXT_KEYS = ("message", "line", "text", "log", "msg")
TIME_KEYS = ("dtCreated", "timestamp", "time")


@dataclass
class InstanceLogs:
    instance: str  # one safe line
    lines: list[str]
    cut: bool = False  # more lines existed than are shown


@dataclass
class FailureLogs:
    instances: list[InstanceLogs] = field(default_factory=list)
    warning: str | None = None  # why (some) logs could not be read
    note: str | None = None  # why there was nothing to read

    def __bool__(self) -> bool:
        return bool(self.instances or self.warning or self.note)


def targets(runs: Sequence[Mapping[str, Any]] | None, seen: frozenset[str]) -> list[str]:
    """The instance ids of our spec whose logs to read: the failing ones first."""
    found: list[tuple[int, str]] = []
    for r in our_runs(runs or [], seen):
        for inst in r.get("instances") or []:
            if not isinstance(inst, Mapping):
                continue
            name = inst.get("instanceId") or inst.get("id")
            if isinstance(name, str) and name and name not in (n for _, n in found):
                found.append((0 if classify(inst.get("state")) == "failed" else 1, name))
    return [name for _, name in sorted(found, key=lambda item: item[0])][:MAX_INSTANCES]


def _stamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _entries(body: Any, instance: str) -> tuple[list[tuple[float | None, str]], str | None]:
    """(the page's (time, text) entries in the server's order, the next cursor)."""
    items: Any = body
    cursor = None
    if isinstance(body, Mapping):
        items = body.get("items")
        more = body.get("hasMore") and isinstance(body.get("nextPage"), str)
        cursor = body["nextPage"] if more else None
    if not isinstance(items, list):
        raise ValueError("the answer holds no list of log lines")
    out: list[tuple[float | None, str]] = []
    for item in items:
        if isinstance(item, str):
            out.append((None, item))
            continue
        if not isinstance(item, Mapping):
            continue
        other = item.get("instanceId")
        if isinstance(other, str) and other and other != instance:
            continue  # the filter was not applied
        text = next((item[k] for k in TEXT_KEYS if isinstance(item.get(k), str)), None)
        if text is not None:
            when = next((_stamp(item[k]) for k in TIME_KEYS if k in item), None)
            out.append((when, text))
    return out, cursor


def _chronological(run: Run, dep_id: str, instance: str) -> tuple[list[str], bool]:
    """The instance's last lines, oldest first, and whether older ones were left out."""
    body = run.client.deployment_logs(dep_id, instance_id=instance, limit=MAX_LINES)
    entries, cursor = _entries(body, instance)
    stamps = [t for t, _ in entries]
    timed = bool(entries) and all(t is not None for t in stamps)
    # oldest first only when the times say so; equal or no times: as asked (newest first)
    oldest_first = timed and len(entries) > 1 and stamps[0] < stamps[-1]  # type: ignore[operator]
    pages = 1
    while oldest_first and cursor and pages < MAX_PAGES:  # `order` ignored: read on to the end
        body = run.client.deployment_logs(dep_id, instance_id=instance, limit=MAX_LINES,
                                          after=cursor)  # fmt: skip
        more, cursor = _entries(body, instance)
        entries = (entries + more)[-MAX_LINES:]
        pages += 1
    if not oldest_first:
        entries.reverse()
    if timed:
        entries.sort(key=lambda e: e[0] or 0.0)  # stable: equal times keep the order above
    lines = [one_line(part, MAX_LINE) for _, text in entries for part in text.splitlines()]
    lines = [line for line in lines if line]
    cut = len(lines) > MAX_LINES or bool(cursor)
    return lines[-MAX_LINES:], cut


def for_failure(run: Run, dep_id: str, runs: Sequence[Mapping[str, Any]] | None,
                seen: frozenset[str]) -> FailureLogs:  # fmt: skip
    """The last log lines of our spec's instances (failing first); never raises."""
    from paperspace_deploy.errors import DeployError

    out = FailureLogs()
    names = targets(runs, seen)
    if not names:
        out.note = "no instance of our spec was listed, so there are no instance logs to show"
        return out
    saved, run.client.deadline = run.client.deadline, Deadline(BUDGET)
    used = 0
    try:
        for name in names:
            if run.stop.is_set():
                break
            lines, cut = _chronological(run, dep_id, name)
            kept: list[str] = []
            for line in reversed(lines):  # the newest lines matter most
                used += len(line.encode()) + 1
                if used > MAX_BYTES:
                    cut = True
                    break
                kept.append(line)
            out.instances.append(InstanceLogs(one_line(name, 120), kept[::-1], cut))
            if used > MAX_BYTES:
                break
    except (DeployError, ValueError) as exc:
        out.warning = "could not read the instance logs (GET /deployments/{id}/logs): " + (
            one_line(exc, 300)
        )
    finally:
        run.client.deadline = saved
    return out
