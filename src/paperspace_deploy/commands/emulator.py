"""`paperspace-deploy emulator`: run the local Paperspace API emulator until interrupted."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperspace_deploy.commands import interrupt_on_sigterm
from paperspace_deploy.errors import UsageError
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument("--seed", type=Path, help="JSON seed file (keys, projects, registries)")
    parser.add_argument("--api-key", action="append", default=[], help="accept this API key")
    parser.add_argument(
        "--project", action="append", default=[], metavar="ID[=NAME]", help="create a project"
    )
    parser.add_argument(
        "--registry",
        action="append",
        default=[],
        metavar="NAME=URL,USER,PASSWORD_ENV",
        help="registry connection; the password is read from env var PASSWORD_ENV",
    )
    parser.add_argument("--apply-after", type=float, help="seconds until externalApplied")
    parser.add_argument("--healthy-after", type=float, help="seconds until dtHealthy")
    parser.add_argument("--visible-after", type=float, help="seconds a new spec stays hidden")
    parser.add_argument("--mode", help="force a rollout mode for every upsert (see docs)")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="inject a fault, e.g. 'status:503@GET /deployments/*x3' "
        "or '429:2@*%%0.1' (see docs/emulator.md)",
    )
    parser.add_argument("--fault-seed", type=int, help="seed for fractional faults")
    parser.add_argument(
        "--server-rule",
        action="append",
        default=[],
        help="enforce an optional cross-field rule: probe-port, max-replicas",
    )
    parser.add_argument(
        "--variance",
        action="append",
        default=[],
        metavar="NAME[,NAME...]",
        help="play open API behaviours another way (profiles in docs/emulator.md)",
    )
    parser.add_argument(
        "--pull-check",
        choices=("offline", "online", "off"),
        help="offline (default): ask loopback registries only; online: public ones too",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--run",
        action="store_true",
        help="run mode: pull and start each spec's container on the Docker Engine (host "
        "networking), probe it, and serve its endpoint on loopback (see docs/emulator.md)",
    )
    parser.add_argument(
        "--secrets-file",
        type=Path,
        metavar="FILE",
        help="run mode: values for secret:NAME references (NAME=value lines or a JSON object)",
    )


def parse_registry(text: str, environ: Mapping[str, str]) -> dict[str, str]:
    """`--registry NAME=URL,USER,PASSWORD_ENV` -> a connection record (password from the env)."""
    name, _, rest = text.partition("=")
    fields = rest.split(",")
    if not name or len(fields) != 3:
        raise UsageError(f"--registry expects NAME=URL,USER,PASSWORD_ENV, got {text!r}")
    password = environ.get(fields[2])
    if password is None:
        raise UsageError(f"--registry {name}: environment variable {fields[2]} is not set")
    return {"name": name, "url": fields[0], "username": fields[1], "password": password,
            "namespace": ""}  # fmt: skip


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.emulator import Emulator, Faults, State, parse_fault
    from paperspace_deploy.emulator.seed import SeedError, apply_seed, load_seed
    from paperspace_deploy.emulator.state import MODES

    state = State()
    try:
        if args.seed:
            apply_seed(state, load_seed(args.seed))
        registries = [parse_registry(text, io.environ) for text in args.registry]
        apply_seed(
            state,
            {
                "apiKeys": args.api_key,
                "projects": [
                    {"id": p.partition("=")[0], "name": p.partition("=")[2] or p.partition("=")[0]}
                    for p in args.project
                ],
                "containerRegistries": registries,
                "serverRules": args.server_rule,
                "variance": [n for text in args.variance for n in text.split(",")],
                "timings": {
                    k: v
                    for k, v in {
                        "apply_after": args.apply_after,
                        "healthy_after": args.healthy_after,
                        "visible_after": args.visible_after,
                        "pull_check": args.pull_check,
                    }.items()
                    if v is not None
                },
            },
        )
    except SeedError as exc:
        raise UsageError(str(exc)) from None
    if args.secrets_file and not args.run:
        raise UsageError("--secrets-file needs --run (only run mode starts containers)")
    if args.mode and args.run:
        raise UsageError("--mode and --run exclude each other: in run mode the container decides")
    if args.mode:
        if args.mode not in MODES:
            raise UsageError(f"--mode must be one of {', '.join(MODES)}")
        state.forced_mode = args.mode
    faults = Faults(seed=args.fault_seed)
    for text in args.fault:
        try:
            faults.add(parse_fault(text))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if not state.api_keys:
        io.err("warning: no API keys seeded; every authenticated call will get 401")
    runner = start_runner(state, args, io) if args.run else None
    try:
        emu = Emulator(state, faults, host=args.host, port=args.port, verbose=args.verbose)
    except OSError as exc:
        if runner is not None:
            runner.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    if runner is not None:
        runner.reserved[emu.httpd.server_address[1]] = "the emulator's own API (--port)"
    io.out(f"Paperspace API emulator listening on {emu.url}" + (" (run mode)" if runner else ""))
    io.out(f"  export PAPERSPACE_API_URL={emu.url}")
    try:
        with interrupt_on_sigterm():
            emu.serve_forever()
    except KeyboardInterrupt:
        io.err("stopping emulator")
    finally:
        emu.httpd.server_close()
        if runner is not None:
            runner.close()
    return 0


def start_runner(state: Any, args: argparse.Namespace, io: Io) -> Any:
    """Run mode: check the engine (exit 3 when there is none) and attach a Runner."""
    from paperspace_deploy.emulator.runner import Runner
    from paperspace_deploy.emulator.secretfile import load_secrets

    secrets = load_secrets(args.secrets_file) if args.secrets_file else {}
    runner = Runner(state, io.environ, secrets, log=lambda text: io.err(f"run: {text}"))
    version = runner.check_engine()
    io.err(f"run mode: Docker Engine {version}; containers use host networking")
    return runner.attach()
