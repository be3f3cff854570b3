"""Would the cluster be able to pull this image? Asks the REAL registry, like kubelet would.

Only registries the emulator can actually reach are contacted: the host of the spec's registry
connection (with its stored credentials) and loopback hosts (anonymously). Public hosts such as
docker.io are assumed pullable so the emulator never needs the internet.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
DOCKER_HUB = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


def split_image(image: str) -> tuple[str, str, str]:
    """`host[:port]/repo[:tag][@digest]` -> (host, repo, reference); docker.io defaults."""
    rest = image
    first = rest.split("/", 1)[0]
    if "/" in rest and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, rest.split("/", 1)[1]
    else:
        host = "docker.io"
    if "@" in rest:
        repo, ref = rest.split("@", 1)
    else:
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            repo, ref = rest.rsplit(":", 1)
        else:
            repo, ref = rest, "latest"
    if host == "docker.io" and "/" not in repo:
        repo = f"library/{repo}"
    return host.lower(), repo, ref


def registry_host(url: str) -> tuple[str, str]:
    """(scheme, host) of a connection url such as `https://ghcr.io` or `127.0.0.1:5000`."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return parts.scheme or "https", parts.netloc.lower()


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in ("localhost", "127.0.0.1", "[::1]") or name.startswith("127.")


def check_pull(image: str, connection: dict[str, Any] | None, timeout: float = 5.0) -> str | None:
    """None when pullable, else a kubelet-like stateMessage."""
    host, repo, ref = split_image(image)
    auth = None
    scheme = "http" if _is_loopback(host) else "https"
    if connection is not None:
        c_scheme, c_host = registry_host(str(connection.get("url", "")))
        if c_host == host or (c_host in DOCKER_HUB and host in DOCKER_HUB):
            auth = (connection.get("username", ""), connection.get("password", ""))
            scheme = c_scheme
    if auth is None and not _is_loopback(host):
        return None  # not reachable from here: assume public and pullable
    url = f"{scheme}://{host}/v2/{repo}/manifests/{ref}"
    prefix = f'Failed to pull image "{image}": rpc error: code = Unknown desc ='
    try:
        resp = requests.get(url, auth=auth, headers={"Accept": MANIFEST_ACCEPT}, timeout=timeout)
    except requests.RequestException:
        return f"{prefix} failed to do request: dial tcp {host}: connect: connection refused"
    if resp.status_code == 200:
        return None
    if resp.status_code in (401, 403):
        return (
            f"{prefix} failed to authorize: failed to fetch token: 401 Unauthorized: unauthorized"
        )
    if resp.status_code == 404:
        return f"{prefix} {host}/{repo}:{ref}: not found: manifest unknown"
    return f"{prefix} unexpected status code {resp.status_code} from {host}"


def check_connection(connection: dict[str, Any], timeout: float = 5.0) -> tuple[bool, str | None]:
    """test-connection: GET <url>/v2/ with the stored credentials."""
    scheme, host = registry_host(str(connection.get("url", "")))
    try:
        resp = requests.get(
            f"{scheme}://{host}/v2/",
            auth=(connection.get("username", ""), connection.get("password", "")),
            timeout=timeout,
        )
    except requests.RequestException as exc:
        return False, f"could not reach {host}: {type(exc).__name__}"
    if resp.status_code == 200:
        return True, None
    if resp.status_code in (401, 403):
        return False, "authentication failed: unauthorized"
    return False, f"registry answered HTTP {resp.status_code}"
