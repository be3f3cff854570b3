"""The Paperspace REST client: one requests Session, bounded retries, cursor pagination.

Retry policy (reliability.md §4.1): GETs are retried on connection errors, read timeouts,
502/503/504 (500 a couple of times) and 429; a POST is retried only when the request provably
never reached the server (connect errors) or was refused with 429. Anything else after sending a
POST raises AmbiguousWrite so the caller can reconcile by reading back -- never a blind re-POST.

Every attempt ends by min(connect + read timeout, the run's deadline), however slowly the server
answers, and reads at most 16 MiB (api/transport.py). Writes never follow a redirect: the body
(plaintext env values, maybe) must not be re-sent to another host.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from paperspace_deploy import __version__
from paperspace_deploy.api.errors import (
    AmbiguousWrite,
    ApiError,
    ApiUnavailable,
    AuthenticationFailed,
    NotFound,
    ValidationFailed,
)
from paperspace_deploy.api.retry import Deadline, RetryPolicy, parse_retry_after
from paperspace_deploy.api.transport import BoundedAdapter, TooLarge, read_body
from paperspace_deploy.errors import InputError
from paperspace_deploy.safetext import one_line

DEFAULT_API_URL = "https://api.paperspace.com/v1"
PAGE_LIMIT = 120  # the API's maximum
MAX_PAGES = 1000  # a server that never stops paging must not hang us
RETRY_STATUSES = {502, 503, 504}


def clean_api_key(key: str | None) -> str:
    """Trim a pasted key (trailing newline) and refuse anything that cannot be a header value."""
    key = (key or "").strip()
    if not key:
        raise InputError(
            "an API key is required (input api-key, --api-key or PAPERSPACE_API_KEY)",
            hint="create one at https://console.paperspace.com/settings/apikeys",
        )
    if any(ord(c) < 33 or ord(c) > 126 for c in key):
        raise InputError("the API key contains whitespace or control characters (not shown)")
    return key


def api_url_from(value: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    url = (value or env.get("PAPERSPACE_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"API URL must be http(s)://host[/path], got {url[:100]!r}")
    if parts.username or parts.password or parts.query:
        raise InputError("API URL must not carry credentials or a query string")
    return url


@dataclass
class ClientStats:
    calls: int = 0  # HTTP requests sent (attempts)
    retries: int = 0
    by_route: dict[str, int] = field(default_factory=dict)
    throttled: int = 0  # 429 answers
    retry_after: float = 0.0  # the longest Retry-After a 429 asked for (0: none named)


def _is_connect_error(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (safe to retry any method)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return False


def _looks_like_error(body: Any) -> bool:
    """The CLI treats a {code, message} body with <=3 keys as an error even on 200 (§2.2)."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("code"), str)
        and isinstance(body.get("message"), str)
        and len(body) <= 3
    )


class ApiClient:
    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        deadline: Deadline | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        rng: random.Random | None = None,
        on_event: Callable[[str], None] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = api_url_from(base_url, environ)
        self._key = clean_api_key(api_key)
        self.timeout = timeout
        self.deadline = deadline or Deadline(None)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self.rng = rng or random.Random()
        self.on_event = on_event or (lambda _msg: None)
        self.stats = ClientStats()
        self.session = requests.Session()
        self.transport = BoundedAdapter()
        self.session.mount("http://", self.transport)
        self.session.mount("https://", self.transport)
        self.session.headers.update(
            {
                "Accept": "application/json",
                "User-Agent": f"paperspace-deploy/{__version__}",
                "x-client": "paperspace-deploy",
                "x-client-version": __version__,
            }
        )
        if extra_headers:
            self.session.headers.update(extra_headers)

    def __repr__(self) -> str:  # never show the key
        return f"ApiClient({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    # -- core -----------------------------------------------------------------------------------

    def _wait(self, seconds: float, why: str) -> None:
        remaining = self.deadline.remaining()
        if seconds > remaining:
            raise ApiUnavailable(
                f"Paperspace API unavailable: {why}; the next retry (in {seconds:.1f} s) would "
                f"pass the deadline ({remaining:.1f} s left)",
                hint="raise --timeout or try again later; nothing else was changed by this call",
            )
        self._sleep(seconds)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one logical request with bounded retries; return the decoded JSON body."""
        idempotent = method.upper() in ("GET", "HEAD", "PUT", "DELETE")
        url = self.base_url + path
        route = f"{method} {path}"
        send_headers = {"Authorization": f"Bearer {self._key}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            send_headers["Content-Type"] = "application/json"  # exactly this (trpc-openapi)
        retry = 0
        server_errors = 0
        last = "no attempt made"
        while True:
            remaining = self.deadline.remaining()
            if remaining <= 0:
                raise ApiUnavailable(
                    f"time budget exhausted calling {route} (last: {last})",
                    hint="raise --timeout if the API is just slow",
                )
            timeout = (min(self.timeout[0], remaining), min(self.timeout[1], remaining))
            budget = min(remaining, self.timeout[0] + self.timeout[1])
            self.stats.calls += 1
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            error: requests.RequestException | None = None
            with self.transport.guard(budget) as cut:
                try:
                    resp = self.session.request(
                        method, url, params=params, data=data, headers=send_headers,
                        timeout=timeout, stream=True, allow_redirects=idempotent,
                    )  # fmt: skip
                    raw = read_body(resp)
                except TooLarge as exc:
                    if not idempotent:
                        raise AmbiguousWrite(f"{route}: the answer was {exc}; not read") from None
                    raise ApiUnavailable(f"{route}: the response is {exc}; not read") from None
                except requests.RequestException as exc:
                    error = exc
            if isinstance(error, requests.exceptions.SSLError):
                raise ApiError(
                    f"TLS verification failed for {urlsplit(url).netloc}: {one_line(error, 200)}",
                    hint="for a private CA set REQUESTS_CA_BUNDLE to its PEM file",
                ) from None
            if isinstance(error, requests.exceptions.ProxyError):
                if "407" in str(error):
                    raise self._proxy_auth_error() from None
                last = f"proxy error ({one_line(error, 160)})"
                retry = self._retry_or_raise(route, retry, last, None)
                continue
            if error is not None:
                connect = _is_connect_error(error) and not cut.is_set()
                kind = "connection failed" if connect else type(error).__name__
                last = f"{kind} ({one_line(error, 160)})"
                if cut.is_set():  # the watchdog ended a trickling or stalled answer
                    kind = last = f"no complete answer within {budget:.1f} s"
                if not connect and not idempotent:
                    raise AmbiguousWrite(
                        f"no answer to {route} after sending it ({kind}); it may have been applied"
                    ) from None
                retry = self._retry_or_raise(route, retry, last, None)
                continue
            status = resp.status_code
            if 300 <= status < 400 and not idempotent:
                where = urlsplit(resp.headers.get("Location") or "").netloc or "another URL"
                raise ApiError(
                    f"{route} answered a redirect (HTTP {status}) to {one_line(where, 100)}; not "
                    "followed: a write is never re-sent to another address",
                    status=status,
                    hint="set PAPERSPACE_API_URL to the API's own address (https://api.paperspace"
                    ".com/v1)",
                )
            decoded = self._decode(resp.headers.get("Content-Type", ""), raw)
            if 200 <= status < 300 and not _looks_like_error(decoded):
                return decoded
            last = f"HTTP {status}"
            if status == 407:
                raise self._proxy_auth_error()
            if status == 429:
                asked = parse_retry_after(resp.headers.get("Retry-After"))
                self.stats.throttled += 1
                self.stats.retry_after = max(self.stats.retry_after, asked or 0.0)
                retry = self._retry_or_raise(route, retry, "rate limited (429)", asked)
                continue
            if status >= 500 or status in RETRY_STATUSES:
                if not idempotent:
                    raise AmbiguousWrite(
                        f"{route} answered HTTP {status}; the change may or may not be applied",
                        status=status,
                    )
                server_errors += int(status == 500)
                if status in RETRY_STATUSES or server_errors <= self.policy.get_500_retries:
                    retry = self._retry_or_raise(route, retry, f"HTTP {status}", None)
                    continue
                err = self._error(route, status, decoded)
                raise ApiUnavailable(str(err), status=status, code=err.code)
            raise self._error(route, status, decoded)

    def _retry_or_raise(self, route: str, retry: int, why: str, asked: float | None) -> int:
        if retry + 1 >= self.policy.attempts or self.stats.retries >= self.policy.budget:
            raise ApiUnavailable(
                f"Paperspace API unavailable: {route} failed after {retry + 1} attempts "
                f"(last: {why})",
                hint="check https://status.paperspace.com or PAPERSPACE_API_URL; "
                "nothing else was changed by this call",
            )
        if asked is not None:
            if asked > self.policy.retry_after_cap or asked > self.deadline.remaining():
                raise ApiUnavailable(
                    f"rate limited on {route}: the server asked to wait {asked:.0f} s, which "
                    f"exceeds the remaining budget ({self.deadline.remaining():.0f} s)",
                    hint="try again later",
                )
            delay = asked
        else:
            delay = self.policy.backoff(retry, self.rng)
        self.stats.retries += 1
        self.on_event(f"retrying {route} in {delay:.2f} s ({why}; retry {retry + 1})")
        self._wait(delay, f"{route}: {why}")
        return retry + 1

    def _proxy_auth_error(self) -> ApiError:
        proxies = requests.utils.get_environ_proxies(self.base_url)
        proxy = proxies.get(urlsplit(self.base_url).scheme) or "the configured proxy"
        host = urlsplit(proxy).hostname or proxy  # never print proxy credentials
        return ApiError(
            f"proxy authentication required by {host} (HTTP 407)",
            status=407,
            hint="put credentials in HTTPS_PROXY (http://user:pass@host:port) or add the API "
            "host to NO_PROXY",
        )

    @staticmethod
    def _decode(ctype: str, raw: bytes) -> Any:
        if "json" not in ctype and raw.lstrip()[:1] not in (b"{", b"["):
            return None
        try:
            return json.loads(raw)
        except ValueError:  # also UnicodeDecodeError
            return None

    @staticmethod
    def _error(route: str, status: int, body: Any) -> ApiError:
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message, code = body["message"], str(body.get("code") or "")
            issues = body.get("issues") if isinstance(body.get("issues"), list) else None
        else:
            message, code, issues = "An unknown error occurred (no JSON error body)", "", None
        text = f"{route} failed: {one_line(message)} (HTTP {status}{' ' + code if code else ''})"
        if status in (401, 403):
            return AuthenticationFailed(
                f"Paperspace rejected the API key ({status} {code or 'UNAUTHORIZED'})",
                status=status,
                code=code,
                hint="check PAPERSPACE_API_KEY / --api-key and the team it belongs to",
            )
        if status == 404:
            return NotFound(text, status=status, code=code)
        if status == 400 and issues:
            return ValidationFailed(text, status=status, code=code, issues=issues)
        return ApiError(text, status=status, code=code, issues=issues)

    # -- endpoints --------------------------------------------------------------------------------

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        query = {"limit": PAGE_LIMIT, **(params or {})}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.request("GET", path, params=query)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise ApiError(f"GET {path}: unexpected response shape (no items list)")
            yield from page["items"]
            cursor = page.get("nextPage")
            if not page.get("hasMore") or not cursor:
                return
            if cursor in seen:
                raise ApiError(f"GET {path}: the server repeated page cursor; stopping")
            seen.add(cursor)
            query = {**query, "after": cursor}
        raise ApiError(f"GET {path}: more than {MAX_PAGES} pages; stopping")

    def get_project(self, project_id: str) -> dict[str, Any]:
        return self.request("GET", f"/projects/{quote(project_id, safe='')}")

    def list_registries(self) -> list[dict[str, Any]]:
        return list(self.paginate("/container-registries"))

    def find_deployment(self, project_id: str, name: str) -> dict[str, Any] | None:
        """The deployment named exactly `name` (the server's filter may be partial)."""
        path = f"/projects/{quote(project_id, safe='')}/deployments"
        for item in self.paginate(path, {"name": name}):
            if isinstance(item, dict) and item.get("name") == name:
                return item
        return None

    def get_deployment(self, deployment_id: str) -> dict[str, Any]:
        return self.request("GET", f"/deployments/{quote(deployment_id, safe='')}")

    def get_runs(self, deployment_id: str) -> list[dict[str, Any]]:
        runs = self.request("GET", f"/deployments/{quote(deployment_id, safe='')}/runs")
        return runs if isinstance(runs, list) else []

    def history(self, deployment_id: str) -> Iterator[dict[str, Any]]:
        yield from self.paginate(f"/deployments/{quote(deployment_id, safe='')}/history")

    def deployment_logs(
        self,
        deployment_id: str,
        *,
        instance_id: str | None = None,
        limit: int = PAGE_LIMIT,
        after: str | None = None,
    ) -> Any:
        """One page of `/deployments/{id}/logs`, newest first, as the server sent it (its shape
        is not pinned down: deploy/logs.py reads it)."""
        params: dict[str, Any] = {"limit": limit, "order": "desc"}
        if instance_id:
            params["instanceId"] = instance_id
        if after:
            params["after"] = after
        return self.request("GET", f"/deployments/{quote(deployment_id, safe='')}/logs",
                            params=params)  # fmt: skip

    def upsert_deployment(
        self,
        project_id: str,
        config: Mapping[str, Any],
        *,
        deployment_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        body: dict[str, Any] = {"projectId": project_id, "config": config}
        if deployment_id:
            body["deploymentId"] = deployment_id
        resp = self.request("POST", "/deployments", body=body, headers=headers)
        if not isinstance(resp, dict) or not isinstance(resp.get("deploymentId"), str):
            raise AmbiguousWrite("POST /deployments answered without a deploymentId")
        return str(resp["deploymentId"])

    def delete_deployment(self, deployment_id: str) -> None:
        self.request("DELETE", f"/deployments/{quote(deployment_id, safe='')}")
