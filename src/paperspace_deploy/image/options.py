"""The image stage's request and result: `BuildOptions` in, `BuildResult` out.

Both faces build `BuildOptions` the same way -- `from_args` (the `build` command, `deploy
--build`) or `from_action` -- through the option table (`options.py`) and `from_values`, whose
`validate()` owns the credential and registry rules. `image.pipeline.build_and_push(opts, io)`
is the one entry point. Nothing here imports docker or requests: the heavy work lives in
`pipeline.py` and is imported only when a build really runs.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paperspace_deploy import options
from paperspace_deploy.api.retry import Deadline, RetryPolicy
from paperspace_deploy.errors import InputError, UsageError
from paperspace_deploy.image.tags import DEFAULT_TAG_RULES

if TYPE_CHECKING:
    import argparse

    from paperspace_deploy.io import Io
    from paperspace_deploy.workspace import Workspace

# Push retries: few and slow (a registry blip), unlike the API client's quick ones.
PUSH_RETRY = RetryPolicy(attempts=3, base=5.0, cap=60.0, floor=0.5)


@dataclass
class BuildOptions:
    context: Path
    dockerfile: str | None
    image: str
    tags: list[str]
    build_args: dict[str, str]
    labels: dict[str, str]
    target: str | None = None
    cache_from: list[str] = field(default_factory=list)
    pull: bool = False
    no_cache: bool = False
    push: bool | None = None  # None = auto: push, except on pull/merge requests
    registry: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # Beyond the core interface: which metadata-action rules make tags from the CI context.
    tag_rules: tuple[str, ...] = DEFAULT_TAG_RULES
    fail_on_sensitive_context: bool = False
    retry: RetryPolicy = field(default_factory=lambda: PUSH_RETRY)
    # auto (default): BuildKit through `docker buildx build` when the plugin works, else the
    # Engine API with a notice; engine: the Engine API (legacy builder); buildx: BuildKit or fail;
    # any other value: the name of a buildx builder instance (docker/build-push-action's
    # `builder`), e.g. a docker-container builder made by docker/setup-buildx-action
    builder: str = "auto"
    notes: list[str] = field(default_factory=list)  # warnings found while reading the options
    deadline: Deadline = field(default_factory=lambda: Deadline(None))  # the whole run's

    # -- BuildKit options, named as docker/build-push-action's inputs (issue 15) ---------------
    # What the engine's builtin `docker` driver cannot do (several platforms, cache export other
    # than inline, attestations) fails with a message naming a docker-container builder; on the
    # Engine API path every one of these but `platforms` (one entry) and `network` fails.
    platforms: list[str] = field(default_factory=list)  # platforms (one entry == `platform`)
    cache_to: list[str] = field(default_factory=list)  # cache-to, e.g. type=inline
    secrets: dict[str, str] = field(default_factory=dict)  # secrets: id -> value (masked)
    secret_envs: dict[str, str] = field(default_factory=dict)  # secret-envs: id -> env name
    secret_files: dict[str, str] = field(default_factory=dict)  # secret-files: id -> path
    ssh: list[str] = field(default_factory=list)  # ssh: `default` or `id=path[,path]`
    provenance: str | None = None  # provenance: None/false = none; true, mode=min|max
    sbom: str | None = None  # sbom: None/false = none; true
    network: str | None = None  # network for RUN steps: default, host, none

    def __repr__(self) -> str:  # keep the password and secrets out of any debug print
        return f"BuildOptions(context={self.context!r}, image={self.image!r}, tags={self.tags!r})"

    def validate(self) -> BuildOptions:
        """The credential and registry rules, the same for every face."""
        from paperspace_deploy.image.reference import normalize_registry, registry_of, split_host

        if self.password and not self.username:
            raise InputError(
                "a registry password was given without a username",
                hint="set the username (--username, input username, or REGISTRY_USERNAME)",
            )
        if self.username and not self.password:
            raise InputError(
                f"registry username {self.username[:64]!r} was given without a password",
                hint="set the password (input password, REGISTRY_PASSWORD, or --password-stdin)",
            )
        if self.registry:
            wanted, registry = normalize_registry(self.registry), registry_of(self.image)
            if wanted != registry:
                host, _ = split_host(self.image)
                hint = (
                    f"prefix the image with the registry: {wanted}/{self.image}"
                    if host is None
                    else "make the registry and the host in the image agree"
                )
                raise InputError(
                    f"registry {wanted} does not match the image's registry {registry}", hint=hint
                )
        return self

    @classmethod
    def from_values(
        cls,
        values: options.Values,
        ws: Workspace,
        environ: Mapping[str, str],
        *,
        deadline: Deadline | None = None,
    ) -> BuildOptions:
        from paperspace_deploy.image.reference import split_image_arg

        if not values.get("image"):
            raise UsageError(
                "an image repository is required to build (--image or input image, "
                "e.g. ghcr.io/org/app)"
            )
        image, tag_from_image = split_image_arg(values["image"])
        context, _ = ws.directory(values.get("context") or ".")
        dockerfile = values.get("file") or None
        if dockerfile:  # relative to the working directory (docker CLI), else to the context
            if not (ws.cwd / dockerfile).exists() and (context / dockerfile).exists():
                dockerfile = str(context / dockerfile)
            dockerfile = str(ws.file(dockerfile, "dockerfile")[0])
        tags = [t for t in [tag_from_image, *values.get("tags", [])] if t]
        return cls(
            context=context,
            dockerfile=dockerfile,
            image=image,
            tags=tags,
            build_args=dict(values.get("build-args") or []),
            labels=dict(values.get("labels") or []),
            target=values.get("target") or None,
            cache_from=list(values.get("cache-from") or []),
            pull=bool(values.get("pull")),
            no_cache=bool(values.get("no-cache")),
            push=values.get("push"),
            registry=values.get("registry") or None,
            username=values.get("username") or None,
            password=values.get("password") or None,
            tag_rules=tuple(values.get("tag-rules", DEFAULT_TAG_RULES)),
            fail_on_sensitive_context=bool(values.get("fail-on-sensitive-context")),
            retry=_retry_policy(environ),
            builder=values.get("builder") or "auto",
            deadline=deadline or Deadline(values.get("timeout")),
            platforms=list(values.get("platforms") or []),
            cache_to=list(values.get("cache-to") or []),
            secrets=dict(values.get("secrets") or []),
            secret_envs=dict(values.get("secret-envs") or []),
            secret_files=dict(values.get("secret-files") or []),
            ssh=list(values.get("ssh") or []),
            provenance=values.get("provenance") or None,
            sbom=values.get("sbom") or None,
            network=values.get("network") or None,
        ).validate()

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, io: Io, stage: str, *, deadline: Deadline | None = None
    ) -> BuildOptions:
        """The command line's own spellings: the `build` command's positional CONTEXT, and
        `--password-stdin` (argv is visible to other processes, so --password gets a note)."""
        from paperspace_deploy.workspace import Workspace

        values = options.from_namespace(args, stage)
        if getattr(args, "context_pos", None):
            values["context"] = args.context_pos
        notes = []
        if values.get("password"):
            notes.append(
                "--password on the command line is visible to other processes (ps); "
                "use REGISTRY_PASSWORD or --password-stdin"
            )
        if getattr(args, "password_stdin", False):
            if values.get("password"):
                raise UsageError("--password and --password-stdin cannot be combined")
            values["password"] = sys.stdin.read().rstrip("\r\n")
        values = options.complete(values, stage, io.environ)
        ws = Workspace.for_cli(io.environ, io.cwd)
        opts = cls.from_values(values, ws, io.environ, deadline=deadline)
        opts.notes += notes
        return opts

    @classmethod
    def from_action(
        cls, inputs: options.Values, workspace: Workspace, io: Io, stage: str, *,
        deadline: Deadline,
    ) -> BuildOptions:  # fmt: skip
        values = options.complete(inputs, stage, io.environ)
        return cls.from_values(values, workspace, io.environ, deadline=deadline)


@dataclass
class BuildResult:
    image_id: str
    tags: list[str]  # full references, e.g. 127.0.0.1:5000/team/app:sha-abc1234
    digest: str | None  # sha256:... of the pushed manifest (None when not pushed)
    digest_ref: str | None  # repo@sha256:...: what deploy must use
    pushed: bool


def _retry_policy(environ: Mapping[str, str]) -> RetryPolicy:
    """PAPERSPACE_DEPLOY_RETRY_BASE (seconds) tunes the push backoff, e.g. for tests."""
    text = environ.get("PAPERSPACE_DEPLOY_RETRY_BASE", "").strip()
    try:
        base = float(text) if text else PUSH_RETRY.base
    except ValueError:
        raise UsageError(f"PAPERSPACE_DEPLOY_RETRY_BASE must be a number, got {text!r}") from None
    return dataclasses.replace(PUSH_RETRY, base=max(0.0, min(base, PUSH_RETRY.cap)))
