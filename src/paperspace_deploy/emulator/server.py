"""The emulator's HTTP server (stdlib ThreadingHTTPServer) implementing reference §2.

Every response is JSON with status 200 on success; errors are `{message, code[, issues]}`.
Unknown routes and wrong methods answer 404 `{"message":"Not found","code":"NOT_FOUND"}`.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from paperspace_deploy.emulator.faults import Faults
from paperspace_deploy.emulator.pull import check_connection
from paperspace_deploy.emulator.state import (
    REGISTRY_KINDS,
    State,
    decode_cursor,
    encode_cursor,
    iso,
)
from paperspace_deploy.emulator.validate import validate_upsert

UNAUTHORIZED = {"message": "You must be logged in to access this method.", "code": "UNAUTHORIZED"}
NOT_FOUND = {"message": "Not found", "code": "NOT_FOUND"}
MAX_BODY = 100 * 1024  # trpc-openapi's default maxBodySize


class HttpError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status, self.body = status, body


def _validation(issues: list[dict[str, Any]]) -> HttpError:
    return HttpError(
        400, {"message": "Input validation failed", "code": "BAD_REQUEST", "issues": issues}
    )


def _not_found(what: str) -> HttpError:
    return HttpError(404, {"message": f"{what} not found", "code": "NOT_FOUND"})


class Request:
    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        params: dict[str, str],
    ) -> None:
        self.method, self.path, self.query = method, path, query
        self.headers, self.body, self.params = headers, body, params


Handler = Callable[["Api", Request], Any]
ROUTES: list[tuple[str, re.Pattern[str], str]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def wrap(fn: Handler) -> Handler:
        ROUTES.append((method, regex, fn.__name__))
        return fn

    return wrap


def match_route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route_method, regex, name in ROUTES:
        m = regex.match(path)
        if m and route_method == method:
            return name, m.groupdict()
    return None


class Api:
    """Route handlers over one State. Each returns the JSON body of a 200 response."""

    def __init__(self, state: State) -> None:
        self.state = state

    def paginate(self, items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        issues = []
        limit_text = query.get("limit", "20")
        try:
            limit = int(limit_text)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 120:
            issues.append(
                {
                    "code": "too_big" if limit > 120 else "too_small",
                    "path": ["limit"],
                    "message": "Number must be between 1 and 120",
                }
            )
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            issues.append(
                {
                    "code": "invalid_enum_value",
                    "path": ["order"],
                    "message": "Invalid enum value. Expected 'asc' | 'desc'",
                }
            )
        offset = 0
        if "after" in query:
            decoded = decode_cursor(query["after"])
            if decoded is None:
                issues.append({"code": "custom", "path": ["after"], "message": "Invalid cursor"})
            else:
                offset = decoded
        if issues:
            raise _validation(issues)
        limit = self.state.variance.page_limit(limit)
        ordered = sorted(items, key=lambda i: i["_seq"], reverse=order == "desc")
        page = ordered[offset : offset + limit]
        has_more = offset + limit < len(ordered)
        out: dict[str, Any] = {
            "hasMore": has_more,
            "items": [{k: v for k, v in i.items() if not k.startswith("_")} for i in page],
        }
        out["nextPage"] = encode_cursor(offset + limit) if has_more else None
        return out

    # -- misc -------------------------------------------------------------------------------------

    @route("GET", "/auth/session")
    def session(self, req: Request) -> Any:
        return {
            "user": {"id": self.state.user_id},
            "team": {"id": self.state.team_id, "namespace": "emulated"},
        }

    # -- projects ---------------------------------------------------------------------------------

    @route("GET", "/projects")
    def list_projects(self, req: Request) -> Any:
        with self.state.lock:
            items = [dict(p) for p in self.state.projects.values()]
        return self.paginate(items, req.query)

    @route("GET", "/projects/{pid}")
    def get_project(self, req: Request) -> Any:
        project = self.state.projects.get(req.params["pid"])
        if project is None:
            raise _not_found("Project")
        return {k: v for k, v in project.items() if not k.startswith("_")}

    @route("GET", "/projects/{pid}/deployments")
    def project_deployments(self, req: Request) -> Any:
        if req.params["pid"] not in self.state.projects:
            raise _not_found("Project")
        name = req.query.get("name")
        return self._deployment_list(
            lambda d: (
                d.project_id == req.params["pid"] and self.state.variance.name_matches(name, d.name)
            ),
            req.query,
        )

    # -- deployments ------------------------------------------------------------------------------

    def _deployment_list(self, keep: Callable[[Any], bool], query: dict[str, str]) -> Any:
        items = []
        with self.state.lock:
            for dep in self.state.deployments.values():
                spec = self.state.visible_spec(dep)
                if spec is not None and keep(dep):
                    items.append({**self.state.deployment_view(dep, spec), "_seq": dep.seq})
        return self.paginate(items, query)

    @route("GET", "/deployments")
    def list_deployments(self, req: Request) -> Any:
        return self._deployment_list(lambda d: True, req.query)

    @route("POST", "/deployments")
    def upsert(self, req: Request) -> Any:
        variance = self.state.variance
        rules = self.state.server_rules | variance.rules()
        parsed, issues = validate_upsert(req.body, rules, **variance.validation())
        issues = issues or variance.header_issues(req.headers)
        if issues or parsed is None:
            raise _validation(issues)
        config = parsed["config"]
        mode = self.state.decide_mode(config)  # may call the registry: outside the lock
        dep, missing = self.state.upsert(
            parsed["projectId"],
            variance.stored(req.body["config"], config),
            deployment_id=parsed.get("deploymentId"),
            headers=req.headers,
            mode=mode,
        )
        if dep is None:
            raise _not_found(missing.split(" ")[0] if missing else "Resource")
        return {"deploymentId": dep.id}

    def _visible(self, req: Request) -> Any:
        found = self.state.get_visible(req.params["did"])
        if found is None:
            raise _not_found("Deployment")
        return found

    @route("GET", "/deployments/{did}")
    def get_deployment(self, req: Request) -> Any:
        dep, spec = self._visible(req)
        with self.state.lock:
            return self.state.deployment_view(dep, spec)

    @route("DELETE", "/deployments/{did}")
    def delete_deployment(self, req: Request) -> Any:
        if not self.state.delete(req.params["did"]):
            raise _not_found("Deployment")
        return {"id": req.params["did"]}

    @route("GET", "/deployments/{did}/runs")
    def runs(self, req: Request) -> Any:
        try:
            limit = int(req.query.get("limit", "10"))
        except ValueError:
            raise _validation(
                [
                    {
                        "code": "invalid_type",
                        "path": ["limit"],
                        "message": "Expected number, received nan",
                    }
                ]
            ) from None
        dep, spec = self._visible(req)
        with self.state.lock:
            return self.state.variance.runs(self.state, dep, spec, time.monotonic())[:limit]

    @route("GET", "/deployments/{did}/history")
    def history(self, req: Request) -> Any:
        dep, _spec = self._visible(req)
        now = time.monotonic()
        with self.state.lock:
            items = [
                {**self.state.spec_view(s, now), "workflowRun": None, "_seq": s.seq}
                for s in dep.specs
                if now >= s.visible_at
            ]
        return self.paginate(items, req.query)

    @route("GET", "/deployments/{did}/logs")
    def logs(self, req: Request) -> Any:
        """The live spec's instance logs (paginated): the containers' output in run mode,
        synthetic lines otherwise. Variance profiles play the route's open points."""
        _dep, spec = self._visible(req)
        query = self.state.variance.logs_query(req.query)
        wanted = query.get("instanceId")
        if self.state.runner is not None:  # run mode: the container's real output
            items = self.state.runner.log_items(spec, wanted)
        else:
            items = []
            for run in self.state.runs_view(spec):
                for inst in run["instances"]:
                    if wanted not in (None, inst["instanceId"]):
                        continue
                    lines = [f"pulling image {spec.data.get('image')}"]
                    lines.append(inst["stateMessage"] or f"container {inst['state']}")
                    started = spec.wall + self.state.timings.apply_after
                    for n, line in enumerate(lines):
                        items.append({
                            "id": f"{inst['id']}-{n}", "jobId": run["id"], "message": line,
                            "uuid": None, "dtCreated": iso(started + n * 0.001),
                            "instanceId": inst["instanceId"], "_seq": len(items),
                        })  # fmt: skip
        if self.state.variance.logs_bare:
            ordered = sorted(items, key=lambda i: i["_seq"])
            return [{k: v for k, v in i.items() if not k.startswith("_")} for i in ordered]
        return self.paginate(items, query)

    # -- container registries ---------------------------------------------------------------------

    @route("GET", "/container-registries")
    def list_registries(self, req: Request) -> Any:
        with self.state.lock:
            items = [
                {**State.public_registry(r), "_seq": r["_seq"]}
                for r in self.state.registries.values()
            ]
        return self.paginate(items, req.query)

    def _registry_issues(self, body: Any, partial: bool) -> list[dict[str, Any]]:
        if not isinstance(body, dict):
            return [
                {
                    "code": "invalid_type",
                    "expected": "object",
                    "received": "undefined",
                    "path": [],
                    "message": "Required",
                }
            ]
        issues = []
        for key in ("name", "namespace", "url", "username", "password"):
            if key not in body:
                if not partial:
                    issues.append(
                        {
                            "code": "invalid_type",
                            "expected": "string",
                            "received": "undefined",
                            "path": [key],
                            "message": "Required",
                        }
                    )
            elif not isinstance(body[key], str) or (key != "namespace" and not body[key]):
                issues.append(
                    {
                        "code": "invalid_type",
                        "expected": "string",
                        "path": [key],
                        "message": "Expected a non-empty string",
                    }
                )
        if "kind" in body and body["kind"] not in REGISTRY_KINDS:
            issues.append(
                {
                    "code": "invalid_enum_value",
                    "path": ["kind"],
                    "options": list(REGISTRY_KINDS),
                    "message": "Invalid enum value",
                }
            )
        return issues

    @route("POST", "/container-registries")
    def create_registry(self, req: Request) -> Any:
        issues = self._registry_issues(req.body, partial=False)
        if issues:
            raise _validation(issues)
        return State.public_registry(self.state.add_registry(req.body))

    def _registry(self, req: Request) -> dict[str, Any]:
        record = self.state.registries.get(req.params["rid"])
        if record is None:
            raise _not_found("Container registry")
        return record

    @route("GET", "/container-registries/{rid}")
    def get_registry(self, req: Request) -> Any:
        return State.public_registry(self._registry(req))

    @route("PUT", "/container-registries/{rid}")
    def update_registry(self, req: Request) -> Any:
        record = self._registry(req)
        issues = self._registry_issues(req.body, partial=True)
        if issues:
            raise _validation(issues)
        with self.state.lock:
            for key in ("name", "namespace", "url", "username", "password", "kind"):
                if key in req.body:
                    record[key] = req.body[key]
        return State.public_registry(record)

    @route("DELETE", "/container-registries/{rid}")
    def delete_registry(self, req: Request) -> Any:
        record = self._registry(req)
        with self.state.lock:
            self.state.registries.pop(record["id"], None)
        return State.public_registry(record)

    @route("GET", "/container-registries/{rid}/test-connection")
    def test_connection(self, req: Request) -> Any:
        ok, error = check_connection(dict(self._registry(req)), self.state.timings.pull_check)
        return {"success": True} if ok else {"success": False, "error": error}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: Emulator


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle on, the body waits ~40 ms for the
    # client's delayed ACK on every request
    disable_nagle_algorithm = True
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
        ctype: str = "application/json",
    ) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
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
        method = self.command
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if 0 < length <= MAX_BODY * 10 else b""
        path = unquote(parts.path)
        emu.count(method, path)
        if not path.startswith("/v1/") and path != "/v1":
            return self._send(404, NOT_FOUND)
        path = path[3:] or "/"
        fault = emu.faults.pick(method, path)
        if fault is not None:
            if fault.kind == "drop":
                return self._drop()
            if fault.kind == "delay":
                time.sleep(fault.delay)
            elif fault.kind == "429":
                return self._send(
                    429,
                    {"message": "Too many requests", "code": "TOO_MANY_REQUESTS"},
                    {"Retry-After": fault.retry_after},
                )
            elif fault.kind == "status":
                if fault.html:
                    return self._send(
                        fault.status,
                        None,
                        raw=b"<html><body>Bad Gateway</body></html>",
                        ctype="text/html",
                    )
                return self._send(
                    fault.status,
                    {"message": "Internal server error", "code": "INTERNAL_SERVER_ERROR"},
                )
        if method == "GET" and path == "/health":
            return self._send(200, "HEALTHY")
        if method == "GET" and path == "/openapi.json":
            return self._send(
                200,
                {
                    "openapi": "3.0.3",
                    "info": {"title": "Paperspace API (emulated subset)", "version": "1.0.0"},
                    "paths": {},
                },
            )
        found = match_route(method, path)  # trpc-openapi matches the route before auth
        if found is None:
            return self._send(404, NOT_FOUND)
        handler_name, params = found
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in emu.state.api_keys:
            return self._send(401, UNAUTHORIZED)
        body = None
        if raw:
            if length > MAX_BODY:
                return self._send(
                    413, {"message": "Request body too large", "code": "PAYLOAD_TOO_LARGE"}
                )
            # trpc-openapi parses the body only for exactly application/json
            if (self.headers.get("Content-Type") or "").strip().lower() != "application/json":
                body = None
            else:
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._send(
                        400, {"message": "Failed to parse request body", "code": "PARSE_ERROR"}
                    )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(method, path, query, headers, body, params)
        try:
            result = getattr(emu.api, handler_name)(req)
        except HttpError as err:
            return self._send(err.status, err.body)
        if fault is not None and fault.kind == "drop-after":
            return self._drop()  # applied, but the client never hears about it
        return self._send(200, result)

    def do_GET(self) -> None:
        self._safe()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _safe(self) -> None:
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug in the emulator: answer like trpc does
            self._send(500, {"message": "Internal server error", "code": "INTERNAL_SERVER_ERROR"})


class Emulator:
    """`with Emulator(state).start() as emu: emu.url` -- a real server on a real port."""

    def __init__(
        self,
        state: State | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.state = state or State()
        self.faults = faults or Faults()
        self.api = Api(self.state)
        self.verbose = verbose
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self.httpd = _Server((host, port), _RequestHandler)
        self.httpd.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}/v1"

    def count(self, method: str, path: str) -> None:
        path = path[3:] if path.startswith("/v1/") else path
        key = f"{method} {re.sub(r'/[0-9a-f-]{36}', '/{id}', path)}"
        with self._count_lock:
            self.requests[key] = self.requests.get(key, 0) + 1

    def total_requests(self) -> int:
        with self._count_lock:
            return sum(self.requests.values())

    def start(self) -> Emulator:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="paperspace-emulator",
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
