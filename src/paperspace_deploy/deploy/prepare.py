"""Before anything changes: lint in deploy mode, the API config, project and registry checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from paperspace_deploy.errors import InputError, SpecInvalid, UsageError
from paperspace_deploy.spec.findings import Finding, Severity

if TYPE_CHECKING:
    from paperspace_deploy.deploy.session import Run
    from paperspace_deploy.spec import LoadedSpec


class SpecRejected(SpecInvalid):
    """The spec failed lint, the registry check or the server's validation; see `findings`."""

    def __init__(self, message: str, findings: list[Finding], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.findings = findings


def load_spec(spec_path: str | Path, image: str | None, display: str | None = None) -> LoadedSpec:
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
    """The config to send. Its plaintext credentials (a basicAuthKey, env or header values, a
    password in a git-lfs URL) join the run's secrets first: a server echoing one back in an
    error, a plan or a log line is scrubbed like any other secret."""
    from paperspace_deploy.credentials import spec_credentials
    from paperspace_deploy.redact import run_secrets
    from paperspace_deploy.spec import to_api_config

    config = dict(to_api_config(loaded.data))
    run_secrets().add_all(spec_credentials(config))
    if image:  # --image replaces ':image' or the spec's own image
        config["image"] = image
    if config.get("image") == ":image":
        raise InputError("the spec uses the ':image' placeholder but no --image was given")
    return config


def prepare(spec: Any, spec_path: str | Path | None, image: str | None, display: str | None,
            ) -> tuple[Any, dict[str, Any], str]:  # fmt: skip
    """(loaded spec, the config to send, the name to show) from a path or a linted spec."""
    if spec is None:
        if spec_path is None:
            raise UsageError("no spec given (--spec)")
        spec = load_spec(spec_path, image, display)
    elif getattr(spec, "data", None) is None or getattr(spec, "errors", []):
        raise SpecRejected("the spec has errors; nothing was deployed", list(spec.findings))
    shown = display or getattr(spec, "path", None) or str(spec_path or "spec")
    return spec, api_config(spec, image), shown


def project_id(value: str | None) -> str:
    """The project id, checked (options.complete already fell back to PAPERSPACE_PROJECT_ID)."""
    pid = (value or "").strip()
    if not pid:
        raise InputError(
            "a project id is required (input project-id, --project-id or PAPERSPACE_PROJECT_ID)"
        )
    if len(pid) > 64 or not all(c.isalnum() or c in "-_" for c in pid):
        raise InputError(f"project id {pid[:64]!r} has an invalid format")
    return pid


def checks(run: Run, loaded: Any, config: dict[str, Any], shown: str, pid: str,
           offline: Any = None) -> list[Finding]:  # fmt: skip
    """The project exists; `containerRegistry` names a connection. Lint warnings + findings."""
    from paperspace_deploy import registry
    from paperspace_deploy.api.errors import NotFound

    try:
        run.client.get_project(pid)
    except NotFound:
        raise InputError(
            f"project not found: {pid}",
            hint="check --project-id (and that the API key belongs to the project's team)",
        ) from None
    findings: list[Finding] = []
    if config.get("containerRegistry"):
        findings = registry.check_registry(
            config, path=shown, locate=loaded.locate,
            connections=offline or registry.from_api(run.client), image=config.get("image"),
        )  # fmt: skip
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise SpecRejected(f"{shown}: {errors[0].message}", findings)
    return [*getattr(loaded, "findings", []), *findings]  # lint warnings + registry findings
