"""The local stand-in for project/team secrets in run mode: `--secrets-file FILE`.

Either a JSON object `{"NAME": "value"}` or dotenv-style lines `NAME=value` (blank lines and
`# comments` ignored, an optional `export ` prefix, blanks around the value and one pair of
matching quotes stripped). Names follow the API's rule `^[A-Za-z][A-Za-z0-9_]*$`, values
1..8192 characters. Errors name the file and line, never a value.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from paperspace_deploy.errors import UsageError

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
MAX_BYTES = 1024 * 1024
MAX_VALUE = 8192


def _check(path: Path, line: int, name: str, value: object) -> str:
    where = f"{path}:{line}" if line else str(path)
    if not NAME.match(name):
        raise UsageError(
            f"{where}: {name[:40]!r} is not a valid secret name",
            hint="names start with a letter and use letters, digits and _ (like the API's)",
        )
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_VALUE:
        raise UsageError(f"{where}: secret {name} must be a string of 1..{MAX_VALUE} characters")
    return value


def load_secrets(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read secrets file {path}: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise UsageError(f"secrets file {path} is larger than {MAX_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"secrets file {path} is not UTF-8") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise UsageError(f"secrets file {path} must hold a JSON object")
        return {str(k): _check(path, 0, str(k), v) for k, v in data.items()}
    secrets: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        name, sep, value = stripped.partition("=")
        if not sep:
            raise UsageError(f"{path}:{number}: expected NAME=value")
        name, value = name.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        secrets[name] = _check(path, number, name, value)
    return secrets
