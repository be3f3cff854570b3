"""`paperspace-deploy build`: build, tag and push the image through the Docker Engine.

Progress goes to stderr; stdout gets one line, the reference to deploy: `repo@sha256:...` when
pushed, else the image ID. docker is imported only when the build runs.
"""

from __future__ import annotations

import argparse
import time

from paperspace_deploy.commands import timeout_seconds
from paperspace_deploy.errors import UsageError
from paperspace_deploy.image.options import add_build_arguments, build_from_args
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_build_arguments(parser, standalone=True)
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=3600.0,
        metavar="DURATION",
        help="give up when build and push together take longer (seconds or 15m/1h; default 1h)",
    )


def run(args: argparse.Namespace, io: Io) -> int:
    if getattr(args, "image", None) is None:
        raise UsageError("--image is required (the repository to tag, e.g. ghcr.io/org/app)")
    args.deadline = time.monotonic() + args.timeout
    result = build_from_args(args, io)
    io.out(result.digest_ref or result.image_id)
    return 0
