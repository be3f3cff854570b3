"""Figures for the emulator's run mode (issue 12): time to healthy, and the endpoint's cost.

    . /tmp/psd-dev/env   # DOCKER_HOST and PSD_TEST_REGISTRY* from .ci/services.sh
    .venv/bin/python benchmarks/run_mode_bench.py [--runs 5] [--requests 200]

Time to healthy = `run_deploy` start to its return for a busybox httpd spec whose readiness probe
checks /healthz every second (lint, upsert, a real pull from the registry, start, first probe).
Endpoint cost = median GET latency through the loopback endpoint (auth check, proxying) against
the anchor, a GET straight to the container's port.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))

from run_mode_images import build_web_image, free_port  # noqa: E402

from paperspace_deploy import deploy  # noqa: E402
from paperspace_deploy.emulator import Emulator, State  # noqa: E402
from paperspace_deploy.emulator.runner import Runner  # noqa: E402
from paperspace_deploy.io import Io  # noqa: E402

SPEC = """apiVersion: v1
name: bench{n}
image: {image}
containerRegistry: ci
command: ["/bin/busybox", "httpd", "-f", "-p", "{port}", "-h", "/www"]
resources: {{machineType: C4, ports: [{port}]}}
healthChecks: {{readiness: {{path: /healthz, periodSeconds: 1}}}}
basicAuthKey: secret:BENCH_KEY
"""


class Registry:
    host = os.environ.get("PSD_TEST_REGISTRY", "")
    username = os.environ.get("PSD_TEST_REGISTRY_USER", "")
    password = os.environ.get("PSD_TEST_REGISTRY_PASSWORD", "")
    url = f"http://{host}"


def median_ms(session: requests.Session, url: str, count: int) -> float:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        session.get(url, timeout=10).raise_for_status()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if not Registry.host or not os.environ.get("DOCKER_HOST"):
        print("needs DOCKER_HOST and PSD_TEST_REGISTRY* (source the env of .ci/services.sh)")
        return 2
    image = build_web_image(os.environ["DOCKER_HOST"], Registry, "psd-test/busybox:latest")
    state = State()
    state.add_key("bench")
    state.add_project("pbench00001", "bench")
    state.add_registry({"name": "ci", "url": Registry.url, "username": Registry.username,
                        "password": Registry.password})  # fmt: skip
    runner = Runner(state, os.environ, {"BENCH_KEY": "benchmark-key"}).attach()
    runner.check_engine()
    emu = Emulator(state).start()
    quiet = Io(stderr=open(os.devnull, "w"))  # noqa: SIM115
    times, port, result = [], 0, None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(args.runs):
                port = free_port()
                spec = Path(tmp) / f"bench{n}.yaml"
                spec.write_text(SPEC.format(n=n, image=image, port=port), encoding="utf-8")
                start = time.monotonic()
                req = deploy.DeployRequest.for_spec(
                    spec, project_id="pbench00001", api_key="bench", api_url=emu.url,
                    timeout=120, wait=deploy.WaitOptions(poll_interval=0.05),
                )  # fmt: skip
                result = deploy.run_deploy(req, quiet)
                times.append(time.monotonic() - start)
        assert result is not None
        endpoint = runner.endpoint(str(result.deployment_id))
        with requests.Session() as direct, requests.Session() as proxied:
            proxied.auth = ("paperspace", "benchmark-key")
            anchor = median_ms(direct, f"http://127.0.0.1:{port}/", args.requests)
            through = median_ms(proxied, f"{endpoint}/", args.requests)
    finally:
        runner.close()
        emu.stop()
        quiet.stderr.close()
    print(f"time to healthy (pull, start, probe; {args.runs} runs): median "
          f"{statistics.median(times):.2f} s, max {max(times):.2f} s")  # fmt: skip
    print(f"GET / median over {args.requests}: direct {anchor:.2f} ms, through the endpoint "
          f"{through:.2f} ms ({through / anchor:.1f}x the direct request)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
