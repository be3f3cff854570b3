"""Run one build through the Engine API (`POST /build`, the legacy builder: docker-py has no
BuildKit) and relay its output live, one line per line of engine output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperspace_deploy.errors import InputError, Unavailable
from paperspace_deploy.image.console import Console, one_line
from paperspace_deploy.image.engine import abort, stream_with_deadline
from paperspace_deploy.image.stream import BuildLog, Failure, classify


@dataclass
class BuildRequest:
    context: Path
    dockerfile: str  # relative to the context, or an absolute path inside the workspace
    build_args: dict[str, str]
    labels: dict[str, str]
    target: str | None
    platform: str | None
    cache_from: list[str]
    pull: bool
    no_cache: bool
    buildkit_features: list[str]  # BuildKit-only syntax found in the Dockerfile, for the hint


def run_build(
    client: Any, req: BuildRequest, console: Console, deadline: float | None, title: str
) -> str:
    """Build and return the image ID; a failure raises with the failing step's output."""
    from docker.errors import APIError

    log = BuildLog(emit=console.raw)

    def start() -> Any:
        return client.build(
            path=str(req.context),
            dockerfile=req.dockerfile,
            buildargs=req.build_args or None,
            labels=req.labels or None,
            target=req.target,
            platform=req.platform,
            cache_from=req.cache_from or None,
            pull=req.pull,
            nocache=req.no_cache,
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
    except OSError as exc:  # docker-py tars the context into TMPDIR before the request
        from requests.exceptions import RequestException

        if isinstance(exc, RequestException):  # the engine connection: not the context
            raise
        raise _context_error(exc) from None
    if log.error:
        _report_failure(log, req, console)
    if not log.image_id:
        raise Unavailable("the build finished without reporting an image ID")
    return log.image_id


def _context_error(exc: OSError) -> InputError:
    import errno
    import tempfile

    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 5:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in chain):
        return InputError(
            f"no space left on device while creating the build context in {tempfile.gettempdir()}",
            hint="free space there or set TMPDIR to a larger disk; exclude big files with "
            ".dockerignore",
        )
    return InputError(f"could not create the build context: {one_line(str(exc))}")


def _report_failure(log: BuildLog, req: BuildRequest, console: Console) -> None:
    error = log.error or ""
    if console.github:  # the live output is folded away in the group: repeat the failing step
        with console.untrusted("Failed build step (last lines):", fold=False):
            for line in log.tail:
                console.raw(line)
    step = f" at {one_line(log.step, 120)}" if log.step else ""
    hint = None
    needs_buildkit = "buildkit" in error.lower()
    if needs_buildkit or (req.buildkit_features and "returned a non-zero code" not in error):
        found = "; ".join(req.buildkit_features[:3]) or "see the error"
        hint = (
            f"the Dockerfile uses BuildKit-only syntax ({found}); the Docker Engine API path "
            "uses the legacy builder: rewrite those lines, or use --builder buildx where the "
            "docker buildx CLI plugin is installed"
        )
    if classify(error) is Failure.TRANSIENT and "returned a non-zero code" not in error:
        raise Unavailable(f"the build failed{step}: {one_line(error)}", hint=hint)
    raise InputError(f"the build failed{step}: {one_line(error)}", hint=hint)
