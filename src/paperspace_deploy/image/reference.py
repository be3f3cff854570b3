"""Image references, the one home for parsing them: split `--image`, find the registry host,
normalise registry names, compare a registry connection's URL with an image, tell loopback hosts.

Grammar from distribution/reference: the first path component is a registry host when it
contains a `.` or `:` or is `localhost`; otherwise the image lives on Docker Hub.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from paperspace_deploy.errors import InputError

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.?)+(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$"
)
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def _show(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def split_image_arg(text: str) -> tuple[str, str | None]:
    """`repo[:tag]` -> (repo, tag or None), validated. Digests are refused: we build, so we tag."""
    text = text.strip()
    if "@" in text:
        raise InputError(
            f"--image must be a repository to tag, not a digest reference: {_show(text)}",
            hint="pass the repository only, e.g. ghcr.io/org/app; the push computes the digest",
        )
    repo, tag = split_tag(text)
    if tag is not None and not TAG.match(tag):
        raise InputError(f"invalid tag {_show(tag)} in --image {_show(text)}")
    validate_repository(repo)
    return repo, tag


def split_tag(text: str) -> tuple[str, str | None]:
    """`host:5000/repo:tag` -> (`host:5000/repo`, `tag`); no tag -> None. Not validated."""
    if ":" in text.rsplit("/", 1)[-1]:
        repo, _, tag = text.rpartition(":")
        return repo, tag
    return text, None


def validate_repository(repo: str) -> None:
    host, path = split_host(repo)
    if host is not None and not _HOST.match(host):
        raise InputError(f"invalid registry host {_show(host)} in image {_show(repo)}")
    if not path:
        raise InputError(f"image {_show(repo)} has no repository path")
    for part in path.split("/"):
        if _COMPONENT.match(part):
            continue
        if _COMPONENT.match(part.lower()):
            raise InputError(
                f"invalid image reference {_show(repo)}: repository name must be lowercase",
                hint=f"use {_show((host + '/' if host else '') + path.lower())}",
            )
        raise InputError(
            f"invalid image reference {_show(repo)}: path component {_show(part)} may use only "
            "lowercase letters, digits and separators (. _ __ -)"
        )
    if len(repo) > 255:
        raise InputError(f"image name too long ({len(repo)} characters, at most 255)")


def split_host(repo: str) -> tuple[str | None, str]:
    """(registry host or None for Docker Hub, repository path)."""
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return None, repo


def registry_of(repo: str) -> str:
    host, _ = split_host(repo)
    return normalize_registry(host or DOCKER_HUB)


def normalize_registry(text: str) -> str:
    """`https://GHCR.io/` -> `ghcr.io`; Docker Hub aliases -> `docker.io`."""
    value = text.strip()
    value = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", value).rstrip("/")
    value = value.split("/", 1)[0].lower()
    if value.endswith("/v1") or value.endswith("/v2"):
        value = value[:-3]
    return DOCKER_HUB if value in _HUB_ALIASES else value


def repository_path(repo: str) -> str:
    """The path the registry API uses: Docker Hub's single names live under `library/`."""
    host, path = split_host(repo)
    if (host is None or normalize_registry(host) == DOCKER_HUB) and "/" not in path:
        return f"library/{path}"
    return path


def api_host(registry: str) -> str:
    return "registry-1.docker.io" if registry == DOCKER_HUB else registry


class Reference(NamedTuple):
    registry: str  # normalised: docker.io for every Docker Hub alias
    repository: str  # the path the registry API uses (library/ for Hub single names)
    reference: str  # tag or digest; latest when the image names neither


def parse_reference(image: str) -> Reference:
    """`host[:port]/repo[:tag][@digest]` as a registry reads it (lenient: not validated)."""
    name, _, digest = image.strip().partition("@")
    repo, tag = split_tag(name)
    return Reference(registry_of(repo), repository_path(repo), digest or tag or "latest")


def same_registry(connection_url: str, image: str) -> bool:
    """Does a registry connection (`https://ghcr.io`, `127.0.0.1:5000`) serve this image?"""
    return normalize_registry(connection_url) == registry_of(split_tag(image.partition("@")[0])[0])


def host_name(host: str) -> str:
    """`127.0.0.1:5000` -> `127.0.0.1`; `[::1]:5000` -> `::1`."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    name = host_name(host).lower()
    return name in ("localhost", "::1") or name.startswith("127.")
