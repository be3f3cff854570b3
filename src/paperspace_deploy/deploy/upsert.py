"""The upsert: what is live before it, the POST, and reconciliation when its answer is lost.

POST /deployments is not idempotent, so after an ambiguous failure (timeout, dropped
connection, 5xx) the deployment is read back -- exact name, then the history after the spec
that was live before -- and only if our spec is not there is it POSTed once more.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from paperspace_deploy.deploy import identify
from paperspace_deploy.deploy.explain import rejection_findings
from paperspace_deploy.deploy.prepare import SpecRejected
from paperspace_deploy.deploy.result import optional_id, valid_id
from paperspace_deploy.deploy.session import Run

MAX_HISTORY = 500  # versions read while looking for ours (newest first)


def read_history(run: Run, dep_id: str, stop_at: set[str | None]) -> list[dict[str, Any]]:
    """The history newest first, up to and including the first id in `stop_at`."""
    from paperspace_deploy.api.errors import NotFound

    items: list[dict[str, Any]] = []
    try:
        for item in run.client.history(dep_id):
            if isinstance(item, dict):
                items.append(item)
                if item.get("id") in stop_at or len(items) >= MAX_HISTORY:
                    break
    except NotFound:
        return []
    return items


def before_upsert(run: Run, live: Mapping[str, Any] | None) -> tuple[str | None, frozenset[str]]:
    """(the spec live before our upsert, the run and instance ids listed before it)."""
    if not live:
        return None, frozenset()
    dep_id = valid_id(live.get("id"), "deployment id")
    latest = live.get("latestSpec")
    spec: Mapping[str, Any] = latest if isinstance(latest, Mapping) else {}
    prev = optional_id(spec.get("id"), "spec id")
    if prev is None:  # "if invalid, null is returned": the newest history entry is the live one
        prev = optional_id(_history_head(run, dep_id), "spec id")
    from paperspace_deploy.api.errors import NotFound

    seen: set[str] = set()
    try:
        runs = run.client.get_runs(dep_id)
    except NotFound:  # deleted since the lookup: the upsert will create it again
        runs = []
    for r in runs:
        if isinstance(r, Mapping):
            seen.add(str(r.get("id")))
            instances = [i for i in r.get("instances") or [] if isinstance(i, Mapping)]
            seen.update(str(i.get("id")) for i in instances)
    return prev, frozenset(seen)


def _history_head(run: Run, dep_id: str) -> Any:
    from paperspace_deploy.api.errors import NotFound

    try:
        for item in run.client.history(dep_id):
            return item.get("id") if isinstance(item, Mapping) else None
    except NotFound:
        return None
    return None


def _reconcile(run: Run, pid: str, config: Mapping[str, Any], sha: str | None,
               prev_spec: str | None, reads: int = 3,
               window: float = 0.0) -> tuple[str, str] | None:  # fmt: skip
    """After an ambiguous POST: did it land? Read back (exact name) a few times, and for at
    least `window` seconds: a server that held the request that long may still apply it."""
    t0 = time.monotonic()
    attempt = 0
    while True:
        dep = run.client.find_deployment(pid, config["name"])
        if dep is not None:
            dep_id = valid_id(dep.get("id"), "deployment id")
            history = read_history(run, dep_id, {prev_spec})
            spec_id = identify.find_ours(history, prev_spec, config, sha)
            if spec_id:
                return dep_id, valid_id(spec_id, "spec id")
        attempt += 1
        if attempt >= reads and time.monotonic() - t0 >= window:
            return None
        if run.deadline.remaining() <= 0:
            return None
        run.sleep(run.wait.poll_interval)


def upsert(
    run: Run,
    loaded: Any,
    shown: str,
    pid: str,
    config: dict[str, Any],
    headers: dict[str, str],
    prev_spec: str | None,
) -> tuple[str, str, str | None]:
    """(outcome, deployment id, our spec id if already known)."""
    from paperspace_deploy.api.errors import AmbiguousWrite, ApiUnavailable, ValidationFailed

    sha = headers.get("x-git-sha")
    for outcome in ("applied", "reapplied"):
        sent = time.monotonic()
        try:
            dep_id = run.client.upsert_deployment(pid, config, headers=headers)
            return outcome, valid_id(dep_id, "deployment id"), None
        except ValidationFailed as exc:
            findings = rejection_findings(exc.issues, loaded, shown, config)
            raise SpecRejected(
                f"{shown}: Paperspace rejected the spec ({len(findings)} issue(s)); "
                "nothing was deployed",
                findings,
            ) from None
        except AmbiguousWrite as exc:
            run.log(f"{exc}; reading the deployment back before any retry")
            try:
                held = time.monotonic() - sent  # e.g. a read timeout: the server may be slow
                found = _reconcile(run, pid, config, sha, prev_spec, window=held)
            except ApiUnavailable as down:
                raise ApiUnavailable(
                    f"the upsert may or may not have been applied, and reading it back failed: "
                    f"{down}",
                    hint="check the deployment in the console before re-running",
                ) from None
            if found:
                return ("adopted" if outcome == "applied" else "reapplied"), *found
            if outcome == "reapplied":
                break
            run.log("the upsert did not land; sending it once more")
    raise ApiUnavailable(
        "could not confirm the upsert after one retry; it may or may not be applied",
        hint="check the deployment in the console before re-running",
    )
