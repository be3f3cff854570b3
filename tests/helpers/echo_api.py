"""A hostile API on loopback that echoes the run's secrets back in its errors.

It sits in front of a real server (the emulator) and forwards every request, except those its
`echo(method, path)` picks: those are answered with an error whose `message` and zod `issues`
carry the API key (raw, base64, percent-, HTML- and JSON-escaped) and the whole request body
(the spec, plaintext credentials included), after padding that puts the key at character 280,
so a cut at 300 lands inside it. With no upstream every request is echoed.
"""

from __future__ import annotations

import base64
import html
import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

PAD = "p" * 266  # + " rejected key " = 280
MAX_BODY = 4 * 1024 * 1024


def echo_text(key: str, body: str) -> str:
    forms = [key, base64.b64encode(key.encode()).decode(), quote(key, safe=""),
             html.escape(key), json.dumps(key)[1:-1], key.replace("%", "%25")]  # fmt: skip
    return f"{PAD} rejected key {' | '.join(forms)} for body {body}"


def _handler(upstream: str | None, echo: Callable[[str, str], bool],
             hits: list[tuple[str, str, bool]]) -> type[BaseHTTPRequestHandler]:  # fmt: skip
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _any(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            body = self.rfile.read(length) if length else b""
            echoed = upstream is None or echo(self.command, self.path)
            hits.append((self.command, self.path, echoed))
            if echoed:
                self._echo(body)
            else:
                self._forward(body)

        def _echo(self, body: bytes) -> None:
            auth = self.headers.get("Authorization", "")
            key = auth.removeprefix("Bearer ")
            text = echo_text(key, body.decode("utf-8", "replace"))
            answer = {
                "code": "BAD_REQUEST",
                "message": text,
                "issues": [
                    {"code": "custom", "path": ["config", "image"], "message": text},
                    {"code": "custom", "path": ["config", "env", 0, "value"], "message": text},
                ],
            }
            self._send(400, json.dumps(answer).encode(), "application/json")

        def _forward(self, body: bytes) -> None:
            assert upstream is not None
            parts = urlsplit(upstream)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            try:
                skip = ("host", "connection", "content-length")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                conn.request(self.command, self.path, body or None, headers)
                got = conn.getresponse()
                data = got.read()
                self._send(got.status, data, got.getheader("Content-Type") or "application/json")
            finally:
                conn.close()

        def _send(self, status: int, data: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    return Handler


@contextmanager
def echo_api(upstream: str | None = None,
             echo: Callable[[str, str], bool] = lambda method, path: method != "GET",
             ) -> Iterator[tuple[str, list[tuple[str, str, bool]]]]:  # fmt: skip
    """(base URL, hits) of an echoing API in front of `upstream` (its URL, `/v1` included)."""
    hits: list[tuple[str, str, bool]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, echo, hits))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        path = urlsplit(upstream).path if upstream else "/v1"
        yield f"http://{host}:{port}{path}", hits
    finally:
        server.shutdown()
        server.server_close()
