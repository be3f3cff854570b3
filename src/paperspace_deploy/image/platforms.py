"""Target platforms: parse `os/arch[/variant]`, and check the built image against the request.

The legacy builder answers `--platform linux/arm64` on an amd64 engine with exit 0 and an x86_64
image; a deployment would then fail on the node, or worse, run. So every build's image is
inspected and its OS/architecture compared with what was asked, on every path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from paperspace_deploy.errors import InputError

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm"}
_PART = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Platform:
    os: str
    arch: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)


def parse_platform(text: str) -> Platform:
    parts = text.strip().lower().split("/")
    if not 2 <= len(parts) <= 3 or not all(_PART.match(p) for p in parts):
        raise InputError(
            f"invalid platform {text.strip()[:80]!r}",
            hint="use os/arch[/variant], e.g. linux/amd64 or linux/arm64",
        )
    arch = _ARCH_ALIASES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else None
    if arch == "arm64" and variant == "v8":  # the default arm64 variant
        variant = None
    return Platform(parts[0], arch, variant)


def split_platforms(values: list[str]) -> list[str]:
    """`["linux/amd64,linux/arm64"]` -> two entries, validated, de-duplicated, in order."""
    out: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            if part.strip():
                out.setdefault(str(parse_platform(part)), None)
    return list(out)


def image_platform(inspect: Mapping[str, Any]) -> Platform:
    arch = str(inspect.get("Architecture") or "")
    variant = inspect.get("Variant") or None
    if arch == "arm64" and variant == "v8":
        variant = None
    return Platform(str(inspect.get("Os") or ""), _ARCH_ALIASES.get(arch, arch), variant)


def check_image_platform(inspect: Mapping[str, Any], wanted: str, builder: str) -> None:
    """Refuse an image built for another platform than the one requested."""
    want, got = parse_platform(wanted), image_platform(inspect)
    if (got.os, got.arch) != (want.os, want.arch) or (want.variant and got.variant != want.variant):
        raise InputError(
            f"the {builder} built a {got} image, but {want} was requested; nothing was pushed",
            hint="build on a machine of that architecture, or with BuildKit and QEMU "
            "(docker/setup-qemu-action) or a docker-container builder for that platform",
        )
