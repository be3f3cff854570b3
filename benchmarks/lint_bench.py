"""Lint 1,000 generated specs with `paperspace-deploy lint` and with check-jsonschema.

Both run as whole processes on the same files, several times; medians and the ratio are printed,
plus the single-file comparison. Goals (issue 2): >= 5x faster on 1,000 files, and a single file
no slower than check-jsonschema.

    .venv/bin/python benchmarks/lint_bench.py [--files 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCHEMA = REPO / "schemas" / "deployment-spec.schema.json"

TEMPLATE = """\
apiVersion: v1
name: bench-app-{i}
image: ghcr.io/example-org/app-{i}:1.{i}
enabled: true
containerRegistry: my-registry
command: ["/bin/sh", "-c", "python -m app --port 8000"]
resources:
  replicas: 2
  machineType: A4000
  ports: [8000]
  autoscaling:
    enabled: true
    maxReplicas: 5
    metrics:
      - metric: cpu
        summary: average
        value: 60
      - metric: requestDuration
        summary: average
        value: 0.25
healthChecks:
  readiness:
    path: /ready
    port: 8000
    periodSeconds: 5
  liveness:
    path: /live
    port: 8000
integrations:
  - type: git-lfs
    name: model-{i}
    path: /opt/models
    url: https://huggingface.co/org/model-{i}
env:
{env}"""


def generate(directory: Path, count: int) -> list[Path]:
    files = []
    for i in range(count):
        env = (
            "".join(f'  - name: VAR_{j}\n    value: "value-{i}-{j}"\n' for j in range(18))
            + "  - name: API_TOKEN\n    value: secret:API_TOKEN\n"
        )
        path = directory / f"spec-{i:04d}" / "paperspace.yaml"
        path.parent.mkdir()
        path.write_text(TEMPLATE.format(i=i, env=env))
        files.append(path)
    return files


def timed(cmd: list[str], runs: int) -> tuple[float, int]:
    times, code = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True)
        times.append(time.perf_counter() - start)
        code = proc.returncode
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = [str(p) for p in generate(Path(tmp), args.files)]
        ours = [str(BIN / "paperspace-deploy"), "lint"]
        theirs = [str(BIN / "check-jsonschema"), "--schemafile", str(SCHEMA)]
        print(f"{args.files} generated specs, {args.runs} runs each, median wall time")
        for label, subset in ((f"{len(files)} files", files), ("1 file", files[:1])):
            a, code_a = timed(ours + subset, args.runs)
            b, code_b = timed(theirs + subset, args.runs)
            print(
                f"  {label:>10}: paperspace-deploy lint {a:7.3f} s (exit {code_a})   "
                f"check-jsonschema {b:7.3f} s (exit {code_b})   ratio {b / a:5.1f}x"
            )


if __name__ == "__main__":
    main()
