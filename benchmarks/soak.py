"""Soak and concurrency against the in-process emulator (issue 6, reliability.md §6.3).

    .venv/bin/python benchmarks/soak.py [--deploys 50] [--concurrent 5] [--seed 7]

Part 1: `--deploys` sequential deploys (a new image each) with 5 % random 5xx and 1 % dropped
connections on every route. Part 2: `--concurrent` deploys of the same deployment with different
images started within one second. Printed: false successes (a run reported success for a spec
that was not live at that moment), double applies (a run that created more than one spec
version), runs past the deadline, p50/p95 wall time, API calls per minute.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from paperspace_deploy import deploy
from paperspace_deploy.api.retry import RetryPolicy
from paperspace_deploy.emulator import Emulator, Fault, Faults, State, Timings
from paperspace_deploy.errors import DeployError
from paperspace_deploy.io import Io

KEY, PROJECT = "soak-key", "psoak000001"
TIMEOUT = 30.0
WAIT = deploy.WaitOptions(poll_interval=0.1, grace=5)
POLICY = {"policy": RetryPolicy(base=0.05, cap=1.0), "timeout": (2.0, 2.0)}

QUIET = Io(stdout=io.StringIO(), stderr=io.StringIO(), environ={})  # the stages' log lines


def start(faults: Faults) -> Emulator:
    state = State(Timings(apply_after=0.05, healthy_after=0.3))
    state.add_key(KEY)
    state.add_project(PROJECT)
    return Emulator(state, faults).start()


def run_one(emu: Emulator, spec: Path, image: str, stop: threading.Event | None = None) -> dict:
    t0 = time.monotonic()
    record: dict = {"image": image}
    try:
        req = deploy.DeployRequest.for_spec(
            spec, project_id=PROJECT, image=image, timeout=TIMEOUT, wait=WAIT,
            api_url=emu.url, api_key=KEY, client_options=POLICY,
        )  # fmt: skip
        result = deploy.run_deploy(req, QUIET, stop=stop)
        record.update(code=0, spec_id=result.spec_id, observed_at=result.observed_at,
                      outcome=result.outcome, calls=result.api_calls)  # fmt: skip
    except DeployError as exc:
        record.update(code=int(exc.exit_code), error=str(exc)[:200])
    record["wall"] = time.monotonic() - t0
    return record


def false_successes(emu: Emulator, records: list[dict]) -> int:
    specs = {s.id: s for d in emu.state.deployments.values() for s in d.specs}
    bad = 0
    for r in records:
        if r["code"] != 0:
            continue
        spec = specs.get(r["spec_id"])
        if spec is None or spec.data.get("image") != r["image"]:
            bad += 1  # success reported for somebody else's spec
        elif spec.superseded_at is not None and spec.superseded_at < r["observed_at"]:
            bad += 1  # it was no longer live when we called it healthy
    return bad


def double_applies(emu: Emulator) -> int:
    return sum(1 for n in emu.state.specs_by_marker().values() if n > 1)


def report(title: str, emu: Emulator, records: list[dict], elapsed: float) -> bool:
    walls = sorted(r["wall"] for r in records)
    p95 = statistics.quantiles(walls, n=20)[-1] if len(walls) > 1 else walls[0]
    codes: dict[int, int] = {}
    for r in records:
        codes[r["code"]] = codes.get(r["code"], 0) + 1
    fs, da = false_successes(emu, records), double_applies(emu)
    late = sum(1 for w in walls if w > TIMEOUT + WAIT.poll_interval * 2)
    print(f"== {title}")
    print(f"  runs                 {len(records)}   exit codes {dict(sorted(codes.items()))}")
    print(f"  faults injected      {emu.faults.total()} {emu.faults.injected}")
    print(f"  false successes      {fs} (goal 0)")
    print(f"  double applies       {da} (goal 0)")
    print(f"  runs past deadline   {late} (goal 0; deadline {TIMEOUT:.0f}s)")
    print(f"  wall time            p50 {statistics.median(walls):.2f}s  p95 {p95:.2f}s")
    print(f"  API calls per minute {emu.total_requests() / (elapsed / 60):.0f} "
          f"({emu.total_requests()} calls in {elapsed:.1f}s)")  # fmt: skip
    return fs == 0 and da == 0 and late == 0


def concurrent(spec: Path, n: int, same_image: bool) -> bool:
    emu = start(Faults())
    records: list[dict] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        time.sleep(i * (1.0 / n))  # all started within one second
        r = run_one(emu, spec, "nginx:same" if same_image else f"nginx:concurrent-{i}")
        with lock:
            records.append(r)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT + 10)
    hung = sum(t.is_alive() for t in threads)
    what = "the same image" if same_image else "different images"
    ok = report(f"{n} concurrent deploys of one deployment, {what}", emu, records,
                time.monotonic() - t0)  # fmt: skip
    live = [s for d in emu.state.deployments.values() for s in d.specs][-1]
    print(f"  hung runs            {hung} (goal 0)")
    print(f"  succeeded            {sum(r['code'] == 0 for r in records)} (live image "
          f"{live.data['image']}); superseded (exit 4): {sum(r['code'] == 4 for r in records)}; "
          f"deployments: {len(emu.state.deployments)}")  # fmt: skip
    emu.stop()
    return ok and hung == 0 and all(r["code"] in (0, 4) for r in records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deploys", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "app.yaml"
        config = {"apiVersion": "v1", "name": "soak", "image": ":image",
                  "resources": {"machineType": "C4", "ports": [80], "replicas": 2}}  # fmt: skip
        spec.write_text(yaml.safe_dump(config))

        faults = Faults(seed=args.seed)
        faults.add(Fault("status", route="*", count=None, fraction=0.05, status=503))
        faults.add(Fault("drop", route="*", count=None, fraction=0.01))
        emu = start(faults)
        t0 = time.monotonic()
        records = [run_one(emu, spec, f"nginx:soak-{i}") for i in range(args.deploys)]
        ok &= report(
            f"{args.deploys} sequential deploys, 5% 5xx + 1% dropped connections",
            emu, records, time.monotonic() - t0,
        )  # fmt: skip
        ok &= all(r["code"] == 0 for r in records)
        emu.stop()

        for same in (False, True):
            ok &= concurrent(spec, args.concurrent, same)
    print("RESULT", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
