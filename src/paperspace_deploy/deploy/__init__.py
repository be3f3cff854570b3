"""plan, upsert (with reconciliation) and wait: the deploy stage as plain functions.

`plan(req, io)` and `run_deploy(req, io)` take a `DeployRequest` (request.py), built the same
way by the CLI, the action and Python callers (`DeployRequest.for_spec`).

Guarantees (reliability.md §7): success only for OUR spec (never a stale
`dtHealthy` of the previous one, never a superseded spec); one deadline for the whole run; the
non-idempotent upsert is reconciled by reading back before at most one re-POST.

Modules: request (DeployRequest) · prepare (lint, config, project and registry checks) ·
upsert (what is live before, the POST, reconciliation) · identify (which spec version is ours) ·
decide (the wait's decision, pure) · wait (the poll loop, adaptive pauses) · logs (the failing
instances' last lines) · verify (--verify PATH) · rollback (--rollback-on-failure) · explain
(server issues -> findings) · result · session.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from typing import Any

from paperspace_deploy.deploy.decide import Target
from paperspace_deploy.deploy.explain import issues_to_findings
from paperspace_deploy.deploy.prepare import SpecRejected, api_config, checks, load_spec, prepare
from paperspace_deploy.deploy.request import DeployRequest
from paperspace_deploy.deploy.result import (
    DeployResult,
    WaitOptions,
    endpoint_url,
    optional_id,
    valid_id,
)
from paperspace_deploy.deploy.session import Interrupted, Log, Run, make_client
from paperspace_deploy.deploy.verify import basic_auth_key
from paperspace_deploy.errors import DeployError, RolloutFailed, Superseded, VerifyFailed
from paperspace_deploy.io import Io
from paperspace_deploy.specdiff import PlanResult, diff, same_spec

__all__ = [
    "DeployRequest",
    "DeployResult",
    "Interrupted",
    "RolloutFailed",
    "SpecRejected",
    "Superseded",
    "VerifyFailed",
    "WaitOptions",
    "api_config",
    "issues_to_findings",
    "load_spec",
    "plan",
    "run_deploy",
]


def plan(req: DeployRequest, io: Io, *, log: Log | None = None) -> PlanResult:
    """What a deploy would change (field by field) against the live spec; changes nothing."""
    log = log or io.err
    loaded, config, shown = prepare(req.spec, req.spec_path, req.image, req.display)
    stop = threading.Event()
    client = _client(req, io, log, stop)
    run = Run(client, log, stop, req.deadline, req.wait, random.Random())
    try:
        findings = checks(run, loaded, config, shown, req.project_id, req.registries)
        live = client.find_deployment(req.project_id, config["name"])
    finally:
        client.close()
    spec_live = (live or {}).get("latestSpec") or {}
    return PlanResult(
        name=config["name"], project_id=req.project_id,
        deployment_id=optional_id((live or {}).get("id"), "deployment id"),
        live_spec_id=optional_id(spec_live.get("id"), "spec id"),
        changes=diff(spec_live.get("data") if live else None, config), findings=findings,
    )  # fmt: skip


def _client(req: DeployRequest, io: Io, log: Log, stop: threading.Event) -> Any:
    return make_client(req.api_key, req.api_url, io.environ, req.deadline, log, stop,
                       uuid.uuid4().hex, req.client_options)  # fmt: skip


def run_deploy(
    req: DeployRequest, io: Io, *, log: Log | None = None, stop: threading.Event | None = None
) -> DeployResult:
    """Lint, check, upsert (reconciled), then wait for OUR spec to be healthy or disabled."""
    from paperspace_deploy.ci_context import git_headers
    from paperspace_deploy.deploy.upsert import before_upsert, upsert
    from paperspace_deploy.deploy.wait import wait_for_rollout

    t0 = time.monotonic()
    log = log or io.err
    stop = stop or threading.Event()
    loaded, config, shown = prepare(req.spec, req.spec_path, req.image, req.display)
    auth = None
    if req.verify_path:  # before anything changes: a protected endpoint needs its key
        auth = basic_auth_key(config, io.environ)
        io.secrets.add(auth)
    pid = req.project_id
    client = _client(req, io, log, stop)
    run = Run(client, log, stop, req.deadline, req.wait, random.Random())
    durations: dict[str, float] = {}
    result: DeployResult | None = None
    try:
        findings = checks(run, loaded, config, shown, pid, req.registries)
        live = client.find_deployment(pid, config["name"])
        result = DeployResult(name=config["name"], project_id=pid, deployment_id=None,
                              spec_id=None, endpoint=None, state="submitted", outcome="applied",
                              image=config.get("image"), findings=findings)  # fmt: skip
        durations["prepare"] = time.monotonic() - t0
        live_spec = (live or {}).get("latestSpec") or {}
        if req.skip_unchanged and live and same_spec(live_spec.get("data"), config):
            result.deployment_id = valid_id(live.get("id"), "deployment id")
            result.spec_id = optional_id(live_spec.get("id"), "spec id")
            result.endpoint = endpoint_url(live.get("endpoint"))
            result.state = result.outcome = "unchanged"
            log(f"{config['name']}: live spec {result.spec_id} already matches; nothing to deploy")
        else:
            prev_spec, seen = before_upsert(run, live)
            headers = git_headers(io.environ)
            t1 = time.monotonic()
            outcome, dep_id, spec_id = upsert(run, loaded, shown, pid, config, headers, prev_spec)
            durations["upsert"] = time.monotonic() - t1
            result.outcome, result.deployment_id, result.spec_id = outcome, dep_id, spec_id
            run.submitted.update(deployment=dep_id, spec=spec_id)
            log(f"{config['name']}: upsert {outcome}: deployment {dep_id}")
            if req.wait.wait:
                t2 = time.monotonic()
                target = Target(dep_id, config, headers.get("x-git-sha"), prev_spec, t1, seen)
                try:
                    wait_for_rollout(run, result, target)
                    durations["wait"] = time.monotonic() - t2
                    _verify(run, req, result, auth)
                except (RolloutFailed, VerifyFailed) as failed:
                    if not req.rollback_on_failure:
                        raise
                    from paperspace_deploy.deploy.rollback import roll_back

                    seconds = req.deadline.seconds
                    result.rollback = roll_back(run, result, target, live, loaded, shown, seconds)
                    raise type(failed)(f"{failed}; rollback: {result.rollback.message}",
                                       hint=failed.hint) from None  # fmt: skip
            else:
                with contextlib.suppress(DeployError):
                    result.endpoint = endpoint_url(client.get_deployment(dep_id).get("endpoint"))
    except (KeyboardInterrupt, Interrupted):
        raise run.interrupted() from None
    except DeployError as exc:  # the reports show what was done (ids, logs, rollback)
        if result is not None and result.deployment_id and exc.result is None:
            exc.result = result
        raise
    finally:
        client.close()
        if result is not None:
            durations["total"] = time.monotonic() - t0
            result.durations = durations
            result.api_calls, result.retries = client.stats.calls, client.stats.retries
    assert result is not None
    return result


def _verify(run: Run, req: DeployRequest, result: DeployResult, auth: str | None) -> None:
    """--verify PATH on a healthy rollout (a disabled one has nothing to answer)."""
    from paperspace_deploy.deploy.verify import failure, verify

    if not req.verify_path:
        return
    if result.state != "healthy" or not result.endpoint:
        why = "the deployment is disabled" if result.state == "disabled" else "no endpoint"
        run.log(f"verify skipped: {why}")
        return
    result.verify = verify(run, result.endpoint, req.verify_path, auth)
    if not result.verify.ok:
        raise failure(result.verify, result.deployment_id, result.spec_id)
