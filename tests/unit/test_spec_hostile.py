"""Hostile inputs (reliability §3.1, §6.1): each finishes fast with one clear finding.

Each case runs `python -m paperspace_deploy lint` in a subprocess with a generous timeout and a
512 MB address-space cap, so a regression (hang, blow-up, segfault) fails instead of hanging CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))\n"
        "from paperspace_deploy.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "lint", "--strict", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
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
