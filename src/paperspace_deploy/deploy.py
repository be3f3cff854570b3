"""plan, upsert (with reconciliation) and wait: the deploy stage as plain functions.

`run_deploy(...)` and `plan(...)` take plain parameters (no argparse) so the CLI and the action
call the same code. Guarantees (reliability.md §7): success only for OUR spec (never a stale
`dtHealthy` of the previous one, never a superseded spec); one deadline for the whole run; the
non-idempotent upsert is reconciled by reading back before at most one re-POST.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperspace_deploy.api.errors import untrusted
from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.errors import (
    DeployError,
    ExitCode,
    InputError,
    RolloutFailed,
    SpecInvalid,
    Superseded,
)
from paperspace_deploy.io import Io
from paperspace_deploy.spec.findings import Finding, Severity
from paperspace_deploy.specdiff import PlanResult, diff, same_spec

BAD_STATES = ("errored", "failed")
Log = Callable[[str], None]


class Interrupted(DeployError):
    """SIGINT/SIGTERM while deploying: we stop, say what was submitted, exit 130."""

    exit_code = ExitCode.INTERRUPTED


class SpecRejected(SpecInvalid):
    """The spec failed lint, the registry check or the server's validation; see `findings`."""

    def __init__(self, message: str, findings: list[Finding], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.findings = findings


@dataclass
class WaitOptions:
    poll_interval: float = 5.0  # ± jitter, so concurrent runs do not poll in lockstep
    jitter: float = 0.2
    grace: float = 60.0  # 404 / "spec not yet visible" tolerated this long after the upsert
    error_grace: float = 60.0  # an instance errored this long (continuously) fails the run


@dataclass
class DeployResult:
    name: str
    project_id: str
    deployment_id: str | None
    spec_id: str | None
    endpoint: str | None  # https://<endpoint>
    state: str  # healthy | disabled | submitted | unchanged
    outcome: str  # applied | adopted | reapplied | unchanged
    image: str | None = None
    durations: dict[str, float] = field(default_factory=dict)
    api_calls: int = 0
    retries: int = 0
    findings: list[Finding] = field(default_factory=list)
    observed_at: float | None = None  # monotonic time of the poll that proved success

    @property
    def changed(self) -> bool:
        return self.outcome != "unchanged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "projectId": self.project_id,
            "deploymentId": self.deployment_id,
            "specId": self.spec_id,
            "endpoint": self.endpoint,
            "state": self.state,
            "outcome": self.outcome,
            "image": self.image,
            "durations": {k: round(v, 3) for k, v in self.durations.items()},
            "apiCalls": self.api_calls,
            "retries": self.retries,
        }


# -- loading ------------------------------------------------------------------------------------


def load_spec(spec_path: str | Path, image: str | None, display: str | None = None) -> Any:
    """Lint in deploy mode; stop on errors before anything is changed."""
    from paperspace_deploy.spec import LintContext, lint_file

    loaded = lint_file(Path(spec_path), display or str(spec_path), LintContext(True, image))
    errors = [f for f in loaded.findings if f.severity is Severity.ERROR]
    if errors or loaded.data is None:
        raise SpecRejected(
            f"{display or spec_path}: the spec has {len(errors)} error(s); nothing was deployed",
            loaded.findings,
            hint="fix the findings above (`paperspace-deploy lint` shows them too)",
        )
    return loaded


def api_config(loaded: Any, image: str | None) -> dict[str, Any]:
    from paperspace_deploy.spec import to_api_config

    config = dict(to_api_config(loaded.data))
    config.pop("$schema", None)
    if image:  # --image replaces ':image' or the spec's own image
        config["image"] = image
    config.setdefault("apiVersion", "latest")  # what the official action sends
    if config.get("image") == ":image":
        raise InputError("the spec uses the ':image' placeholder but no --image was given")
    return config


def issues_to_findings(
    issues: Sequence[Mapping[str, Any]], loaded: Any, path: str
) -> list[Finding]:
    """Map zod issue paths (["config","resources","ports",0]) back to spec lines."""
    findings = []
    for issue in issues[:50]:
        where = list(issue.get("path") or [])
        if where[:1] == ["config"]:
            where = where[1:]
        # locate() falls back to the nearest existing ancestor, then (1, 1)
        line, col = loaded.locate(where) if hasattr(loaded, "locate") else (1, 1)
        shown = untrusted(".".join(str(p) for p in where), 200) or "(top level)"
        message = untrusted(issue.get("message", "invalid"), 300)
        findings.append(
            Finding(
                path,
                line,
                col,
                Severity.ERROR,
                "api-validation",
                f"Paperspace rejected {shown}: {message}",
            )
        )
    return findings


# -- the run ------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    client: Any
    log: Log
    stop: threading.Event
    deadline: Deadline
    wait: WaitOptions
    rng: random.Random
    submitted: dict[str, str | None] = field(default_factory=dict)

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, min(seconds, self.deadline.remaining()))
        if self.stop.wait(seconds):
            raise self.interrupted()

    def interrupted(self) -> Interrupted:
        dep, spec = self.submitted.get("deployment"), self.submitted.get("spec")
        if dep:
            what = f"submitted deployment {dep}" + (f", spec {spec}" if spec else "")
            return Interrupted(f"interrupted; {what} (the rollout continues on Paperspace)")
        return Interrupted("interrupted before anything was submitted; nothing was changed")

    def poll_pause(self) -> None:
        base = self.wait.poll_interval
        self.sleep(base * (1 + self.rng.uniform(-self.wait.jitter, self.wait.jitter)))


def registry_list(names: Any, names_file: str | Path | None) -> Any:
    """An explicit registry-connection list replaces the API lookup (None: ask the API)."""
    from paperspace_deploy import registry

    if names is None and names_file is None:
        return None
    if isinstance(names, registry.Connections):
        return names
    return registry.from_offline(
        str(names or "").split(","), Path(names_file) if names_file else None
    )


def _deadline(value: float | Deadline | None, timeout: float | None) -> Deadline:
    if isinstance(value, Deadline):
        return value
    if value is not None:  # an absolute monotonic time (the action's overall deadline)
        d = Deadline(max(0.0, value - time.monotonic()))
        return d
    return Deadline(timeout)


def _client(api_key: str | None, api_url: str | None, environ: Mapping[str, str],
            deadline: Deadline, log: Log, stop: threading.Event, marker: str,
            client_options: Mapping[str, Any] | None) -> Any:  # fmt: skip
    from paperspace_deploy.api.client import ApiClient

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise Interrupted("interrupted while retrying an API call")

    key = api_key if api_key else environ.get("PAPERSPACE_API_KEY")
    return ApiClient(key, api_url, environ=environ, deadline=deadline, on_event=log, sleep=sleep,
                     extra_headers={"x-psd-run": marker}, **dict(client_options or {}))  # fmt: skip


def _prepare(spec: Any, spec_path: str | Path | None, image: str | None, display: str | None,
             ) -> tuple[Any, dict[str, Any], str]:  # fmt: skip
    if spec is None:
        if spec_path is None:
            from paperspace_deploy.errors import UsageError

            raise UsageError("no spec given (--spec)")
        spec = load_spec(spec_path, image, display)
    elif getattr(spec, "data", None) is None or getattr(spec, "errors", []):
        raise SpecRejected("the spec has errors; nothing was deployed", list(spec.findings))
    shown = display or getattr(spec, "path", None) or str(spec_path or "spec")
    return spec, api_config(spec, image), shown


def _project(project_id: str | None, environ: Mapping[str, str]) -> str:
    pid = (project_id or environ.get("PAPERSPACE_PROJECT_ID") or "").strip()
    if not pid:
        raise InputError("a project id is required (--project-id or PAPERSPACE_PROJECT_ID)")
    if len(pid) > 64 or not all(c.isalnum() or c in "-_" for c in pid):
        raise InputError(f"project id {pid[:64]!r} has an invalid format")
    return pid


def _checks(ctx: _Ctx, loaded: Any, config: dict[str, Any], shown: str, project_id: str,
            offline: Any = None) -> list[Finding]:  # fmt: skip
    from paperspace_deploy import registry
    from paperspace_deploy.api.errors import NotFound

    try:
        ctx.client.get_project(project_id)
    except NotFound:
        raise InputError(
            f"project not found: {project_id}",
            hint="check --project-id (and that the API key belongs to the project's team)",
        ) from None
    findings: list[Finding] = []
    if config.get("containerRegistry"):
        findings = registry.check_registry(
            config, path=shown, locate=loaded.locate,
            connections=offline or registry.from_api(ctx.client), image=config.get("image"),
        )  # fmt: skip
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise SpecRejected(f"{shown}: {errors[0].message}", findings)
    return [*getattr(loaded, "findings", []), *findings]  # lint warnings + registry findings


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
    registries: str | None = None,
    registries_file: str | Path | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> PlanResult:
    """What a deploy would change (field by field) against the live spec; changes nothing."""
    env = environ if environ is not None else (io.environ if io else {})
    log: Log = io.err if io else (lambda _m: None)
    loaded, config, shown = _prepare(spec, spec_path, image, display)
    pid = _project(project_id, env)
    dl = _deadline(deadline, timeout)
    stop = threading.Event()
    client = _client(api_key, api_url, env, dl, log, stop, uuid.uuid4().hex, client_options)
    ctx = _Ctx(client, log, stop, dl, WaitOptions(), random.Random())
    try:
        offline = registry_list(registries, registries_file)
        findings = _checks(ctx, loaded, config, shown, pid, offline)
        live = client.find_deployment(pid, config["name"])
    finally:
        client.close()
    spec_live = (live or {}).get("latestSpec") or {}
    return PlanResult(
        name=config["name"], project_id=pid, deployment_id=(live or {}).get("id"),
        live_spec_id=spec_live.get("id"),
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
    registries: str | None = None,
    registries_file: str | Path | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> DeployResult:
    """Lint, check, upsert (reconciled), then wait for OUR spec to be healthy or disabled."""
    t0 = time.monotonic()
    env = environ if environ is not None else (io.environ if io else {})
    log: Log = on_event or (io.err if io else (lambda _m: None))
    stop = stop or threading.Event()
    dl = _deadline(deadline, timeout)
    loaded, config, shown = _prepare(spec, spec_path, image, display)
    pid = _project(project_id, env)
    marker = uuid.uuid4().hex
    client = _client(api_key, api_url, env, dl, log, stop, marker, client_options)
    ctx = _Ctx(client, log, stop, dl, wait_options or WaitOptions(), random.Random())
    durations: dict[str, float] = {}
    try:
        offline = registry_list(registries, registries_file)
        findings = _checks(ctx, loaded, config, shown, pid, offline)
        live = client.find_deployment(pid, config["name"])
        prev_spec = ((live or {}).get("latestSpec") or {}).get("id")
        result = DeployResult(name=config["name"], project_id=pid, deployment_id=None,
                              spec_id=None, endpoint=None, state="submitted", outcome="applied",
                              image=config.get("image"), findings=findings)  # fmt: skip
        durations["prepare"] = time.monotonic() - t0
        if (
            skip_unchanged
            and live
            and same_spec((live.get("latestSpec") or {}).get("data"), config)
        ):
            result.deployment_id, result.spec_id = live.get("id"), prev_spec
            result.endpoint = _endpoint(live)
            result.state = result.outcome = "unchanged"
            log(f"{config['name']}: live spec {prev_spec} already matches; nothing to deploy")
        else:
            from paperspace_deploy.ci_context import git_headers

            headers = git_headers(env)
            t1 = time.monotonic()
            outcome, dep_id, spec_id = _upsert(ctx, loaded, shown, pid, config, headers, prev_spec)
            durations["upsert"] = time.monotonic() - t1
            result.outcome, result.deployment_id, result.spec_id = outcome, dep_id, spec_id
            ctx.submitted.update(deployment=dep_id, spec=spec_id)
            log(f"{config['name']}: upsert {outcome}: deployment {dep_id}")
            if wait:
                t2 = time.monotonic()
                _wait(ctx, result, config, headers.get("x-git-sha"), prev_spec, t1)
                durations["wait"] = time.monotonic() - t2
            else:
                result.state = "submitted"
                with contextlib.suppress(DeployError):
                    result.endpoint = _endpoint(client.get_deployment(dep_id))
    except KeyboardInterrupt:
        raise ctx.interrupted() from None
    except Interrupted:
        raise ctx.interrupted() from None
    finally:
        client.close()
    durations["total"] = time.monotonic() - t0
    result.durations = durations
    result.api_calls, result.retries = client.stats.calls, client.stats.retries
    return result


def _endpoint(dep: Mapping[str, Any]) -> str | None:
    host = dep.get("endpoint")
    if not isinstance(host, str) or not host:
        return None
    return host if "://" in host else f"https://{host}"  # run mode: http://127.0.0.1:PORT


def _git_sha(spec: Mapping[str, Any]) -> str | None:
    meta = spec.get("metadata") or {}
    git = meta.get("gitHeaders") if isinstance(meta, dict) else None
    return git.get("x-git-sha") if isinstance(git, dict) else None


def _ours(spec: Mapping[str, Any], config: Mapping[str, Any], sha: str | None) -> bool:
    theirs = _git_sha(spec)
    return same_spec(spec.get("data"), config) and (sha is None or theirs in (None, sha))


def _find_our_spec(ctx: _Ctx, dep_id: str, config: Mapping[str, Any], sha: str | None,
                   prev_spec: str | None) -> str | None:  # fmt: skip
    """Newest spec after `prev_spec` in the history whose content is ours."""
    from paperspace_deploy.api.errors import NotFound

    try:
        for item in ctx.client.history(dep_id):
            if item.get("id") == prev_spec:
                return None
            if _ours(item, config, sha):
                return str(item["id"])
    except NotFound:
        return None
    return None


def _newer(ctx: _Ctx, dep_id: str, spec_id: str | None, our: str) -> bool:
    """Is `spec_id` newer than our spec? History is newest first."""
    from paperspace_deploy.api.errors import NotFound

    try:
        for item in ctx.client.history(dep_id):
            if item.get("id") == spec_id:
                return True
            if item.get("id") == our:
                return False
    except NotFound:
        return True
    return True


def _reconcile(ctx: _Ctx, pid: str, config: Mapping[str, Any], sha: str | None,
               prev_spec: str | None, reads: int = 3,
               window: float = 0.0) -> tuple[str, str] | None:  # fmt: skip
    """After an ambiguous POST: did it land? Read back (exact name) a few times, and for at
    least `window` seconds: a server that held the request that long may still apply it."""
    t0 = time.monotonic()
    attempt = 0
    while True:
        dep = ctx.client.find_deployment(pid, config["name"])
        if dep is not None:
            spec_id = _find_our_spec(ctx, dep["id"], config, sha, prev_spec)
            if spec_id:
                return dep["id"], spec_id
        attempt += 1
        if attempt >= reads and time.monotonic() - t0 >= window:
            return None
        if ctx.deadline.remaining() <= 0:
            return None
        ctx.sleep(ctx.wait.poll_interval)


def _upsert(ctx: _Ctx, loaded: Any, shown: str, pid: str, config: dict[str, Any],
            headers: dict[str, str], prev_spec: str | None) -> tuple[str, str, Any]:  # fmt: skip
    from paperspace_deploy.api.errors import AmbiguousWrite, ApiUnavailable, ValidationFailed

    sha = headers.get("x-git-sha")
    for outcome in ("applied", "reapplied"):
        sent = time.monotonic()
        try:
            return outcome, ctx.client.upsert_deployment(pid, config, headers=headers), None
        except ValidationFailed as exc:
            findings = issues_to_findings(exc.issues, loaded, shown)
            raise SpecRejected(
                f"{shown}: Paperspace rejected the spec ({len(findings)} issue(s)); "
                "nothing was deployed",
                findings,
            ) from None
        except AmbiguousWrite as exc:
            ctx.log(f"{exc}; reading the deployment back before any retry")
            try:
                held = time.monotonic() - sent  # e.g. a read timeout: the server may be slow
                found = _reconcile(ctx, pid, config, sha, prev_spec, window=held)
            except ApiUnavailable as down:
                raise ApiUnavailable(
                    f"the upsert may or may not have been applied, and reading it back failed: "
                    f"{down}",
                    hint="check the deployment in the console before re-running",
                ) from None
            if found:
                return ("adopted" if outcome == "applied" else "reapplied"), *found
            if outcome == "reapplied":
                raise ApiUnavailable(
                    "could not confirm the upsert after one retry; it may or may not be applied",
                    hint="check the deployment in the console before re-running",
                ) from None
            ctx.log("the upsert did not land; sending it once more")
    raise AssertionError("unreachable")


def _wait(ctx: _Ctx, result: DeployResult, config: Mapping[str, Any], sha: str | None,
          prev_spec: str | None, t_upsert: float) -> None:  # fmt: skip
    from paperspace_deploy.api.errors import ApiUnavailable, NotFound

    client, dep_id = ctx.client, str(result.deployment_id)
    our = result.spec_id
    first_bad: float | None = None
    last = "waiting for the new spec to appear"
    reported = ""

    def timed_out() -> RolloutFailed:
        return RolloutFailed(
            f"timed out after {ctx.deadline.elapsed():.1f} s waiting for deployment {dep_id}"
            f"{f' spec {our}' if our else ''}: {last}",
            hint="raise --timeout, or check the deployment's logs in the console",
        )

    while True:
        if ctx.stop.is_set():
            raise ctx.interrupted()
        if ctx.deadline.expired():
            raise timed_out()
        started = time.monotonic()
        try:
            dep = client.get_deployment(dep_id)
        except ApiUnavailable:
            if ctx.deadline.remaining() < 0.5:  # the deadline cut the call short
                raise timed_out() from None
            raise
        except NotFound:
            if time.monotonic() - t_upsert < ctx.wait.grace:
                last = "deployment not visible yet (404)"
                ctx.poll_pause()
                continue
            raise RolloutFailed(f"deployment {dep_id} was deleted while waiting") from None
        result.endpoint = _endpoint(dep) or result.endpoint
        spec = dep.get("latestSpec") or {}
        spec_id = spec.get("id")
        if our is None:
            if spec_id and spec_id != prev_spec and _ours(spec, config, sha):
                our = spec_id
            elif spec_id and spec_id != prev_spec:
                our = _find_our_spec(ctx, dep_id, config, sha, prev_spec)
            if our is None:
                last = "spec update not yet observed (the live spec is still the previous one)"
                ctx.poll_pause()
                continue
            result.spec_id = our
            ctx.submitted["spec"] = our
        if spec_id != our:
            if spec_id == prev_spec:
                last = "spec update not yet observed"
                ctx.poll_pause()
                continue
            if not _newer(ctx, dep_id, spec_id, our):  # an older spec, still shown (lag)
                last = "spec update not yet observed (an older spec is still live)"
                ctx.poll_pause()
                continue
            if _ours(spec, config, sha):  # an identical spec (a concurrent run of the same one)
                ctx.log(f"spec {our} was replaced by identical spec {spec_id}; following it")
                our = result.spec_id = ctx.submitted["spec"] = spec_id
            else:
                git = _git_sha(spec)
                raise Superseded(
                    f"superseded: spec {untrusted(spec_id, 80)} (image "
                    f"{untrusted((spec.get('data') or {}).get('image'), 200)}"
                    f"{f', git {untrusted(git, 12)}' if git else ''}) replaced our spec {our} "
                    f"of deployment {dep_id}",
                    hint="another deploy of the same deployment ran; use a workflow "
                    "`concurrency` group to serialise them",
                )
        if spec.get("error") and not spec.get("externalApplied"):
            raise RolloutFailed(
                f"Paperspace could not apply spec {our}: {untrusted(spec['error'], 500)}"
            )
        if spec.get("externalApplied"):
            if spec.get("dtHealthy"):
                result.state, result.observed_at = "healthy", started
                return
            data = spec.get("data") or {}
            replicas = (data.get("resources") or {}).get("replicas", 1)
            try:
                runs = client.get_runs(dep_id)
            except ApiUnavailable:
                if ctx.deadline.remaining() < 0.5:
                    raise timed_out() from None
                raise
            if (data.get("enabled") is False or replicas == 0) and not runs:
                result.state, result.observed_at = "disabled", started
                return
            message = _instance_problem(runs)
            if message:
                first_bad = started if first_bad is None else first_bad
                last = f"instance failing: {message}"
                if started - first_bad >= ctx.wait.error_grace:
                    raise RolloutFailed(f"rollout of spec {our} failed: {message}")
            else:
                first_bad = None
                ready = runs[0].get("readyReplicas") if runs else 0
                last = f"applied, {ready or 0}/{replicas} replicas ready, not healthy yet"
        else:
            last = "submitted, not yet applied to the cluster"
        reported = _progress(ctx, last, reported)
        ctx.poll_pause()


def _progress(ctx: _Ctx, state: str, reported: str) -> str:
    """Log the rollout state when it changes (not on every poll)."""
    if state != reported:
        ctx.log(f"rollout: {state} ({ctx.deadline.elapsed():.0f} s)")
    return state


def _instance_problem(runs: list[dict[str, Any]]) -> str | None:
    for run in runs[:1]:
        for inst in run.get("instances") or []:
            if inst.get("state") in BAD_STATES:
                msg = untrusted(inst.get("stateMessage") or "no message", 500)
                who = untrusted(inst.get("instanceId") or inst.get("id"), 80)
                return f"{who} {untrusted(inst.get('state'), 20)}: {msg}"
    return None
