"""Figures for the action (issue 5): image size and the entrypoint's start-up time in lint mode.

    . /tmp/psd-dev/env   # or any DOCKER_HOST with the services of .ci/services.sh
    .venv/bin/python benchmarks/action_startup.py [--runs 20]

Start-up = process start to the first line on stdout, for `python entrypoint.py` on the host and
for `docker run` of the action image (what a runner pays per step once the image is there);
plus the whole lint run. Lint mode must not import docker or requests: that is checked too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))


def first_line_and_total(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - start
    proc.stdout.read()
    proc.wait()
    return first, time.perf_counter() - start


def summary(label: str, samples: list[tuple[float, float]]) -> None:
    firsts = sorted(s[0] * 1000 for s in samples)
    totals = sorted(s[1] * 1000 for s in samples)
    p95 = firsts[max(0, int(len(firsts) * 0.95) - 1)]
    print(
        f"{label:<34} first line: median {statistics.median(firsts):7.1f} ms, p95 {p95:7.1f} ms;"
        f"  whole lint run: median {statistics.median(totals):7.1f} ms  (n={len(samples)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "GITHUB_WORKSPACE": str(REPO),
            "GITHUB_OUTPUT": str(files / "out"),
            "GITHUB_STEP_SUMMARY": str(files / "summary"),
            "INPUT_MODE": "lint",
            "INPUT_SPEC": "examples/.paperspace/app.yaml",
            "INPUT_CONTAINER-REGISTRIES": "ghcr",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        host = [
            first_line_and_total([sys.executable, str(REPO / "entrypoint.py")], env)
            for _ in range(args.runs)
        ]
        summary("host: python entrypoint.py", host)
        probe = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import paperspace_deploy.action"],
            capture_output=True, text=True, env=env,
        )  # fmt: skip
        heavy = [m for m in ("docker", "requests", "urllib3") if f" {m}\n" in probe.stderr]
        print(f"{'heavy modules imported in lint':<34} {heavy or 'none'}")

    if not os.environ.get("DOCKER_HOST"):
        print("no DOCKER_HOST: skipping the image figures (source the services' env file)")
        return 0
    import docker
    from action_images import action_image, base_image

    client = docker.from_env()
    t0 = time.perf_counter()
    base = base_image(client)
    tag = action_image(client, base)
    built = time.perf_counter() - t0
    size = client.images.get(tag).attrs["Size"]
    base_size = client.images.get(base).attrs["Size"]
    print(f"{'action image':<34} {tag}: {size / 1e6:.1f} MB "
          f"(base {base_size / 1e6:.1f} MB + {(size - base_size) / 1e6:.1f} MB of ours and deps;"
          f" built or found in {built:.1f} s)")  # fmt: skip
    socket = os.environ["DOCKER_HOST"].removeprefix("unix://")
    docker_cli = ["docker", "-H", os.environ["DOCKER_HOST"]]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "out").write_text("")
        Path(tmp, "summary").write_text("")
        cmd = [
            *docker_cli, "run", "--rm", "--network", "host", "--workdir", "/github/workspace",
            "-v", f"{REPO}:/github/workspace:ro", "-v", f"{tmp}:/github/file_commands",
            "-v", f"{socket}:/var/run/docker.sock",
            "-e", "GITHUB_WORKSPACE=/github/workspace",
            "-e", "GITHUB_OUTPUT=/github/file_commands/out",
            "-e", "GITHUB_STEP_SUMMARY=/github/file_commands/summary",
            "-e", "INPUT_MODE=lint", "-e", "INPUT_SPEC=examples/.paperspace/app.yaml",
            "-e", "INPUT_CONTAINER-REGISTRIES=ghcr", tag,
        ]  # fmt: skip
        runs = max(3, args.runs // 4)
        container = [first_line_and_total(cmd, dict(os.environ)) for _ in range(runs)]
        summary("container: docker run (lint)", container)
        inside = [
            first_line_and_total(
                [*cmd[:-1], "--entrypoint", "/usr/local/bin/python", tag, "-c", "print(1)"],
                dict(os.environ),
            )
            for _ in range(runs)
        ]
        summary("container: docker run python -c 1", inside)
        probe = "\n".join(
            [
                "import subprocess, sys, time",
                f"for _ in range({args.runs}):",
                "    t = time.perf_counter()",
                "    p = subprocess.Popen([sys.executable, '/app/entrypoint.py'],",
                "                         stdout=subprocess.PIPE)",
                "    p.stdout.readline(); f = time.perf_counter() - t",
                "    p.stdout.read(); p.wait()",
                "    print(f, time.perf_counter() - t)",
            ]
        )
        out = subprocess.run(
            [*cmd[:-1], "--entrypoint", "/usr/local/bin/python", tag, "-c", probe],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        pairs = [tuple(map(float, line.split())) for line in out.splitlines()]
        summary("inside the image: entrypoint.py", pairs)  # type: ignore[arg-type]
    print("(docker run figures include container creation on this engine's vfs storage driver)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
