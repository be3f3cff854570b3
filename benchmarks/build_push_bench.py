"""Build + push the same context with `paperspace-deploy build` and with the plain docker CLI.

    . /tmp/psd-dev/env   # or the env file written by .ci/services.sh
    .venv/bin/python benchmarks/build_push_bench.py [--runs 5] [--size-mb 4]

Each run changes one file in the context, so both tools rebuild the COPY and RUN steps and push
one new layer (the base layer is already in the registry after the warm-up). The docker CLI gets
the same labels our tool adds, uses the same legacy builder (DOCKER_BUILDKIT=0; no buildx here),
logs in with --password-stdin into a throw-away DOCKER_CONFIG, then builds and pushes. Prints
median wall times, the overhead ratio (goal: within 10 %), and an unchanged second build (cache).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PY = str(HERE / ".venv" / "bin" / "python") if (HERE / ".venv").exists() else sys.executable


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: source the services env file first (see the docstring)")
    return value


def make_context(root: Path, base: str, size_mb: int) -> Path:
    ctx = root / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {base}\nCOPY payload.bin /app/payload.bin\nRUN ls -l /app > /app/listing.txt\n"
    )
    (ctx / ".dockerignore").write_text(".git\n")
    change(ctx, size_mb)
    return ctx


def change(ctx: Path, size_mb: int) -> None:
    (ctx / "payload.bin").write_bytes(os.urandom(size_mb * 1024 * 1024))


def timed(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    return elapsed, out.stdout + out.stderr


def ours(ctx: Path, repo: str, tag: str, env: dict[str, str]) -> tuple[float, str]:
    cmd = [
        PY,
        "-m",
        "paperspace_deploy",
        "build",
        str(ctx),
        "--image",
        repo,
        "--tag",
        tag,
        "--tag-rules",
        "none",
    ]
    return timed(cmd, env)


def plain(ctx: Path, repo: str, tag: str, env: dict[str, str], user: str, pw: str) -> float:
    registry = repo.split("/", 1)[0]
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory() as config:
        e = env | {"DOCKER_CONFIG": config, "DOCKER_BUILDKIT": "0"}
        t1, _ = timed(["docker", "login", "--username", user, "--password-stdin", registry], e, pw)
        t2, _ = timed(
            [
                "docker",
                "build",
                "-t",
                f"{repo}:{tag}",
                "--label",
                f"org.opencontainers.image.created={created}",
                "--label",
                f"org.opencontainers.image.version={tag}",
                str(ctx),
            ],
            e,
        )
        t3, _ = timed(["docker", "push", f"{repo}:{tag}"], e)
    return t1 + t2 + t3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=4)
    a = parser.parse_args()
    registry, user, pw = (
        need("PSD_TEST_REGISTRY"),
        need("PSD_TEST_REGISTRY_USER"),
        need("PSD_TEST_REGISTRY_PASSWORD"),
    )
    need("DOCKER_HOST")
    base = os.environ.get("PSD_TEST_BASE_IMAGE", "psd-test/busybox:latest")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env |= {"HOME": str(home), "DOCKER_CONFIG": str(home / ".docker")}
        ours_env = env | {"REGISTRY_USERNAME": user, "REGISTRY_PASSWORD": pw}
        ctx = make_context(Path(tmp), base, a.size_mb)
        suffix = uuid.uuid4().hex[:6]
        repo_ours, repo_cli = f"{registry}/bench/ours-{suffix}", f"{registry}/bench/cli-{suffix}"

        ours(ctx, repo_ours, "warmup", ours_env)  # base layer pushed once, not counted
        plain(ctx, repo_cli, "warmup", env, user, pw)
        t_ours, t_cli = [], []
        for i in range(a.runs):
            for who in ("ours", "cli") if i % 2 == 0 else ("cli", "ours"):
                change(ctx, a.size_mb)
                if who == "ours":
                    t_ours.append(ours(ctx, repo_ours, f"run{i}", ours_env)[0])
                else:
                    t_cli.append(plain(ctx, repo_cli, f"run{i}", env, user, pw))

        change(ctx, a.size_mb)
        first, _ = ours(ctx, repo_ours, "cache1", ours_env)
        second, log = ours(ctx, repo_ours, "cache2", ours_env)
        hits = log.count("Using cache")

    m_ours, m_cli = statistics.median(t_ours), statistics.median(t_cli)
    print(f"context: FROM {base} + {a.size_mb} MiB changed file + RUN step; {a.runs} runs each")
    print(
        f"paperspace-deploy build (login+build+push+digest check): median {m_ours:.2f} s "
        f"(min {min(t_ours):.2f}, max {max(t_ours):.2f})"
    )
    print(
        f"docker login + build + push (CLI):                      median {m_cli:.2f} s "
        f"(min {min(t_cli):.2f}, max {max(t_cli):.2f})"
    )
    print(f"overhead ratio: {m_ours / m_cli:.3f} (goal <= 1.10)")
    print(
        f"unchanged rebuild: first {first:.2f} s, second {second:.2f} s "
        f"({hits} steps 'Using cache')"
    )


if __name__ == "__main__":
    main()
