"""`paperspace-deploy deploy`: lint, check the registry connection, upsert, wait for the rollout.

With `--build` (or `--context`) the image is built and pushed first and its digest
(`repo@sha256:...`) is what gets deployed; without it `--image` replaces the spec's `:image`
placeholder or image.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from paperspace_deploy.commands import add_stage_flags
from paperspace_deploy.io import Io

if TYPE_CHECKING:
    from paperspace_deploy.deploy import DeployResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="result format")
    parser.add_argument(
        "--build", action="store_true", help="build and push the image first (context: .)"
    )
    add_stage_flags(parser, "deploy")


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.commands import cost_json, cost_lines, run_stages

    result = run_stages("deploy", args, io)
    deployed = result.deploy
    assert deployed is not None
    if args.format == "json":
        io.out(json.dumps({**deployed.as_dict(), "cost": cost_json(result)}, indent=2))
    else:
        io.out(render_result(deployed))
        for line in cost_lines(result):
            io.out(line)
    return 0


def render_result(result: DeployResult) -> str:
    how = "live spec already matches" if result.outcome == "unchanged" else result.outcome
    lines = [f"{result.name}: {result.state} ({how})"]
    for label, value in (("deployment", result.deployment_id), ("spec", result.spec_id),
                         ("endpoint", result.endpoint), ("image", result.image)):  # fmt: skip
        if value:
            lines.append(f"  {label + ':':<12}{value}")
    if result.verify is not None:
        v = result.verify
        lines.append(f"  {'verify:':<12}GET {v.path}: {v.shown} ({v.attempts} attempt(s))")
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.durations.items())
    lines.append(f"  {'durations:':<12}{timing}")
    return "\n".join(lines)
