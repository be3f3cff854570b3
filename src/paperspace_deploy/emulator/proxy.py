"""The deployment's endpoint in run mode: a loopback HTTP proxy in front of the ready container.

Like the platform's endpoint it is public unless the spec sets `basicAuthKey`; then every request
needs `Authorization: Basic base64("paperspace:<key>")` or gets 401. Traffic goes only to a
container whose readiness probe passes (`upstream()` says which port); otherwise 503 `no healthy
upstream`, the load balancer's answer. Bodies are streamed both ways in bounded chunks.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hmac
import http.client
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK = 64 * 1024
UPSTREAM_TIMEOUT = 60.0
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
USERNAME = "paperspace"


def basic_auth_header(key: str) -> str:
    return "Basic " + base64.b64encode(f"{USERNAME}:{key}".encode()).decode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: EndpointProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away mid-response: nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines may carry tokens; the emulator prints none of them

    def _plain(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        data = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _authorized(self) -> bool:
        key = self.server.proxy.basic_auth()
        if key is None:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), basic_auth_header(key).encode())

    def _relay(self) -> None:
        proxy = self.server.proxy
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.close_connection = True
            return self._plain(411, "chunked request bodies are not supported; send Content-Length")
        if not self._authorized():
            self.close_connection = True  # the unread body must not be taken for a request
            return self._plain(
                401, "Unauthorized", {"WWW-Authenticate": f'Basic realm="{USERNAME}"'}
            )
        port = proxy.upstream()
        if port is None:
            return self._plain(503, "no healthy upstream")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers.pop("Authorization", None)  # the endpoint consumed it, as the platform's does
        client = self.client_address[0]
        headers["X-Forwarded-For"] = client
        headers["X-Forwarded-Proto"] = "http"
        headers["X-Forwarded-Host"] = self.headers.get("Host", "")
        upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=UPSTREAM_TIMEOUT)
        try:
            upstream.connect()
            upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in headers.items():
                upstream.putheader(key, value)
            upstream.endheaders()
            remaining = int(length) if length and length.isdigit() else 0
            while remaining > 0:
                chunk = self.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    break
                upstream.send(chunk)
                remaining -= len(chunk)
            resp = upstream.getresponse()
        except OSError:
            self.close_connection = True
            return self._plain(503, "upstream connect error or disconnect/reset before headers")
        except http.client.HTTPException:
            self.close_connection = True
            return self._plain(502, "upstream sent a malformed response")
        try:
            self._send_upstream(resp)
        finally:
            upstream.close()

    def _send_upstream(self, resp: http.client.HTTPResponse) -> None:
        self.send_response_only(resp.status, resp.reason)
        known_length = False
        for key, value in resp.getheaders():
            if key.lower() in HOP_BY_HOP:
                continue
            known_length = known_length or key.lower() == "content-length"
            self.send_header(key, value)
        bodyless = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
        if not known_length and not bodyless:
            self.send_header("Connection", "close")  # the body ends when the socket does
            self.close_connection = True
        self.end_headers()
        if bodyless:
            return
        while True:
            chunk = resp.read1(CHUNK) if hasattr(resp, "read1") else resp.read(CHUNK)
            if not chunk:
                break
            self.wfile.write(chunk)

    def do_GET(self) -> None:
        try:
            self._relay()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET


class EndpointProxy:
    """`EndpointProxy(upstream, basic_auth).start()`; `url` is what the API shows as endpoint."""

    def __init__(
        self,
        upstream: Callable[[], int | None],
        basic_auth: Callable[[], str | None],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.upstream = upstream
        self.basic_auth = basic_auth
        self.httpd = _Server((host, port), _Handler)
        self.httpd.proxy = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EndpointProxy:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"psd-endpoint-{self.port}",
        )
        self._thread.start()
        return self

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.httpd.shutdown()
            self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def port_free(port: int) -> bool:
    """Can something listen on `port` on this host right now? (Host networking: the container's
    ports are this machine's ports.) TIME_WAIT leftovers do not count."""
    for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this host
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False  # other errors (no such address family here) say nothing
        finally:
            sock.close()
    return True
