"""A yes/no validity check compiled from our schema into plain closures.

jsonschema builds a validator object per subschema visit and was ~70 % of the time of linting
1,000 valid specs. Valid specs are the common case, so `lint` asks this compiled check first and
runs jsonschema (the source of every error message) only when the answer is "invalid".

It covers exactly the keywords our schema uses with jsonschema's Draft 2020-12 semantics (and our
strict `integer`, see schema.validator); any other
keyword makes `compile_schema` raise, and the caller then always uses jsonschema. Agreement with
jsonschema is tested on every fixture and broken corpus file (tests/unit/test_spec_fastcheck.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset((
    "title", "description", "markdownDescription", "default", "$schema", "$id", "$defs", "$comment",
))  # fmt: skip


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),  # as in schema.py
}


class Unsupported(Exception):
    pass


def compile_schema(root: dict[str, Any], formats: dict[str, Check]) -> Check:
    compiled: dict[str, Check] = {}

    def ref(pointer: str) -> Check:
        if not pointer.startswith("#/"):
            raise Unsupported(pointer)
        if pointer not in compiled:
            node: Any = root
            for part in pointer[2:].split("/"):
                node = node[part]
            compiled[pointer] = lambda v: True  # placeholder breaks reference cycles
            target = build(node)
            compiled[pointer] = target
        return lambda v: compiled[pointer](v)

    def build(schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        checks: list[Check] = []
        for key, value in schema.items():
            if key in _ANNOTATIONS or key in ("then", "else"):
                continue
            checks.append(keyword(key, value, schema))
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    def keyword(key: str, value: Any, schema: dict[str, Any]) -> Check:
        if key == "$ref":
            return ref(value)
        if key == "type":
            if not isinstance(value, str):
                raise Unsupported("type list")
            return _TYPES[value]
        if key in ("enum", "const"):
            options = value if key == "enum" else [value]
            if not all(isinstance(o, str) for o in options):
                raise Unsupported("non-string enum")
            allowed = frozenset(options)
            return lambda v: isinstance(v, str) and v in allowed
        if key == "required":
            names = tuple(value)
            return lambda v: not isinstance(v, dict) or all(n in v for n in names)
        if key == "properties":
            props = {name: build(sub) for name, sub in value.items()}
            items = tuple(props.items())
            return lambda v: not isinstance(v, dict) or all(c(v[n]) for n, c in items if n in v)
        if key == "additionalProperties":
            if value is not False or "patternProperties" in schema:
                raise Unsupported("additionalProperties")
            known = frozenset(schema.get("properties", {}))
            return lambda v: not isinstance(v, dict) or all(k in known for k in v)
        if key == "items":
            item = build(value)
            return lambda v: not isinstance(v, list) or all(item(x) for x in v)
        if key in ("minItems", "maxItems", "minLength", "maxLength"):
            n = value
            kind = list if key.endswith("Items") else str
            if key.startswith("min"):
                return lambda v: not isinstance(v, kind) or len(v) >= n
            return lambda v: not isinstance(v, kind) or len(v) <= n
        if key in ("minimum", "maximum"):
            bound = value
            if key == "minimum":
                return lambda v: not _is_number(v) or v >= bound
            return lambda v: not _is_number(v) or v <= bound
        if key == "pattern":
            search = re.compile(value).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if key == "format":
            fmt = formats.get(value)
            if fmt is None:
                raise Unsupported(f"format {value}")
            return lambda v: not isinstance(v, str) or fmt(v)
        if key == "allOf":
            subs = [build(s) for s in value]
            return lambda v: all(s(v) for s in subs)
        if key == "anyOf":
            subs = [build(s) for s in value]
            return lambda v: any(s(v) for s in subs)
        if key == "not":
            sub = build(value)
            return lambda v: not sub(v)
        if key == "if":
            cond = build(value)
            then = build(schema.get("then", True))
            other = build(schema.get("else", True))
            return lambda v: then(v) if cond(v) else other(v)
        raise Unsupported(key)

    return build(root)
