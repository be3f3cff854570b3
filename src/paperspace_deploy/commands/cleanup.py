"""`paperspace-deploy cleanup`: delete a pull request's preview (a no-op when there is none).

Run it when the pull request closes; `DELETE /deployments/{id}` of `<name>-pr-<number>` only.
The spec is read for its name (it need not be valid). Refused for a pull request from a fork.
"""

from __future__ import annotations

import argparse
import json

from paperspace_deploy.commands import add_stage_flags
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="result format")
    add_stage_flags(parser, "cleanup")


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.commands import run_stages

    done = run_stages("cleanup", args, io).cleanup
    assert done is not None
    if args.format == "json":
        data = {"name": done.name, "deploymentId": done.deployment_id, "deleted": done.deleted}
        io.out(json.dumps(data, indent=2))
    elif done.deleted:
        io.out(f"{done.name}: deleted deployment {done.deployment_id}")
    else:
        io.out(f"{done.name}: no preview deployment; nothing to clean up")
    return 0
