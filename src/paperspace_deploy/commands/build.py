"""`paperspace-deploy build [CONTEXT]`: build, tag and push the image.

Progress goes to stderr; stdout gets one line, the reference to deploy: `repo@sha256:...` when
pushed, else the image ID. docker is imported only when the build runs.
"""

from __future__ import annotations

import argparse

from paperspace_deploy.commands import add_stage_flags
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "context_pos", nargs="?", metavar="CONTEXT", help="build context directory (default .)"
    )
    add_stage_flags(parser, "build")


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.commands import run_stages

    result = run_stages("build", args, io)
    assert result.build is not None
    io.out(result.build.digest_ref or result.build.image_id)
    return 0
