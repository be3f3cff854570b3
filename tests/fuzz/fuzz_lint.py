"""Fuzz the linter's in-process entry, `spec.lint_bytes`, for a time budget (CI: ~60 s).

    .venv/bin/python tests/fuzz/fuzz_lint.py --seconds 60            # atheris when installed
    .venv/bin/python tests/fuzz/fuzz_lint.py --seconds 60 --engine mutate
    .venv/bin/python tests/fuzz/fuzz_lint.py --replay FILE           # one saved input

An input is one byte choosing the format (YAML, JSON, JSONC, TOML) and the spec text. The seeds
are every spec under tests/fixtures (the real-world corpora, the broken corpus, the valid
examples) and the small hostile reproducers (tests/helpers/hostile_inputs.py). For each input
the linter must return (never raise), with data that is a mapping or None, an error finding
whenever data is None, and every message printable, at most 400 characters and 4 KB per file.
An input that takes more than --timeout seconds fails too (a hang; the speed goal itself is
measured by benchmarks/lint_hostile_bench.py).

Engine: atheris (libFuzzer, coverage-guided over paperspace_deploy's own code) is what found the
issue-11 bugs and runs on CPython 3.11 from its PyPI wheel, so it is the default; `mutate` is a
dependency-free loop (seed -> random byte/token edits, splices) used when atheris is missing.
A failing input is saved under --artifacts and its path printed; exit 1.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "helpers"))

SUFFIXES = (".yaml", ".json", ".jsonc", ".toml")
SEED_MAX = 64 * 1024
MAX_LEN = 16 * 1024  # longer inputs cost time per run and reach nothing new
TOKENS = [
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b"=",
    b'"',
    b"'",
    b'"""',
    b"'''",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\u001b",
    b"\\e",
    b".",
    b"..",
    b"#",
    b"//",
    b"/*",
    b"*/",
    b"&a ",
    b"*a",
    b"<<: ",
    b"!!int ",
    b"- ",
    b"\n",
    b"\n  ",
    b"\t",
    b" ",
    b"0",
    b"-1",
    b"1e400",
    b"0x",
    b"9" * 50,
    b"nan",
    b"inf",
    b"true",
    b"null",
    b"~",
    b"[[",
    b"]]",
    b"a.b.c",
    b"---\n",
    b"\xe2\x80\xae",
    b"\xe2\x80\xa8",
    b"\xc2\x9b",
    b"\xed\xa0\x80",
    b"\x00",
    b"\x1b",
]


def seeds() -> list[bytes]:
    from hostile_inputs import CASES

    out = []
    for path in sorted((ROOT / "tests" / "fixtures").rglob("*")):
        if path.is_file() and path.suffix in SUFFIXES and path.stat().st_size <= SEED_MAX:
            out.append(bytes([SUFFIXES.index(path.suffix)]) + path.read_bytes())
    for case in CASES:
        if len(case.content) <= SEED_MAX:
            out.append(bytes([SUFFIXES.index(case.suffix)]) + case.content)
    return out


def check(data: bytes) -> bool:
    """One input through the linter; AssertionError when an invariant breaks. True when the
    input loaded (data, not only a loader error): such inputs feed the mutation pool."""
    from paperspace_deploy.spec import MAX_FILE_MESSAGES, lint_bytes
    from paperspace_deploy.spec.findings import MAX_MESSAGE, Severity

    if not data:
        return False
    suffix = SUFFIXES[data[0] % len(SUFFIXES)]
    spec = lint_bytes(data[1:], "fuzz" + suffix, suffix)
    assert spec.data is None or isinstance(spec.data, dict), type(spec.data)
    if spec.data is None:
        assert any(f.severity is Severity.ERROR for f in spec.findings), spec.findings
    total = 0
    for f in spec.findings:
        assert f.line >= 1 and f.col >= 1, f
        assert f.message.isprintable() and len(f.message) <= MAX_MESSAGE, f.message
        total += len(f.message)
    assert total <= MAX_FILE_MESSAGES, total
    if suffix == ".json":
        _same_as_json_loads(data[1:])
    elif suffix == ".toml" and spec.data is not None:
        _toml_scan_completes(data[1:])
    return spec.data is not None


def _same_as_json_loads(raw: bytes) -> None:
    """Differential: our positions-keeping parser and json.loads agree on what they both read."""
    import json

    from paperspace_deploy.spec.load import parse_bytes

    parsed = parse_bytes(raw, "fuzz.json", ".json")  # the loader's findings, before any cap

    try:
        expected = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except (ValueError, RecursionError):
        return  # json.loads refuses it (we may refuse it too, or report it otherwise)
    rules = {f.rule for f in parsed.findings}
    nonstandard = ("NaN", "Infinity")  # json.loads extensions that JSON does not have
    if "json-syntax" in rules and not any(word in raw.decode() for word in nonstandard):
        raise AssertionError(f"valid JSON refused: {[f.message for f in parsed.findings][:3]}")
    if parsed.data is not None and not rules & {"number-too-large", "non-finite-number"}:
        assert parsed.data == expected, "our JSON parser and json.loads disagree"


def _toml_scan_completes(raw: bytes) -> None:
    """TOML that tomllib accepts is scanned to its end (positions for every value)."""
    from paperspace_deploy.spec.load_toml import _Scan
    from paperspace_deploy.spec.parsed import Parsed

    stopped = _Scan(raw.decode("utf-8").removeprefix("\ufeff"), Parsed("fuzz")).run()
    assert stopped is None, f"the TOML scan stopped at offset {stopped} of valid TOML"


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def run_one(data: bytes, timeout: float) -> bool:
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return check(data)
    except Hang:
        raise AssertionError(f"took more than {timeout} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def mutate(rng: random.Random, pool: list[bytes]) -> bytes:
    data = bytearray(rng.choice(pool))
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(6)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip a byte
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 1:  # insert a token
            data[at:at] = rng.choice(TOKENS)
        elif op == 2 and data:  # delete a run
            del data[at : at + rng.randint(1, 16)]
        elif op == 3 and data:  # repeat a run
            end = min(len(data), at + rng.randint(1, 32))
            data[at:at] = data[at:end] * rng.randint(2, 64)
        elif op == 4:  # splice another seed
            other = rng.choice(pool)
            cut = rng.randrange(len(other) + 1)
            data[at:] = other[cut:]
        else:  # change the format
            if data:
                data[0] = rng.randrange(len(SUFFIXES))
    return bytes(data[: MAX_LEN + 1])


def save(data: bytes, artifacts: Path, error: BaseException) -> None:
    import hashlib

    artifacts.mkdir(parents=True, exist_ok=True)
    path = artifacts / f"lint-crash-{hashlib.sha256(data).hexdigest()[:16]}"
    path.write_bytes(data)
    print(f"FAIL: {type(error).__name__}: {str(error)[:300]}", file=sys.stderr)
    print(f"input saved to {path}; replay: {sys.argv[0]} --replay {path}", file=sys.stderr)


def run_mutate(seconds: float, timeout: float, artifacts: Path, seed: int) -> int:
    rng = random.Random(seed)
    pool = seeds()
    deadline = time.monotonic() + seconds
    runs = 0
    for data in pool:  # every seed as it is, first
        try:
            run_one(data, timeout)
        except Exception as exc:
            save(data, artifacts, exc)
            return 1
        runs += 1
    loaded = 0
    while time.monotonic() < deadline:
        data = mutate(rng, pool)
        try:
            ok = run_one(data, timeout)
        except Exception as exc:
            save(data, artifacts, exc)
            return 1
        runs += 1
        loaded += ok
        if ok and runs % 20 == 0 and len(pool) < 5000:
            pool.append(data)  # inputs that still load reach the schema and the rules
    print(
        f"fuzz (mutate, seed {seed}): {runs} inputs in {seconds:.0f} s "
        f"({loaded} loaded, the rest ended in a loader finding), no failure"
    )
    return 0


def run_atheris_quietly(seconds: float, timeout: float, artifacts: Path) -> int:
    """libFuzzer prints a line per new input: run it in a child, keep its log in a file, print
    the summary (and, on a failure, the end of the log with the input's path)."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile("w+", prefix="psd-fuzz-", suffix=".log") as log:
        command = [sys.executable, __file__, "--engine", "atheris", "--verbose",
                   "--seconds", str(seconds), "--timeout", str(timeout),
                   "--artifacts", str(artifacts)]  # fmt: skip
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
        log.seek(0)
        lines = log.read().splitlines()
    summary = [line for line in lines if line.startswith(("Done ", "stat::", "INFO: seed corpus"))]
    if code != 0:
        print("\n".join(lines[-60:]), file=sys.stderr)
        print(f"fuzz (atheris): FAILED (exit {code}); inputs are saved under {artifacts}")
        return 1
    print("fuzz (atheris): " + "; ".join(summary) + "; no failure")
    return 0


def run_atheris(seconds: float, timeout: float, artifacts: Path) -> int:
    import tempfile

    import atheris

    with atheris.instrument_imports(include=["paperspace_deploy"]):
        import paperspace_deploy.spec
        import paperspace_deploy.spec.load_json
        import paperspace_deploy.spec.load_toml
        import paperspace_deploy.spec.load_yaml
        import paperspace_deploy.spec.rules
        import paperspace_deploy.spec.validate  # noqa: F401

    corpus = Path(tempfile.mkdtemp(prefix="psd-fuzz-corpus-"))
    for i, data in enumerate(seeds()):
        (corpus / f"seed-{i:04d}").write_bytes(data)
    artifacts.mkdir(parents=True, exist_ok=True)
    args = [
        sys.argv[0],
        f"-max_total_time={int(seconds)}",
        f"-timeout={int(max(timeout, 1))}",
        "-rss_limit_mb=2048",
        f"-max_len={MAX_LEN}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        str(corpus),
    ]

    def one_input(data: bytes) -> None:
        check(data)

    atheris.Setup(args, one_input)
    atheris.Fuzz()  # exits the process: 0 at the end of the budget, non-zero on a failure
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--timeout", type=float, default=10, help="per input (a hang)")
    parser.add_argument("--engine", choices=("auto", "atheris", "mutate"), default="auto")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "0")) or None)
    parser.add_argument("--artifacts", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")))
    parser.add_argument("--replay", type=Path, help="run one saved input and report")
    parser.add_argument("--verbose", action="store_true", help="stream libFuzzer's own log")
    args = parser.parse_args()
    if args.replay:
        run_one(args.replay.read_bytes(), args.timeout)
        print("no failure")
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "mutate"
    if engine == "atheris" and args.verbose:
        return run_atheris(args.seconds, args.timeout, args.artifacts)
    if engine == "atheris":
        return run_atheris_quietly(args.seconds, args.timeout, args.artifacts)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    return run_mutate(args.seconds, args.timeout, args.artifacts, seed)


if __name__ == "__main__":
    sys.exit(main())
