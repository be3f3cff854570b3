"""`paperspace-deploy emulator`: run the local Paperspace API emulator until interrupted."""

from __future__ import annotations

import argparse
from pathlib import Path

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


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.emulator import Emulator, Faults, State, parse_fault
    from paperspace_deploy.emulator.seed import SeedError, apply_seed, load_seed
    from paperspace_deploy.emulator.state import MODES

    state = State()
    try:
        if args.seed:
            apply_seed(state, load_seed(args.seed))
        registries = []
        for text in args.registry:
            name, _, rest = text.partition("=")
            fields = rest.split(",")
            if not name or len(fields) != 3:
                raise UsageError(f"--registry expects NAME=URL,USER,PASSWORD_ENV, got {text!r}")
            password = io.environ.get(fields[2])
            if password is None:
                raise UsageError(f"--registry {name}: environment variable {fields[2]} is not set")
            registries.append(
                {
                    "name": name,
                    "url": fields[0],
                    "username": fields[1],
                    "password": password,
                    "namespace": "",
                }
            )
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
    try:
        emu = Emulator(state, faults, host=args.host, port=args.port, verbose=args.verbose)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    io.out(f"Paperspace API emulator listening on {emu.url}")
    io.out(f"  export PAPERSPACE_API_URL={emu.url}")
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        io.err("stopping emulator")
    finally:
        emu.httpd.server_close()
    return 0
