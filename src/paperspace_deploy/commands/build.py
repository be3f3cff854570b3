"""`paperspace-deploy build`: build, tag and push the image through the Docker Engine.

Progress goes to stderr; stdout gets one line, the reference to deploy: `repo@sha256:...` when
pushed, else the image ID. docker is imported only when the build runs.
"""

from __future__ import annotations

import argparse
import time

from paperspace_deploy.errors import UsageError
from paperspace_deploy.image.options import add_build_arguments, build_from_args
from paperspace_deploy.io import Io


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"timeout must be a number of minutes, got {text!r}"
        ) from None
    if not 0 < value <= 360:
        raise argparse.ArgumentTypeError("timeout must be 1..360 minutes")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_build_arguments(parser, standalone=True)
    parser.add_argument(
        "--timeout",
        type=_minutes,
        default=60.0,
        metavar="MINUTES",
        help="give up when build and push together take longer (default 60)",
    )


def run(args: argparse.Namespace, io: Io) -> int:
    if getattr(args, "image", None) is None:
        raise UsageError("--image is required (the repository to tag, e.g. ghcr.io/org/app)")
    args.deadline = time.monotonic() + args.timeout * 60
    result = build_from_args(args, io)
    io.out(result.digest_ref or result.image_id)
    return 0
