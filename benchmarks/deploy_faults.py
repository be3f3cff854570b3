"""Deploys through injected API faults against the in-process emulator (issue 3 figures).

    .venv/bin/python benchmarks/deploy_faults.py [--rounds 3] [--seed 1]

Every fault of the catalogue below is injected `--rounds` times into a fresh emulator and one
deploy is run through it. Printed: faults injected, deploys survived (ended as expected),
duplicate applies (spec versions created beyond one per run: goal 0), outcomes and time.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from paperspace_deploy import deploy
from paperspace_deploy.api.retry import RetryPolicy
from paperspace_deploy.emulator import Emulator, Faults, State, Timings
from paperspace_deploy.errors import DeployError
from paperspace_deploy.io import Io

KEY, PROJECT = "bench-key", "pbench00001"
# (fault, expected end: "healthy" or an exit code)
CATALOGUE: list[tuple[str, object]] = [
    ("status:503@*x4", "healthy"),
    ("status:502@GET /deployments/*x4", "healthy"),
    ("status:504@GET /projects/*/deployments x3", "healthy"),
    ("status:500@GET /projects/*x2", "healthy"),
    ("429:0@*x4", "healthy"),
    ("429:1@GET /deployments/*x1", "healthy"),
    ("drop@GET *x4", "healthy"),
    ("drop@POST /deployments x1", "healthy"),
    ("drop-after@POST /deployments x1", "healthy"),
    ("status:503@POST /deployments x1", "healthy"),
    ("status:500@POST /deployments x1", "healthy"),
    ("429:0@POST /deployments x2", "healthy"),
    ("delay:0.4@GET /deployments/*x2", "healthy"),
    ("delay:0.4@POST /deployments x1", "healthy"),
    ("429:100000@*x1", 3),  # absurd Retry-After: fail fast, no hour-long sleep
    ("status:503@*%1.0", 3),  # the API stays down
]

QUIET = Io(stdout=io.StringIO(), stderr=io.StringIO(), environ={})  # the stages' log lines


def one(fault: str, workdir: Path, seed: int) -> tuple[object, int, int, str, float]:
    state = State(Timings(apply_after=0.02, healthy_after=0.05))
    state.add_key(KEY)
    state.add_project(PROJECT)
    faults = Faults(seed=seed)
    f = faults.add(fault)
    if f.fraction is not None:
        f.count = None
    spec = workdir / "app.yaml"
    config = {"apiVersion": "v1", "name": "bench", "image": ":image",
              "resources": {"machineType": "C4", "ports": [80]}}  # fmt: skip
    spec.write_text(yaml.safe_dump(config))
    with Emulator(state, faults).start() as emu:
        start = time.monotonic()
        try:
            req = deploy.DeployRequest.for_spec(
                spec, project_id=PROJECT, image="nginx:1", timeout=20,
                api_url=emu.url, api_key=KEY,
                wait=deploy.WaitOptions(poll_interval=0.05, grace=2),
                client_options={"policy": RetryPolicy(base=0.05, cap=0.5),
                                "timeout": (1.0, 0.3)},
            )  # fmt: skip
            result = deploy.run_deploy(req, QUIET)
            end: object = result.state
            outcome = result.outcome
        except DeployError as exc:
            end, outcome = int(exc.exit_code), type(exc).__name__
        elapsed = time.monotonic() - start
        versions = sum(len(d.specs) for d in state.deployments.values())
        return end, faults.total(), versions, outcome, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    injected = survived = duplicates = runs = 0
    times: list[float] = []
    outcomes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for fault, expected in CATALOGUE:
                end, n, versions, outcome, elapsed = one(fault, Path(tmp), args.seed + round_)
                runs += 1
                injected += n
                ok = end == expected
                survived += ok
                duplicates += max(0, versions - 1)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                times.append(elapsed)
                if not ok:
                    print(f"UNEXPECTED: {fault!r} ended {end!r}, expected {expected!r}")
    print(f"fault scenarios      {len(CATALOGUE)} x {args.rounds} rounds = {runs} deploys")
    print(f"faults injected      {injected}")
    print(f"deploys survived     {survived}/{runs} (ended as expected: healthy, or exit 3)")
    print(f"duplicate applies    {duplicates} (goal 0)")
    print(f"outcomes             {', '.join(f'{k}: {v}' for k, v in sorted(outcomes.items()))}")
    q = statistics.quantiles(times, n=20) if len(times) > 1 else times
    print(f"wall time per deploy p50 {statistics.median(times):.2f}s  p95 {q[-1]:.2f}s")
    return 0 if survived == runs and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
