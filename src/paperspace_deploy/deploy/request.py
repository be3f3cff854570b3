"""`DeployRequest`: everything `plan` and `deploy` need, built the same way by every face.

The CLI builds it from its flags (`from_args`), the action from its inputs (`from_action`); both
go through `options.complete` (environment fallbacks and defaults from the one table) and
`from_values`, which owns the checks: a project id of the right shape, an API key that can be a
header, an http(s) API URL, the single spec file inside the workspace. Python callers (tests,
benchmarks, `up --local`, previews) use `for_spec` with keywords.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paperspace_deploy import options
from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.deploy.prepare import project_id as checked_project_id
from paperspace_deploy.deploy.result import WaitOptions
from paperspace_deploy.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from paperspace_deploy.io import Io
    from paperspace_deploy.registry import Connections
    from paperspace_deploy.spec import LoadedSpec
    from paperspace_deploy.workspace import Workspace


@dataclass
class DeployRequest:
    spec_path: Path  # the real path, inside the workspace
    display: str  # the spec as reports name it
    project_id: str
    api_key: str = field(repr=False)
    api_url: str
    deadline: Deadline
    image: str | None = None  # replaces ':image' / the spec's image (a pushed digest after a build)
    wait: WaitOptions = field(default_factory=WaitOptions)
    skip_unchanged: bool = False
    strict: bool = False
    verify_path: str | None = None  # after healthy: GET endpoint + this path (deploy/verify.py)
    rollback_on_failure: bool = False  # re-apply the previous spec when ours fails
    registries: Connections | None = None  # offline list; None: ask the API
    spec: LoadedSpec | None = None  # already linted (the job lints first); None: lint here
    client_options: dict[str, Any] = field(default_factory=dict)  # tests: policy, sleep, rng

    def __post_init__(self) -> None:
        from paperspace_deploy.redact import run_secrets

        run_secrets().add(self.api_key)  # scrubbed from all the run writes, whoever echoes it

    def __repr__(self) -> str:  # never the key
        return f"DeployRequest(spec={self.display!r}, project={self.project_id!r})"

    @classmethod
    def from_values(
        cls, values: options.Values, ws: Workspace, stage: str, *, deadline: Deadline | None
    ) -> DeployRequest:
        from paperspace_deploy.api.client import api_url_from, clean_api_key
        from paperspace_deploy.specfiles import collect

        spec = values.get("spec")
        collected = collect([spec] if isinstance(spec, str) and spec else [], ws)
        if collected.problems:
            raise UsageError(collected.problems[0])
        if not spec:  # the standard names: the first present, as the official tools do
            collected.files = collected.files[:1]
        if len(collected.files) != 1:
            raise UsageError(
                f"{stage} takes exactly one spec file; {spec!r} matched {len(collected.files)}"
            )
        from paperspace_deploy.lint import offline_registries

        api_key = clean_api_key(values.get("api-key"))  # the first thing a new user misses
        wait = bool(values.get("wait", True))
        if values.get("verify-path") and not wait:
            raise UsageError("verify-path needs the wait: it checks the endpoint once healthy",
                             hint="drop --no-wait (wait: false) or verify-path")  # fmt: skip
        return cls(
            spec_path=collected.files[0].path,
            display=collected.files[0].shown,
            project_id=checked_project_id(values.get("project-id")),
            api_key=api_key,
            api_url=api_url_from(values.get("api-url"), {}),
            deadline=deadline or Deadline(values["timeout"]),
            image=values.get("image") or None,
            wait=WaitOptions(
                wait=wait,
                poll_interval=_number(values.get("poll-interval"), WaitOptions.poll_interval),
                error_grace=_number(values.get("error-grace"), WaitOptions.error_grace),
            ),
            skip_unchanged=bool(values.get("skip-unchanged")),
            strict=bool(values.get("strict")),
            verify_path=values.get("verify-path") or None,
            rollback_on_failure=bool(values.get("rollback-on-failure")),
            registries=offline_registries(values, ws),
        )

    @classmethod
    def for_spec(
        cls,
        spec: str | Path | LoadedSpec,
        *,
        project_id: str,
        api_key: str | None = None,
        api_url: str | None = None,
        environ: Mapping[str, str] | None = None,
        image: str | None = None,
        timeout: float | None = 900.0,
        deadline: Deadline | None = None,
        wait: WaitOptions | None = None,
        skip_unchanged: bool = False,
        registries: Connections | None = None,
        display: str | None = None,
        client_options: Mapping[str, Any] | None = None,
        verify_path: str | None = None,
        rollback_on_failure: bool = False,
    ) -> DeployRequest:
        """A request from keywords: a spec path (linted by the stage) or an already linted
        spec; the key and URL fall back to PAPERSPACE_API_KEY / PAPERSPACE_API_URL in
        `environ`."""
        from paperspace_deploy.api.client import api_url_from, clean_api_key

        env = environ or {}
        loaded = None if isinstance(spec, str | Path) else spec
        path = Path(spec) if isinstance(spec, str | Path) else Path(spec.path)
        return cls(
            spec_path=path,
            display=display or (loaded.path if loaded is not None else str(path)),
            project_id=checked_project_id(project_id),
            api_key=clean_api_key(api_key or env.get("PAPERSPACE_API_KEY")),
            api_url=api_url_from(api_url, env),
            deadline=deadline or Deadline(timeout),
            image=image,
            wait=wait or WaitOptions(),
            skip_unchanged=skip_unchanged,
            verify_path=verify_path,
            rollback_on_failure=rollback_on_failure,
            registries=registries,
            spec=loaded,
            client_options=dict(client_options or {}),
        )

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, io: Io, stage: str, *, deadline: Deadline | None = None
    ) -> DeployRequest:
        from paperspace_deploy.workspace import Workspace

        values = options.complete(options.from_namespace(args, stage), stage, io.environ)
        ws = Workspace.for_cli(io.environ, io.cwd)
        return cls.from_values(values, ws, stage, deadline=deadline)

    @classmethod
    def from_action(
        cls, inputs: options.Values, workspace: Workspace, io: Io, stage: str, *,
        deadline: Deadline,
    ) -> DeployRequest:  # fmt: skip
        values = options.complete(inputs, stage, io.environ)
        return cls.from_values(values, workspace, stage, deadline=deadline)


def _number(value: float | None, default: float) -> float:
    """A wait option (0 is a value: --error-grace 0 fails at the first failing poll)."""
    return default if value is None else float(value)
