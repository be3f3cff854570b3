"""A local GitHub REST API: the issue-comment endpoints the pull-request comment uses.

Stdlib `ThreadingHTTPServer`, like the Paperspace emulator. It answers as GitHub does:

* `GET /repos/{owner}/{repo}/issues/{n}/comments?per_page=&page=` (default 30, at most 100, oldest
  first) with a `Link` header (`prev`, `next`, `last`, `first`) whose URLs use the
  `/repositories/{id}/issues/{n}/comments` form, which is served too;
* `POST /repos/{owner}/{repo}/issues/{n}/comments {"body"}` -> `201` + `Location`;
* `PATCH /repos/{owner}/{repo}/issues/comments/{id} {"body"}` -> `200`;
* errors as `{"message", "documentation_url", "status"}` (+ `errors` on 422): `401 Bad
  credentials` / `Requires authentication`, `403 Resource not accessible by integration` for a
  read-only token (a fork pull request's; with `X-Accepted-GitHub-Permissions`), `404 Not Found`,
  `400 Problems parsing JSON`, `422 Invalid request` (no body) and `422 Validation Failed` (body
  over 65,536 characters); `403 API rate limit exceeded` with `x-ratelimit-remaining: 0` and
  `x-ratelimit-reset` when a rate limit is armed.

Faults come from `emulator.faults.Faults` (`status`, `429` -- a 403 secondary rate limit when the
fault's status is 403 --, `delay`, `drop`, `drop-after`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from paperspace_deploy.emulator.faults import Faults

DOCS = "https://docs.github.com/rest/issues/comments"
LIST_DOC, CREATE_DOC, UPDATE_DOC = (
    f"{DOCS}#list-issue-comments",
    f"{DOCS}#create-an-issue-comment",
    f"{DOCS}#update-an-issue-comment",
)
MAX_COMMENT = 65536
MAX_REQUEST = 1024 * 1024
RATE_DOC = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"


class HttpError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        doc: str = "https://docs.github.com/rest",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        self.body = {"message": message, **extra, "documentation_url": doc, "status": str(status)}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Token:
    login: str
    user_id: int
    kind: str = "Bot"  # the comment's `user.type`
    write: bool = True  # False: a fork pull request's read-only GITHUB_TOKEN


@dataclass
class Repo:
    id: int
    full_name: str
    issues: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


class GitHubState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}  # by lower-case full name (GitHub ignores case)
        self._next_comment = 1_000_000_001
        self._next_repo = 500_000_001
        self.rate_limited = 0  # the next N requests answer the primary rate limit
        self.rate_reset_in = 1.0  # seconds until x-ratelimit-reset

    def add_token(
        self,
        token: str,
        login: str = "github-actions[bot]",
        *,
        write: bool = True,
        kind: str = "Bot",
    ) -> Token:
        with self.lock:
            record = Token(login, 41898282 + len(self.tokens), kind, write)
            self.tokens[token] = record
            return record

    def add_issue(self, full_name: str, number: int) -> Repo:
        with self.lock:
            repo = self.repos.get(full_name.lower())
            if repo is None:
                repo = Repo(self._next_repo, full_name)
                self._next_repo += 1
                self.repos[full_name.lower()] = repo
            repo.issues.setdefault(number, [])
            return repo

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(c) for c in self.repos[full_name.lower()].issues[number]]

    def add_comment(
        self, full_name: str, number: int, body: str, token: Token, base: str
    ) -> dict[str, Any]:
        with self.lock:
            repo = self.repos[full_name.lower()]
            cid = self._next_comment
            self._next_comment += 1
            now = _now()
            comment = {
                "url": f"{base}/repos/{repo.full_name}/issues/comments/{cid}",
                "html_url": f"https://github.com/{repo.full_name}/pull/{number}#issuecomment-{cid}",
                "issue_url": f"{base}/repos/{repo.full_name}/issues/{number}",
                "id": cid,
                "node_id": "IC_" + base64.b64encode(f"IssueComment{cid}".encode()).decode(),
                "user": {"login": token.login, "id": token.user_id, "type": token.kind,
                         "site_admin": False},
                "created_at": now,
                "updated_at": now,
                "author_association": "NONE",
                "body": body,
                "performed_via_github_app": None,
            }  # fmt: skip
            repo.issues[number].append(comment)
            return dict(comment)

    def find_comment(self, full_name: str, cid: int) -> dict[str, Any] | None:
        repo = self.repos.get(full_name.lower())
        for comments in repo.issues.values() if repo else []:
            for comment in comments:
                if comment["id"] == cid:
                    return comment
        return None


_ROUTES = [
    ("GET", re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/issues/(?P<n>\d+)/comments$"),
     "list"),
    ("GET", re.compile(r"^/repositories/(?P<rid>\d+)/issues/(?P<n>\d+)/comments$"), "list"),
    ("POST", re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/issues/(?P<n>\d+)/comments$"),
     "create"),
    ("PATCH", re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/issues/comments/(?P<cid>\d+)$"),
     "update"),
]  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: GitHubEmulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def _send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        ctype: str = "application/json; charset=utf-8",
    ) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _handle(self) -> None:
        emu = self.server.emulator
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST:
            self.close_connection = True
            return self._send(413, {"message": "Payload Too Large", "status": "413"})
        raw = self.rfile.read(length) if length > 0 else b""
        path = parts.path
        if emu.prefix:
            if not path.startswith(emu.prefix + "/"):
                return self._send(404, HttpError(404, "Not Found").body)
            path = path[len(emu.prefix) :]
        emu.count(self.command, path)
        fault = emu.faults.pick(self.command, path)
        if fault is not None:
            if fault.kind == "drop":
                return self._drop()
            if fault.kind == "delay":
                time.sleep(fault.delay)
            elif fault.kind == "429":
                if fault.status == 403:  # a secondary rate limit
                    err = HttpError(
                        403,
                        "You have exceeded a secondary rate limit. Please wait "
                        "a few minutes before you try again.",
                        RATE_DOC,
                    )
                    return self._send(403, err.body, {"Retry-After": fault.retry_after})
                return self._send(
                    429,
                    HttpError(429, "Too Many Requests", RATE_DOC).body,
                    {"Retry-After": fault.retry_after},
                )
            elif fault.kind == "status":
                if fault.html:
                    return self._send(
                        fault.status,
                        None,
                        raw=b"<html><body><h1>Unicorn!</h1></body></html>",
                        ctype="text/html",
                    )
                return self._send(fault.status, HttpError(fault.status, "Server Error").body)
        try:
            auth = self.headers.get("Authorization", "")
            status, body, headers = emu.dispatch(self.command, path, parts.query, auth, raw)
        except HttpError as err:
            return self._send(err.status, err.body, err.headers)
        if fault is not None and fault.kind == "drop-after":
            return self._drop()  # applied, but the client never hears about it
        self._send(status, body, headers)

    def _safe(self) -> None:
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug in the emulator: answer like GitHub's 500
            self._send(500, HttpError(500, "Server Error").body)

    def do_GET(self) -> None:
        self._safe()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET


class GitHubEmulator:
    """`with GitHubEmulator().start() as gh: gh.url` -- set GITHUB_API_URL to it."""

    def __init__(
        self,
        state: GitHubState | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "",
        verbose: bool = False,
    ) -> None:
        self.state = state or GitHubState()
        self.faults = faults or Faults()
        self.prefix = prefix.rstrip("/")  # "/api/v3" for a GitHub Enterprise Server layout
        self.verbose = verbose
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self.httpd = _Server((host, port), _Handler)
        self.httpd.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}{self.prefix}"

    def count(self, method: str, path: str) -> None:
        key = method + " " + re.sub(r"/\d+", "/{n}", path)
        with self._count_lock:
            self.requests[key] = self.requests.get(key, 0) + 1

    def start(self) -> GitHubEmulator:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="github-emulator",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> GitHubEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API ----------------------------------------------------------------------------------

    def _auth(self, header: str, write: bool, doc: str) -> Token | None:
        scheme, _, value = header.partition(" ")
        if not header:
            if write:
                raise HttpError(401, "Requires authentication")
            return None  # public repositories can be read anonymously
        token = (
            self.state.tokens.get(value.strip()) if scheme.lower() in ("bearer", "token") else None
        )
        if token is None:
            raise HttpError(401, "Bad credentials")
        if write and not token.write:
            accepted = {"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"}
            raise HttpError(403, "Resource not accessible by integration", doc, accepted)
        return token

    def _rate_limit(self) -> None:
        with self.state.lock:
            if self.state.rate_limited <= 0:
                return
            self.state.rate_limited -= 1
        reset = int(time.time() + self.state.rate_reset_in + 0.999)
        raise HttpError(
            403,
            "API rate limit exceeded for installation ID 1.",
            RATE_DOC,
            {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            },
        )

    def _repo(self, params: dict[str, str], number: int | None, doc: str) -> Repo:
        with self.state.lock:
            if "rid" in params:
                repo = next(
                    (r for r in self.state.repos.values() if r.id == int(params["rid"])), None
                )
            else:
                repo = self.state.repos.get(f"{params['owner']}/{params['repo']}".lower())
            if repo is None or (number is not None and number not in repo.issues):
                raise HttpError(404, "Not Found", doc)
            return repo

    @staticmethod
    def _body(raw: bytes, doc: str) -> str:
        try:
            data = json.loads(raw or b"null")
        except ValueError:
            raise HttpError(400, "Problems parsing JSON", doc) from None
        if not isinstance(data, dict) or "body" not in data:
            raise HttpError(422, 'Invalid request.\n\n"body" wasn\'t supplied.', doc)
        body = data["body"]
        if not isinstance(body, str):
            raise HttpError(
                422,
                f"Invalid request.\n\nFor 'properties/body', {json.dumps(body)} is not a string.",
                doc,
            )
        if len(body) > MAX_COMMENT:
            raise HttpError(
                422,
                "Validation Failed",
                doc,
                errors=[
                    {
                        "resource": "IssueComment",
                        "code": "unprocessable",
                        "field": "data",
                        "message": f"Body is too long (maximum is {MAX_COMMENT} characters)",
                    }
                ],
            )
        return body

    def dispatch(
        self, method: str, path: str, query: str, auth: str, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        for route_method, regex, route_name in _ROUTES:
            m = regex.match(path)
            if m and route_method == method:
                name, params = route_name, m.groupdict()
                break
        else:
            raise HttpError(404, "Not Found")
        doc = {"list": LIST_DOC, "create": CREATE_DOC, "update": UPDATE_DOC}[name]
        token = self._auth(auth, method != "GET", doc)
        self._rate_limit()
        if name == "list":
            return self._list(params, query, doc)
        if name == "create":
            number = int(params["n"])
            repo = self._repo(params, number, doc)
            assert token is not None
            comment = self.state.add_comment(
                repo.full_name, number, self._body(raw, doc), token, self.url
            )
            return 201, comment, {"Location": comment["url"]}
        repo = self._repo(params, None, doc)
        body = self._body(raw, doc)
        with self.state.lock:
            found = self.state.find_comment(repo.full_name, int(params["cid"]))
            if found is None:
                raise HttpError(404, "Not Found", doc)
            found["body"], found["updated_at"] = body, _now()
            return 200, dict(found), {}

    def _list(
        self, params: dict[str, str], query: str, doc: str
    ) -> tuple[int, Any, dict[str, str]]:
        number = int(params["n"])
        repo = self._repo(params, number, doc)
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        per_page = int(q["per_page"]) if q.get("per_page", "").isdigit() else 30
        per_page = min(max(per_page, 1), 100)
        page = int(q["page"]) if q.get("page", "").isdigit() else 1
        page = max(page, 1)
        with self.state.lock:
            comments = [dict(c) for c in repo.issues[number]]
        last = max(1, -(-len(comments) // per_page))
        items = comments[(page - 1) * per_page : page * per_page]
        base = f"{self.url}/repositories/{repo.id}/issues/{number}/comments?per_page={per_page}"
        links = []
        if page > 1:
            links.append(f'<{base}&page={min(page - 1, last)}>; rel="prev"')
        if page < last:
            links += [f'<{base}&page={page + 1}>; rel="next"', f'<{base}&page={last}>; rel="last"']
        if page > 1:
            links.append(f'<{base}&page=1>; rel="first"')
        return 200, items, ({"Link": ", ".join(links)} if links else {})
