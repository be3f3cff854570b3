"""`paperspace-deploy plan`: what a deploy would change, field by field; changes nothing."""

from __future__ import annotations

import argparse
import json

from paperspace_deploy.commands import add_stage_flags
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="result format")
    add_stage_flags(parser, "plan")


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.commands import cost_json, cost_lines, run_stages

    job = run_stages("plan", args, io)
    result = job.plan
    assert result is not None
    if args.format == "json":
        io.out(json.dumps({**result.as_dict(), "cost": cost_json(job)}, indent=2, default=str))
    elif not result.exists:
        io.out(f"{result.name}: would CREATE a new deployment in project {result.project_id}")
        for change in result.changes:
            io.out("  " + change.render())
    elif result.no_op:
        io.out(f"{result.name}: no changes (live spec {result.live_spec_id} matches)")
    else:
        io.out(f"{result.name}: would UPDATE deployment {result.deployment_id} "
               f"({len(result.changes)} change(s) vs live spec {result.live_spec_id})")  # fmt: skip
        for change in result.changes:
            io.out("  " + change.render())
    if args.format != "json":
        for line in cost_lines(job):
            io.out(line)
    return 0
