"""A small HTTP relay that injects faults between a client (our code or the Docker engine) and a
real server (the registry or the emulator). Configured through class attributes; reset and
started by `start_relay`, which yields the class with `.address` set.

- `faults`: [method, path fragment, status, remaining] answered instead of forwarding
  (429 carries `Retry-After: 1`);
- `reset_blob_patches`: reset that many blob uploads halfway through their body;
- `close_after_response`: drop each connection after one response *without* announcing it.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Relay(BaseHTTPRequestHandler):
    upstream = ""
    address = ""
    faults: list[list] = []  # noqa: RUF012
    reset_blob_patches = 0
    close_after_response = False
    connections = 0
    hits: list[tuple[str, str, int]] = []  # noqa: RUF012  (method, path, status; 0 = reset)
    lock = threading.Lock()
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with Relay.lock:
            Relay.connections += 1

    def log_message(self, *args: object) -> None:
        pass

    def _read_body(self, limit: int | None = None) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
                if limit is not None and len(data) >= limit:
                    return data
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length if limit is None else min(length, limit))

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _fault(self) -> int | None:
        with Relay.lock:
            for fault in Relay.faults:
                method, fragment, status, left = fault
                if left > 0 and self.command == method and fragment in self.path:
                    fault[3] -= 1
                    Relay.hits.append((self.command, self.path, status))
                    return status
        return None

    def _handle(self) -> None:
        blob = self.command in ("PATCH", "PUT") and "/blobs/uploads/" in self.path
        if blob and Relay.reset_blob_patches > 0:
            Relay.reset_blob_patches -= 1
            self._read_body(limit=16 * 1024)  # part of the layer, then a reset
            Relay.hits.append((self.command, self.path, 0))
            return self._reset()
        body = self._read_body()
        status = self._fault()
        if status is not None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            if status == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            return None
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        conn.close()
        if Relay.close_after_response:  # the server drops keep-alive silently
            self.close_connection = True
        return None

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def start_relay(upstream: str = "") -> Iterator[type[Relay]]:
    Relay.upstream, Relay.faults, Relay.hits = upstream, [], []
    Relay.reset_blob_patches, Relay.close_after_response, Relay.connections = 0, False, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    Relay.address = f"127.0.0.1:{server.server_address[1]}"
    try:
        yield Relay
    finally:
        server.shutdown()
        server.server_close()
