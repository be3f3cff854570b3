"""Hostile inputs (reliability §3.1, §6.1): each finishes fast with one clear finding.

Each case runs `python -m paperspace_deploy lint` in a subprocess with a generous timeout and an
address-space cap (512 MB; 256 MB for issue 11's reproducers), so a regression (hang, blow-up,
segfault) fails instead of hanging CI. How fast each one is, is measured by
benchmarks/lint_hostile_bench.py, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_inputs import CASES as REPRODUCERS
from hostile_inputs import Case

HEAD = (
    "apiVersion: v1\nname: app\nimage: ghcr.io/org/app:1\n"
    "resources: {machineType: C5, ports: [8000]}\n"
)


def billion_laughs(levels: int = 9) -> str:
    lines = ["a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


CASES: list[tuple[str, bytes, str, str]] = [
    ("billion-laughs", billion_laughs().encode(), ".yaml", "alias-bomb"),
    (
        "billion-laughs-in-command",
        (
            HEAD
            + "command: &c [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"x{i}: &c{i} [" + ",".join(["*c" + (str(i - 1) if i else "")] * 10) + "]\n"
                for i in range(6)
            )
        ).encode(),
        ".yaml",
        "alias-bomb",
    ),
    ("recursive-alias", b"a: &x [1, *x]\n", ".yaml", "recursive-alias"),
    ("recursive-mapping", b"a: &x {b: *x}\n", ".yaml", "recursive-alias"),
    ("deep-flow-30000", b"a: " + b"[" * 30000 + b"]" * 30000 + b"\n", ".yaml", "too-deep"),
    ("deep-block", "".join(" " * i + f"k{i}:\n" for i in range(200)).encode(), ".yaml", "too-deep"),
    ("deep-json", b'{"a": ' + b"[" * 30000 + b"]" * 30000 + b"}", ".json", "too-deep"),
    ("deep-toml", b"a = " + b"[" * 30000 + b"]" * 30000 + b"\n", ".toml", "too-deep"),
    ("invalid-utf8", b"name: caf\xc3\nimage: x\n", ".yaml", "encoding"),
    ("utf16", "name: x\n".encode("utf-16"), ".yaml", "encoding"),
    ("nul-byte", b"name: a\x00b\n", ".yaml", "control-character"),
    ("two-mib", b"name: " + b"x" * (2 * 1024 * 1024) + b"\n", ".yaml", "file-too-large"),
    ("multi-doc", (HEAD + "---\n" + HEAD).encode(), ".yaml", "multiple-documents"),
    ("top-level-list", b"- a\n- b\n", ".yaml", "top-level-type"),
    ("top-level-scalar", b"just a string\n", ".yaml", "top-level-type"),
    ("python-tag", b"name: !!python/object/apply:os.system ['id']\n", ".yaml", "unsupported-tag"),
    ("set-tag", b"name: !!set {a, b}\n", ".yaml", "unsupported-tag"),
    (
        "nan",
        (HEAD.replace("ports: [8000]", "ports: [8000], replicas: .nan")).encode(),
        ".yaml",
        "non-finite-number",
    ),
    (
        "inf-toml",
        b'apiVersion = "v1"\nname = "a"\nimage = "a"\n[resources]\nreplicas = inf\n',
        ".toml",
        "non-finite-number",
    ),
    ("empty", b"", ".yaml", "empty-file"),
    ("comment-only", b"# nothing\n", ".yaml", "empty-file"),
    ("complex-key", b"? [a, b]\n: c\n", ".yaml", "non-string-key"),
    ("five-mb-name", b"name: " + b"y" * 900_000 + b"\n", ".yaml", "invalid-string"),
    (
        "30k-bad-env-values",
        (
            HEAD + "env:\n" + "".join(f"  - {{name: V{i}, value: {i}}}\n" for i in range(30_000))
        ).encode(),
        ".yaml",
        "too-many-findings",
    ),
    (
        "30k-duplicate-env",
        (HEAD + "env:\n" + "  - {name: A, value: b}\n" * 30_000).encode(),
        ".yaml",
        "too-many-findings",
    ),
]


@pytest.mark.parametrize(("name", "content", "suffix", "rule"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_bounded(
    tmp_path: Path, name: str, content: bytes, suffix: str, rule: str
):
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(content)
    proc = lint_capped(path, "json", 512)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    rules = [f["rule"] for f in report["findings"]]
    assert rule in rules, rules
    assert all(len(f["message"]) <= 400 for f in report["findings"])
    # a file's messages stay short (reliability §6.4: <= 4 KB), whatever the input
    assert sum(len(f["message"]) for f in report["findings"]) <= 4096
    assert len(proc.stdout) < 32_768  # the 900 KB name is never echoed


def test_billion_laughs_size_is_realistic():
    assert len(billion_laughs().encode()) < 400


def lint_capped(path: Path, fmt: str, cap_mb: int) -> subprocess.CompletedProcess[str]:
    """`paperspace-deploy lint --strict` in a child capped at `cap_mb` of address space."""
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({cap_mb} << 20, {cap_mb} << 20))\n"
        "from paperspace_deploy.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "lint", "--strict", "--format", fmt, str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",  # a raw surrogate must not hide as a decoding error here
        timeout=60,  # a hang, not a speed goal (benchmarks/lint_hostile_bench.py measures)
    )


def _unprintable(text: str) -> list[str]:
    return sorted({c for c in text if not c.isprintable() and c != "\n"})


@pytest.mark.parametrize("case", REPRODUCERS, ids=[c.name for c in REPRODUCERS])
def test_issue_11_reproducer(tmp_path: Path, case: Case):
    """Each input of the fuzzing campaign (tests/helpers/hostile_inputs.py, with what it did
    before) ends with exit 1 and its finding, under 256 MB, with a short, safe report."""
    path = tmp_path / f"{case.name}{case.suffix}"
    path.write_bytes(case.content)
    proc = lint_capped(path, "json", 256)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert proc.stderr == ""
    report = json.loads(proc.stdout)
    rules = {f["rule"] for f in report["findings"]}
    assert case.rule in rules, rules
    messages = [f["message"] for f in report["findings"]]
    assert all(len(m) <= 400 and not _unprintable(m) for m in messages), messages
    assert sum(map(len, messages)) <= 4096
    if case.text_out:  # what a terminal or a CI log would receive
        proc = lint_capped(path, "text", 256)
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert _unprintable(proc.stdout + proc.stderr) == []
        assert "\\" in proc.stdout  # the characters are shown as escapes, not dropped


def test_crash_handler_survives_a_memory_cap(tmp_path: Path):
    """A MemoryError with the memory still held: the handler frees the failed frames, writes the
    crash log without importing tempfile, and prints one line (exit 70, no traceback)."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))\n"
        "from paperspace_deploy.errors import run_guarded\n"
        "def hog():\n"
        "    chunks = []\n"
        "    for size in (16 << 20, 1 << 20, 64 << 10, 4 << 10):\n"
        "        try:\n"
        "            while True:\n"
        "                chunks.append(bytearray(size))\n"
        "        except MemoryError:\n"
        "            pass\n"
        "    raise MemoryError\n"
        "outcome = run_guarded(hog)\n"
        "print(outcome.message, file=sys.stderr)\n"
        "sys.exit(outcome.code)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 70, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "unexpected internal error (MemoryError); details in" in proc.stderr
    (log,) = tmp_path.glob("paperspace-deploy-crash-*.log")
    assert "MemoryError" in log.read_text()
