"""The wait loop's decision, as a pure function of what was polled.

`decide(target, memo, polled, now, options)` looks at the deployment (and, when it asks for
them, the history and the runs) and returns what to do next: wait, fetch more, succeed, fail
or report supersession. No HTTP, no clock, no sleeping: `wait.py` does those, and the unit tests
call this directly with recorded data.

Instance states are a free string in the API (reference §2.5); they are classified by word, in
any case: failure words fail the run after `error_grace`; known progress words wait; anything
else is reported as unknown and never trusted either way. Only runs of our spec count: runs
(or instances) whose ids were not listed before our upsert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from paperspace_deploy.deploy import identify
from paperspace_deploy.deploy.result import WaitOptions
from paperspace_deploy.safetext import one_line
from paperspace_deploy.specdiff import normalize

FAILURE_WORDS = frozenset(
    ("error", "errored", "failed", "failure", "crashloopbackoff", "imagepullbackoff",
     "errimagepull", "invalidimagename", "createcontainerconfigerror", "createcontainererror",
     "runcontainererror", "oomkilled", "backoff")
)  # fmt: skip
PROGRESS_WORDS = frozenset(
    ("pending", "starting", "started", "running", "ready", "healthy", "provisioning",
     "building", "scheduled", "created", "creating", "containercreating", "podinitializing",
     "initializing", "pulling", "restarting", "stopping", "stopped", "terminating",
     "terminated", "completed", "succeeded", "draining", "deleting")
)  # fmt: skip
MAX_SHOWN = 3  # instances named in one status line


class Act(StrEnum):
    WAIT = "wait"  # poll again after the interval
    FETCH_HISTORY = "fetch-history"  # call decide again with `polled.history`
    FETCH_RUNS = "fetch-runs"  # call decide again with `polled.runs`
    HEALTHY = "healthy"
    DISABLED = "disabled"
    FAILED = "failed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Target:
    """What the wait is for; fixed after the upsert."""

    deployment_id: str
    config: Mapping[str, Any]
    sha: str | None  # our x-git-sha header, when the whole set was sent
    prev_spec: str | None  # the spec that was live before our upsert
    t_upsert: float  # monotonic time the upsert was sent
    seen_before: frozenset[str] = frozenset()  # run and instance ids listed before the upsert


@dataclass(frozen=True)
class Memo:
    """What one poll hands the next."""

    our: str | None = None  # our spec id, once known
    first_bad: float | None = None  # when an instance of ours started failing
    status: str = "waiting for the new spec to appear"


@dataclass(frozen=True)
class Polled:
    deployment: Mapping[str, Any] | None  # None: 404
    history: Sequence[Mapping[str, Any]] | None = None  # None: not fetched (newest first)
    runs: Sequence[Mapping[str, Any]] | None = None  # None: not fetched


@dataclass(frozen=True)
class Decision:
    act: Act
    memo: Memo
    message: str = ""  # the failure / supersession message, or the status line
    notes: tuple[str, ...] = field(default_factory=tuple)  # to log once (e.g. "following ...")
    spec: Mapping[str, Any] | None = None  # the live spec (for the superseded message)


def word(state: Any) -> str:
    return re.sub(r"[^a-z]", "", str(state).lower())


def classify(state: Any) -> str:
    """'failed', 'progress' or 'unknown' for an instance state, in any spelling."""
    w = word(state)
    if w in FAILURE_WORDS or w.startswith("err") or w.endswith(("error", "failed")):
        return "failed"
    return "progress" if w in PROGRESS_WORDS else "unknown"


def our_runs(runs: Sequence[Mapping[str, Any]], seen: frozenset[str]) -> list[Mapping[str, Any]]:
    """The runs of our spec: not listed before the upsert, or holding new instances (a server
    that rolls one run in place), with only the new instances kept."""
    out: list[Mapping[str, Any]] = []
    for run in runs:
        if not isinstance(run, Mapping):
            continue
        instances = [i for i in run.get("instances") or [] if isinstance(i, Mapping)]
        if str(run.get("id")) not in seen:
            out.append(run)
        elif fresh := [i for i in instances if str(i.get("id")) not in seen]:
            out.append({**run, "instances": fresh})
    return out


def _desired(run: Mapping[str, Any]) -> int:
    value = run.get("replicas")
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _who(inst: Mapping[str, Any]) -> str:
    return one_line(inst.get("instanceId") or inst.get("id") or "instance", 80)


def _instances(runs: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    return [(inst, classify(inst.get("state"))) for run in runs
            for inst in run.get("instances") or [] if isinstance(inst, Mapping)]  # fmt: skip


def failing(runs: Sequence[Mapping[str, Any]]) -> str | None:
    """`<instance> <state>: <message>` of the first failing instance, or None."""
    for inst, kind in _instances(runs):
        if kind == "failed":
            msg = one_line(inst.get("stateMessage") or "no message", 500)
            return f"{_who(inst)} {one_line(inst.get('state'), 40)}: {msg}"
    return None


def progress(runs: Sequence[Mapping[str, Any]], replicas: int) -> str:
    """A status line: ready count, unknown states (not trusted), instance messages."""
    ready = sum(int(r.get("readyReplicas") or 0) for r in runs
                if isinstance(r.get("readyReplicas"), int | float))  # fmt: skip
    text = f"applied, {ready}/{replicas} replicas ready, not healthy yet"
    extra = []
    for inst, kind in _instances(runs)[:MAX_SHOWN]:
        state = one_line(inst.get("state"), 40)
        if kind == "unknown":
            extra.append(f"{_who(inst)} in unknown state {state!r} (not treated as success or "
                         "failure)")  # fmt: skip
        elif inst.get("stateMessage"):
            extra.append(f"{_who(inst)} {state}: {one_line(inst['stateMessage'], 300)}")
    return text + "".join(f"; {e}" for e in extra)


def decide(target: Target, memo: Memo, polled: Polled, now: float,
           options: WaitOptions) -> Decision:  # fmt: skip
    def wait(status: str, **kw: Any) -> Decision:
        new = replace(memo, status=status, **kw)
        return Decision(Act.WAIT, new, status)

    dep = polled.deployment
    if dep is None:
        if now - target.t_upsert < options.grace:
            return wait("deployment not visible yet (404)")
        return Decision(Act.FAILED, memo,
                        f"deployment {target.deployment_id} was deleted while waiting")  # fmt: skip
    latest = dep.get("latestSpec")
    spec: Mapping[str, Any] = latest if isinstance(latest, Mapping) else {}
    spec_id = spec.get("id") if isinstance(spec.get("id"), str) else None
    our = memo.our
    notes: tuple[str, ...] = ()
    config, sha, prev = target.config, target.sha, target.prev_spec
    if our is None:
        if not spec_id or spec_id == prev:
            return wait("spec update not yet observed (the live spec is still the previous one)")
        if identify.is_ours(spec, config, sha, alone=False):
            our = spec_id
        else:
            if polled.history is None:
                return Decision(Act.FETCH_HISTORY, memo)
            our = identify.find_ours(polled.history, prev, config, sha)
            if our is None:
                return wait("a new spec is live but it is not ours; waiting for ours to appear")
        memo = replace(memo, our=our)
    if spec_id != our:
        if spec_id == prev:
            return wait("spec update not yet observed")
        if polled.history is None:
            return Decision(Act.FETCH_HISTORY, memo)
        if not identify.is_newer(polled.history, spec_id, our):  # an older spec, still shown
            return wait("spec update not yet observed (an older spec is still live)")
        if not identify.is_ours(spec, config, sha, alone=False):
            return Decision(Act.SUPERSEDED, memo, str(spec_id), spec=spec)
        notes = (f"spec {our} was replaced by identical spec {spec_id}; following it",)
        memo = replace(memo, our=spec_id, first_bad=None)
    result = _rollout(target, memo, polled, spec, now, options)
    return replace(result, notes=notes + result.notes)


def _rollout(target: Target, memo: Memo, polled: Polled, spec: Mapping[str, Any], now: float,
             options: WaitOptions) -> Decision:  # fmt: skip
    """Our spec is the live one: applied? healthy? disabled? failing?"""
    if spec.get("error") and not spec.get("externalApplied"):
        message = f"Paperspace could not apply spec {memo.our}: {one_line(spec['error'], 500)}"
        return Decision(Act.FAILED, memo, message)
    if not spec.get("externalApplied"):
        status = "submitted, not yet applied to the cluster"
        return Decision(Act.WAIT, replace(memo, status=status), status)
    if spec.get("dtHealthy"):
        return Decision(Act.HEALTHY, memo)
    if polled.runs is None:
        return Decision(Act.FETCH_RUNS, memo)
    ours = our_runs(polled.runs, target.seen_before)
    config = normalize(target.config)  # the stored copy may lack defaults: read our own
    replicas = int((config.get("resources") or {}).get("replicas", 1) or 0)
    if (config.get("enabled") is False or replicas == 0) and all(_desired(r) == 0 for r in ours):
        return Decision(Act.DISABLED, memo)
    problem = failing(ours)
    if problem:
        first_bad = memo.first_bad if memo.first_bad is not None else now
        if now - first_bad >= options.error_grace:
            return Decision(Act.FAILED, memo, f"rollout of spec {memo.our} failed: {problem}")
        status = f"instance failing: {problem}"
        return Decision(Act.WAIT, replace(memo, first_bad=first_bad, status=status), status)
    status = progress(ours, replicas) if ours else "applied, waiting for the run of our spec"
    return Decision(Act.WAIT, replace(memo, first_bad=None, status=status), status)
