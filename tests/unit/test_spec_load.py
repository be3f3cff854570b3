"""The bounded loader: YAML 1.2 scalars, positions, keys, aliases, encodings, unreadable paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from paperspace_deploy.errors import UsageError
from paperspace_deploy.spec import (
    DEFAULT_SPEC_PATHS,
    find_default_spec,
    lint_bytes,
    lint_file,
)
from paperspace_deploy.spec.load import parse_bytes


def load(text: str, suffix: str = ".yaml"):
    return parse_bytes(text.encode(), "t" + suffix, suffix)


def test_pyyaml_global_resolvers_untouched():
    load("k: on\nj: 012\n")
    assert yaml.safe_load("k: on") == {"k": True}
    assert yaml.safe_load("k: 012") == {"k": 10}
    assert yaml.load("k: yes", Loader=yaml.CSafeLoader) == {"k": True}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("on", "on"), ("yes", "yes"), ("No", "No"), ("true", True), ("FALSE", False),
        ("~", None), ("null", None), ("", None), ("12", 12), ("-3", -3), ("1.5", 1.5),
        ("1e3", 1000.0), ("0x1F", "0x1F"), ("1_000", "1_000"), ("22:22", "22:22"),
        ("2024-01-01", "2024-01-01"), ("'012'", "012"), ('"8000"', "8000"),
        ("!!str 123", "123"), ("!!int '12'", 12), ("!!float 2", 2.0), ("! 5", "5"),
    ],
)  # fmt: skip
def test_yaml_12_scalars(text: str, value: object):
    parsed = load(f"k: {text}\n")
    assert parsed.data == {"k": value}
    assert type(parsed.data["k"]) is type(value)


def test_yaml11_hint_is_attached_where_meaning_changes():
    parsed = load("enabled: yes\nport: 22:22\n")
    assert "boolean" in parsed.hints[("enabled",)]
    assert "base 2/16/60" in parsed.hints[("port",)]


def test_merge_keys_and_aliases_within_budget():
    parsed = load("base: &b {x: 1, y: 1}\nm:\n  <<: *b\n  y: 2\nl: [*b, *b]\n")
    assert parsed.findings == []
    assert parsed.data["m"] == {"x": 1, "y": 2}
    assert parsed.data["l"] == [{"x": 1, "y": 1}] * 2


def test_duplicate_key_names_both_lines():
    parsed = load("a: 1\nb: 2\na: 3\n")
    (f,) = parsed.findings
    assert (f.line, f.col, f.rule) == (3, 1, "duplicate-key")
    assert "first defined at line 1" in f.message


def test_non_string_keys():
    parsed = load("1: a\ntrue: b\nnull: c\non: d\n")
    assert [(f.line, f.rule) for f in parsed.findings] == [
        (1, "non-string-key"),
        (2, "non-string-key"),
        (3, "non-string-key"),
    ]
    assert "quote '1'" in parsed.findings[0].message
    assert parsed.data == {"on": "d"}  # YAML 1.1 would have collapsed on/true/1 into True


def test_bom_accepted_and_crlf():
    parsed = parse_bytes(b"\xef\xbb\xbfname: a\r\nimage: b\r\n", "t", ".yaml")
    assert parsed.data == {"name": "a", "image": "b"} and not parsed.findings


def test_invalid_utf8_position():
    parsed = parse_bytes(b"name: a\nimage: \xff\n", "t", ".yaml")
    (f,) = parsed.findings
    assert (f.line, f.col, f.rule) == (2, 8, "encoding")
    assert "byte offset 15" in f.message


def test_syntax_error_never_echoes_the_line():
    secret = "ghs_FAKEFAKEFAKEFAKE"
    parsed = load(f"key: {secret}: more\n")
    (f,) = parsed.findings
    assert f.rule == "yaml-syntax" and secret not in f.message


def test_locate_values_keys_and_ancestors():
    spec = lint_bytes(b"name: a\nresources:\n  ports:\n    - 80\n", "t")
    assert spec.locate(["resources", "ports", 0]) == (4, 7)
    assert spec.locate(["resources", "ports"], key=True) == (3, 3)
    assert spec.locate(["resources", "nope", 3]) == (2, 1)  # nearest ancestor (its key)
    assert spec.locate([]) == (1, 1)
    assert spec.locate(["zzz"]) == (1, 1)


def test_plaintext_credentials_are_never_echoed():
    token = "ghp_" + "A1b2C3d4" * 5
    spec = lint_bytes(
        f"apiVersion: v1\nname: a\nimage: a\nresources: {{machineType: C5, ports: [80]}}\n"
        f"env:\n  - {{name: T, value: {token}}}\n  - {{name: N, value: 8000}}\n"
        f"  - {{name: DB_PASSWORD, value: hunter2hunter2}}\n"
        f"basicAuthKey: plain-text-key\n".encode(),
        "t",
    )
    rules = {f.rule for f in spec.findings}
    assert {"plaintext-credential", "possible-plaintext-credential", "wrong-type"} <= rules
    text = " ".join(f.message for f in spec.findings)
    for leaked in (token, "8000", "hunter2", "plain-text-key"):
        assert leaked not in text


def test_long_values_are_truncated():
    spec = lint_bytes(("name: " + "é" * 5000 + "\n").encode(), "t")
    assert spec.findings and all(len(f.message) < 400 for f in spec.findings)


def test_unreadable_paths_raise_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match="not found"):
        lint_file(tmp_path / "missing.yaml")
    with pytest.raises(UsageError, match="directory"):
        lint_file(tmp_path)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        lint_file(fifo)  # returns at once: opened non-blocking, never read
    with pytest.raises(UsageError, match="not a regular file"):
        lint_file(Path("/dev/zero"))  # never read: no hang, no memory blow-up
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    with pytest.raises(UsageError, match="symlink loop"):
        lint_file(tmp_path / "a.yaml")


def test_find_default_spec_order(tmp_path: Path):
    assert find_default_spec(tmp_path) is None
    (tmp_path / ".paperspace").mkdir()
    (tmp_path / ".paperspace" / "app.yaml").write_text("x: 1\n")
    assert find_default_spec(tmp_path) == tmp_path / ".paperspace" / "app.yaml"
    (tmp_path / "paperspace.toml").write_text("x = 1\n")
    assert find_default_spec(tmp_path) == tmp_path / "paperspace.toml"
    assert DEFAULT_SPEC_PATHS[0] == "paperspace.yaml"
    assert DEFAULT_SPEC_PATHS[-1] == ".paperspace/app.toml"


def test_json_errors_and_comments():
    assert load('{"a": 1} // c', ".json").findings[0].rule == "json-syntax"
    assert load('{"a": 1} // c', ".jsonc").data == {"a": 1}
    assert load('{"a": NaN}', ".json").findings[0].rule == "json-syntax"
    assert load('{"a": 01}', ".json").findings[0].rule == "json-syntax"
    assert load('{"a": 1}{"b": 2}', ".json").findings[0].rule == "json-syntax"
    assert load('{"a": [1, 2', ".json").findings[0].rule == "json-syntax"
    assert load("[1]", ".json").findings[0].rule == "top-level-type"


def test_toml_positions():
    spec = lint_bytes(b'name = "a"\n[resources]\nreplicas = "x"\n', "t.toml", ".toml")
    f = next(f for f in spec.findings if f.rule == "wrong-type")
    assert (f.line, f.col) == (3, 12)


TOKENS = ["a", "name", ":", ": ", " ", "  ", "\n", "- ", "[", "]", "{", "}", ",", "&x ", "*x",
          "!!str ", "!!python/x ", "!x ", "'", '"', "#", "---\n", "<<: ", "? ", "|\n", ">\n",
          "\t", "0", "012", "0128", "-09", "0x1G", "1_0", "1:2", ".nan", ".Inf", "-.5", "yes",
          "é", "\\", "=", "[[", "]]", '"k" = ', "//", "/*",
          "*/", "1e3", "true", "null", "~", "%YAML 1.2\n", "...\n", "\r\n", "\u202e"]  # fmt: skip


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".jsonc", ".toml"])
def test_token_soup_never_raises(suffix: str):
    """Property: any input gives data or findings, never an exception (reliability §3.5)."""
    import random

    rng = random.Random(f"soup{suffix}")
    outcomes = {"data": 0, "findings": 0}
    for _ in range(1500):
        text = "".join(rng.choice(TOKENS) for _ in range(rng.randrange(1, 40)))
        spec = lint_bytes(text.encode(), "soup" + suffix, suffix)
        assert spec.data is not None or spec.errors
        outcomes["data" if spec.data is not None else "findings"] += 1
        for f in spec.findings:
            assert f.line >= 1 and f.col >= 1 and "\n" not in f.message
    assert outcomes["findings"] > 100


def test_mutated_real_specs_never_raise():
    import json
    import random

    from paperspace_deploy.spec import lint_file

    rng = random.Random(7)
    odd = [None, True, 3, -1, 2.5, "", "x", [], {}, [None], {"k": []}, "secret:", "sec ret"]
    base = Path(__file__).resolve().parents[1] / "fixtures"
    docs = [lint_file(p).data for p in sorted(base.glob("*/*.yaml"))]
    for data in filter(None, docs):
        for _ in range(150):
            doc = json.loads(json.dumps(data))
            node = doc
            for _ in range(rng.randrange(1, 4)):  # walk down a random path, then break it
                if isinstance(node, dict) and node:
                    key = rng.choice(list(node))
                    if rng.random() < 0.5 or not isinstance(node[key], dict | list):
                        node[key] = rng.choice(odd)
                        break
                    node = node[key]
                elif isinstance(node, list) and node:
                    i = rng.randrange(len(node))
                    if not isinstance(node[i], dict | list):
                        node[i] = rng.choice(odd)
                        break
                    node = node[i]
            lint_bytes(json.dumps(doc).encode(), "m.json", ".json")


def test_json_parser_agrees_with_the_json_module():
    """Differential test: our positional JSON parser accepts exactly what json.loads accepts."""
    import json
    import random

    tokens = ["{", "}", "[", "]", ",", ":", '"a"', '"b"', "1", "-0.5", "true", "null", " ", "\n"]
    rng = random.Random(3)
    agreed_valid = 0
    for _ in range(4000):
        text = "".join(rng.choice(tokens) for _ in range(rng.randrange(1, 14)))
        if rng.random() < 0.5:
            text = "{" + text + "}"
        try:
            expected = json.loads(text)
            valid = True
        except ValueError:
            valid = False
        parsed = load(text, ".json")
        syntax_ok = not any(f.rule in ("json-syntax", "empty-file") for f in parsed.findings)
        assert syntax_ok == valid, text
        if valid and isinstance(expected, dict) and not parsed.findings:
            assert parsed.data == expected, text
            agreed_valid += 1
    assert agreed_valid > 20


@pytest.mark.parametrize(
    ("text", "suffix", "col"),
    [('{"a":1,,"b":2}', ".json", 8), ('{,"a":1}', ".json", 2), ("{,}", ".jsonc", 2),
     ('{"a":1,}', ".json", 8), ('{"a":}', ".json", 6), ('{"a":1}}', ".json", 8)],
)  # fmt: skip
def test_json_grammar_errors(text: str, suffix: str, col: int):
    (f,) = load(text, suffix).findings
    assert (f.line, f.col, f.rule) == (1, col, "json-syntax")


def test_scalar_resolution_never_raises():
    """Every short plain or core-tagged scalar resolves to a value or a finding."""
    import random

    rng = random.Random(11)
    chars = "0123456789+-._:eExXbBoO~ aInNfFtTy"
    for _ in range(6000):
        word = "".join(rng.choice(chars) for _ in range(rng.randrange(1, 9))).strip() or "0"
        tag = rng.choice(["", "!!int ", "!!float ", "!!bool ", "!!null ", "!!str "])
        parsed = load(f"k: {tag}{word}\n")
        assert parsed.data is not None or parsed.findings, word
