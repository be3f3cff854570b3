"""`--rollback-on-failure`: when our spec fails, re-apply the spec that was live before it.

The spec to restore is the one live before our upsert (`Target.prev_spec`): its data from the
deployment read before the upsert, else from `/history`. It is re-applied with the same
reconciled upsert as ours -- carrying its own `x-git-*` metadata when it had a full set, so the
history still names its commit -- and waited for like ours. The run still fails (the exit code
of our failure); the rollback's outcome is reported beside it.

Never rolled back (`skip_reason`, pure):
  * when there was no previous spec (a first deploy) or its data is unknown;
  * when the live spec is no longer ours: a newer spec (another run's) must not be overwritten
    -- the same rule that makes a superseded wait exit 4 without a rollback.
The rollback gets its own deadline: what is left of the run's, at least
min(the run's timeout, MIN_SECONDS) -- a timed-out rollout has none left.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.deploy import identify
from paperspace_deploy.deploy.decide import Target
from paperspace_deploy.deploy.result import DeployResult
from paperspace_deploy.deploy.session import Run
from paperspace_deploy.safetext import one_line

MIN_SECONDS = 300.0
GIT_KEYS = ("x-git-host", "x-git-actor", "x-git-owner", "x-git-repo", "x-git-ref", "x-git-sha")


@dataclass
class RollbackResult:
    state: str  # healthy | disabled | failed | superseded | skipped
    message: str  # one line: what happened
    restored: str | None = None  # the spec id that was live before (re-applied)
    spec_id: str | None = None  # the rollback's own spec version

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "message": self.message, "restored": self.restored,
                "specId": self.spec_id}  # fmt: skip


def skip_reason(live: Mapping[str, Any] | None, our: str | None, prev: str | None,
                prev_data: Any) -> str | None:  # fmt: skip
    """Why not to roll back (None: do it). `live`: the deployment as read now."""
    if prev is None:
        return "there was no previous spec (a first deploy): nothing to roll back to"
    if not isinstance(prev_data, Mapping) or not prev_data:
        return f"the data of the previous spec {prev} is not known (the API returned none)"
    if live is None:
        return "the deployment is gone"
    latest = live.get("latestSpec")
    now = latest.get("id") if isinstance(latest, Mapping) else None
    if our is None or now != our:
        return (f"the live spec is {one_line(now, 80)}, not ours ({our}): a newer spec is never "
                "rolled back over")  # fmt: skip
    return None


def previous_spec(run: Run, dep_id: str, prev: str | None,
                  before: Mapping[str, Any] | None) -> Mapping[str, Any] | None:  # fmt: skip
    """The previous spec version (data and metadata): from the read before the upsert, else
    from the history."""
    from paperspace_deploy.deploy.upsert import read_history

    if prev is None:
        return None
    latest = (before or {}).get("latestSpec")
    if isinstance(latest, Mapping) and latest.get("id") == prev and latest.get("data"):
        return latest
    for item in read_history(run, dep_id, {prev}):
        if item.get("id") == prev:
            return item
    return None


def _headers(spec: Mapping[str, Any]) -> dict[str, str]:
    meta = spec.get("metadata")
    git = meta.get("gitHeaders") if isinstance(meta, Mapping) else None
    if not isinstance(git, Mapping) or not all(isinstance(git.get(k), str) for k in GIT_KEYS):
        return {}
    return {k: str(git[k]) for k in GIT_KEYS}


def roll_back(run: Run, result: DeployResult, target: Target, before: Mapping[str, Any] | None,
              loaded: Any, shown: str, timeout: float | None) -> RollbackResult:  # fmt: skip
    """Re-apply and wait for the spec live before ours; never raises a DeployError (its
    outcome is the RollbackResult), only Interrupted."""
    from paperspace_deploy.deploy.session import Interrupted
    from paperspace_deploy.deploy.upsert import before_upsert, upsert
    from paperspace_deploy.deploy.wait import wait_for_rollout
    from paperspace_deploy.errors import DeployError, Superseded

    dep_id, prev = target.deployment_id, target.prev_spec
    floor = min(timeout or MIN_SECONDS, MIN_SECONDS)
    deadline = Deadline(max(run.deadline.remaining(), floor))
    rb_run = replace(run, deadline=deadline)
    saved, run.client.deadline = run.client.deadline, deadline
    try:
        spec = previous_spec(rb_run, dep_id, prev, before)
        data = spec.get("data") if spec else None
        live = run.client.get_deployment(dep_id)
        why = skip_reason(live, result.spec_id, prev, data)
        if why:
            run.log(f"rollback skipped: {why}")
            return RollbackResult("skipped", why, restored=prev)
        assert spec is not None and isinstance(data, Mapping)
        config = dict(data)
        headers = _headers(spec)
        run.log(f"rollback: re-applying spec {prev}, the spec live before this run")
        now_spec, seen = before_upsert(rb_run, live)
        t1 = time.monotonic()
        _outcome, _dep, spec_id = upsert(rb_run, loaded, shown, result.project_id, config,
                                         headers, now_spec)  # fmt: skip
        back = DeployResult(name=result.name, project_id=result.project_id,
                            deployment_id=dep_id, spec_id=spec_id, endpoint=None,
                            state="submitted", outcome="applied")  # fmt: skip
        sha = headers.get("x-git-sha") or identify.git_sha(spec)
        wait_for_rollout(rb_run, back, Target(dep_id, config, sha, now_spec, t1, seen))
        message = (f"spec {back.spec_id} (a copy of {prev}) is {back.state}: the previous spec "
                   "is live again")  # fmt: skip
        run.log(f"rollback: {message}")
        return RollbackResult(back.state, message, restored=prev, spec_id=back.spec_id)
    except Interrupted:
        raise
    except DeployError as exc:
        state = "superseded" if isinstance(exc, Superseded) else "failed"
        message = f"rollback to spec {prev} {state}: {one_line(exc, 500)}"
        run.log(message)
        return RollbackResult(state, message, restored=prev)
    finally:
        run.client.deadline = saved
