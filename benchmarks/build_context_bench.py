"""A big build context (~1 GB in 20,000 files: model weights plus code): cold and unchanged builds.

    . /tmp/psd-dev/env   # or the env file written by .ci/services.sh (DOCKER_CONFIG with buildx)
    .venv/bin/python benchmarks/build_context_bench.py [--mb 1024] [--files 20000] [--runs 3]

Four builders on the same context and Dockerfile (FROM busybox, COPY . /app, one RUN), each
`--runs` times cold (its image and every build cache removed first) then unchanged (the same build
again), medians printed:

  ours (BuildKit)   build_and_push(builder=buildx)   anchor: docker buildx build --load
  ours (engine)     build_and_push(builder=engine)   anchor: DOCKER_BUILDKIT=0 docker build

Both anchors get the labels ours adds (created from the commit time of a GitHub-like context, as
in CI). Our runs are subprocesses with a private TMPDIR whose size is sampled every 50 ms: the
peak is the temporary disk our process used (docker-py wrote a 1.16 GB tar there). RUN steps use
network none (this engine has no bridge). Goals (issue 15): BuildKit cold <= 1.1x buildx,
unchanged <= 1.5x buildx and < 5 s, no temp tar; engine path no slower than the legacy CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PY = str(HERE / ".venv" / "bin" / "python") if (HERE / ".venv").exists() else sys.executable
EVENT = {"head_commit": {"timestamp": "2024-05-01T10:20:30Z"}, "repository": {}}
OURS = """
import json, os, sys
from pathlib import Path
from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.image.options import BuildOptions
from paperspace_deploy.image.pipeline import build_and_push
from paperspace_deploy.io import Io
a = json.loads(sys.argv[1])
opts = BuildOptions(context=Path(a["ctx"]), dockerfile=None, image=a["image"], tags=["bench"],
                    build_args={}, labels={}, push=False, builder=a["builder"], network="none",
                    tag_rules=(), deadline=Deadline(3600))
build_and_push(opts, Io(stdout=sys.stdout, stderr=sys.stderr, environ=dict(os.environ),
                        cwd=Path(a["ctx"])))
"""


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: source the services env file first (see the docstring)")
    return value


def make_context(root: Path, total_mb: int, files: int, base: str) -> Path:
    """4 weight files hold 80 % of the bytes; the rest is spread over small code/data files."""
    ctx = root / "ctx"
    (ctx / "models").mkdir(parents=True)
    big = total_mb * 1024 * 1024 * 8 // 10
    for i in range(4):
        with open(ctx / "models" / f"weights-{i}.safetensors", "wb") as fh:
            for _ in range(big // 4 // (1 << 20)):
                fh.write(os.urandom(1 << 20))
    small = max(1, (total_mb * 1024 * 1024 - big) // max(1, files - 4))
    for i in range(files - 4):
        d = ctx / "src" / f"pkg{i // 500}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"mod{i}.py").write_bytes(os.urandom(small))
    (ctx / ".dockerignore").write_text(".git\n**/__pycache__\n")
    (ctx / "Dockerfile").write_text(f"FROM {base}\nCOPY . /app\nRUN ls -R /app > /listing\n")
    return ctx


def du(path: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, n)).st_size
    return total


def timed(
    cmd: list[str], env: dict[str, str], tmpdir: Path | None = None
) -> tuple[float, int, str]:
    """(seconds, peak bytes in tmpdir while it ran, output)."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while tmpdir is not None and not done.is_set():
            peak[0] = max(peak[0], du(tmpdir))
            done.wait(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    done.set()
    watcher.join()
    if out.returncode != 0:
        sys.exit(
            f"failed ({out.returncode}): {' '.join(cmd[:4])}\n{out.stdout}\n{out.stderr[-3000:]}"
        )
    return elapsed, peak[0], out.stdout + out.stderr


def clean(env: dict[str, str], image: str) -> None:
    """Cold: no image, no BuildKit cache, no legacy intermediate images."""
    listed = subprocess.run(
        ["docker", "images", "-q", image], env=env, capture_output=True, text=True
    )
    for image_id in set(listed.stdout.split()):
        subprocess.run(["docker", "rmi", "-f", image_id], env=env, capture_output=True)
    subprocess.run(["docker", "builder", "prune", "-af"], env=env, capture_output=True)
    subprocess.run(["docker", "image", "prune", "-f"], env=env, capture_output=True)


def labels(ctx_env: dict[str, str]) -> list[str]:
    from paperspace_deploy import ci_context as ci
    from paperspace_deploy.image.labels import oci_labels
    from paperspace_deploy.image.tags import version_of

    c = ci.detect(ctx_env)
    found = oci_labels(c, version_of(c, ["bench"]), ctx_env, {})
    return [x for k, v in found.items() for x in ("--label", f"{k}={v}")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    need("DOCKER_HOST")
    need("DOCKER_CONFIG")
    base = os.environ.get("PSD_TEST_BASE_IMAGE", "psd-test/busybox:latest")
    with tempfile.TemporaryDirectory(prefix="psd-ctxbench-") as tmp:
        root = Path(tmp)
        event = root / "event.json"
        event.write_text(json.dumps(EVENT))
        gh = {"GITHUB_ACTIONS": "", "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": "ab" * 20,
              "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_NAME": "push",
              "GITHUB_REPOSITORY": "acme/app"}  # fmt: skip
        env = {**os.environ, **gh}
        t0 = time.perf_counter()
        ctx = make_context(root, args.mb, args.files, base)
        size = du(ctx)
        print(f"context: {size / 1e9:.2f} GB in {args.files} files "
              f"(made in {time.perf_counter() - t0:.0f} s)")  # fmt: skip
        image = f"psd-ctxbench/{uuid.uuid4().hex[:8]}"
        lab = labels(gh)
        ours_tmp = root / "ours-tmp"

        def ours(builder: str) -> tuple[list[str], dict[str, str]]:
            shutil.rmtree(ours_tmp, ignore_errors=True)
            ours_tmp.mkdir()
            spec = json.dumps({"ctx": str(ctx), "image": image, "builder": builder})
            return [PY, "-c", OURS, spec], {**env, "TMPDIR": str(ours_tmp)}

        tools = {
            "ours (BuildKit)": lambda: ours("buildx"),
            "docker buildx build": lambda: (
                [
                    "docker",
                    "buildx",
                    "build",
                    "--progress=plain",
                    "--load",
                    "--network=none",
                    "--provenance=false",
                    *lab,
                    "-t",
                    f"{image}:bench",
                    str(ctx),
                ],
                env,
            ),
            "ours (engine)": lambda: ours("engine"),
            "docker build (legacy)": lambda: (
                ["docker", "build", "--network=none", *lab, "-t", f"{image}:bench", str(ctx)],
                {**env, "DOCKER_BUILDKIT": "0"},
            ),
        }
        results: dict[str, dict[str, list[float]]] = {}
        for name, make in tools.items():
            cold, warm, peaks = [], [], []
            for _ in range(args.runs):
                clean(env, image)
                cmd, e = make()
                is_ours = name.startswith("ours")
                seconds, peak, out = timed(cmd, e, ours_tmp if is_ours else None)
                if "Using cache" in out or " CACHED" in out.replace("FROM", ""):
                    print(f"  note: a cold {name} run reused a cache step", flush=True)
                cold.append(seconds)
                peaks.append(peak)
                cmd, e = make()
                seconds, peak, _ = timed(cmd, e, ours_tmp if is_ours else None)
                warm.append(seconds)
                peaks.append(peak)
            results[name] = {"cold": cold, "warm": warm, "peak": peaks}
            extra = f", peak temp disk {max(peaks) / 1e6:.1f} MB" if name.startswith("ours") else ""
            print(f"{name:22s} cold {statistics.median(cold):7.1f} s {fmt(cold)}  unchanged "
                  f"{statistics.median(warm):6.2f} s {fmt(warm)}{extra}", flush=True)  # fmt: skip
        clean(env, image)

    def med(name: str, kind: str) -> float:
        return statistics.median(results[name][kind])

    print()
    for ours_name, anchor in (("ours (BuildKit)", "docker buildx build"),
                              ("ours (engine)", "docker build (legacy)")):  # fmt: skip
        print(f"{ours_name} vs {anchor}: cold {med(ours_name, 'cold') / med(anchor, 'cold'):.2f}x,"
              f" unchanged {med(ours_name, 'warm') / med(anchor, 'warm'):.2f}x")  # fmt: skip
    print(
        "goals: BuildKit cold <= 1.10x, unchanged <= 1.50x and < 5 s, peak temp disk ~0; "
        "engine <= 1.00x of the legacy CLI"
    )


def fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in values) + "]"


if __name__ == "__main__":
    main()
