"""Cross-check the pushed digest against the registry's manifest endpoint.

`HEAD /v2/<repo>/manifests/<digest>` must answer 200 with the same `Docker-Content-Digest`:
then `repo@sha256:...` is pullable and is exactly what was built. The tag is checked too; a tag
that already points elsewhere (a concurrent push) is a warning, since we deploy by digest.
Auth follows the distribution spec: anonymous first, then Basic, or a Bearer token fetched from
the realm in `WWW-Authenticate`. The realm comes from the registry's answer, so it is checked
before any credential goes there: never over plain HTTP (except to a loopback host), and a realm
on another domain than the registry's is named in a warning. `requests` is imported lazily.
"""

from __future__ import annotations

import base64
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from paperspace_deploy.api.retry import RetryPolicy
from paperspace_deploy.errors import Unavailable
from paperspace_deploy.image.reference import (
    api_host,
    host_name,
    is_loopback,
    registry_of,
    repository_path,
)
from paperspace_deploy.safetext import one_line

ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
TIMEOUT = (5, 30)
# the registry just answered the push: a few quick tries ride out a blip
VERIFY_RETRY = RetryPolicy(attempts=3, base=0.5, cap=2.0, floor=0.5)
_rng = random.SystemRandom()


@dataclass
class ManifestCheck:
    digest_ok: bool  # the registry serves our digest
    tag_digest: str | None  # what the tag points at now (None if unknown)
    warning: str | None = None  # the check could not be completed (not a failure)
    notes: list[str] = field(default_factory=list)  # about the registry's auth (token realm)


def _domain(host: str) -> str:
    """The last two labels of a host name (auth.docker.io and registry-1.docker.io agree)."""
    return ".".join(host_name(host).lower().split(".")[-2:])


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


class RegistryClient:
    def __init__(self, repo: str, username: str | None, password: str | None) -> None:
        import requests

        self.requests = requests
        self.session = requests.Session()
        self.host = api_host(registry_of(repo))
        self.path = repository_path(repo)
        self.creds = (username, password) if username and password else None
        self.schemes = ["http", "https"] if is_loopback(self.host) else ["https"]
        self.auth_header: dict[str, str] = {}
        self.warnings: list[str] = []

    def close(self) -> None:
        self.session.close()

    def _send(self, url: str) -> Any:
        return self.session.head(
            url,
            headers={"Accept": ACCEPT, **self.auth_header},
            timeout=TIMEOUT,
            allow_redirects=True,
        )

    def _authenticate(self, response: Any) -> bool:
        scheme, params = _challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic" and self.creds:
            token = base64.b64encode(":".join(self.creds).encode()).decode()
            self.auth_header = {"Authorization": f"Basic {token}"}
            return True
        if scheme == "bearer" and params.get("realm"):
            from urllib.parse import urlsplit

            realm = urlsplit(params["realm"])
            realm_host = realm.netloc.rpartition("@")[2]
            if realm.scheme not in ("http", "https") or not realm_host:
                self.warnings.append(
                    f"ignored the registry's token realm {one_line(params['realm'], 120)!r}"
                )
                return False
            creds = self.creds
            if creds and realm.scheme == "http" and not is_loopback(realm_host):
                self.warnings.append(
                    f"the registry's token server {one_line(realm_host, 100)} is plain HTTP: "
                    "credentials were not sent there"
                )
                creds = None
            elif creds and _domain(realm_host) != _domain(self.host):
                self.warnings.append(
                    f"the registry {self.host} sends logins to a token server on another domain "
                    f"({one_line(realm_host, 100)}); the credentials went there"
                )
            query = {"scope": f"repository:{self.path}:pull"}
            if params.get("service"):
                query["service"] = params["service"]
            r = self.session.get(params["realm"], params=query, auth=creds, timeout=TIMEOUT)
            if r.status_code != 200:
                return False
            body = r.json()
            token = body.get("token") or body.get("access_token")
            if not token:
                return False
            self.auth_header = {"Authorization": f"Bearer {token}"}
            return True
        return False

    def head_manifest(self, reference: str) -> Any:
        """The HEAD response for a manifest, authenticating once if challenged."""
        last_error: Exception | None = None
        for scheme in self.schemes:
            url = f"{scheme}://{self.host}/v2/{self.path}/manifests/{reference}"
            try:
                r = self._send(url)
                if r.status_code == 401 and self._authenticate(r):
                    r = self._send(url)
                self.schemes = [scheme]  # stick with what worked
                return r
            except self.requests.exceptions.SSLError as exc:
                last_error = exc
            except self.requests.exceptions.ConnectionError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error


def check_manifest(
    repo: str, tag: str, digest: str, username: str | None, password: str | None
) -> ManifestCheck:
    client = RegistryClient(repo, username, password)
    try:
        for attempt in range(1, VERIFY_RETRY.attempts + 1):
            try:
                result = _check(client, repo, tag, digest)
                result.notes = list(dict.fromkeys(client.warnings))
                return result
            except (client.requests.exceptions.RequestException, _Retry) as exc:
                if attempt == VERIFY_RETRY.attempts:
                    raise Unavailable(
                        f"could not verify the pushed digest at {client.host}: "
                        f"{one_line(str(exc), 200)}",
                        hint="the push reported success but the registry did not confirm it; "
                        "nothing was deployed. Re-run the job",
                    ) from None
                time.sleep(VERIFY_RETRY.backoff(attempt - 1, _rng))
    finally:
        client.close()
    raise AssertionError("unreachable")


class _Retry(Exception):
    pass


def _check(client: RegistryClient, repo: str, tag: str, digest: str) -> ManifestCheck:
    r = client.head_manifest(digest)
    if r.status_code >= 500 or r.status_code == 429:
        raise _Retry(f"HTTP {r.status_code} from the registry")
    if r.status_code in (401, 403):
        return ManifestCheck(
            digest_ok=False,
            tag_digest=None,
            warning=f"could not read the manifest back from {client.host} (HTTP {r.status_code}); "
            "relying on the digest the engine reported",
        )
    if r.status_code == 404:
        raise Unavailable(
            f"the registry does not have the pushed manifest {repo}@{digest} (HTTP 404): "
            "a partial push; nothing will be deployed",
            hint="re-run the job; if it persists, check the registry's storage",
        )
    if r.status_code != 200:
        raise Unavailable(f"unexpected HTTP {r.status_code} reading {repo}@{digest} back")
    served = r.headers.get("Docker-Content-Digest")
    if served and served != digest:
        raise Unavailable(
            f"the registry serves {served} for {repo}@{digest}: the digests disagree; "
            "nothing will be deployed"
        )
    t = client.head_manifest(tag)
    tag_digest = t.headers.get("Docker-Content-Digest") if t.status_code == 200 else None
    return ManifestCheck(digest_ok=True, tag_digest=tag_digest)
