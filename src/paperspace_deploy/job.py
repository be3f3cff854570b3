"""The job both faces run: lint -> registry check -> build and push -> plan -> deploy -> wait.

The CLI's `build`, `plan`, `deploy`, `preview`, `cleanup` and `sweep` commands and the action
build the same request objects (`LintRequest`, `BuildOptions`, `DeployRequest`,
`PreviewRequest`) and hand them to `run_job`; only reporting
differs, through the `Reporter` each face passes (the CLI prints lines on stderr, the action
annotates, groups and neutralises). Policies that must not drift live here, once:
  * what runs in which mode, and that an invalid spec stops the job before anything changes;
  * the fork policy: a pull request from a fork (or an event we cannot read) never deploys,
    plans, pushes, previews or cleans up -- it has no secrets, and its code is untrusted; a
    preview (the pull request's code, deployed) never runs on a privileged event either;
  * the cost estimate: every linted spec's (list prices, `prices-file` over them), replaced by
    the estimate against the live spec once a plan has read it;
  * the registry-check policy: an offline list is checked by lint; without one, a deploy that
    builds first checks against the API before the (long) build; plan and deploy check it
    against the API themselves; plain lint says the check was skipped.
Stage sequences: lint (lint) · build (lint if a spec is given, build) · plan (lint, plan) ·
deploy (lint, build if a context is given, plan, deploy) · preview (lint, build -- `push: auto`
pushes --, caps, plan, deploy `<name>-pr-<number>`) · cleanup (delete the PR's preview) · sweep
(delete expired previews). `JobResult` fills as stages finish, so a failure still reports what
was done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from paperspace_deploy import ci_context
from paperspace_deploy.errors import InputError, SpecInvalid, UsageError
from paperspace_deploy.spec.findings import Finding, Severity

if TYPE_CHECKING:
    from paperspace_deploy.cost import CostEstimate, PriceTable
    from paperspace_deploy.deploy import DeployRequest, DeployResult
    from paperspace_deploy.deploy.logs import FailureLogs
    from paperspace_deploy.image.options import BuildOptions, BuildResult
    from paperspace_deploy.io import Io
    from paperspace_deploy.lint import LintRequest, LintRun
    from paperspace_deploy.pr_comment import CommentRequest
    from paperspace_deploy.preview import (
        CleanupResult,
        PreviewRequest,
        PreviewResult,
        SweepResult,
    )
    from paperspace_deploy.spec import LoadedSpec
    from paperspace_deploy.specdiff import PlanResult

MODES = ("deploy", "lint", "build", "plan", "preview", "cleanup", "sweep")
PREVIEW_MODES = ("preview", "cleanup", "sweep")
REFUSED_FOR_FORKS = ("deploy", "plan", *PREVIEW_MODES)  # they hold the API key
PRIVILEGED_EVENTS = ci_context.PRIVILEGED_EVENTS


class Reporter(Protocol):
    def findings(self, findings: list[Finding]) -> None:
        """Lint, registry or server-validation findings, as they are known."""

    def stage(self, title: str) -> AbstractContextManager[None]:
        """Around a stage whose log lines carry API text (plan, deploy)."""

    def event(self, message: str) -> None:
        """One progress line of a stage."""

    def warning(self, message: str) -> None:
        """A warning about the run itself (not a finding on the spec)."""

    def instance_logs(self, logs: FailureLogs) -> None:
        """A failed rollout's instance logs (already bounded, scrubbed and one safe line
        each), after the stage: each instance's lines as a block of their own."""


@dataclass
class Job:
    mode: str
    lint: LintRequest | None = None  # None: build mode without a spec
    build: BuildOptions | None = None  # None: no build in this run
    deploy: DeployRequest | None = None  # plan, deploy and the preview modes
    preview: PreviewRequest | None = None  # preview, cleanup, sweep (its .deploy is `deploy`)
    comment: CommentRequest | None = None  # the action's sticky PR comment (after the job)
    fork: bool = False  # a pull request from a fork: nothing is pushed


@dataclass
class JobResult:
    mode: str
    lint: LintRun | None = None
    build: BuildResult | None = None
    plan: PlanResult | None = None
    deploy: DeployResult | None = None
    costs: dict[str, CostEstimate] = field(default_factory=dict)  # spec display path -> estimate
    preview: PreviewResult | None = None
    preview_notes: list[str] = field(default_factory=list)  # what the caps changed
    cleanup: CleanupResult | None = None
    sweep: SweepResult | None = None


UNSAFE_SWITCHES = ("ACTIONS_ALLOW_UNSECURE_COMMANDS", "ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS")


def check_event(mode: str, env: Mapping[str, str], reporter: Reporter) -> bool:
    """The fork policy; returns whether this run comes from a fork (untrusted, no secrets)."""
    ctx = ci_context.detect(env)
    if mode in PREVIEW_MODES:  # forks, and a preview on a privileged event: preview.py's words
        from paperspace_deploy.preview import check_allowed

        check_allowed(env, mode)
    if ctx.fork and mode in REFUSED_FOR_FORKS:
        raise InputError(
            f"mode '{mode}' refuses to run on a pull request from a fork",
            hint="lint pull requests (mode: lint); deploy on push or workflow_dispatch",
        )
    unsafe = [k for k in UNSAFE_SWITCHES if env.get(k, "").strip().lower() == "true"]
    if ctx.fork and unsafe:
        raise InputError(
            f"refusing to run on a fork pull request with {unsafe[0]}=true",
            hint="that switch lets untrusted output run workflow commands; remove it",
        )
    event = env.get("GITHUB_EVENT_NAME", "")
    if mode in ("deploy", "build") and event in PRIVILEGED_EVENTS:
        reporter.warning(
            f"running '{mode}' on {event}: this event has secrets and a write token; never "
            "build or deploy code from a pull request's head here"
        )
    return ctx.fork


def make_job(
    mode: str,
    env: Mapping[str, str],
    reporter: Reporter,
    *,
    has_spec: bool,
    building: bool,
    lint: Callable[[], LintRequest],
    build: Callable[[], BuildOptions],
    deploy: Callable[[], DeployRequest],
    preview: Callable[[], PreviewRequest] | None = None,
) -> Job:
    """Which stages `mode` runs, each request built by the face's factory -- after the fork
    policy, so a fork is refused before any secret input is required."""
    job = Job(mode, fork=check_event(mode, env, reporter))
    if mode not in ("cleanup", "sweep") and (mode != "build" or has_spec):
        job.lint = lint()  # cleanup and sweep need only the spec's name, whatever its state
    if mode == "build" or (mode in ("deploy", "preview") and building):
        job.build = build()
    if mode in PREVIEW_MODES:
        if preview is None:
            raise UsageError(f"mode '{mode}' is not available here")
        job.preview = preview()
        job.deploy = job.preview.deploy
    elif mode in ("plan", "deploy"):
        job.deploy = deploy()
    return job


def run_job(job: Job, io: Io, reporter: Reporter, result: JobResult) -> JobResult:
    """Run the stages of `job.mode`; raises the DeployError that ended it."""
    specs: list[LoadedSpec] = []
    prices = None
    if job.lint is not None:
        from paperspace_deploy.cost import load_prices

        prices = load_prices(job.lint.prices_file)  # first: a bad prices file changes nothing
        lint = _lint(job, reporter, result, prices)
        specs = lint.specs
    if job.mode == "lint":
        return result
    if job.mode in ("cleanup", "sweep"):
        _cleanup_or_sweep(job, io, reporter, result)
        return result
    if job.build is not None:
        from paperspace_deploy.image.pipeline import build_and_push

        if job.mode == "preview" and job.build.push is None:
            job.build.push = True  # `auto` skips pull requests; a preview deploys what it pushes
        if job.fork or (_privileged(io) and job.build.push is None):
            # a fork has no registry secrets; a privileged event may be building a pull
            # request's code: never pushed unless asked for explicitly
            job.build.push = False
            why = "a pull request from a fork" if job.fork else io.environ["GITHUB_EVENT_NAME"]
            reporter.event(f"{why}: the image is built but not pushed")
        if job.deploy is not None and job.deploy.registries is None and specs:
            _registry_before_build(job.deploy, specs[0], reporter)
        result.build = build_and_push(job.build, io)
        if job.mode == "build":
            return result
        if not result.build.digest_ref:
            raise UsageError(
                "the image was not pushed, so there is no digest to deploy",
                hint="deploy needs a push (push: true, or a registry the image can go to)",
            )
    if job.deploy is None:
        return result
    req = job.deploy
    if job.lint is not None:
        req.spec = _the_spec(req, specs)
    if result.build is not None:
        req.image = result.build.digest_ref
    started = None
    if job.preview is not None:
        req = _preview_request(job.preview, req, reporter, result)
        started = datetime.now(UTC)
    _plan_and_deploy(job.mode, req, io, reporter, result)
    if prices is not None and result.plan is not None:
        _plan_cost(req, result, prices)
    if job.preview is not None and result.deploy is not None and started is not None:
        _preview_result(job.preview, req, result, started)
    return result


def _estimates(specs: list[LoadedSpec], prices: PriceTable) -> dict[str, CostEstimate]:
    """Every linted spec's estimate on its own (no live spec read: lint stays offline)."""
    from paperspace_deploy.cost import estimate

    return {s.path: estimate(s.data, None, prices, compared=False)
            for s in specs if isinstance(s.data, dict)}  # fmt: skip


def _plan_cost(req: DeployRequest, result: JobResult, prices: PriceTable) -> None:
    """The planned spec's estimate against the live one (what the plan read)."""
    from paperspace_deploy.cost import estimate_plan
    from paperspace_deploy.deploy import api_config

    if req.spec is None or result.plan is None:
        return
    config = api_config(req.spec, req.image)
    result.costs = {req.display: estimate_plan(config, result.plan, prices)}


def _preview_request(
    preq: PreviewRequest, req: DeployRequest, reporter: Reporter, result: JobResult
) -> DeployRequest:
    """The deploy request of the preview: renamed and capped (refused outside the caps)."""
    from paperspace_deploy.preview import capped

    assert preq.number is not None  # PreviewRequest.from_values requires it for preview
    ours, notes = capped(req, preq.number, preq.policy)
    result.preview_notes = notes
    for note in notes:
        reporter.event(f"preview: {note}")
    return ours


def _preview_result(
    preq: PreviewRequest, req: DeployRequest, result: JobResult, started: datetime
) -> None:
    from paperspace_deploy.preview import PreviewResult, expiry

    assert req.spec is not None and req.spec.data is not None and preq.number is not None
    data = req.spec.data
    result.preview = PreviewResult(data["name"], preq.number, expiry(preq.policy, started),
                                   result.preview_notes, data, result.deploy)  # fmt: skip


def _cleanup_or_sweep(job: Job, io: Io, reporter: Reporter, result: JobResult) -> None:
    """Delete this pull request's preview (cleanup) or every expired one (sweep): by the spec's
    name and the template, never anything else."""
    from paperspace_deploy import preview

    assert job.preview is not None
    preq, req = job.preview, job.preview.deploy
    name = preview.spec_name(req.spec_path, req.display)
    api: dict[str, Any] = {
        "environ": io.environ, "project_id": req.project_id, "api_key": req.api_key,
        "api_url": req.api_url, "timeout": max(1.0, req.deadline.remaining()),
        "log": reporter.event, "client_options": req.client_options,
    }  # fmt: skip
    if job.mode == "cleanup":
        assert preq.number is not None
        with reporter.stage("Cleanup"):
            result.cleanup = preview.cleanup_preview(name, preq.number, preq.policy, **api)
        return
    with reporter.stage("Sweep"):
        result.sweep = preview.sweep_previews(name, preq.policy, **api)
        for line in result.sweep.lines():
            reporter.event(line)
        reporter.event(
            f"sweep: {len(result.sweep.deleted)} deleted, {len(result.sweep.kept)} kept, "
            f"{result.sweep.ignored} other deployment(s) not previews of {name}"
        )


def _privileged(io: Io) -> bool:
    return io.environ.get("GITHUB_EVENT_NAME", "") in PRIVILEGED_EVENTS


def _lint(job: Job, reporter: Reporter, result: JobResult, prices: PriceTable) -> LintRun:
    from paperspace_deploy.lint import run_lint

    assert job.lint is not None
    lint = result.lint = run_lint(job.lint)
    result.costs = _estimates(lint.specs, prices)
    reporter.findings(lint.result.findings)
    reporter.event(f"lint: {lint.result.summary()}")
    if lint.problems:
        raise UsageError(lint.problems[0])
    if not lint.result.files:
        raise UsageError("no spec file was read")
    if lint.failed(job.lint.strict):
        errors = lint.result.count(Severity.ERROR)
        warnings = lint.result.count(Severity.WARNING)
        what = f"{errors} error(s)" if errors else f"{warnings} warning(s) with strict"
        raise SpecInvalid(
            f"the spec has {what}; nothing was changed",
            hint="fix the findings on the spec (paperspace-deploy lint shows them)",
        )
    return lint


def _the_spec(req: DeployRequest, specs: list[LoadedSpec]) -> LoadedSpec | None:
    """The linted spec that the deploy request names (lint and deploy read the same file)."""
    for spec in specs:
        if spec.path == req.display:
            return spec
    return None


def _registry_before_build(req: DeployRequest, spec: LoadedSpec, reporter: Reporter) -> None:
    """Fail before a long build when containerRegistry is not one of the team's connections."""
    from paperspace_deploy import registry
    from paperspace_deploy.api.client import ApiClient

    data = spec.data
    if not isinstance(data, dict) or not data.get("containerRegistry"):
        return
    client = ApiClient(req.api_key, req.api_url, deadline=req.deadline)
    try:
        req.registries = registry.from_api(client)
    finally:
        client.close()
    findings = registry.check_registry(
        data,
        path=req.display,
        locate=spec.locate,
        connections=req.registries,
    )
    _stop_on_errors(findings, req.display, reporter)


def _stop_on_errors(findings: list[Finding], shown: str, reporter: Reporter) -> None:
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if findings:
        reporter.findings(findings)
    if errors:
        raise SpecInvalid(f"{shown}: {errors[0].message}")


def _plan_and_deploy(
    mode: str,
    req: DeployRequest,
    io: Io,
    reporter: Reporter,
    result: JobResult,
) -> None:
    from paperspace_deploy import deploy
    from paperspace_deploy.errors import DeployError

    try:
        # API bodies and names are untrusted: the stage's lines print as text
        with reporter.stage("Plan"):
            result.plan = deploy.plan(req, io, log=reporter.event)
        known = set(result.lint.result.findings) if result.lint else set()
        new = [f for f in result.plan.findings if f not in known]  # the API's registry check
        if new:
            reporter.findings(new)
            if result.lint is not None:
                result.lint.result.findings += new
        if mode in ("deploy", "preview"):  # the plan is for the reports: 3 GETs, no change
            with reporter.stage("Deploy"):
                result.deploy = deploy.run_deploy(req, io, log=reporter.event)
    except deploy.SpecRejected as exc:  # the registry check or the server's validation
        reporter.findings(list(exc.findings))
        if result.lint is not None:
            result.lint.result.findings += list(exc.findings)
        raise
    except DeployError as exc:  # after the upsert: what was done goes to the reports
        if isinstance(exc.result, deploy.DeployResult):
            result.deploy = exc.result
            if exc.result.failure_logs:
                reporter.instance_logs(exc.result.failure_logs)
        raise
