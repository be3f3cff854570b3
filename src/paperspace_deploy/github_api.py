"""A small GitHub REST client for the pull-request comment: list, create and update issue comments.

`requests` with `GITHUB_TOKEN`, `GITHUB_API_URL` (GitHub Enterprise Server: `https://host/api/v3`),
connect/read timeouts, one run-wide `Deadline` and the Paperspace client's retry rules
(`api/retry.py`): GET and PATCH (the same body twice is the same edit) are retried on connection
errors, timeouts and 502/503/504 (500 twice); every method is retried when GitHub refused it for
a rate limit (429, or 403 with `Retry-After` / `x-ratelimit-remaining: 0`), since nothing was
applied. A POST that may have reached GitHub raises `GitHubAmbiguousWrite` so the caller can look
for its comment before posting again. Responses are read up to a byte cap; pagination follows the
`Link: rel="next"` URL, only to the API's own host, for a bounded number of pages.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from paperspace_deploy import __version__
from paperspace_deploy.api.retry import Deadline, RetryPolicy, parse_retry_after
from paperspace_deploy.errors import DeployError, ExitCode, InputError, Unavailable
from paperspace_deploy.safetext import one_line

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100  # GitHub's maximum for issue comments
MAX_PAGES = 50  # 5,000 comments; a server that never stops paging must not hang us
MAX_RESPONSE = 16 * 1024 * 1024  # 100 comments of GitHub's 65,536-character maximum fit
MAX_COMMENT = 65536  # characters: GitHub answers 422 "Body is too long" above this
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: wait at least a minute when no header says how long
RETRY_STATUSES = {502, 503, 504}
_REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")


class GitHubError(DeployError):
    """GitHub answered with an error the user must act on."""

    exit_code = ExitCode.INVALID

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class GitHubAuthFailed(GitHubError, InputError):
    """401: the token is missing, wrong or expired."""


class GitHubForbidden(GitHubError):
    """403 that is not a rate limit: the token lacks a permission (a fork PR's is read-only)."""


class GitHubNotFound(GitHubError):
    """404: no such repository, issue or comment (or the token cannot see it)."""


class GitHubValidation(GitHubError, InputError):
    """422: GitHub refused the request body (e.g. a comment over 65,536 characters)."""


class GitHubUnavailable(GitHubError, Unavailable):
    """Connection errors, 5xx or rate limits that outlasted the retries or the deadline."""

    exit_code = ExitCode.UNAVAILABLE


class GitHubAmbiguousWrite(GitHubUnavailable):
    """A POST may have been applied, but no answer came back: read back before posting again."""


def github_token(value: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    token = (value or env.get("GITHUB_TOKEN") or "").strip()
    if not token:
        raise InputError(
            "a GitHub token is required to comment (GITHUB_TOKEN)",
            hint="the action passes ${{ github.token }}; the job needs `pull-requests: write`",
        )
    if any(ord(c) < 33 or ord(c) > 126 for c in token):
        raise InputError("the GitHub token contains whitespace or control characters (not shown)")
    return token


def github_api_url(value: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    url = (value or env.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"GitHub API URL must be http(s)://host[/path], got {url[:100]!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InputError("GitHub API URL must not carry credentials, a query or a fragment")
    return url


def check_repo(repo: str) -> str:
    if not _REPO.fullmatch(repo or "") or ".." in repo:
        raise InputError(f"repository must be OWNER/NAME, got {str(repo)[:100]!r}")
    return repo


def _check_number(number: int, what: str) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 2**53:
        raise InputError(f"{what} must be a positive integer, got {str(number)[:20]!r}")
    return number


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any
    links: dict[str, str] = field(default_factory=dict)  # rel -> url


@dataclass
class GitHubStats:
    calls: int = 0
    retries: int = 0
    slept: float = 0.0
    by_route: dict[str, int] = field(default_factory=dict)


def _is_connect_error(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return False


class _TooLarge(Exception):
    pass


class GitHubClient:
    def __init__(
        self,
        token: str | None,
        api_url: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        deadline: Deadline | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        rng: random.Random | None = None,
        on_event: Callable[[str], None] | None = None,
        now: Callable[[], float] = time.time,
        max_response: int = MAX_RESPONSE,
    ) -> None:
        self.base_url = github_api_url(api_url, environ)
        self._token = github_token(token, environ)
        self.timeout = timeout
        self.deadline = deadline or Deadline(None)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self.rng = rng or random.Random()
        self.on_event = on_event or (lambda _msg: None)
        self.now = now
        self.max_response = max_response
        self.stats = GitHubStats()
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"paperspace-deploy/{__version__}",
            }
        )

    def __repr__(self) -> str:  # never show the token
        return f"GitHubClient({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- core -----------------------------------------------------------------------------------

    def _same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def _read(self, resp: requests.Response) -> bytes:
        chunks, size = [], 0
        for chunk in resp.iter_content(64 * 1024):
            size += len(chunk)
            if size > self.max_response:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Response:
        """One logical request with bounded retries; raises a GitHubError for any non-2xx."""
        method = method.upper()
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        if not self._same_origin(url):  # the token goes to the configured API host only
            raise GitHubError(f"refusing to send the token to another host: {one_line(url, 200)}")
        route = f"{method} {urlsplit(url).path}"
        idempotent = method in ("GET", "HEAD", "PUT", "PATCH", "DELETE")
        headers = {"Authorization": f"Bearer {self._token}"}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        retry, server_errors, last = 0, 0, "no attempt made"
        while True:
            remaining = self.deadline.remaining()
            if remaining <= 0:
                raise GitHubUnavailable(f"time budget exhausted calling GitHub {route} ({last})")
            timeout = (min(self.timeout[0], remaining), min(self.timeout[1], remaining))
            self.stats.calls += 1
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            try:
                resp = self.session.request(
                    method, url, params=params, data=data, headers=headers, timeout=timeout,
                    stream=True, allow_redirects=False,
                )  # fmt: skip
                try:
                    raw = self._read(resp)
                finally:
                    resp.close()
            except _TooLarge:
                raise GitHubError(
                    f"GitHub {route}: response larger than {self.max_response // 2**20} MiB"
                ) from None
            except requests.exceptions.SSLError as exc:
                raise GitHubError(
                    f"TLS verification failed for {urlsplit(url).netloc}: {one_line(exc, 200)}",
                    hint="for a private CA set REQUESTS_CA_BUNDLE to its PEM file",
                ) from None
            except requests.RequestException as exc:
                connect = _is_connect_error(exc)
                kind = "connection failed" if connect else type(exc).__name__
                last = f"{kind} ({one_line(exc, 160)})"
                if not connect and not idempotent:
                    raise GitHubAmbiguousWrite(
                        f"no answer to GitHub {route} after sending it ({kind}); "
                        "it may have been applied"
                    ) from None
                retry = self._retry_or_raise(route, retry, last, None)
                continue
            status = resp.status_code
            decoded = _decode(raw)
            if 200 <= status < 300:
                links = {rel: v["url"] for rel, v in resp.links.items() if "url" in v}
                return Response(status, resp.headers, decoded, links)
            last = f"HTTP {status}"
            wait = self._rate_limit_wait(status, resp.headers, decoded)
            if wait is not None:
                retry = self._retry_or_raise(route, retry, f"rate limited (HTTP {status})", wait)
                continue
            if status >= 500:
                if not idempotent:
                    raise GitHubAmbiguousWrite(
                        f"GitHub {route} answered HTTP {status}; the comment may or may not exist"
                    )
                server_errors += int(status == 500)
                if status in RETRY_STATUSES or server_errors <= self.policy.get_500_retries:
                    retry = self._retry_or_raise(route, retry, f"HTTP {status}", None)
                    continue
                raise GitHubUnavailable(_message(route, status, decoded), status=status)
            raise _error(route, status, decoded)

    def _rate_limit_wait(self, status: int, headers: Mapping[str, str], body: Any) -> float | None:
        """Seconds to wait when GitHub refused for a rate limit; None when it is not one."""
        if status not in (403, 429):
            return None
        asked = parse_retry_after(headers.get("Retry-After"), self.now)
        if asked is not None:
            return asked
        if headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return max(0.0, int(reset) - self.now())
            return SECONDARY_LIMIT_WAIT
        message = body.get("message") if isinstance(body, dict) else None
        if status == 429 or (isinstance(message, str) and "rate limit" in message.lower()):
            return SECONDARY_LIMIT_WAIT
        return None

    def _retry_or_raise(self, route: str, retry: int, why: str, asked: float | None) -> int:
        if retry + 1 >= self.policy.attempts or self.stats.retries >= self.policy.budget:
            raise GitHubUnavailable(
                f"GitHub API unavailable: {route} failed after {retry + 1} attempts ({why})",
                hint="check https://www.githubstatus.com; nothing else was changed by this call",
            )
        if asked is not None:
            if asked > self.policy.retry_after_cap or asked > self.deadline.remaining():
                raise GitHubUnavailable(
                    f"GitHub rate limit on {route}: asked to wait {asked:.0f} s, more than the "
                    f"remaining budget ({self.deadline.remaining():.0f} s)",
                    hint="try again later",
                )
            delay = asked
        else:
            delay = self.policy.backoff(retry, self.rng)
        if delay > self.deadline.remaining():
            raise GitHubUnavailable(
                f"GitHub {route}: {why}; the next retry would pass the deadline",
                hint="try again later; nothing else was changed by this call",
            )
        self.stats.retries += 1
        self.stats.slept += delay
        self.on_event(f"retrying GitHub {route} in {delay:.2f} s ({why}; retry {retry + 1})")
        self._sleep(delay)
        return retry + 1

    # -- endpoints --------------------------------------------------------------------------------

    def list_issue_comments(self, repo: str, number: int) -> Iterator[dict[str, Any]]:
        """Every comment of an issue or pull request, oldest first, following `Link: next`."""
        path = f"/repos/{check_repo(repo)}/issues/{_check_number(number, 'issue number')}/comments"
        url: str | None = self.base_url + path
        params: Mapping[str, Any] | None = {"per_page": PER_PAGE}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            assert url is not None
            page = self.request("GET", url, params=params)
            if not isinstance(page.data, list):
                raise GitHubError(f"GitHub GET {path}: expected a list of comments")
            yield from (c for c in page.data if isinstance(c, dict))
            url, params = page.links.get("next"), None  # the next URL carries its own query
            if not url:
                return
            if url in seen:
                raise GitHubError(f"GitHub GET {path}: the server repeated a page link; stopping")
            seen.add(url)
        raise GitHubError(f"GitHub GET {path}: more than {MAX_PAGES} pages of comments; stopping")

    def create_issue_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        path = f"/repos/{check_repo(repo)}/issues/{_check_number(number, 'issue number')}/comments"
        return _comment(self.request("POST", path, body={"body": body}), path)

    def update_issue_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        path = f"/repos/{check_repo(repo)}/issues/comments/{_check_number(comment_id, 'id')}"
        return _comment(self.request("PATCH", path, body={"body": body}), path)


def _comment(resp: Response, path: str) -> dict[str, Any]:
    if not isinstance(resp.data, dict) or not isinstance(resp.data.get("id"), int):
        raise GitHubError(f"GitHub {path}: the answer has no comment id")
    return resp.data


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _message(route: str, status: int, body: Any) -> str:
    message = body.get("message") if isinstance(body, dict) else None
    text = one_line(message, 300) if isinstance(message, str) else "no JSON error body"
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        detail = errors[0].get("message") or errors[0].get("code")
        if detail:
            text += f": {one_line(detail, 200)}"
    return f"GitHub {route} failed: {text} (HTTP {status})"


def _error(route: str, status: int, body: Any) -> GitHubError:
    text = _message(route, status, body)
    if status == 401:
        return GitHubAuthFailed(text, status=status, hint="check the token given to the action")
    if status == 403:
        return GitHubForbidden(
            text,
            status=status,
            hint="the job needs `permissions: pull-requests: write`; on a pull request from a "
            "fork GitHub gives a read-only token",
        )
    if status == 404:
        return GitHubNotFound(text, status=status)
    if status == 422:
        return GitHubValidation(text, status=status)
    return GitHubError(text, status=status)
