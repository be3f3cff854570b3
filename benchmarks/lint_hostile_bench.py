"""Hostile input to the linter, in one run: (1) every reproducer of issue 11 (tests/helpers/
hostile_inputs.py), each linted by a whole `paperspace-deploy lint` process: median and worst
wall time, peak RSS of that process, against the goal of 2 s; (2) 1,000 specs with 10 alias
bombs, 10 files nested 30,000 deep and 10 files over 1 MiB mixed in (issue 6): every bad file
fails on its own, the 970 others pass.

    .venv/bin/python benchmarks/lint_hostile_bench.py [--runs 3]
    .venv/bin/python benchmarks/lint_hostile_bench.py --before /path/to/old/src   # before vs after

`--before SRC` also runs each reproducer once with an older checkout's `src` on PYTHONPATH
(capped at 2 GB and 60 s), so the table shows what the fix changed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "helpers"))
from hostile_inputs import CASES
from lint_bench import BIN, generate

GOAL_S = 2.0
CHILD = (
    "import resource, sys\n"
    "cap = int(sys.argv.pop(1)) << 20\n"
    "resource.setrlimit(resource.RLIMIT_AS, (cap, cap))\n"
    "from paperspace_deploy.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def run_child(
    command: list[str], env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[float, float, int, bytes, str]:
    """(wall s, that child's own peak RSS MB, exit code, stdout, stderr) of one process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_maxrss / 1024, code, out.read(), err.read().decode("utf-8", "replace")


def lint_once(
    path: Path, *, src: str | None = None, cap_mb: int = 1024, timeout: float = 60
) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, outcome) of one `lint --strict --format json` process."""
    env = dict(os.environ, PYTHONPATH=src) if src else None
    command = [sys.executable, "-c", CHILD, str(cap_mb), "lint", "--strict", "--format", "json"]
    wall, rss, code, stdout, stderr = run_child([*command, str(path)], env, timeout)
    if code == -9 and wall >= timeout:
        return wall, rss, f"killed after {timeout:.0f} s"
    if code != 1:
        last = stderr.strip().splitlines()[-1:] or [""]
        return wall, rss, f"exit {code}: {last[0][:60]}"
    rules = sorted({f["rule"] for f in json.loads(stdout)["findings"]})
    return wall, rss, "exit 1: " + ",".join(rules)


def reproducers(runs: int, before: str | None) -> bool:
    print(f"issue 11 reproducers: whole `lint` process, {runs} runs (median / worst), goal "
          f"{GOAL_S:.0f} s")  # fmt: skip
    head = f"{'input':32} {'size':>8} {'median':>7} {'worst':>7} {'RSS MB':>7}  outcome"
    if before:
        head += "   | before: time, RSS MB, outcome"
    print(head)
    worst_time = worst_rss = 0.0
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            path = Path(tmp) / f"{case.name}{case.suffix}"
            path.write_bytes(case.content)
            results = [lint_once(path, cap_mb=1024) for _ in range(runs)]
            times = [r[0] for r in results]
            rss = max(r[1] for r in results)
            outcome = results[-1][2]
            ok &= outcome.startswith("exit 1:") and case.rule in outcome
            worst_time, worst_rss = max(worst_time, max(times)), max(worst_rss, rss)
            line = (
                f"{case.name:32} {_size(len(case.content)):>8} {statistics.median(times):6.2f}s "
                f"{max(times):6.2f}s {rss:7.0f}  {outcome[:60]}"
            )
            if before:
                b_time, b_rss, b_outcome = lint_once(path, src=before, cap_mb=2048)
                line += f"   | {b_time:6.2f}s {b_rss:6.0f} {b_outcome[:50]}"
            print(line, flush=True)
    print(f"worst case: {worst_time:.2f} s ({worst_time / GOAL_S:.0%} of the {GOAL_S:.0f} s goal), "
          f"{worst_rss:.0f} MB peak RSS; every reproducer exit 1 with its rule: {ok}")  # fmt: skip
    return ok and worst_time < GOAL_S


def _size(n: int) -> str:
    return (
        f"{n / 1048576:.1f} MiB"
        if n >= 1 << 20
        else f"{n / 1024:.1f} KB"
        if n >= 1024
        else f"{n} B"
    )


def bomb() -> str:
    lines = ["a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def mixed() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        files = generate(Path(tmp), 1000)
        expected: dict[str, str] = {}
        for n, path in enumerate(files[5::33][:30]):
            kind = ("alias-bomb", "too-deep", "file-too-large")[n % 3]
            content = {
                "alias-bomb": bomb(),
                "too-deep": "a: " + "[" * 30000 + "]" * 30000 + "\n",
                "file-too-large": "name: " + "x" * (2 * 1024 * 1024) + "\n",
            }[kind]
            path.write_text(content)
            expected[str(path)] = kind
        command = [str(BIN / "paperspace-deploy"), "lint", "--format", "json", *map(str, files)]
        wall, peak_mb, code, stdout, _ = run_child(command)
        report = json.loads(stdout)
        failed: dict[str, set[str]] = {}
        for f in report["findings"]:
            if f["severity"] == "error":
                failed.setdefault(f["path"], set()).add(f["rule"])
        wrong = [p for p, kind in expected.items() if kind not in failed.get(p, set())]
        extra = sorted(set(failed) - set(expected))
        print(
            f"\nmixed: {len(report['files'])} files, {len(expected)} bad (10 alias bombs, "
            f"10 deep, 10 over 1 MiB), exit {code}; bad files failing on their own "
            f"with the right rule: {len(expected) - len(wrong)}/{len(expected)}; good files "
            f"with errors: {len(extra)} (goal 0); wall {wall:.2f} s, peak RSS {peak_mb:.0f} MB"
        )
        return not wrong and not extra and code == 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="SRC", help="an older checkout's src directory")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores\n")
    ok = reproducers(args.runs, args.before)
    ok = mixed() and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
