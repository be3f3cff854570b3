"""`paperspace-deploy deploy`: lint, check the registry connection, upsert, wait for the rollout.

With `--build` the image is built and pushed first and its digest (`repo@sha256:...`) is what
gets deployed; without it `--image` replaces the spec's `:image` placeholder or image.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from paperspace_deploy.commands import timeout_seconds
from paperspace_deploy.image.options import add_build_arguments
from paperspace_deploy.io import Io


def add_common(parser: argparse.ArgumentParser, *, with_image: bool) -> None:
    parser.add_argument("--spec", help="spec file (default: the first of the usual names)")
    parser.add_argument("--project-id", help="Paperspace project id (or PAPERSPACE_PROJECT_ID)")
    if with_image:
        parser.add_argument("--image", help="image to deploy (replaces ':image' / the spec image)")
    parser.add_argument("--api-key", help="API key (prefer the PAPERSPACE_API_KEY env var)")
    parser.add_argument("--api-url", help="API base URL (or PAPERSPACE_API_URL)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="result format")
    parser.add_argument(
        "--registries",
        metavar="NAME,...",
        help="registry connection names to check containerRegistry against "
        "(instead of asking the API)",
    )
    parser.add_argument(
        "--registries-file",
        metavar="FILE",
        help="file with registry connection names (lines or a JSON list)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser, with_image=False)  # --image comes with the build flags below
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=900.0,
        metavar="DURATION",
        help="deadline for the whole run: build, push, upsert, rollout (seconds or 15m; 900)",
    )
    parser.add_argument("--no-wait", action="store_true", help="return right after the upsert")
    parser.add_argument(
        "--skip-unchanged",
        action="store_true",
        help="do nothing when the live spec already matches",
    )
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds between polls")
    parser.add_argument(
        "--error-grace",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="fail once an instance has stayed errored/failed this long (60)",
    )
    add_build_arguments(parser)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` so the wait ends promptly and says what was submitted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():  # a second signal: stop even inside a blocking call
            raise KeyboardInterrupt
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def resolve_spec(args: argparse.Namespace, io: Io) -> tuple[Any, str]:
    from pathlib import Path

    from paperspace_deploy.errors import UsageError
    from paperspace_deploy.spec import find_default_spec
    from paperspace_deploy.workspace import resolve_inside

    if args.spec:
        path = Path(args.spec)
        path, shown = (path if path.is_absolute() else io.cwd / path), args.spec
    else:
        found = find_default_spec(io.cwd)
        if found is None:
            raise UsageError("no spec file found; pass --spec")
        path = Path(found)
        shown = os.path.relpath(path, io.cwd)
    workspace = io.environ.get("GITHUB_WORKSPACE")
    if workspace:  # as `lint`: in CI a fork controls the checkout (symlinks to secrets)
        resolve_inside(Path(os.path.realpath(workspace)), str(path.absolute()))
    return path, shown


def print_findings(io: Io, findings: list[Any]) -> None:
    for f in sorted(findings, key=lambda f: f.sort_key()):
        io.err(f"{f.path}:{f.line}:{f.col}: {f.severity.value}: {f.message} [{f.rule}]")


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy import deploy
    from paperspace_deploy.api.retry import Deadline
    from paperspace_deploy.errors import UsageError

    if not 0 < args.timeout <= 6 * 3600:
        raise UsageError("--timeout must be between 1 and 21600 seconds")
    if not 0 < args.poll_interval <= 300:
        raise UsageError("--poll-interval must be within (0, 300] seconds")
    if not 0 <= args.error_grace <= 6 * 3600:
        raise UsageError("--error-grace must be within 0..21600 seconds")
    deadline = Deadline(args.timeout)
    path, shown = resolve_spec(args, io)
    image = getattr(args, "image", None)
    if getattr(args, "build", False):
        from paperspace_deploy.image.options import build_from_args

        args.deadline = time.monotonic() + deadline.remaining()
        built = build_from_args(args, io)
        if not built.digest_ref:
            raise UsageError(
                "the build was not pushed, so there is no digest to deploy",
                hint="deploy needs --push (or a registry the image can be pushed to)",
            )
        image = built.digest_ref
        io.err(f"built and pushed {image}")
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            result = deploy.run_deploy(
                path, display=shown, project_id=args.project_id, api_key=args.api_key,
                api_url=args.api_url, image=image, io=io, deadline=deadline,
                wait=not args.no_wait, skip_unchanged=args.skip_unchanged, stop=stop,
                registries=args.registries, registries_file=args.registries_file,
                wait_options=deploy.WaitOptions(
                    poll_interval=args.poll_interval, error_grace=args.error_grace),
            )  # fmt: skip
    except deploy.SpecRejected as exc:
        print_findings(io, exc.findings)
        raise
    print_findings(io, result.findings)
    if args.format == "json":
        io.out(json.dumps(result.as_dict(), indent=2))
    else:
        io.out(render_result(result))
    return 0


def render_result(result: Any) -> str:
    how = "live spec already matches" if result.outcome == "unchanged" else result.outcome
    lines = [f"{result.name}: {result.state} ({how})"]
    for label, value in (("deployment", result.deployment_id), ("spec", result.spec_id),
                         ("endpoint", result.endpoint), ("image", result.image)):  # fmt: skip
        if value:
            lines.append(f"  {label + ':':<12}{value}")
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.durations.items())
    lines.append(f"  {'durations:':<12}{timing}")
    return "\n".join(lines)
