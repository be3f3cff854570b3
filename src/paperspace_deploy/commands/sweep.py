"""`paperspace-deploy sweep`: delete the spec's previews whose TTL (`--preview-ttl`) has passed.

Only deployments named like the spec's previews (`<name>-pr-<digits>` with the default
`--preview-name`) are considered; the production deployment and any other name never are.
"""

from __future__ import annotations

import argparse
import json

from paperspace_deploy.commands import add_stage_flags
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="result format")
    add_stage_flags(parser, "sweep")


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.commands import run_stages

    done = run_stages("sweep", args, io).sweep
    assert done is not None
    if args.format == "json":
        data = {"deleted": done.deleted,
                "kept": [{"name": n, "expiresAt": e.isoformat()} for n, e in done.kept],
                "unknownAge": done.unknown_age, "ignored": done.ignored}  # fmt: skip
        io.out(json.dumps(data, indent=2))
        return 0
    for line in done.lines() or ["no preview has expired"]:
        io.out(line)
    return 0
