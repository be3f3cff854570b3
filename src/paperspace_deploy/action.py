"""The GitHub Action: an adapter over the job the CLI runs.

1. every secret input is registered with the run's `Secrets` (`redact.py`) -- each variant
   masked with the runner (`::add-mask::`) and scrubbed from everything we write -- before
   anything else is printed;
2. inputs are read through the one option table (`options.read_inputs`) and turned into the
   same request objects as the CLI's flags (`from_action`), paths strictly inside
   GITHUB_WORKSPACE;
3. `job.run_job` runs the stages (lint, registry check, build, plan, deploy), reporting
   through `ActionReporter`: findings as log lines and annotations, API text inside
   stop-commands blocks, warnings as annotations;
4. whatever happened, lint's SARIF goes to `sarif-file` when set (`write_sarif`), the sticky
   PR comment is posted or edited when `comment: true` (`pr_comment.post_comments`; a 403 is a
   notice), outputs go to GITHUB_OUTPUT (heredoc) and one job summary is written.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from paperspace_deploy import __version__, options
from paperspace_deploy.errors import (
    DeployError,
    ExitCode,
    InputError,
    Outcome,
    SpecInvalid,
    run_guarded,
)
from paperspace_deploy.io import Io
from paperspace_deploy.job import MODES, Job, JobResult
from paperspace_deploy.report.github import GitHub
from paperspace_deploy.report.summary import Summary, render
from paperspace_deploy.safetext import neutralize, one_line
from paperspace_deploy.spec.findings import Finding, Severity

if TYPE_CHECKING:
    from paperspace_deploy.deploy.logs import FailureLogs

TITLE = "paperspace-deploy"


def register_secrets(io: Io, environ: Mapping[str, str], masks: GitHub) -> None:
    """Every secret input (raw: a PEM-like password keeps its lines), the password also as
    `user:password`: each variant masked with the runner and scrubbed from all we write, before
    anything can echo one."""
    from paperspace_deploy.redact import MIN_LENGTH, variants

    username = options.get_input(environ, "username") or environ.get("REGISTRY_USERNAME")
    for name in options.secret_inputs():
        value = options.raw_input(environ, name)
        user = username if name == "password" else None
        parts = [value]
        if options.BY_NAME[name].parse is options.key_value:  # id=value lines: each value too
            parts += [line.partition("=")[2] for line in value.splitlines() if "=" in line]
        for part in parts:
            if part and len(part.strip()) >= MIN_LENGTH:
                for form in variants(part, user):
                    masks.mask(form)
            io.secrets.add(part, username=user)


class ActionReporter:
    """The job's reporter in a workflow step. Findings are printed as they come and annotated
    once at the end (`finish`), so the 10-per-type budget covers all of them."""

    def __init__(self, gh: GitHub, io: Io) -> None:
        self.gh, self.io = gh, io
        self.all: list[Finding] = []

    def findings(self, findings: list[Finding]) -> None:
        with self.gh.group(f"Lint findings ({len(findings)})"):
            for f in findings:
                self._line(f"{f.path}:{f.line}:{f.col}: {f.severity.value}: {f.message} [{f.rule}]")
        self.all += findings

    @contextmanager
    def stage(self, title: str) -> Iterator[None]:
        with self.gh.group(title), self.gh.untrusted():
            yield

    def event(self, message: str) -> None:
        self._line(message)

    def warning(self, message: str) -> None:
        self.gh.annotate("warning", message, title=TITLE)

    def instance_logs(self, logs: FailureLogs) -> None:
        for inst in logs.instances:
            more = ", older lines not shown" if inst.cut else ""
            title = f"Logs of {inst.instance} (last {len(inst.lines)} line(s){more})"
            with self.gh.group(neutralize(title)), self.gh.untrusted():
                for line in inst.lines:
                    self._line(line)
        if logs.note:
            self._line(logs.note)
        if logs.warning:
            self.warning(logs.warning)

    def finish(self) -> None:
        hidden = self.gh.annotate_findings(sorted(self.all, key=Finding.sort_key), TITLE)
        if hidden:
            self.io.out(
                f"{hidden} more beyond GitHub's annotation limit: see the log and the job summary"
            )

    def _line(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.io.out(neutralize(line))


def read_job(environ: Mapping[str, str], io: Io, reporter: ActionReporter) -> Job:
    """The inputs -> the same request objects as the CLI's flags."""
    from paperspace_deploy.api.retry import Deadline
    from paperspace_deploy.deploy import DeployRequest
    from paperspace_deploy.image.options import BuildOptions
    from paperspace_deploy.job import make_job
    from paperspace_deploy.lint import LintRequest
    from paperspace_deploy.pr_comment import CommentRequest
    from paperspace_deploy.preview import PreviewRequest
    from paperspace_deploy.workspace import Workspace

    mode = options.get_input(environ, "mode") or "deploy"
    if mode not in MODES:
        raise InputError(f"input 'mode' must be one of {', '.join(MODES)}, got {mode[:20]!r}")
    inputs = options.read_inputs(environ, mode)
    root = Workspace.for_action(environ, io.cwd)
    values = options.complete(inputs, mode, environ)
    deadline = Deadline(values.get("timeout"))

    def deploy() -> DeployRequest:
        return DeployRequest.from_action(inputs, root, io, mode, deadline=deadline)

    job = make_job(
        mode, environ, reporter,
        has_spec=bool(inputs.get("spec")), building=bool(inputs.get("context")),
        lint=lambda: LintRequest.from_action(inputs, root, io, mode=mode),
        build=lambda: BuildOptions.from_action(inputs, root, io, mode, deadline=deadline),
        deploy=deploy,
        preview=lambda: PreviewRequest.from_values(values, deploy(), mode, environ),
    )  # fmt: skip
    job.comment = CommentRequest.from_values(values)
    return job


# What each output may hold. Values come from the API, the registry and the engine, and the
# next step may `echo` them: a value that does not fit (a newline in an endpoint) is dropped.
_ID = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}"
_REF = r"[a-z0-9][A-Za-z0-9._:/@-]{0,511}"
OUTPUT_SHAPES = {
    "image": re.compile(_REF),
    "digest": re.compile(r"sha256:[0-9a-f]{64}"),
    "tags": re.compile(rf"{_REF}(\n{_REF}){{0,99}}"),
    "deployment-id": re.compile(_ID),
    "spec-id": re.compile(_ID),
    "endpoint": re.compile(r"https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9._~/%-]*)?"),
    "changed": re.compile(r"true|false"),
    "lint-errors": re.compile(r"[0-9]{1,9}"),
    "lint-warnings": re.compile(r"[0-9]{1,9}"),
    "sarif-file": re.compile(r"[A-Za-z0-9._/-]{1,512}"),
    "cost-per-hour": re.compile(r"[0-9]{1,9}\.[0-9]{2,4}"),
    "cost-per-month": re.compile(r"[0-9]{1,12}\.[0-9]{2}"),
    "preview-name": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"),
    "verify-status": re.compile(r"[0-9]{3}|unreachable"),
    "rollback": re.compile(r"healthy|disabled|failed|superseded|skipped"),
}


def checked_outputs(values: Mapping[str, str], io: Io) -> dict[str, str]:
    """The outputs whose values have their expected shape; the others are left out, with a
    line saying so (the value itself is not shown)."""
    out = {}
    for name, value in values.items():
        shape = OUTPUT_SHAPES.get(name)
        if value == "" or (shape is not None and shape.fullmatch(value)):
            out[name] = value
        else:
            io.err(f"warning: output {name!r} left unset: its value is not a valid {name}")
    return out


def outputs(result: JobResult) -> dict[str, str]:
    """The step's outputs from what the job did (each only when known)."""
    out: dict[str, str] = {}
    if result.lint is not None:
        out["lint-errors"] = str(result.lint.result.count(Severity.ERROR))
        out["lint-warnings"] = str(result.lint.result.count(Severity.WARNING))
    if result.build is not None:
        b = result.build
        out["image"] = b.digest_ref or (b.tags[0] if b.tags else "")
        out["digest"] = b.digest or ""
        out["tags"] = "\n".join(b.tags)
    done = result.deploy or result.plan
    if done is not None:
        data = done.as_dict()
        for key, field in (("deployment-id", "deploymentId"), ("spec-id", "specId"),
                           ("endpoint", "endpoint")):  # fmt: skip
            value = data.get(field) or (data.get("liveSpecId") if key == "spec-id" else None)
            if value:
                out[key] = str(value)
        out["changed"] = "true" if done.changed else "false"
        if result.deploy is not None and result.deploy.image and "image" not in out:
            out["image"] = result.deploy.image
    if len(result.costs) == 1:  # one spec: its estimate (unset where no price is known)
        out.update({k: v for k, v in next(iter(result.costs.values())).outputs().items() if v})
    previewed = result.preview or result.cleanup
    if previewed is not None:
        out["preview-name"] = previewed.name
    if result.deploy is not None and result.deploy.verify is not None:
        out["verify-status"] = result.deploy.verify.shown
    if result.deploy is not None and result.deploy.rollback is not None:
        out["rollback"] = result.deploy.rollback.state
    return out


def summary(result: JobResult, outcome: Outcome, environ: Mapping[str, str]) -> Summary:
    from paperspace_deploy.report.result import ReportContext

    s = Summary(mode=result.mode, ok=outcome.ok)
    if result.lint is not None:
        s.report_context = ReportContext.for_workspace(result.lint.workspace.root, environ)
    if not outcome.ok:
        s.failure = outcome.message if outcome.code != ExitCode.INTERRUPTED else "interrupted"
    if result.lint is not None:
        s.specs = list(result.lint.result.files)
        s.findings = list(result.lint.result.findings)
    if result.build is not None:
        b = result.build
        s.image = b.digest_ref or (b.tags[0] if b.tags else None)
        s.digest, s.tags = b.digest, list(b.tags)
    if result.plan is not None:
        s.plan_changes = [
            (f"{c['kind']} {c['path']}", _short(c["before"]), _short(c["after"]))
            for c in result.plan.as_dict().get("changes", [])
        ]
    done = result.deploy or result.plan
    if done is not None:
        data = done.as_dict()
        info = {
            "deployment-id": data.get("deploymentId"),
            "spec-id": data.get("specId") or data.get("liveSpecId"),
            "endpoint": data.get("endpoint"),
            "state": data.get("state"),
            "outcome": data.get("outcome"),
        }
        s.deployment = {k: str(v) for k, v in info.items() if v}
    s.costs = dict(result.costs)
    if result.preview is not None:
        s.deployment["preview"] = result.preview.name
        s.deployment["expires"] = f"{result.preview.expires_at:%Y-%m-%d %H:%M} UTC"
    s.notes += [f"preview: {note}" for note in result.preview_notes]
    if result.cleanup is not None:
        c = result.cleanup
        s.notes.append(f"preview {c.name}: deleted deployment {c.deployment_id}" if c.deleted
                       else f"preview {c.name}: no deployment; nothing to clean up")  # fmt: skip
    if result.sweep is not None:
        s.notes += result.sweep.lines() or ["sweep: no preview has expired"]
    deployed = result.deploy
    if deployed is not None and deployed.verify is not None:
        v = deployed.verify
        s.deployment["verify"] = f"GET {v.path}: {v.shown} ({v.attempts} attempt(s))"
    if deployed is not None and deployed.rollback is not None:
        s.deployment["rollback"] = f"{deployed.rollback.state}: {deployed.rollback.message}"
    if deployed is not None and deployed.failure_logs:
        logs = deployed.failure_logs
        s.logs = [(inst.instance, inst.lines, inst.cut) for inst in logs.instances]
        s.notes += [n for n in (logs.note, logs.warning) if n]
    return s


def _short(value: Any) -> str:
    if value is None:
        return ""
    # through one_line: the run's secrets go before the cut
    return one_line(value if isinstance(value, str) else json.dumps(value, default=str), 200)


def write_sarif(job: Job | None, result: JobResult, io: Io) -> str | None:
    """Lint's findings as SARIF at the `sarif-file` input, through `Workspace.write` (inside
    the workspace, never through a symlink); the workspace-relative path written, or None
    when the input is empty or lint did not run."""
    if job is None or job.lint is None or not job.lint.sarif_file or result.lint is None:
        return None
    from paperspace_deploy.report.render import REPORTERS
    from paperspace_deploy.report.result import ReportContext
    from paperspace_deploy.workspace import display

    ws = result.lint.workspace
    ctx = ReportContext.for_workspace(ws.root, io.environ)
    text = io.secrets.scrub(REPORTERS["sarif"](result.lint.result, ctx))
    return display(ws.root, ws.write(job.lint.sarif_file, text, "SARIF file"))


def comment(job: Job | None, result: JobResult, outcome: Outcome, io: Io, gh: GitHub) -> None:
    """The sticky PR comment(s), after the job, failed or not; never fails the step."""
    if job is None or job.comment is None or not job.comment.enabled or job.mode == "sweep":
        return
    from paperspace_deploy import pr_comment

    failure = None if outcome.ok else (outcome.message or "failed")
    shown = job.preview.deploy.display if job.preview is not None else None
    policy = job.preview.policy if job.preview is not None else None
    items = pr_comment.contents(result, io.environ, spec_shown=shown, failure=failure,
                                policy=policy)  # fmt: skip
    for done in pr_comment.post_comments(items, job.comment, io):
        if done.level is not None and done.message:
            gh.annotate(done.level, done.message, title=TITLE)
        elif done.action in ("created", "updated", "unchanged"):
            io.out(neutralize(f"PR comment {done.action}: {done.url or done.comment_id}"))


def _write_results(
    gh: GitHub, io: Io, result: JobResult, outcome: Outcome, extra: Mapping[str, str]
) -> None:
    for name, value in checked_outputs({**outputs(result), **extra}, io).items():
        try:
            gh.set_output(name, io.secrets.scrub(value))
        except (OSError, ValueError) as exc:  # ValueError: value contains the heredoc delimiter
            io.err(f"error: could not write output {name!r}: {exc}")
    try:
        # secrets out of the data first: escaping (entities) would hide them from a later scrub
        data = io.secrets.scrub_data(summary(result, outcome, io.environ))
        gh.add_summary(io.secrets.scrub(render(data)))
    except OSError as exc:
        io.err(f"error: could not write the job summary: {exc.strerror}")


def main(
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    cwd: Path | None = None,
) -> int:
    env = dict(os.environ if environ is None else environ)
    out = stdout or sys.stdout
    io = Io(stdout=out, stderr=stderr or out, environ=env, cwd=cwd or Path.cwd())
    gh = GitHub(io.commands_stdout, env, masks=io.raw_stdout)
    register_secrets(io, env, gh)  # first: nothing is printed before
    reporter = ActionReporter(gh, io)
    result = JobResult(options.get_input(env, "mode") or "deploy")
    jobs: list[Job] = []

    def execute() -> int:
        from paperspace_deploy.job import run_job

        io.out(f"paperspace-deploy {__version__}: mode {neutralize(result.mode[:20])}")
        jobs.append(read_job(env, io, reporter))
        run_job(jobs[0], io, reporter, result)
        done = result.deploy or result.plan
        if done is not None:
            data = done.as_dict()
            reporter.event(
                f"{result.mode}: deployment {data.get('deploymentId') or '(new)'} "
                f"{data.get('state') or ''} {'changed' if done.changed else 'unchanged'}"
            )
        return int(ExitCode.OK)

    outcome = run_guarded(execute)
    reporter.finish()
    extra: dict[str, str] = {}
    try:  # after the job, failed or not: an invalid spec is what code scanning should show
        sarif = write_sarif(jobs[0] if jobs else None, result, io)
        if sarif is not None:
            extra["sarif-file"] = sarif
    except DeployError as exc:
        if outcome.ok:
            outcome = Outcome(int(exc.exit_code), exc, exc.render())
        else:  # the job's own failure stays the step's result
            gh.annotate("error", exc.render(), title=TITLE)
    comment(jobs[0] if jobs else None, result, outcome, io, gh)
    if outcome.message:
        if isinstance(outcome.error, SpecInvalid):  # the findings hold the annotation slots
            reporter.event(f"error: {outcome.message}")
        elif outcome.code == ExitCode.INTERRUPTED:  # what was submitted, if anything
            io.err(outcome.message)
        else:
            gh.annotate("error", outcome.message, title=TITLE)
    _write_results(gh, io, result, outcome, extra)
    return outcome.code
