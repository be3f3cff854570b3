"""`paperspace-deploy preview`: deploy a pull request's preview, `<name>-pr-<number>`, capped.

The same job as the action's `mode: preview`: lint, build and push when `--context` is given
(`push: auto` pushes here: a preview deploys what it builds), apply the caps
(`--preview-max-replicas`, `--preview-machine-types`, `--preview-machine-type`), plan and
deploy. The pull request number comes from the CI run (GitHub, GitLab, Jenkins) or `--pr`.
Refused for a pull request from a fork.
"""

from __future__ import annotations

import argparse
import json

from paperspace_deploy.commands import add_stage_flags
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="result format")
    add_stage_flags(parser, "preview")


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.commands import cost_json, cost_lines, run_stages
    from paperspace_deploy.commands.deploy import render_result

    result = run_stages("preview", args, io)
    made = result.preview
    assert made is not None and result.deploy is not None
    expires = f"{made.expires_at:%Y-%m-%d %H:%M} UTC"
    if args.format == "json":
        data = {**result.deploy.as_dict(), "preview": {"name": made.name, "number": made.number,
                "expiresAt": made.expires_at.isoformat(), "notes": made.notes},
                "cost": cost_json(result)}  # fmt: skip
        io.out(json.dumps(data, indent=2, default=str))
        return 0
    io.out(render_result(result.deploy))
    io.out(f"  {'expires:':<12}{expires} (the sweep deletes it then)")
    for note in made.notes:
        io.out(f"  preview: {note}")
    for line in cost_lines(result):
        io.out(line)
    return 0
