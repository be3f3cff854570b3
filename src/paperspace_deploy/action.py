"""The GitHub Action: inputs -> the same stages as the CLI -> outputs, summary, annotations.

Order matters and is the point of this module:
  1. every secret input is masked (escaped: each line of a multi-line secret) before anything
     else is printed, together with the derived forms the runner would not catch by itself;
  2. inputs are validated (booleans the toolkit's way, numbers bounded) and paths resolved
     strictly inside GITHUB_WORKSPACE (`workspace.py`);
  3. stages run: lint (never needs a key or Docker, so fork PRs work), registry check, build,
     plan, deploy -- the same functions `paperspace-deploy` calls;
  4. whatever happened, outputs go to GITHUB_OUTPUT (heredoc) and one job summary is written.
Untrusted text (spec values, build output, API bodies) is printed neutralised or inside a
stop-commands block; our own annotations are printed outside those blocks.

Inputs are read like actions-toolkit's `core.get_input` (name upper-cased, spaces to `_`, hyphens
kept, value trimmed) plus the underscore spelling; `actions_toolkit.core` itself is not imported
because it imports requests at module level, which the lint path must not pay for.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from paperspace_deploy import __version__, ci_context
from paperspace_deploy.errors import (
    DeployError,
    ExitCode,
    InputError,
    SpecInvalid,
    UsageError,
    report_internal_error,
)
from paperspace_deploy.io import Io
from paperspace_deploy.report.github import GitHub, neutralize
from paperspace_deploy.report.summary import Summary, render
from paperspace_deploy.spec.findings import Finding, Severity

MODES = ("deploy", "lint", "build", "plan")
SECRET_INPUTS = ("api-key", "password")
TRUE = ("true", "True", "TRUE")
FALSE = ("false", "False", "FALSE")
UNSAFE_SWITCHES = ("ACTIONS_ALLOW_UNSECURE_COMMANDS", "ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS")
PRIVILEGED_EVENTS = ("pull_request_target", "workflow_run")


# ---------------------------------------------------------------------------------------- inputs
def get_input(environ: Mapping[str, str], name: str) -> str:
    """`INPUT_<NAME>` with hyphens kept (the runner's spelling), else with underscores; trimmed."""
    upper = name.replace(" ", "_").upper()
    for key in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        if key in environ:
            return environ[key].strip()
    return ""


def get_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = get_input(environ, name)
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise InputError(
        f"input '{name}' must be true/True/TRUE or false/False/FALSE, got {value[:20]!r}"
    )


def get_list(environ: Mapping[str, str], name: str) -> list[str]:
    """Newline- or comma-separated values (the docker/metadata-action convention)."""
    raw = get_input(environ, name).replace(",", "\n")
    return [item.strip() for item in raw.splitlines() if item.strip()]


@dataclass
class Settings:
    mode: str
    spec: str
    api_key: str
    project_id: str
    api_url: str
    image: str
    context: str
    dockerfile: str
    build_args: dict[str, str]
    tags: list[str]
    push: bool | None
    registry: str
    username: str
    password: str = field(repr=False)
    container_registries: list[str] | None
    wait: bool
    timeout_minutes: int
    strict: bool

    def __repr__(self) -> str:  # never show secrets
        return f"Settings(mode={self.mode!r}, spec={self.spec!r}, image={self.image!r})"


def read_settings(environ: Mapping[str, str]) -> Settings:
    mode = get_input(environ, "mode") or "deploy"
    if mode not in MODES:
        raise InputError(f"input 'mode' must be one of {', '.join(MODES)}, got {mode[:20]!r}")
    timeout_text = get_input(environ, "timeout") or "15"
    try:
        timeout = int(timeout_text)
    except ValueError:
        timeout = -1
    if not 1 <= timeout <= 360:
        raise InputError(f"input 'timeout' must be 1..360 minutes, got {timeout_text[:20]!r}")
    build_args: dict[str, str] = {}
    for line in get_input(environ, "build-args").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InputError(f"input 'build-args' lines must be KEY=VALUE, got {key[:40]!r}")
        build_args[key.strip()] = value
    push_text = get_input(environ, "push")
    registries = get_input(environ, "container-registries")
    return Settings(
        mode=mode,
        spec=get_input(environ, "spec"),
        api_key=get_input(environ, "api-key"),
        project_id=get_input(environ, "project-id"),
        api_url=get_input(environ, "api-url"),
        image=get_input(environ, "image"),
        context=get_input(environ, "context"),
        dockerfile=get_input(environ, "dockerfile"),
        build_args=build_args,
        tags=get_list(environ, "tags"),
        push=None if push_text in ("", "auto") else get_bool(environ, "push", True),
        registry=get_input(environ, "registry"),
        username=get_input(environ, "username"),
        password=_raw_input(environ, "password"),
        container_registries=get_list(environ, "container-registries") if registries else None,
        wait=get_bool(environ, "wait", True),
        timeout_minutes=timeout,
        strict=get_bool(environ, "strict", False),
    )


def _raw_input(environ: Mapping[str, str], name: str) -> str:
    """A secret as given, only trailing newlines trimmed (a PEM-like password keeps its lines)."""
    upper = name.upper()
    for key in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        if key in environ:
            return environ[key].strip("\r\n")
    return ""


# --------------------------------------------------------------------------------------- secrets
def secret_variants(environ: Mapping[str, str]) -> list[str]:
    """Every secret input, stripped and raw, and the encodings our code could ever produce."""
    values: list[str] = []
    for name in SECRET_INPUTS:
        raw = _raw_input(environ, name)
        for v in (raw, raw.strip()):
            if v and v not in values:
                values.append(v)
    username = get_input(environ, "username")
    password = _raw_input(environ, "password")
    if password:
        for text in (f"{username}:{password}", password):
            values.append(base64.b64encode(text.encode()).decode())
        values.append(json.dumps(password)[1:-1])  # JSON-escaped, as in an auth config body
    api_key = get_input(environ, "api-key")
    if api_key:
        values.append(base64.b64encode(api_key.encode()).decode())
    return [v for v in dict.fromkeys(values) if len(v.strip()) >= 4]  # short masks garble logs


def mask_secrets(gh: GitHub, environ: Mapping[str, str]) -> None:
    for value in secret_variants(environ):
        gh.mask(value)
        if "\n" in value:  # belt and braces: each line on its own too
            for line in value.splitlines():
                if len(line.strip()) >= 4:
                    gh.mask(line.strip())


# -------------------------------------------------------------------------------------- the run
@dataclass
class Run:
    """Mutable record of one action run: what outputs and the summary will show."""

    settings: Settings | None = None
    summary: Summary = field(default_factory=lambda: Summary(mode="?"))
    outputs: dict[str, str] = field(default_factory=dict)


def _print_lines(io: Io, text: str) -> None:
    """Untrusted single lines printed raw, each unable to start a workflow command."""
    for line in text.splitlines() or [""]:
        io.out(neutralize(line))


def report_findings(gh: GitHub, io: Io, findings: list[Finding]) -> None:
    """Every finding in the log; the first 10 of each type as annotations on the spec lines."""
    with gh.group(f"Lint findings ({len(findings)})"):
        for f in findings:
            _print_lines(
                io, f"{f.path}:{f.line}:{f.col}: {f.severity.value}: {f.message} [{f.rule}]"
            )
    hidden = gh.annotate_findings(findings, "paperspace-deploy")
    if hidden:
        io.out(f"{hidden} more beyond GitHub's annotation limit: see the log and the job summary")


def stage_lint(s: Settings, root: Path, io: Io, gh: GitHub, run: Run, fork: bool) -> list[Any]:
    """Resolve the spec files inside the workspace, lint them and check `containerRegistry`.

    Lint needs no key and no Docker. The registry check uses the offline `container-registries`
    list when given, else the API when a key is there, else it is skipped with a notice.
    """
    from paperspace_deploy.spec import DEFAULT_SPEC_PATHS, LintContext, find_default_spec, lint_file
    from paperspace_deploy.workspace import check_regular_file, display, resolve_specs

    if s.spec:
        paths = resolve_specs(root, s.spec)
    else:
        found = find_default_spec(root)
        if found is None:
            raise UsageError(
                "no spec file found in the workspace",
                hint="set the 'spec' input; searched: " + ", ".join(DEFAULT_SPEC_PATHS),
            )
        paths = [check_regular_file(root, os.path.relpath(found, root))]
    ctx = LintContext(deploying=s.mode in ("deploy", "plan"), image=s.image or None)
    loaded = []
    findings: list[Finding] = []
    for path in paths:
        shown = display(root, path)
        run.summary.specs.append(shown)
        spec = lint_file(path, shown, ctx)
        findings.extend(spec.findings)
        loaded.append(spec)
    findings += registry_findings(s, list(zip(loaded, run.summary.specs, strict=True)), run, fork)
    findings.sort(key=Finding.sort_key)
    run.summary.findings = findings
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    run.outputs["lint-errors"] = str(errors)
    run.outputs["lint-warnings"] = str(warnings)
    report_findings(gh, io, findings)
    io.out(f"lint: {len(paths)} file(s), {errors} error(s), {warnings} warning(s)")
    if errors or (s.strict and warnings):
        what = f"{errors} error(s)" if errors else f"{warnings} warning(s) with strict: true"
        raise SpecInvalid(f"the spec has {what}", hint="fix the findings annotated on the spec")
    return loaded


def registry_findings(
    s: Settings, specs: list[tuple[Any, str]], run: Run, fork: bool
) -> list[Finding]:
    from paperspace_deploy import registry

    wanted = [
        (spec, shown)
        for spec, shown in specs
        if isinstance(getattr(spec, "data", None), dict) and spec.data.get("containerRegistry")
    ]
    if not wanted:
        return []
    connections = None
    if s.container_registries is not None:
        connections = registry.from_offline(",".join(s.container_registries) or " ", None)
    elif s.api_key and (s.mode == "plan" or (s.mode == "deploy" and not s.context)):
        return []  # the plan/deploy stage checks it against the API itself
    elif s.api_key:  # lint, or before a (long) build: fail fast
        with _client(s) as client:
            connections = registry.from_api(client)
    elif fork:
        run.summary.notes.append("registry check skipped: no API key on a fork pull request")
    out: list[Finding] = []
    for spec, shown in wanted:
        out += registry.check_registry(
            spec.data,
            path=shown,
            locate=spec.locate,
            connections=connections,
            image=s.image or None,
        )
    return out


class _client:
    """`with _client(s) as client:` an ApiClient that is closed afterwards."""

    def __init__(self, s: Settings) -> None:
        self.s = s

    def __enter__(self) -> Any:
        from paperspace_deploy.api.client import ApiClient, api_url_from, clean_api_key

        self.client = ApiClient(clean_api_key(self.s.api_key), api_url_from(self.s.api_url, {}))
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()


def stage_build(s: Settings, root: Path, io: Io, gh: GitHub, run: Run, deadline: float) -> Any:
    from paperspace_deploy.image.options import BuildOptions, build_and_push
    from paperspace_deploy.workspace import check_directory, check_regular_file, display

    if not s.image:
        raise InputError("input 'image' (the repository to push, e.g. ghcr.io/org/app) is required")
    context = check_directory(root, s.context or ".", "build context")
    dockerfile = None
    if s.dockerfile:
        df = check_regular_file(root, s.dockerfile, "dockerfile")
        dockerfile = os.path.relpath(df, context)
        if dockerfile.startswith(".."):
            raise InputError(
                f"dockerfile must be inside the build context: {display(root, df)}",
                hint="move it into the context or set 'context' to a directory that contains it",
            )
    from paperspace_deploy.image.reference import split_image_arg

    image, tag = split_image_arg(s.image)
    opts = BuildOptions(
        context=context,
        dockerfile=dockerfile,
        image=image,
        tags=[t for t in [tag, *s.tags] if t],
        build_args=dict(s.build_args),
        labels={},
        push=s.push,
        registry=s.registry or None,
        username=s.username or None,
        password=s.password or None,
    )
    # The image stage prints its own groups, masks (the X-Registry-Auth header) and wraps the
    # engine's streams in stop-commands; wrapping it again would swallow those masks.
    result = build_and_push(opts, io, deadline=deadline)
    run.summary.image = result.digest_ref or (result.tags[0] if result.tags else image)
    run.summary.digest = result.digest
    run.summary.tags = list(result.tags)
    run.outputs["image"] = run.summary.image or ""
    run.outputs["digest"] = result.digest or ""
    run.outputs["tags"] = "\n".join(result.tags)
    return result


def stage_deploy(s: Settings, specs: list[Any], io: Io, gh: GitHub, run: Run, deadline: float,
                 image: str | None) -> None:  # fmt: skip
    """Plan or deploy through `paperspace_deploy.deploy`, the functions the CLI calls."""
    from paperspace_deploy import deploy

    if len(specs) != 1:
        raise UsageError(f"{s.mode} takes exactly one spec file; 'spec' matched {len(specs)}")
    common: dict[str, Any] = dict(
        spec=specs[0],
        display=run.summary.specs[0],
        project_id=s.project_id or None,
        api_key=s.api_key,
        api_url=s.api_url or None,
        image=image,
        io=io,
        environ=io.environ,
        deadline=deadline,
    )
    try:
        # API bodies and names are untrusted: the stage's log lines print inside stop-commands.
        with gh.group("Plan"), gh.untrusted():
            planned = deploy.plan(**common)
        _record_plan(run, planned.as_dict())
        result = planned
        if s.mode == "deploy":  # the plan above is for the summary: 3 GETs, nothing changed
            with gh.group("Deploy"), gh.untrusted():
                result = deploy.run_deploy(
                    **common, wait=s.wait, on_event=lambda m: _print_lines(io, m)
                )
    except deploy.SpecRejected as exc:  # the registry check or the server's validation
        report_findings(gh, io, list(exc.findings))
        run.summary.findings += list(exc.findings)
        raise
    data = result.as_dict()
    info = {
        "deployment-id": data.get("deploymentId"),
        "spec-id": data.get("specId") or data.get("liveSpecId"),
        "endpoint": data.get("endpoint"),
        "state": data.get("state"),
        "outcome": data.get("outcome"),
    }
    for key in ("deployment-id", "spec-id", "endpoint"):
        if info[key]:
            run.outputs[key] = str(info[key])
    run.outputs["changed"] = "true" if result.changed else "false"
    if s.mode == "deploy" and data.get("image") and "image" not in run.outputs:
        run.outputs["image"] = str(data["image"])
    run.summary.deployment = {k: str(v) for k, v in info.items() if v}
    io.out(
        f"{s.mode}: deployment {info['deployment-id'] or '(new)'}"
        f" {info['state'] or ''} {'changed' if result.changed else 'unchanged'}"
    )


def _record_plan(run: Run, data: dict[str, Any]) -> None:
    """The plan's changes for the summary; secret-looking values arrive already redacted."""
    run.summary.plan_changes = [
        (f"{c['kind']} {c['path']}", _short(c["before"]), _short(c["after"]))
        for c in data.get("changes", [])
    ]


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def execute(s: Settings, io: Io, gh: GitHub, run: Run) -> int:
    from paperspace_deploy.workspace import workspace_root

    root = workspace_root(io.environ, io.cwd)
    fork = ci_context.detect(io.environ).fork
    deadline = time.monotonic() + s.timeout_minutes * 60
    if fork and s.mode in ("deploy", "plan"):
        raise InputError(
            f"mode '{s.mode}' refuses to run on a pull request from a fork",
            hint="use 'mode: lint' for pull requests; deploy on push or workflow_dispatch",
        )
    unsafe = [k for k in UNSAFE_SWITCHES if io.environ.get(k, "").strip().lower() == "true"]
    if fork and unsafe:
        raise InputError(
            f"refusing to run on a fork pull request with {unsafe[0]}=true",
            hint="that switch lets untrusted output run workflow commands; remove it",
        )
    event_name = io.environ.get("GITHUB_EVENT_NAME", "")
    if s.mode in ("deploy", "build") and event_name in PRIVILEGED_EVENTS:
        gh.annotate(
            "warning",
            f"running '{s.mode}' on {event_name}: this event has secrets and a write token; "
            "never build or deploy code from a pull request's head here",
            title="paperspace-deploy",
        )
    if fork and s.mode == "build" and s.push is not False:
        s.push = False  # a fork has no registry credentials; building is still a useful check
    if s.mode in ("deploy", "plan") and not s.api_key:
        raise InputError(f"api-key is required to {s.mode} (lint mode needs none)")
    specs: list[Any] = []
    if s.mode != "build" or s.spec:
        specs = stage_lint(s, root, io, gh, run, fork)
    if s.mode == "lint":
        return ExitCode.OK
    image = s.image or None
    if s.mode == "build" or (s.mode == "deploy" and s.context):
        result = stage_build(s, root, io, gh, run, deadline)
        image = result.digest_ref or image
        if s.mode == "build":
            return ExitCode.OK
        if not result.digest_ref:
            raise InputError("the image was not pushed, so there is no digest to deploy")
    stage_deploy(s, specs, io, gh, run, deadline, image)
    return ExitCode.OK


def _write_results(gh: GitHub, run: Run, io: Io) -> None:
    for name, value in run.outputs.items():
        try:
            gh.set_output(name, value)
        except (OSError, ValueError) as exc:  # ValueError: value contains the heredoc delimiter
            io.err(f"error: could not write output {name!r}: {exc}")
    try:
        gh.add_summary(render(run.summary))
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
    gh = GitHub(out, env)
    mask_secrets(gh, env)  # first, before anything can echo a secret
    run = Run()
    code: int
    try:
        settings = read_settings(env)
        run.settings = settings
        run.summary.mode = settings.mode
        io.out(f"paperspace-deploy {__version__}: mode {settings.mode}")
        code = int(execute(settings, io, gh, run))
    except DeployError as exc:
        code = int(exc.exit_code)
        run.summary.ok = False
        run.summary.failure = str(exc)
        if isinstance(exc, SpecInvalid):  # findings already annotated: keep the 10 slots for them
            _print_lines(io, f"error: {exc.render()}")
        else:
            gh.annotate("error", exc.render(), title="paperspace-deploy")
    except KeyboardInterrupt:
        code = int(ExitCode.INTERRUPTED)
        run.summary.ok = False
        run.summary.failure = "interrupted"
        io.err("interrupted")
    except Exception as exc:  # a bug: details to a file in the container's /tmp, never the log
        code = int(ExitCode.INTERNAL)
        run.summary.ok = False
        run.summary.failure = f"unexpected internal error ({type(exc).__name__})"
        gh.annotate("error", report_internal_error(exc), title="paperspace-deploy")
    _write_results(gh, run, io)
    return code
