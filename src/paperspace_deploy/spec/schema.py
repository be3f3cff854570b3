"""The deployment-spec JSON Schema: where it lives, and the one validator built from it.

`schemas/deployment-spec.schema.json` at the repository top is the single source; the wheel carries
a copy in `paperspace_deploy/data/` (setup.py). No remote `$ref` is ever retrieved, and every
`format` the schema uses has a checker registered here (jsonschema silently skips formats whose
optional checker package is missing).
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCHEMA_NAME = "deployment-spec.schema.json"
FORMATS = ("uri",)

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_NO_SPACE = re.compile(r"[^\s\x00-\x1f\x7f]+")


def schema_text() -> str:
    try:
        return resources.files("paperspace_deploy").joinpath("data", SCHEMA_NAME).read_text("utf-8")
    except (FileNotFoundError, NotADirectoryError, OSError):
        repo = Path(__file__).resolve().parents[3] / "schemas" / SCHEMA_NAME  # editable install
        return repo.read_text("utf-8")


@functools.cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_text())
    return data


def is_uri(value: object) -> bool:
    """RFC 3986 absolute URI, strictly enough for specs: scheme, no blanks, host or path."""
    if not isinstance(value, str):
        return True
    if not _NO_SPACE.fullmatch(value) or len(value) > 2048:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError:
        return False
    return bool(_SCHEME.fullmatch(parts.scheme)) and bool(parts.netloc or parts.path)


def format_checker():  # type: ignore[no-untyped-def]
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())  # only what we register: nothing passes by omission
    checker.checks("uri")(is_uri)
    return checker


@functools.cache
def validator(skip_valid_items: bool = True):  # type: ignore[no-untyped-def]
    """The one validator. With `skip_valid_items`, list items the compiled check passes are not
    walked (same errors, tested; False gives plain jsonschema, the reference in tests)."""
    from jsonschema import Draft202012Validator, validators
    from referencing import Registry

    # `integer` means an int: 8000.0 or 1e3 in a port or replica count is a mistake, even though
    # JSON Schema counts 1.0 as an integer
    types = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool)
    )
    keywords = {}
    if skip_valid_items:
        keywords["items"] = _items_skipping_valid(Draft202012Validator.VALIDATORS["items"])
    cls = validators.extend(Draft202012Validator, validators=keywords, type_checker=types)
    return cls(schema(), format_checker=format_checker(), registry=Registry())


def _items_skipping_valid(items_keyword):  # type: ignore[no-untyped-def]
    """jsonschema's `items`, but items the compiled check passes are not descended into: they
    would yield no error, and 65,535 valid ports would otherwise cost jsonschema ~0.5 s."""
    from paperspace_deploy.spec.fastcheck import Unsupported, compile_schema

    checks: dict[int, Any] = {}

    def items(validator, sub, instance, parent):  # type: ignore[no-untyped-def]
        if not isinstance(instance, list) or not isinstance(sub, dict) or "prefixItems" in parent:
            yield from items_keyword(validator, sub, instance, parent)
            return
        check = checks.get(id(sub))
        if check is None:
            try:
                check = compile_schema(schema(), {"uri": is_uri}, sub)
            except Unsupported:
                check = lambda _: False  # noqa: E731 -- always descend
            checks[id(sub)] = check
        for index, item in enumerate(instance):
            if not check(item):
                yield from validator.descend(instance=item, schema=sub, path=index)

    return items


@functools.cache
def fast_is_valid():  # type: ignore[no-untyped-def]
    """The compiled yes/no check, or None if the schema uses a keyword it does not cover."""
    from paperspace_deploy.spec.fastcheck import Unsupported, compile_schema

    try:
        return compile_schema(schema(), {"uri": is_uri})
    except Unsupported:
        return None
