"""plan, upsert (with reconciliation) and wait: the deploy stage as plain functions.

`run_deploy(...)` and `plan(...)` take plain parameters (no argparse) so the CLI and the action
call the same code. Guarantees (reliability.md §7): success only for OUR spec (never a stale
`dtHealthy` of the previous one, never a superseded spec); one deadline for the whole run; the
non-idempotent upsert is reconciled by reading back before at most one re-POST.

Modules: prepare (lint, config, project and registry checks) · upsert (what is live before,
the POST, reconciliation) · identify (which spec version is ours) · decide (the wait's decision,
pure) · wait (the poll loop) · explain (server issues -> findings) · result · session.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.deploy.decide import Target
from paperspace_deploy.deploy.explain import issues_to_findings
from paperspace_deploy.deploy.prepare import (
    SpecRejected,
    api_config,
    checks,
    load_spec,
    prepare,
    registry_list,
)
from paperspace_deploy.deploy.prepare import project_id as _project_id
from paperspace_deploy.deploy.result import (
    DeployResult,
    WaitOptions,
    endpoint_url,
    optional_id,
    valid_id,
)
from paperspace_deploy.deploy.session import Interrupted, Log, Run, make_client, make_deadline
from paperspace_deploy.errors import RolloutFailed, Superseded
from paperspace_deploy.io import Io
from paperspace_deploy.specdiff import PlanResult, diff, same_spec

_project = _project_id  # the project id from a value or PAPERSPACE_PROJECT_ID (preview.py)

__all__ = [
    "DeployResult",
    "Interrupted",
    "RolloutFailed",
    "SpecRejected",
    "Superseded",
    "WaitOptions",
    "api_config",
    "issues_to_findings",
    "load_spec",
    "plan",
    "registry_list",
    "run_deploy",
]


def plan(
    spec_path: str | Path | None = None,
    *,
    spec: Any = None,
    project_id: str | None = None,
    api_key: str | None = None,
    api_url: str | None = None,
    image: str | None = None,
    display: str | None = None,
    io: Io | None = None,
    environ: Mapping[str, str] | None = None,
    deadline: float | Deadline | None = None,
    timeout: float = 120.0,
    registries: Any = None,  # "a,b", a registry.Connections, or None: ask the API
    registries_file: str | Path | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> PlanResult:
    """What a deploy would change (field by field) against the live spec; changes nothing."""
    env = environ if environ is not None else (io.environ if io else {})
    log: Log = io.err if io else (lambda _m: None)
    loaded, config, shown = prepare(spec, spec_path, image, display)
    pid = _project_id(project_id, env)
    dl = make_deadline(deadline, timeout)
    stop = threading.Event()
    client = make_client(api_key, api_url, env, dl, log, stop, uuid.uuid4().hex, client_options)
    run = Run(client, log, stop, dl, WaitOptions(), random.Random())
    try:
        offline = registry_list(registries, registries_file)
        findings = checks(run, loaded, config, shown, pid, offline)
        live = client.find_deployment(pid, config["name"])
    finally:
        client.close()
    spec_live = (live or {}).get("latestSpec") or {}
    return PlanResult(
        name=config["name"], project_id=pid,
        deployment_id=optional_id((live or {}).get("id"), "deployment id"),
        live_spec_id=optional_id(spec_live.get("id"), "spec id"),
        changes=diff(spec_live.get("data") if live else None, config), findings=findings,
    )  # fmt: skip


def run_deploy(
    spec_path: str | Path | None = None,
    *,
    spec: Any = None,
    project_id: str | None = None,
    api_key: str | None = None,
    api_url: str | None = None,
    image: str | None = None,
    display: str | None = None,
    io: Io | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float | None = 900.0,
    deadline: float | Deadline | None = None,
    wait: bool = True,
    skip_unchanged: bool = False,
    wait_options: WaitOptions | None = None,
    stop: threading.Event | None = None,
    on_event: Log | None = None,
    registries: Any = None,  # "a,b", a registry.Connections, or None: ask the API
    registries_file: str | Path | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> DeployResult:
    """Lint, check, upsert (reconciled), then wait for OUR spec to be healthy or disabled."""
    from paperspace_deploy.ci_context import git_headers
    from paperspace_deploy.deploy.upsert import before_upsert, upsert
    from paperspace_deploy.deploy.wait import wait_for_rollout
    from paperspace_deploy.errors import DeployError

    t0 = time.monotonic()
    env = environ if environ is not None else (io.environ if io else {})
    log: Log = on_event or (io.err if io else (lambda _m: None))
    stop = stop or threading.Event()
    dl = make_deadline(deadline, timeout)
    loaded, config, shown = prepare(spec, spec_path, image, display)
    pid = _project_id(project_id, env)
    client = make_client(api_key, api_url, env, dl, log, stop, uuid.uuid4().hex, client_options)
    run = Run(client, log, stop, dl, wait_options or WaitOptions(), random.Random())
    durations: dict[str, float] = {}
    try:
        offline = registry_list(registries, registries_file)
        findings = checks(run, loaded, config, shown, pid, offline)
        live = client.find_deployment(pid, config["name"])
        result = DeployResult(name=config["name"], project_id=pid, deployment_id=None,
                              spec_id=None, endpoint=None, state="submitted", outcome="applied",
                              image=config.get("image"), findings=findings)  # fmt: skip
        durations["prepare"] = time.monotonic() - t0
        live_spec = (live or {}).get("latestSpec") or {}
        if skip_unchanged and live and same_spec(live_spec.get("data"), config):
            result.deployment_id = valid_id(live.get("id"), "deployment id")
            result.spec_id = optional_id(live_spec.get("id"), "spec id")
            result.endpoint = endpoint_url(live.get("endpoint"))
            result.state = result.outcome = "unchanged"
            log(f"{config['name']}: live spec {result.spec_id} already matches; nothing to deploy")
        else:
            prev_spec, seen = before_upsert(run, live)
            headers = git_headers(env)
            t1 = time.monotonic()
            outcome, dep_id, spec_id = upsert(run, loaded, shown, pid, config, headers, prev_spec)
            durations["upsert"] = time.monotonic() - t1
            result.outcome, result.deployment_id, result.spec_id = outcome, dep_id, spec_id
            run.submitted.update(deployment=dep_id, spec=spec_id)
            log(f"{config['name']}: upsert {outcome}: deployment {dep_id}")
            if wait:
                t2 = time.monotonic()
                target = Target(dep_id, config, headers.get("x-git-sha"), prev_spec, t1, seen)
                wait_for_rollout(run, result, target)
                durations["wait"] = time.monotonic() - t2
            else:
                with contextlib.suppress(DeployError):
                    result.endpoint = endpoint_url(client.get_deployment(dep_id).get("endpoint"))
    except (KeyboardInterrupt, Interrupted):
        raise run.interrupted() from None
    finally:
        client.close()
    durations["total"] = time.monotonic() - t0
    result.durations = durations
    result.api_calls, result.retries = client.stats.calls, client.stats.retries
    return result
