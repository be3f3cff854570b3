"""`paperspace-deploy up --local SPEC`: run the spec on this machine before paying for a GPU.

Starts the emulator in run mode on loopback, deploys the spec to it with the same deploy stage
as `deploy` (lint, registry check, upsert, wait), prints the endpoint and keeps the container
running until Ctrl-C or SIGTERM; then the container is removed. A rollout that fails ends with
exit 5 and the container's last log lines.
"""

from __future__ import annotations

import argparse
import secrets
import threading
from pathlib import Path
from typing import Any

from paperspace_deploy import options as _options
from paperspace_deploy.errors import UsageError
from paperspace_deploy.io import Io

PROJECT = "plocal00001"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", help="spec file (default: the first of the usual names)")
    parser.add_argument(
        "--local",
        action="store_true",
        help="run the spec in a local container through the Docker Engine (required for now)",
    )
    parser.add_argument("--image", help="image to run (replaces ':image' / the spec image)")
    parser.add_argument(
        "--secrets-file",
        type=Path,
        metavar="FILE",
        help="values for secret:NAME references (NAME=value lines or a JSON object)",
    )
    parser.add_argument(
        "--registry",
        action="append",
        default=[],
        metavar="NAME=URL,USER,PASSWORD_ENV",
        help="registry connection the spec's containerRegistry names (default: one for the "
        "image's host with REGISTRY_USERNAME/REGISTRY_PASSWORD, or anonymous)",
    )
    parser.add_argument(
        "--timeout",
        type=_options.cli_type(_options.duration("s")),
        default=300.0,
        metavar="DURATION",
        help="how long the container may take to become ready (seconds or 5m; 300)",
    )
    parser.add_argument(
        "--error-grace",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="fail once the instance has stayed errored this long (5)",
    )


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy import deploy, options
    from paperspace_deploy.api.retry import Deadline
    from paperspace_deploy.commands import CliReporter
    from paperspace_deploy.commands.emulator import parse_registry
    from paperspace_deploy.deploy import DeployRequest
    from paperspace_deploy.emulator import Emulator, State
    from paperspace_deploy.emulator.runner import Runner
    from paperspace_deploy.emulator.secretfile import load_secrets
    from paperspace_deploy.job import Job, JobResult, run_job
    from paperspace_deploy.lint import LintRequest, run_lint
    from paperspace_deploy.workspace import Workspace

    if not args.local:
        raise UsageError(
            "up needs --local: it runs the spec in a container on this machine",
            hint="to deploy to Paperspace, use `paperspace-deploy deploy`",
        )
    if not 0 <= args.error_grace <= 3600:
        raise UsageError("--error-grace must be within 0..3600 seconds")
    ws = Workspace.for_cli(io.environ, io.cwd)
    key = secrets.token_urlsafe(18)
    values = options.complete(
        {"spec": args.spec, "image": args.image, "api-key": key, "project-id": PROJECT,
         "timeout": args.timeout, "error-grace": args.error_grace, "poll-interval": 0.5},
        "deploy", {},
    )  # fmt: skip
    lint_req = LintRequest.from_values(values, ws, deploying=True)
    reporter = CliReporter(io)
    linted = run_lint(lint_req)  # the spec's config is needed before the emulator starts
    if linted.problems or linted.failed(strict=False) or not linted.specs:
        reporter.findings(linted.result.findings)
        raise (
            UsageError(linted.problems[0])
            if linted.problems
            else deploy.SpecRejected(
                "the spec has errors; nothing was started", linted.result.findings
            )
        )
    config = deploy.api_config(linted.specs[0], args.image)
    state = State()
    state.add_key(key)
    state.add_project(PROJECT, "local")
    for text in args.registry:
        state.add_registry(parse_registry(text, io.environ))
    _stand_in_connection(state, config, io)
    found = load_secrets(args.secrets_file) if args.secrets_file else {}
    runner = Runner(state, io.environ, found, log=lambda text: io.err(f"run: {text}"))
    runner.check_engine()  # no engine: exit 3 before anything starts
    runner.attach()
    emu = Emulator(state).start()
    try:
        values["api-url"] = emu.url
        req = DeployRequest.from_values(values, ws, "deploy", deadline=Deadline(args.timeout))
        req.spec = linted.specs[0]
        job = Job("deploy", deploy=req)  # a failure shows the container's last lines (/logs)
        result = run_job(job, io, reporter, JobResult("deploy")).deploy
        assert result is not None
        _announce(runner, result, config, io)
        try:
            threading.Event().wait()  # until Ctrl-C or SIGTERM (cli.py: KeyboardInterrupt)
        except KeyboardInterrupt:
            io.err("stopping: removing the container")
    finally:
        runner.close()
        emu.stop()
    return 0


def _stand_in_connection(state: Any, config: dict[str, Any], io: Io) -> None:
    """The spec names a console registry connection; locally one is made up for the image's
    host, with REGISTRY_USERNAME/REGISTRY_PASSWORD when they are set, else anonymous."""
    from paperspace_deploy.image.reference import parse_reference

    name = config.get("containerRegistry")
    if not name or state.registry_by_name(str(name)) is not None:
        return
    host = parse_reference(str(config.get("image", ""))).registry
    user = io.environ.get("REGISTRY_USERNAME", "")
    password = io.environ.get("REGISTRY_PASSWORD", "")
    state.add_registry({"name": str(name), "url": host, "username": user, "password": password})
    if user and password:
        how = f"as {user} (REGISTRY_USERNAME/REGISTRY_PASSWORD)"
    else:
        how = "anonymously (set REGISTRY_USERNAME and REGISTRY_PASSWORD, or pass --registry)"
    io.err(f"run: registry connection {name!r} stands in for the console's: {host}, {how}")


def _announce(runner: Any, result: Any, config: dict[str, Any], io: Io) -> None:
    endpoint = runner.endpoint(result.deployment_id)
    io.out(f"{result.name}: {result.state} (running locally)")
    io.out(f"  {'endpoint:':<12}{endpoint}")
    auth = config.get("basicAuthKey")
    if isinstance(auth, str) and auth:
        source = (
            f"secret {auth[len('secret:') :]}" if auth.startswith("secret:") else "basicAuthKey"
        )
        io.out(f"  {'auth:':<12}basic, user 'paperspace', password = {source}")
    inst = runner.serving(result.deployment_id)
    if inst is not None and inst.container:
        io.out(f"  {'container:':<12}{inst.container[:12]} (docker logs -f {inst.container[:12]})")
    if inst is not None and inst.replicas > 1:
        io.out(f"  {'replicas:':<12}1 of {inst.replicas} (run mode runs one)")
    io.out("Press Ctrl-C to stop and remove the container.")
