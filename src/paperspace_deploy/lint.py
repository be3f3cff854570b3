"""The lint stage: collect the spec files, lint each one, check `containerRegistry` offline.

`LintRequest` is built the same way by both faces (`from_args` for `paperspace-deploy lint`,
`from_action` for the action's lint step) and `run_lint(req)` is the one code path: no
network, no Docker, no secrets, so fork pull requests can run it. Heavy modules (the schema
validator, jsonschema) load only when a file needs them; registry.py only with a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paperspace_deploy import options
from paperspace_deploy.errors import UsageError
from paperspace_deploy.spec.findings import Finding, Severity

DEPLOYING = ("plan", "deploy", "preview")  # modes whose spec is about to be sent

if TYPE_CHECKING:
    import argparse

    from paperspace_deploy.io import Io
    from paperspace_deploy.registry import Connections
    from paperspace_deploy.report.result import LintResult
    from paperspace_deploy.spec import LoadedSpec
    from paperspace_deploy.workspace import Workspace


@dataclass
class LintRequest:
    patterns: list[str]  # files, directories or globs; empty: the standard names
    workspace: Workspace  # where they may lead, and what relative ones start from
    strict: bool = False  # warnings fail too
    deploying: bool = False  # the spec is about to be deployed: ':image' left in it is an error
    image: str | None = None  # replaces the spec's image (no ':image' finding then)
    registries: Connections | None = None  # offline registry connections; None: not checked
    sarif_file: str | None = None  # the action's `sarif-file`: SARIF written there (action.py)
    prices_file: Path | None = None  # `--prices FILE`: rates over the shipped list (cost.py)

    @classmethod
    def from_values(
        cls, values: options.Values, ws: Workspace, *, deploying: bool = False
    ) -> LintRequest:
        spec = values.get("spec")
        patterns = [spec] if isinstance(spec, str) else list(spec or [])
        prices = values.get("prices-file")
        return cls(
            patterns=patterns,
            workspace=ws,
            strict=bool(values.get("strict")),
            deploying=deploying,
            image=values.get("image") or None,
            registries=offline_registries(values, ws),
            sarif_file=values.get("sarif-file") or None,
            prices_file=ws.file(prices, "prices file")[0] if prices else None,
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace, io: Io, stage: str = "lint") -> LintRequest:
        """`lint PATH...` takes positional paths; the other commands lint their --spec."""
        from paperspace_deploy.workspace import Workspace

        values = options.complete(options.from_namespace(args, stage), stage, io.environ)
        if stage == "lint":
            values["spec"] = list(args.paths)
        ws = Workspace.for_cli(io.environ, io.cwd)
        return cls.from_values(values, ws, deploying=stage in DEPLOYING)

    @classmethod
    def from_action(
        cls, inputs: options.Values, workspace: Workspace, io: Io, *, mode: str
    ) -> LintRequest:
        values = options.complete(inputs, "lint", io.environ)
        return cls.from_values(values, workspace, deploying=mode in DEPLOYING)


def offline_registries(values: options.Values, ws: Workspace) -> Connections | None:
    """The registry connections the caller listed (`container-registries`, `registries-file`),
    or None when neither was given. The file must be a regular file inside the workspace."""
    names, names_file = values.get("container-registries"), values.get("registries-file")
    if names is None and not names_file:
        return None
    from paperspace_deploy.registry import from_offline  # only when asked (start-up time)

    checked = ws.file(names_file, "registries file")[0] if names_file else None
    return from_offline(list(names or []), checked)


@dataclass
class LintRun:
    result: LintResult  # files and findings, what every reporter renders
    workspace: Workspace  # finding paths are relative to its root
    specs: list[LoadedSpec] = field(default_factory=list)  # parsed, for the deploy stage
    problems: list[str] = field(default_factory=list)  # unreadable paths etc. (exit 2)

    def failed(self, strict: bool) -> bool:
        failing = {Severity.ERROR} | ({Severity.WARNING} if strict else set())
        return any(f.severity in failing for f in self.result.findings)


def run_lint(req: LintRequest) -> LintRun:
    from paperspace_deploy.report.result import LintResult
    from paperspace_deploy.spec import LintContext, lint_file
    from paperspace_deploy.specfiles import collect

    collected = collect(req.patterns, req.workspace)
    run = LintRun(LintResult(), req.workspace, problems=list(collected.problems))
    ctx = LintContext(deploying=req.deploying, image=req.image)
    for spec_file in collected.files:
        try:
            spec = lint_file(spec_file.path, spec_file.shown, ctx)
        except UsageError as exc:
            run.problems.append(str(exc))
            continue
        run.result.files.append(spec_file.shown)
        run.result.findings += spec.findings
        run.specs.append(spec)
        if req.registries is not None or not req.deploying:  # deploy checks it with the API
            run.result.findings += registry_findings(spec, req.registries, req.image)
    run.result.findings.sort(key=Finding.sort_key)
    return run


def registry_findings(
    spec: LoadedSpec, connections: Connections | None, image: str | None
) -> list[Finding]:
    """containerRegistry against the offline list; without one, a notice that it was not
    checked (lint never asks the API)."""
    if spec.data is None or not spec.data.get("containerRegistry"):
        return []
    from paperspace_deploy.registry import check_registry

    return check_registry(
        spec.data, path=spec.path, locate=spec.locate, connections=connections, image=image
    )
