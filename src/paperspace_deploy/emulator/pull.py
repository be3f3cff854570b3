"""Would the cluster be able to pull this image? Asks the REAL registry, like kubelet would.

Pull-check modes (`--pull-check`): `offline` (the default) contacts loopback registries only --
with the spec's connection credentials when its host matches, else anonymously -- and reports
any other host as "not checked offline" (a notice, the image counts as pullable), so the
emulator never needs the internet and a stored password never leaves loopback. `online` also
asks public hosts (Docker Hub, GHCR, ...), with the connection's password when it matches.
`off` checks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from paperspace_deploy.image.reference import is_loopback, parse_reference, same_registry

PULL_CHECKS = ("offline", "online", "off")


@dataclass(frozen=True)
class PullCheck:
    problem: str | None = None  # kubelet-like stateMessage: the image cannot be pulled
    notice: str | None = None  # the check was skipped, and why


def registry_host(url: str) -> tuple[str, str]:
    """(scheme, host) of a connection url such as `https://ghcr.io` or `127.0.0.1:5000`."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return parts.scheme or "https", parts.netloc.lower()


def not_checked(host: str) -> str:
    return (
        f"emulator: image on {host} not checked offline (the emulator contacts loopback "
        "registries only; --pull-check online asks public registries too)"
    )


def check_pull(image: str, connection: dict[str, Any] | None, mode: str = "offline") -> PullCheck:
    """Ask the image's registry for its manifest; `problem` is set when it cannot be pulled."""
    if mode == "off":
        return PullCheck()
    host, repo, ref = parse_reference(image)
    auth = None
    scheme = "http" if is_loopback(host) else "https"
    if connection is not None:
        c_scheme, _ = registry_host(str(connection.get("url", "")))
        if same_registry(str(connection.get("url", "")), image):
            auth = (connection.get("username", ""), connection.get("password", ""))
            scheme = c_scheme
    if not is_loopback(host) and mode != "online":
        return PullCheck(notice=not_checked(host))
    from paperspace_deploy.image.digest import RegistryClient

    # the real pull's protocol (anonymous, then Basic or a Bearer token), as `image.digest` does
    user, password = auth or (None, None)
    client = RegistryClient(f"{host}/{repo}", user, password)
    if scheme == "http" or not is_loopback(host):
        client.schemes = [scheme]
    prefix = f'Failed to pull image "{image}": rpc error: code = Unknown desc ='
    try:
        resp = client.head_manifest(ref)
    except (requests.RequestException, ValueError):  # ValueError: a token answer not JSON
        return PullCheck(
            f"{prefix} failed to do request: dial tcp {host}: connect: connection refused"
        )
    finally:
        client.close()
    if resp.status_code == 200:
        return PullCheck()
    if resp.status_code in (401, 403):
        return PullCheck(
            f"{prefix} failed to authorize: failed to fetch token: 401 Unauthorized: unauthorized"
        )
    if resp.status_code == 404:
        return PullCheck(f"{prefix} {host}/{repo}:{ref}: not found: manifest unknown")
    return PullCheck(f"{prefix} unexpected status code {resp.status_code} from {host}")


def check_connection(connection: dict[str, Any], mode: str = "offline",
                     timeout: float = 5.0) -> tuple[bool, str | None]:  # fmt: skip
    """test-connection: GET <url>/v2/ with the stored credentials (loopback only offline)."""
    scheme, host = registry_host(str(connection.get("url", "")))
    if not is_loopback(host) and mode != "online":
        return False, not_checked(host).replace("image on", "connection to")
    try:
        resp = requests.get(
            f"{scheme}://{host}/v2/",
            auth=(connection.get("username", ""), connection.get("password", "")),
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return False, f"could not reach {host}: {type(exc).__name__}"
    if resp.status_code == 200:
        return True, None
    if resp.status_code in (401, 403):
        return False, "authentication failed: unauthorized"
    return False, f"registry answered HTTP {resp.status_code}"
