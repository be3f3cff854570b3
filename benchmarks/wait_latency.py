"""How fast a finished rollout is noticed, and what the wait costs in API calls (issue 12).

    .venv/bin/python benchmarks/wait_latency.py [--runs 5] [--model-only]

Anchor: the official Paperspace/deploy-action v1.4 (`src/index.ts` syncDeployment): after its
name lookup and the upsert it polls at once, then every 3 s after each poll, with two requests
per poll (`GET /deployments/{id}/runs` and `GET /deployments/{id}` in parallel) until
`latestSpec.dtHealthy`. Its schedule is replayed here against the same emulator as ours.

Measured: for rollouts of 2 s, 30 s and 5 min the emulator's `healthy_after` is set to the
length L times a random 1.0-1.1 (the same values for both tools, so neither gets a lucky
alignment with its poll times: 30-33 s spans one whole 3 s period), and ours --
`deploy.run_deploy` with the default `WaitOptions`, real HTTP -- and the official schedule each
update the same deployment. Detection latency = our return minus the moment the emulator marks
the spec healthy (`created + healthy_after`, one clock); API calls = requests the emulator
received per deploy. The 30 s and 5 min rollouts run on scaled time (every duration of the
emulator and of both schedules multiplied by --scale-30 / --scale-300, figures divided back),
so loopback HTTP time (~2 ms a call) inflates their latencies a little. Model: the same
schedules on an emulated clock (no HTTP), 2,000 rollouts per length.
Goals: median detection latency < 1 s for the 2 s rollout; fewer API calls than the official
schedule for the 5 min one.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from paperspace_deploy import deploy  # noqa: E402
from paperspace_deploy.emulator import Emulator, State, Timings  # noqa: E402
from paperspace_deploy.io import Io  # noqa: E402

KEY = "psd-bench-key-0123456789"
PROJECT = "pbench00001"
OFFICIAL_PERIOD = 3.0  # seconds between the end of one poll and the next
ROLLOUTS = (2.0, 30.0, 300.0)
SPEC = """apiVersion: v1
name: wait-bench
image: nginx:1.25
resources: {machineType: C4, ports: [8080], replicas: 1}
"""


@dataclass
class Sample:
    latency: float  # seconds from healthy to exit, in rollout time (scaled back)
    calls: int  # API requests the emulator received for the deploy


def apply_after(length: float) -> float:
    return min(1.0, length / 4)


class Bench:
    def __init__(self) -> None:
        self.state = State(Timings(apply_after=0.02, healthy_after=0.05))
        self.state.add_key(KEY)
        self.state.add_project(PROJECT, "bench")
        self.server = Emulator(self.state).start()
        self.tmp = Path(tempfile.mkdtemp(prefix="psd-wait-bench-"))
        self.spec = self.tmp / "app.yaml"
        self.spec.write_text(SPEC)
        self.n = 0
        self.ours(1.0, 1.0)  # the deployment exists: every measured deploy is an update

    def close(self) -> None:
        self.server.stop()

    def _timed(self, length: float, scale: float) -> None:
        t = self.state.timings
        t.apply_after, t.healthy_after = apply_after(length) * scale, length * scale

    def _healthy_at(self) -> float:
        dep = next(iter(self.state.deployments.values()))
        return dep.specs[-1].created + self.state.timings.healthy_after

    def ours(self, length: float, scale: float) -> Sample:
        self._timed(length, scale)
        self.n += 1
        d = deploy.WaitOptions()
        wait = deploy.WaitOptions(poll_interval=d.poll_interval * scale, grace=d.grace * scale,
                                  error_grace=d.error_grace * scale,
                                  first_poll=d.first_poll * scale)  # fmt: skip
        req = deploy.DeployRequest.for_spec(self.spec, project_id=PROJECT, api_key=KEY,
                                            api_url=self.server.url, image=f"nginx:1.{self.n}",
                                            wait=wait, timeout=length * scale + 60)  # fmt: skip
        quiet = Io(stdout=io.StringIO(), stderr=io.StringIO(), environ={})
        before = self.server.total_requests()
        result = deploy.run_deploy(req, quiet)
        done = time.monotonic()
        assert result.state == "healthy", result
        return Sample((done - self._healthy_at()) / scale, self.server.total_requests() - before)

    def official(self, length: float, scale: float) -> Sample:
        """deploy-action v1.4's syncDeployment, replayed: lookup, upsert, poll every 3 s."""
        self._timed(length, scale)
        self.n += 1
        auth = {"Authorization": f"Bearer {KEY}"}
        url = self.server.url
        config = {"apiVersion": "v1", "name": "wait-bench", "image": f"nginx:1.{self.n}",
                  "resources": {"machineType": "C4", "ports": [8080], "replicas": 1}}  # fmt: skip
        before = self.server.total_requests()
        with requests.Session() as http:
            http.headers.update(auth)
            http.get(f"{url}/projects/{PROJECT}/deployments", params={"name": "wait-bench"},
                     timeout=10).raise_for_status()  # fmt: skip
            up = http.post(f"{url}/deployments", json={"projectId": PROJECT, "config": config},
                           timeout=10)  # fmt: skip
            dep_id = up.json()["deploymentId"]
            while True:
                http.get(f"{url}/deployments/{dep_id}/runs", timeout=10).raise_for_status()
                spec = http.get(f"{url}/deployments/{dep_id}", timeout=10).json()["latestSpec"]
                if spec.get("externalApplied") and spec.get("dtHealthy"):
                    break
                time.sleep(OFFICIAL_PERIOD * scale)
        done = time.monotonic()
        return Sample((done - self._healthy_at()) / scale, self.server.total_requests() - before)


# -- the model: both schedules on an emulated clock ------------------------------------------------


def model_ours(length: float, rng: random.Random) -> Sample:
    """Our schedule (WaitOptions.pause with its jitter) and our calls: GET /deployments/{id}
    every poll, plus /runs once applied and not healthy when its last copy is older than
    `runs_age`; before: project, lookup, runs, upsert."""
    opts = deploy.WaitOptions()
    t, calls, runs_at = 0.0, 4, None
    while True:
        calls += 1
        if t >= length:
            return Sample(t - length, calls)
        if t >= apply_after(length) and (runs_at is None or t - runs_at > opts.runs_age(t)):
            calls, runs_at = calls + 1, t
        t += opts.pause(t) * (1 + rng.uniform(-opts.jitter, opts.jitter))


def model_official(length: float) -> Sample:
    t, calls = 0.0, 2
    while True:
        calls += 2
        if t >= length:
            return Sample(t - length, calls)
        t += OFFICIAL_PERIOD


def summarize(name: str, samples: list[Sample]) -> tuple[float, float]:
    lat = statistics.median(s.latency for s in samples)
    calls = statistics.median(s.calls for s in samples)
    worst = max(s.latency for s in samples)
    print(f"    {name:<9} latency median {lat:6.2f} s (max {worst:5.2f})   "
          f"API calls median {calls:5.0f}")  # fmt: skip
    return lat, calls


def report(length: float, ours: list[Sample], official: list[Sample]) -> tuple[float, float]:
    lo, co = summarize("ours", ours)
    la, ca = summarize("official", official)
    print(f"    ours/official: latency {lo / la:4.2f}x, API calls {co / ca:4.2f}x "
          f"({co - ca:+.0f})")  # fmt: skip
    return lo, co / ca


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="deploys per rollout length and tool")
    parser.add_argument("--scale-30", type=float, default=0.1, help="time scale, 30 s rollout")
    parser.add_argument("--scale-300", type=float, default=0.05, help="time scale, 5 min rollout")
    parser.add_argument("--model-only", action="store_true", help="skip the HTTP measurement")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    goals: dict[float, tuple[float, float]] = {}
    print("model (emulated clock, 2,000 rollouts of L to 1.1 L each)")
    for length in ROLLOUTS:
        phases = [length * rng.uniform(1.0, 1.1) for _ in range(2000)]
        print(f"  rollout {length:g} s")
        report(length, [model_ours(p, rng) for p in phases], [model_official(p) for p in phases])
    if args.model_only:
        return 0
    print(f"measured (real HTTP to the emulator, {args.runs} deploys each; 30 s at scale "
          f"{args.scale_30:g}, 5 min at scale {args.scale_300:g})")  # fmt: skip
    bench = Bench()
    scales = {2.0: 1.0, 30.0: args.scale_30, 300.0: args.scale_300}
    try:
        for length in ROLLOUTS:
            scale = scales[length]
            phases = [length * rng.uniform(1.0, 1.1) for _ in range(args.runs)]
            ours: list[Sample] = []
            official: list[Sample] = []
            for phase in phases:
                run: Callable[[float, float], Sample]
                for run, into in ((bench.ours, ours), (bench.official, official)):
                    into.append(run(phase, scale))
            print(f"  rollout {length:g} s")
            goals[length] = report(length, ours, official)
    finally:
        bench.close()
    lat2, ratio300 = goals[2.0][0], goals[300.0][1]
    print(f"goal: median detection latency for the 2 s rollout < 1 s: {lat2:.2f} s "
          f"{'MET' if lat2 < 1 else 'MISSED'}")  # fmt: skip
    print(f"goal: fewer API calls than the official schedule for 5 min: {ratio300:.2f}x "
          f"{'MET' if ratio300 < 1 else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
