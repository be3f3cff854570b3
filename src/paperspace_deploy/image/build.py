"""Run one build through the Engine API (`POST /build`, the legacy builder: docker-py has no
BuildKit) and relay its output live, one line per line of engine output.

The context is streamed as the docker CLI builds it (context_tar.py), not docker-py's temporary
tar with docker-py's own `.dockerignore` rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.errors import InputError, Unavailable
from paperspace_deploy.image.console import Console
from paperspace_deploy.image.engine import abort, stream_with_deadline
from paperspace_deploy.image.stream import BuildLog, Failure, classify
from paperspace_deploy.safetext import one_line

if TYPE_CHECKING:
    from paperspace_deploy.image.context_tar import BuildContext


@dataclass
class BuildRequest:
    context: Path
    dockerfile: str  # its real path (inside the context or the workspace)
    build_args: dict[str, str]
    labels: dict[str, str]
    target: str | None
    platforms: list[str]  # none: the builder's own
    cache_from: list[str]
    pull: bool
    no_cache: bool
    buildkit_features: list[str]  # BuildKit-only syntax found in the Dockerfile, for the hint
    cache_to: list[str] = field(default_factory=list)
    ssh: list[str] = field(default_factory=list)
    provenance: str | None = None
    sbom: str | None = None
    network: str | None = None


def run_build(
    client: Any,
    req: BuildRequest,
    sent: BuildContext,
    console: Console,
    deadline: Deadline,
    title: str,
) -> str:
    """Build and return the image ID; a failure raises with the failing step's output."""
    from docker.errors import APIError

    from paperspace_deploy.image.context_tar import ContextError

    log = BuildLog(emit=console.raw)

    def start() -> Any:
        return client.build(
            fileobj=sent.stream(),  # streamed while the engine reads it (chunked upload)
            custom_context=True,
            dockerfile=sent.dockerfile,
            buildargs=req.build_args or None,
            labels=req.labels or None,
            target=req.target,
            platform=req.platforms[0] if req.platforms else None,
            cache_from=req.cache_from or None,
            pull=req.pull,
            nocache=req.no_cache,
            network_mode=req.network or None,
            rm=True,
            forcerm=True,  # remove intermediate containers of failed steps too
            decode=True,
            use_config_proxy=False,  # config.json proxies would become build args (history)
        )

    try:
        with console.untrusted(title):
            for event in stream_with_deadline(
                start, deadline=deadline, phase="build", on_abort=lambda: abort(client)
            ):
                log.feed(event)
            log.finish()
    except APIError as exc:  # rejected before the stream began (bad platform, bad target...)
        raise InputError(
            f"the Docker engine refused the build: {one_line(str(exc.explanation or exc))}"
        ) from None
    except ContextError as exc:  # a context file could not be read while streaming
        raise InputError(
            f"could not send the build context: {one_line(str(exc))}",
            hint="a file changed or vanished during the build, or cannot be read",
        ) from None
    if log.error:
        _report_failure(log, req, console)
    if not log.image_id:
        raise Unavailable("the build finished without reporting an image ID")
    return log.image_id


def _report_failure(log: BuildLog, req: BuildRequest, console: Console) -> None:
    error = log.error or ""
    if console.github:  # the live output is folded away in the group: repeat the failing step
        with console.untrusted("Failed build step (last lines):", fold=False):
            for line in log.tail:
                console.raw(line)
    step = f" at {one_line(log.step, 120)}" if log.step else ""
    hint = None
    if req.buildkit_features:
        found = "; ".join(req.buildkit_features[:3])
        hint = (
            f"the Dockerfile uses BuildKit-only syntax ({found}); the Docker Engine API path "
            "uses the legacy builder: build with BuildKit (builder auto or buildx, with the "
            "docker buildx CLI plugin installed), or rewrite those lines"
        )
    elif "buildkit" in error.lower():
        hint = "this needs BuildKit: use builder auto or buildx (the docker buildx CLI plugin)"
    if classify(error) is Failure.TRANSIENT and "returned a non-zero code" not in error:
        raise Unavailable(f"the build failed{step}: {one_line(error)}", hint=hint)
    raise InputError(f"the build failed{step}: {one_line(error)}", hint=hint)
