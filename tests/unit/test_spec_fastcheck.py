"""spec/fastcheck.py: the compiled yes/no check agrees with jsonschema on every fixture file, the
real-world corpora and mutations of them, and the `items` shortcut yields the same errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from paperspace_deploy.spec import schema
from paperspace_deploy.spec.fastcheck import Unsupported, compile_schema
from paperspace_deploy.spec.load import parse_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SUFFIXES = (".yaml", ".yml", ".json", ".jsonc", ".toml")


def _specs() -> list[tuple[str, Any]]:
    out = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        parsed = parse_bytes(path.read_bytes(), str(path), path.suffix)
        if isinstance(parsed.data, dict):
            out.append((str(path.relative_to(FIXTURES)), parsed.data))
    return out


SPECS = _specs()


def _mutations(data: dict[str, Any]) -> list[Any]:
    """Small edits that flip validity in the ways users get wrong: types, enums, extra keys."""
    out: list[Any] = []
    for key, value in data.items():
        for replacement in ("x", 8000.0, True, None, [], {}, -1):
            changed = copy.deepcopy(data)
            changed[key] = replacement
            out.append(changed)
        if isinstance(value, dict):
            changed = copy.deepcopy(data)
            changed[key] = {**value, "notAKey": 1}
            out.append(changed)
    out.append({**data, "unknownTopLevel": 1})
    return out


def reference_valid(data: Any) -> bool:
    return not any(True for _ in schema.validator(skip_valid_items=False).iter_errors(data))


def test_the_corpus_is_large_and_mixed() -> None:
    verdicts = [reference_valid(data) for _, data in SPECS]
    assert len(SPECS) >= 100 and any(verdicts) and not all(verdicts)


@pytest.mark.parametrize(("name", "data"), SPECS, ids=[n for n, _ in SPECS])
def test_fast_check_agrees_with_jsonschema(name: str, data: dict[str, Any]) -> None:
    fast = schema.fast_is_valid()
    assert fast is not None  # our schema uses only keywords the compiler covers
    for candidate in [data, *_mutations(data)]:
        assert fast(candidate) == reference_valid(candidate), name


@pytest.mark.parametrize(("name", "data"), SPECS[::5], ids=[n for n, _ in SPECS[::5]])
def test_skipping_valid_items_gives_the_same_errors(name: str, data: dict[str, Any]) -> None:
    def errors(v: Any, candidate: Any) -> list[tuple[str, str]]:
        found = [(e.json_path, e.message) for e in v.iter_errors(candidate)]
        return sorted(found)

    fast, plain = schema.validator(), schema.validator(skip_valid_items=False)
    for candidate in [data, *_mutations(data)]:
        assert errors(fast, candidate) == errors(plain, candidate), name


def test_an_unknown_keyword_is_refused_not_guessed() -> None:
    with pytest.raises(Unsupported):
        compile_schema({"type": "string", "contentEncoding": "base64"}, {})
