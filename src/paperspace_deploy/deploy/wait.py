"""The wait loop: poll, hand the data to `decide`, act on its answer, sleep, repeat.

All judgement lives in `decide.py`; this module only fetches what it asks for, logs progress
when it changes, and turns its answers into results and exceptions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from paperspace_deploy.deploy import identify
from paperspace_deploy.deploy.decide import Act, Decision, Memo, Polled, Target, decide
from paperspace_deploy.deploy.result import DeployResult, endpoint_url, valid_id
from paperspace_deploy.deploy.session import Run
from paperspace_deploy.deploy.upsert import read_history
from paperspace_deploy.errors import RolloutFailed, Superseded
from paperspace_deploy.safetext import one_line


def wait_for_rollout(run: Run, result: DeployResult, target: Target) -> None:
    """Poll until our spec is healthy or disabled (sets `result.state`), or raise. A failed or
    timed-out rollout sets `result.state = "failed"` and the failing instances' last log
    lines (`result.failure_logs`) before RolloutFailed goes on."""
    from paperspace_deploy.deploy import logs

    last_runs: list[Any] = [None]
    try:
        _poll(run, result, target, last_runs)
    except RolloutFailed:
        result.state = "failed"
        result.failure_logs = logs.for_failure(run, target.deployment_id, last_runs[0],
                                               target.seen_before)  # fmt: skip
        raise


def _poll(run: Run, result: DeployResult, target: Target, last_runs: list[Any]) -> None:
    from paperspace_deploy.api.errors import ApiUnavailable, NotFound

    dep_id = target.deployment_id
    memo = Memo(our=result.spec_id)
    reported = ""
    runs_at = 0.0  # when last_runs[0] was read

    def timed_out() -> RolloutFailed:
        our = memo.our
        return RolloutFailed(
            f"timed out after {run.deadline.elapsed():.1f} s waiting for deployment {dep_id}"
            f"{f' spec {our}' if our else ''}: {memo.status}",
            hint="raise --timeout, or check the deployment's logs in the console",
        )

    def fetch(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except ApiUnavailable:
            if run.deadline.remaining() < 0.5:  # the deadline cut the call short
                raise timed_out() from None
            raise

    def deployment() -> Any:
        try:
            return run.client.get_deployment(dep_id)
        except NotFound:
            return None

    while True:
        if run.stop.is_set():
            raise run.interrupted()
        if run.deadline.expired():
            raise timed_out()
        started = time.monotonic()
        polled = Polled(fetch(deployment))
        while True:
            decision = decide(target, memo, polled, time.monotonic(), run.wait)
            try:
                if decision.act is Act.FETCH_HISTORY:
                    stop_at = {target.prev_spec, decision.memo.our}
                    polled = replace(polled, history=fetch(read_history, run, dep_id, stop_at))
                elif decision.act is Act.FETCH_RUNS:
                    age = run.wait.runs_age(started - target.t_upsert)
                    if last_runs[0] is None or started - runs_at > age:
                        last_runs[0], runs_at = fetch(run.client.get_runs, dep_id), started
                    polled = replace(polled, runs=last_runs[0])
                else:
                    break
            except NotFound:  # deleted between two calls of this poll
                polled = Polled(None)
        memo = decision.memo
        _record(run, result, polled, memo)
        for note in decision.notes:
            run.log(note)
        if decision.act in (Act.HEALTHY, Act.DISABLED):
            result.state, result.observed_at = decision.act.value, started
            return
        if decision.act is Act.FAILED:
            raise RolloutFailed(decision.message)
        if decision.act is Act.SUPERSEDED:
            raise _superseded(decision, memo, dep_id)
        if memo.status != reported:  # log the rollout state when it changes, not every poll
            run.log(f"rollout: {memo.status} ({run.deadline.elapsed():.0f} s)")
            reported = memo.status
        run.poll_pause(time.monotonic() - target.t_upsert)


def _record(run: Run, result: DeployResult, polled: Polled, memo: Memo) -> None:
    """Our spec id (validated) and the endpoint, as soon as the server shows them."""
    if memo.our and memo.our != result.spec_id:
        result.spec_id = run.submitted["spec"] = valid_id(memo.our, "spec id")
    host = (polled.deployment or {}).get("endpoint")
    url = endpoint_url(host)
    if url:
        result.endpoint = url
    elif host:
        run.log_once(f"ignoring an endpoint that is not a host name: {one_line(repr(host), 80)}")


def _superseded(decision: Decision, memo: Memo, dep_id: str) -> Superseded:
    spec = decision.spec or {}
    git = identify.git_sha(spec)
    stored = spec.get("data")
    data: Mapping[str, Any] = stored if isinstance(stored, Mapping) else {}
    return Superseded(
        f"superseded: spec {one_line(decision.message, 80)} (image "
        f"{one_line(data.get('image'), 200)}{f', git {one_line(git, 12)}' if git else ''}) "
        f"replaced our spec {memo.our} of deployment {dep_id}",
        hint="another deploy of the same deployment ran; use a workflow `concurrency` group to "
        "serialise them",
    )
