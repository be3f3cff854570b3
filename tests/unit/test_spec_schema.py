"""The JSON Schema itself: valid 2020-12, documented, anchored patterns, real format checks, and
the compiled fast check agreeing with jsonschema."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from paperspace_deploy.spec import lint_file
from paperspace_deploy.spec.schema import (
    FORMATS,
    fast_is_valid,
    format_checker,
    is_uri,
    schema,
    schema_text,
    validator,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def walk(node: Any, path: str = "#"):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


def test_schema_is_valid_2020_12():
    s = schema()
    Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["$id"].endswith("/schemas/deployment-spec.schema.json")
    assert json.loads((REPO / "schemas" / "deployment-spec.schema.json").read_text()) == s


def _definitions(node: dict) -> bool:
    """A property schema that defines a value (not a shape's extra constraint on it)."""
    return any(k in node for k in ("type", "$ref", "enum", "const"))


def test_every_property_has_title_and_description():
    missing, declared, defined = [], set(), set()
    for path, node in walk(schema()):
        if "/if" in path:  # conditions, not definitions
            continue
        for name, sub in node.get("properties", {}).items():
            if sub is True:  # declared here, defined by the shape/variant branches
                declared.add(name)
            elif isinstance(sub, dict) and _definitions(sub):
                defined.add(name)
                if not (sub.get("title") and sub.get("description")):
                    missing.append(f"{path}/properties/{name}")
    assert not missing
    assert declared and declared <= defined  # every `true` key has a documented schema


def test_markdown_description_next_to_every_description():
    """Editors render markdownDescription (backticks as code); description is for the rest."""
    for path, node in walk(schema()):
        if "description" in node:
            assert node.get("markdownDescription") == node["description"], path
        else:
            assert "markdownDescription" not in node, path


def test_keys_refused_per_shape_are_false_subschemas():
    """`false` makes editors say "Property port is not allowed" at the key, where lint points;
    `not: {}` said "Matches a schema that is not allowed" on the value."""
    text = schema_text()
    assert '"not"' not in text
    s = schema()
    v0, v1 = s["$defs"]["v0Shape"]["properties"], s["$defs"]["v1Shape"]["properties"]
    assert {k for k, v in v1.items() if v is False} == {"port", "models", "repositories"}
    assert {k for k, v in v0.items() if v is False} == {"integrations", "basicAuthKey"}
    assert v1["resources"]["properties"]["instanceType"] is False
    probe = s["$defs"]["probe"]
    assert probe["then"]["properties"] == dict.fromkeys(("path", "port", "host", "headers"), False)


def test_patterns_are_anchored_and_length_capped():
    for path, node in walk(schema()):
        if "pattern" in node:
            assert node["pattern"].startswith("^") and node["pattern"].endswith("$"), path
            assert "maxLength" in node, path


def test_no_remote_refs():
    for _, node in walk(schema()):
        if "$ref" in node:
            assert node["$ref"].startswith("#/"), node["$ref"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_we_use_is_really_checked(fmt: str):
    checker = format_checker()
    assert fmt in checker.checkers
    bad = {"uri": ["not a uri", "no-scheme", "http://exa mple.com", "https://h:99999/"]}[fmt]
    good = {"uri": ["https://huggingface.co/x", "s3://bucket/", "git+ssh://h/r.git"]}[fmt]
    for value in bad:
        assert not checker.conforms(value, fmt), value
    for value in good:
        assert checker.conforms(value, fmt), value
    used = {node["format"] for _, node in walk(schema()) if "format" in node}
    assert used <= set(FORMATS)


def test_validator_rejects_bad_uri_through_the_schema():
    errors = list(validator().iter_errors({
        "apiVersion": "v1", "name": "a", "image": "a",
        "resources": {"machineType": "C5", "ports": [1]},
        "integrations": [{"type": "git-lfs", "name": "m", "url": "not a uri"}],
    }))  # fmt: skip
    assert [e.validator for e in errors] == ["format"]
    assert not is_uri("not a uri")


def test_instance_schema_key_is_ignored_and_never_fetched():
    data = {
        "$schema": "http://127.0.0.1:9/x.json",
        "apiVersion": "v1",
        "name": "a",
        "image": "a",
        "resources": {"machineType": "C5", "ports": [1]},
    }
    assert list(validator().iter_errors(data)) == []


def test_schema_command_text_is_the_file():
    assert schema_text() == (REPO / "schemas" / "deployment-spec.schema.json").read_text()


def _samples() -> list[dict[str, Any]]:
    out = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.is_file() and path.suffix in (".yaml", ".json", ".jsonc", ".toml"):
            data = lint_file(path).data
            if data is not None:
                out.append(data)
    return out


def _mutations(data: dict[str, Any], rng: random.Random, count: int):
    odd = [
        None,
        True,
        0,
        -1,
        1.5,
        70000,
        "",
        "x",
        "UPPER case",
        [],
        {},
        [1],
        {"a": 1},
        "secret:bad-name",
        "v2",
        "exec",
        10**30,
    ]
    for _ in range(count):
        doc = copy.deepcopy(data)
        nodes = [n for _, n in walk(doc)] + [lst for lst in _lists(doc)]
        node = rng.choice(nodes)
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            action = rng.random()
            if action < 0.3:
                del node[key]
            elif action < 0.8:
                node[key] = rng.choice(odd)
            else:
                node[key + "x"] = 1
        elif isinstance(node, list) and node:
            node[rng.randrange(len(node))] = rng.choice(odd)
        yield doc


def _lists(node: Any):
    if isinstance(node, dict):
        for v in node.values():
            yield from _lists(v)
    elif isinstance(node, list):
        yield node
        for v in node:
            yield from _lists(v)


def test_fast_check_agrees_with_jsonschema():
    fast = fast_is_valid()
    assert fast is not None
    rng = random.Random(20261127)
    checked = invalid = 0
    for data in _samples():
        for doc in [data, *_mutations(data, rng, 60)]:
            expected = not any(True for _ in validator().iter_errors(doc))
            assert fast(doc) == expected, doc
            checked += 1
            invalid += not expected
    assert checked > 3000 and invalid > 1000


def test_built_package_carries_the_schema(tmp_path: Path):
    """setup.py copies schemas/*.json into paperspace_deploy/data/, which schema_text() reads."""
    import subprocess
    import sys

    build = tmp_path / "build"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build)],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    assert (build / "paperspace_deploy" / "data" / "deployment-spec.schema.json").is_file()
    code = (
        "import paperspace_deploy.spec.schema as s, json, sys;"
        "assert s.__file__.startswith(sys.argv[1]), s.__file__;"
        "print(json.loads(s.schema_text())['title'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(build)],
        cwd=tmp_path, env={"PYTHONPATH": str(build)}, capture_output=True, text=True,
    )  # fmt: skip
    assert out.stdout.strip() == "Paperspace deployment spec", out.stderr


def _lint(text: str) -> list[tuple[int, int, str]]:
    from paperspace_deploy.spec import lint_bytes

    return [(f.line, f.col, f.rule) for f in lint_bytes(text.encode(), "p.yaml").findings]


V1 = "apiVersion: v1\nname: a\nimage: a\nresources: {machineType: C5, ports: [1]}\n"


def test_a_key_refused_by_the_shape_gets_one_finding_at_the_key():
    """Before the `false` subschemas, `port: '80'` in v1 gave key-not-allowed AND a wrong-type
    for a value that must go anyway; now only the key is reported, as the editor does."""
    assert _lint(V1 + "port: '80'\n") == [(5, 1, "key-not-allowed")]
    probe = "healthChecks: {liveness: {exec: {command: [x]}, port: 'x', path: 3}}\n"
    assert _lint(V1 + probe) == [(5, 49, "key-not-allowed"), (5, 60, "key-not-allowed")]
    secret = "apiVersion: v0alpha0\nname: a\nimage: a\nport: 80\nresources: {instanceType: C4}\n"
    from paperspace_deploy.spec import lint_bytes

    spec = lint_bytes((secret + "basicAuthKey: 'hunter2-value'\n").encode(), "p.yaml")
    assert sorted(f.rule for f in spec.findings) == ["key-not-allowed", "plaintext-credential"]
    # jsonschema's own text for a false schema quotes the value
    assert not any("hunter2" in f.message for f in spec.findings)


def test_an_unknown_api_version_is_checked_like_latest():
    """`apiVersion: v2` used to switch every shape check off; now the legacy markers decide, as
    for `latest` (a typo such as v0alpha with `port` still gets the legacy shape)."""
    v2 = "apiVersion: v2\nname: a\nimage: a\nresources: {}\n"
    assert [r for _, _, r in _lint(v2)] == ["invalid-value", "missing-key", "missing-key"]
    legacy = "apiVersion: v0alpha\nname: a\nimage: a\nport: 80\nresources: {instanceType: C4}\n"
    assert [r for _, _, r in _lint(legacy)] == ["invalid-value"]
