"""The public interface of the image stage: options, result, flags and the one entry point.

`deploy --build` and the action call `add_build_arguments` / `build_from_args` (or build
`BuildOptions` themselves and call `build_and_push`). Nothing here imports docker or requests:
the heavy work lives in `pipeline.py` and is imported only when a build really runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paperspace_deploy.errors import InputError, UsageError

if TYPE_CHECKING:
    from paperspace_deploy.io import Io

BUILDERS = ("auto", "engine", "buildx")  # see image/buildx.py
DEFAULT_TAG_RULES = ("sha", "branch", "tag", "semver", "pr", "latest")
ALL_TAG_RULES = (*DEFAULT_TAG_RULES, "sha-long")


@dataclass
class RetryPolicy:
    """Bounded push retries: `attempts` tries, full-jitter backoff between `base` and `cap`."""

    attempts: int = 3
    base: float = 5.0
    cap: float = 60.0


@dataclass
class BuildOptions:
    context: Path
    dockerfile: str | None
    image: str
    tags: list[str]
    build_args: dict[str, str]
    labels: dict[str, str]
    target: str | None = None
    platform: str | None = None
    cache_from: list[str] = field(default_factory=list)
    pull: bool = False
    no_cache: bool = False
    push: bool | None = None  # None = auto: push, except on pull/merge requests
    registry: str | None = None
    username: str | None = None
    password: str | None = None
    # Beyond the core interface: which metadata-action rules make tags from the CI context.
    tag_rules: tuple[str, ...] = DEFAULT_TAG_RULES
    fail_on_sensitive_context: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # auto (default): BuildKit through `docker buildx build` when the plugin works, else the
    # Engine API with a notice; engine: the Engine API (legacy builder); buildx: BuildKit or fail;
    # any other value: the name of a buildx builder instance (docker/build-push-action's
    # `builder`), e.g. a docker-container builder made by docker/setup-buildx-action
    builder: str = "auto"
    notes: list[str] = field(default_factory=list)  # warnings found while reading the flags

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


@dataclass
class BuildResult:
    image_id: str
    tags: list[str]  # full references, e.g. 127.0.0.1:5000/team/app:sha-abc1234
    digest: str | None  # sha256:... of the pushed manifest (None when not pushed)
    digest_ref: str | None  # repo@sha256:...: what deploy must use
    pushed: bool


def _key_value(kind: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> tuple[str, str]:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"{kind} must look like KEY=VALUE, got {text!r}")
        return key.strip(), value

    return parse


def _tag_rules(text: str) -> tuple[str, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    rules = tuple(r.strip().lower() for r in text.split(",") if r.strip())
    unknown = [r for r in rules if r not in ALL_TAG_RULES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown tag rule {unknown[0]!r}; choose from {', '.join(ALL_TAG_RULES)} or none"
        )
    return rules


def add_build_arguments(parser: argparse.ArgumentParser, *, standalone: bool = False) -> None:
    """All build/push flags. `standalone` is the `build` command itself: it takes the context as
    a positional argument and `-f/--file`; other commands get `--context`, `--dockerfile` and the
    `--build` switch (so `-f` and positionals stay free for them)."""
    g = parser.add_argument_group("image build and push")
    if standalone:
        parser.add_argument(
            "context_pos", nargs="?", metavar="CONTEXT", help="build context directory (default .)"
        )
    else:
        g.add_argument(
            "--build", action="store_true", help="build and push the image first, deploy its digest"
        )
        g.add_argument("--context", dest="build_context", metavar="DIR", help="build context")
    names = ("-f", "--file", "--dockerfile") if standalone else ("--dockerfile",)
    g.add_argument(
        *names, dest="dockerfile", metavar="PATH", help="Dockerfile (default CONTEXT/Dockerfile)"
    )
    g.add_argument(
        "--image", metavar="REPO", help="repository to tag and push, e.g. ghcr.io/org/app"
    )
    g.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="TAG",
        help="explicit tag (repeatable), in addition to the tags from the CI context",
    )
    g.add_argument(
        "--tag-rules",
        type=_tag_rules,
        default=DEFAULT_TAG_RULES,
        metavar="LIST",
        help=f"CI tag rules, comma separated, or none (default {','.join(DEFAULT_TAG_RULES)}; "
        "also sha-long)",
    )
    g.add_argument(
        "--build-arg",
        dest="build_args",
        action="append",
        default=[],
        type=_key_value("--build-arg"),
        metavar="K=V",
        help="build argument (repeatable)",
    )
    g.add_argument(
        "--label",
        dest="labels",
        action="append",
        default=[],
        type=_key_value("--label"),
        metavar="K=V",
        help="image label (repeatable)",
    )
    g.add_argument("--target", help="build this stage of a multi-stage Dockerfile")
    g.add_argument("--platform", help="target platform, e.g. linux/amd64")
    g.add_argument(
        "--cache-from",
        action="append",
        default=[],
        metavar="IMAGE",
        help="image to use as a cache source (repeatable)",
    )
    g.add_argument(
        "--pull",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="always try to pull newer base images (default: no)",
    )
    g.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    g.add_argument(
        "--push",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="push the tags (default: push, except on pull requests)",
    )
    g.add_argument(
        "--registry", metavar="HOST", help="registry to log in to (default: from --image)"
    )
    g.add_argument("--username", help="registry username (or REGISTRY_USERNAME)")
    g.add_argument(
        "--password",
        help="registry password or token (prefer REGISTRY_PASSWORD or "
        "--password-stdin: argv is visible to other processes)",
    )
    g.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    g.add_argument(
        "--builder",
        choices=BUILDERS,
        default="engine",
        help="engine: the Docker Engine API (default, any engine); buildx: docker buildx build "
        "--load via the docker CLI (BuildKit); auto: buildx when available, else engine",
    )
    g.add_argument(
        "--fail-on-sensitive-context",
        action="store_true",
        help="fail instead of warn when .env, keys or .git would be sent to the engine",
    )


def options_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> BuildOptions:
    """Turn parsed flags plus the environment into BuildOptions (no I/O except --password-stdin)."""
    from paperspace_deploy.image.reference import split_image_arg

    if not getattr(args, "image", None):
        raise UsageError("--image is required to build (the repository, e.g. ghcr.io/org/app)")
    image, tag_from_image = split_image_arg(args.image)
    context = getattr(args, "context_pos", None) or getattr(args, "build_context", None) or "."

    username = args.username or environ.get("REGISTRY_USERNAME") or None
    password = args.password
    notes = []
    if password:
        notes.append(
            "--password on the command line is visible to other processes (ps); "
            "use REGISTRY_PASSWORD or --password-stdin"
        )
    if args.password_stdin:
        if password:
            raise UsageError("--password and --password-stdin cannot be combined")
        password = sys.stdin.read().rstrip("\r\n")
    password = password or environ.get("REGISTRY_PASSWORD") or None
    if password and not username:
        raise InputError(
            "a registry password was given without a username",
            hint="pass --username or set REGISTRY_USERNAME",
        )
    if username and not password:
        raise InputError(
            f"registry username {username!r} was given without a password",
            hint="set REGISTRY_PASSWORD or use --password-stdin",
        )
    tags = list(args.tags)
    if tag_from_image:
        tags.insert(0, tag_from_image)
    return BuildOptions(
        context=Path(context),
        dockerfile=args.dockerfile,
        image=image,
        tags=tags,
        build_args=dict(args.build_args),
        labels=dict(args.labels),
        target=args.target,
        platform=args.platform,
        cache_from=list(args.cache_from),
        pull=bool(args.pull),
        no_cache=bool(args.no_cache),
        push=args.push,
        registry=args.registry,
        username=username,
        password=password,
        tag_rules=tuple(args.tag_rules),
        fail_on_sensitive_context=bool(args.fail_on_sensitive_context),
        retry=_retry_policy(environ),
        builder=getattr(args, "builder", None) or "engine",
        notes=notes,
    )


def _retry_policy(environ: Mapping[str, str]) -> RetryPolicy:
    """PAPERSPACE_DEPLOY_RETRY_BASE (seconds) tunes the push backoff, e.g. for tests."""
    text = environ.get("PAPERSPACE_DEPLOY_RETRY_BASE", "").strip()
    try:
        base = float(text) if text else RetryPolicy.base
    except ValueError:
        raise UsageError(f"PAPERSPACE_DEPLOY_RETRY_BASE must be a number, got {text!r}") from None
    return RetryPolicy(base=max(0.0, min(base, RetryPolicy.cap)))


def build_and_push(opts: BuildOptions, io: Io, *, deadline: float | None = None) -> BuildResult:
    """Build, tag, push and verify. `deadline` is a time.monotonic() value for the whole run."""
    from paperspace_deploy.image.pipeline import run_pipeline

    return run_pipeline(opts, io, deadline=deadline)


def build_from_args(args: argparse.Namespace, io: Io) -> BuildResult:
    deadline = getattr(args, "deadline", None)
    return build_and_push(options_from_args(args, io.environ), io, deadline=deadline)
