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
def validator():  # type: ignore[no-untyped-def]
    from jsonschema import Draft202012Validator, validators
    from referencing import Registry

    # `integer` means an int: 8000.0 or 1e3 in a port or replica count is a mistake, even though
    # JSON Schema counts 1.0 as an integer
    types = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool)
    )
    cls = validators.extend(Draft202012Validator, type_checker=types)
    return cls(schema(), format_checker=format_checker(), registry=Registry())


@functools.cache
def fast_is_valid():  # type: ignore[no-untyped-def]
    """The compiled yes/no check, or None if the schema uses a keyword it does not cover."""
    from paperspace_deploy.spec.fastcheck import Unsupported, compile_schema

    try:
        return compile_schema(schema(), {"uri": is_uri})
    except Unsupported:
        return None
