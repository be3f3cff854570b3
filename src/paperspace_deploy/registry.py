"""The `containerRegistry` check: the name must be one of the team's registry connections.

Connections come from `GET /container-registries` (every page) or, for PR linting without an API
key, from an offline list (`--registries a,b` or `--registries-file`). With neither, the check is
skipped with a notice rather than failing.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paperspace_deploy.errors import UsageError
from paperspace_deploy.image.reference import normalize_registry, registry_of, split_tag
from paperspace_deploy.spec.findings import Finding, Severity

if TYPE_CHECKING:
    from paperspace_deploy.api.client import ApiClient

Locate = Callable[[Sequence[str | int]], tuple[int, int] | None]
MAX_FILE = 1024 * 1024


@dataclass
class Connections:
    names: list[str]
    urls: dict[str, str] = field(default_factory=dict)  # name -> url (only from the API)
    source: str = "api"


def from_api(client: ApiClient) -> Connections:
    items = client.list_registries()
    names, urls = [], {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])  # compared raw; printed only through _show()
            if isinstance(item.get("url"), str):
                urls[item["name"]] = item["url"]
    return Connections(names, urls, "api")


def from_offline(names: list[str], names_file: Path | None) -> Connections:
    """An offline list: names (already split) and/or a file -- JSON (a list of names or
    {name, url} objects, or {"items": [...]}) or one name per line. `names_file` must already be
    checked to be a regular file inside the workspace (`workspace.contained`)."""
    found: list[str] = [n.strip() for n in names if n.strip()]
    urls: dict[str, str] = {}
    if names_file:
        path = Path(names_file)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_FILE + 1)
        except OSError as exc:
            raise UsageError(f"cannot read registries file {path}: {exc.strerror}") from None
        if len(raw) > MAX_FILE:
            raise UsageError(f"registries file {path} is larger than 1 MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"registries file {path} is not UTF-8 text") from None
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = [line.strip() for line in text.splitlines()]
            data = [line for line in data if line and not line.startswith("#")]
        if isinstance(data, dict):
            data = data.get("items", [])
        if not isinstance(data, list):
            raise UsageError(f"registries file {path}: expected a list of names")
        for entry in data:
            if isinstance(entry, str):
                found.append(entry)
            elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
                found.append(entry["name"])
                if isinstance(entry.get("url"), str):
                    urls[entry["name"]] = entry["url"]
            else:
                raise UsageError(f"registries file {path}: entries must be names or objects")
    return Connections(found, urls, "offline")


def _show(text: str) -> str:
    from paperspace_deploy.safetext import one_line

    return one_line(text, 100)


def check_registry(
    data: Mapping[str, Any],
    *,
    path: str,
    locate: Locate,
    connections: Connections | None,
    image: str | None = None,
) -> list[Finding]:
    name = data.get("containerRegistry")
    if not isinstance(name, str) or not name:
        return []
    line, col = locate(["containerRegistry"]) or (1, 1)

    def finding(severity: Severity, rule: str, message: str, at: tuple[int, int]) -> Finding:
        return Finding(path, at[0], at[1], severity, rule, message)

    if connections is None:
        return [
            finding(
                Severity.NOTICE,
                "registry-check-skipped",
                f"registry check skipped: containerRegistry {_show(name)!r} not verified (lint "
                "never asks the API; pass the connection names with --registries or the "
                "container-registries input, or plan/deploy check it)",
                (line, col),
            )
        ]
    if name not in connections.names:
        where = "in your team" if connections.source == "api" else "in the offline list"
        message = f"registry connection {_show(name)!r} not found {where}"
        folded = [n for n in connections.names if n.lower() == name.lower()]
        close = folded or difflib.get_close_matches(name, connections.names, n=3, cutoff=0.6)
        if close:
            message += f"; did you mean {' or '.join(repr(_show(c)) for c in close)}?"
        if connections.names:
            shown = [_show(n) for n in sorted(connections.names)[:10]]
            more = len(connections.names) - len(shown)
            message += f" Existing: {', '.join(shown)}{f' (+{more} more)' if more > 0 else ''}."
        else:
            message += " No registry connections exist; create one in the console."
        message += f" (checked {len(connections.names)} connections)"
        return [finding(Severity.ERROR, "registry-unknown", message, (line, col))]
    url = connections.urls.get(name)
    image = image or data.get("image")
    if url and isinstance(image, str) and image and not image.startswith(":"):
        want, have = normalize_registry(url), registry_of(split_tag(image.partition("@")[0])[0])
        if want and want != have:
            at = locate(["image"]) or (line, col)
            return [
                finding(
                    Severity.WARNING,
                    "registry-host-mismatch",
                    f"image host {have!r} does not match registry connection {name!r} "
                    f"({want}); its credentials will not be used to pull this image",
                    at,
                )
            ]
    return []
