"""The hostile-input reproducers of issue 11 (a fuzzing campaign against the linter), as
regression fixtures: each is generated here (most are megabytes of one repeated token), and used
by tests/unit/test_spec_hostile.py (exit code, rule, no control character out, bounded memory),
benchmarks/lint_hostile_bench.py (time and memory, before vs after) and the fuzz target's seeds.

`before` says what the linter did with it before the fix (commit f16c734).
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
V1 = "apiVersion: v1\nname: a\nimage: ghcr.io/o/a:1\nresources: {machineType: C5, ports: [80]}\n"
# an open JSON object (add `, "key": ...}`) and a TOML head, both of a valid v1 spec
V1_JSON = (
    '{"apiVersion": "v1", "name": "a", "image": "a", '
    '"resources": {"machineType": "C5", "ports": [80]}'
)
V1_TOML = (
    'apiVersion = "v1"\nname = "a"\nimage = "a"\n'
    'resources.machineType = "C5"\nresources.ports = [80]\n'
)


@dataclass(frozen=True)
class Case:
    name: str
    suffix: str
    content: bytes
    rule: str  # a finding the file must produce
    before: str  # what lint did with it before the fix
    text_out: bool = False  # check the text report (not only JSON) for control characters


def _fill(head: str, item: str, tail: str, sep: str = ",", limit: int = MIB - 64) -> str:
    """head + item, item, ... + tail, as close to `limit` bytes as fits."""
    n = (limit - len(head) - len(tail)) // (len(item) + len(sep))
    return head + sep.join([item] * n) + tail


def _near_miss_keys() -> str:
    keys = "".join(f"resourcez{i:06d}: 1\n" for i in range(60_000))
    return (V1 + keys)[: MIB - 64].rsplit("\n", 1)[0] + "\n"


def _jwt_lookalikes() -> str:
    env = ",".join(f'{{"name": "A_TOKEN{i}", "value": "{"eyJ" * 21000}"}}' for i in range(15))
    return V1_JSON + ', "env": [' + env + "]}"


LONG = "x" * 118 + " y"

CASES: list[Case] = [
    # numbers Python's int() refuses, or that break every message that shows them
    Case(
        "json-int-5000-digits",
        ".json",
        ('{"name": ' + "1" * 5000 + "}").encode(),
        "number-too-large",
        "exit 70 (ValueError: int digit limit)",
    ),
    Case(
        "toml-int-5000-digits",
        ".toml",
        ("name = " + "1" * 5000 + "\n").encode(),
        "number-too-large",
        "exit 70 (ValueError in tomllib)",
    ),
    Case(
        "toml-hex-20000-digits",
        ".toml",
        (V1_TOML + "[resources.autoscaling]\nmaxReplicas = 0x" + "f" * 20000 + "\n").encode(),
        "number-too-large",
        "exit 70 (ValueError formatting jsonschema's message)",
    ),
    Case(
        "json-1e400",
        ".json",
        (V1_JSON + ', "port": 1e400}').encode(),
        "non-finite-number",
        "passed inf on to the schema (and to json.dumps in deploy)",
    ),
    # TOML nesting the old bracket count did not see
    Case(
        "toml-dotted-key-300",
        ".toml",
        (V1_TOML + ".".join(["a"] * 300) + " = 1\n").encode(),
        "too-deep",
        "passed (300 levels unflagged)",
    ),
    Case(
        "toml-header-300",
        ".toml",
        (V1_TOML + "[" + ".".join(["a"] * 300) + "]\nx = 1\n").encode(),
        "too-deep",
        "passed (300 levels unflagged)",
    ),
    Case(
        "toml-brackets-in-strings-300",
        ".toml",
        (V1_TOML + "command = " + '["]", ' * 300 + '"x"' + "]" * 300 + "\n").encode(),
        "too-deep",
        "passed: each '\"]\"' lowered the bracket count",
    ),
    Case(
        "toml-dotted-key-1000",
        ".toml",
        (".".join(["a"] * 1000) + " = 1\n").encode(),
        "too-deep",
        "exit 70 (RecursionError)",
    ),
    Case(
        "toml-dotted-key-32000-parts",
        ".toml",
        (".".join(["a"] * 32000) + " = 1\n").encode(),
        "too-deep",
        "4 GB inside tomllib (quadratic); MemoryError under a cap",
    ),
    # text from escapes reaching the terminal
    Case(
        "json-lone-surrogate-key",
        ".json",
        (V1_JSON + ', "healthChecks": {"\\ud800": {"path": "/", "port": 99}}}').encode(),
        "unknown-key",
        "exit 70 (UnicodeEncodeError writing the report)",
        text_out=True,
    ),
    Case(
        "json-escaped-controls",
        ".json",
        (
            V1_JSON + ', "healthChecks": {"\\u001b[2J\\u009b\\u202e\\u2028x": '
            '{"path": "/", "port": 99}}}'
        ).encode(),
        "probe-port",
        "ESC, CSI, a bidi override and U+2028 raw in the text report",
        text_out=True,
    ),
    Case(
        "yaml-escaped-controls",
        ".yaml",
        (V1 + 'healthChecks: {"\\e]0;owned\\a\\e[2J\\u2029": {path: /, port: 99}}\n').encode(),
        "probe-port",
        "ESC and BEL raw in the text report",
        text_out=True,
    ),
    Case(
        "yaml-long-key",
        ".yaml",
        (V1 + "healthChecks: {" + "k" * 1000 + ": {path: /, port: 99}}\n").encode(),
        "probe-port",
        "the 1,000-character key in full in the message",
    ),
    Case(
        "yaml-4kb-out-of-277-bytes",
        ".yaml",
        (f"a: &a '{LONG}'\nintegrations: [" + ",".join(["{type: *a}"] * 12) + "]\n").encode(),
        "invalid-value",
        "4.5 KB of messages (the 4 KB per-file bound did not hold)",
    ),
    # time and memory
    Case(
        "toml-header-of-blanks",
        ".toml",
        ("x = '''\"\"\"'''\ny = \"\"\"\n[" + " " * 4000 + '\n"""\n').encode(),
        "missing-key",
        "~20 s (the header regex backtracked cubically)",
    ),
    Case(
        "yaml-1mib-near-miss-keys",
        ".yaml",
        _near_miss_keys().encode(),
        "unknown-key",
        "3-14 s (an uncapped difflib suggestion per key)",
    ),
    Case(
        "json-1mib-unknown-keys",
        ".json",
        ("{" + ",".join(f'"k{i:x}":0' for i in range(110_000)) + "}")[: MIB - 64]
        .rsplit(",", 1)[0]
        .encode()
        + b"}",
        "too-many-nodes",
        "3.8 s",
    ),
    Case(
        "json-1mib-of-tokens",
        ".json",
        _fill(V1_JSON + ', "command": [', "0", "]}").encode(),
        "too-many-nodes",
        "2-10 s and 170 MB",
    ),
    Case(
        "json-1mib-of-empty-lists",
        ".json",
        _fill(V1_JSON + ', "command": [', "[]", "]}").encode(),
        "too-many-nodes",
        "1.7 s and 136 MB",
    ),
    Case(
        "jsonc-1mib-of-comments",
        ".jsonc",
        _fill(V1_JSON + ', "command": [', "/**/0", "]}").encode(),
        "too-many-nodes",
        "0.8 s",
    ),
    Case(
        "json-1mib-string",
        ".json",
        ('{"name": "' + "x" * (MIB - 64) + '"}').encode(),
        "invalid-string",
        "250 MB (a regex stack frame per character)",
    ),
    Case(
        "yaml-1mib-of-tokens",
        ".yaml",
        _fill(
            "apiVersion: v1\nname: a\nimage: a\nresources: {machineType: C5, ports: [", "1", "]}\n"
        ).encode(),
        "too-many-nodes",
        "1.8 s and 170 MB",
    ),
    Case(
        "toml-1mib-of-tokens",
        ".toml",
        _fill(V1_TOML + "command = [", "1", "]\n").encode(),
        "too-many-nodes",
        "~1 s in tomllib",
    ),
    Case(
        "toml-1mib-of-keys",
        ".toml",
        "".join(f"k{i:x}=1\n" for i in range(120_000))[: MIB - 64].rsplit("\n", 2)[0].encode()
        + b"\n",
        "too-many-nodes",
        "~1 s",
    ),
    Case(
        "yaml-alias-to-long-string",
        ".yaml",
        (
            V1
            + "x: &a '"
            + "y" * 60_000
            + "'\nenv: ["
            + ", ".join(["{name: A, value: *a}"] * 300)
            + "]\n"
        ).encode(),
        "alias-bomb",
        "18 MB of text from 5 KB of aliases, checked and (in deploy) sent",
    ),
    Case(
        "json-64kb-jwt-lookalikes",
        ".json",
        _jwt_lookalikes().encode(),
        "possible-plaintext-credential",
        "~40 s (the JWT pattern restarted inside each value)",
    ),
]

BY_NAME = {c.name: c for c in CASES}
