"""Lint 1,000 specs with 10 alias bombs, 10 deeply nested files and 10 oversized files mixed in.

Checks that every bad file fails on its own with its own finding, that the other 970 pass, and
prints the wall time and the peak RSS of the lint process (issue 6, reliability §6.3).

    .venv/bin/python benchmarks/lint_hostile_bench.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lint_bench import BIN, generate


def bomb() -> str:
    lines = ["a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def main() -> None:
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
        start = time.perf_counter()
        proc = subprocess.run(
            [str(BIN / "paperspace-deploy"), "lint", "--format", "json", *map(str, files)],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads(proc.stdout)
        failed: dict[str, set[str]] = {}
        for f in report["findings"]:
            if f["severity"] == "error":
                failed.setdefault(f["path"], set()).add(f["rule"])
        wrong = [p for p, kind in expected.items() if kind not in failed.get(p, set())]
        extra = sorted(set(failed) - set(expected))
        print(
            f"files: {len(report['files'])}, bad: {len(expected)} "
            f"(10 alias bombs, 10 deep, 10 over 1 MiB), exit {proc.returncode}"
        )
        print(
            f"bad files failing on their own with the right rule: "
            f"{len(expected) - len(wrong)}/{len(expected)}"
        )
        print(f"good files with errors: {len(extra)} (goal 0)")
        print(f"wall time: {wall:.2f} s, peak RSS of the lint process: {peak_mb:.0f} MB")
        if wrong or extra or proc.returncode != 1:
            sys.exit(1)


if __name__ == "__main__":
    main()
