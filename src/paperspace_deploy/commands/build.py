"""`paperspace-deploy build [CONTEXT]`: build, tag and push the image.

Progress goes to stderr; stdout gets one line, the reference to deploy: `repo@sha256:...` when
pushed, else the image ID. docker is imported only when the build runs.
"""

from __future__ import annotations

import argparse

from paperspace_deploy import options
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "context_pos", nargs="?", metavar="CONTEXT", help="build context directory (default .)"
    )
    add_build_flags(parser, "build")


def add_build_flags(parser: argparse.ArgumentParser, stage: str) -> None:
    """The table's flags plus the command line's own: --password-stdin."""
    options.add_options(parser, stage)
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the registry password from stdin"
    )


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.commands.deploy import run_stages

    result = run_stages("build", args, io)
    assert result.build is not None
    io.out(result.build.digest_ref or result.build.image_id)
    return 0
