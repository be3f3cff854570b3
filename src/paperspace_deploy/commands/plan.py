"""`paperspace-deploy plan`: what a deploy would change, field by field; changes nothing."""

from __future__ import annotations

import argparse
import json

from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from paperspace_deploy.commands.deploy import add_common

    add_common(parser, with_image=True)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy import deploy
    from paperspace_deploy.commands.deploy import print_findings, resolve_spec
    from paperspace_deploy.errors import UsageError

    if not 0 < args.timeout <= 3600:
        raise UsageError("--timeout must be between 1 and 3600 seconds")
    path, shown = resolve_spec(args, io)
    try:
        result = deploy.plan(
            path, display=shown, project_id=args.project_id, api_key=args.api_key,
            api_url=args.api_url, image=args.image, io=io, timeout=args.timeout,
            registries=args.registries, registries_file=args.registries_file,
        )  # fmt: skip
    except deploy.SpecRejected as exc:
        print_findings(io, exc.findings)
        raise
    print_findings(io, result.findings)
    if args.format == "json":
        io.out(json.dumps(result.as_dict(), indent=2, default=str))
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
    return 0
