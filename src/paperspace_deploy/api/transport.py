"""HTTP transport of the API client: every response ends by its budget, at a bounded size.

requests' (connect, read) timeouts bound each wait on the socket, not a whole response: a server
that trickles one byte a second -- in the headers or the body -- never trips them, and an endless
body is read into memory. So each request runs under a watchdog that shuts down this adapter's
sockets when the request's budget ends, and bodies are read in chunks up to a size cap.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # a history page of 120 specs of 100 KB fits, a flood not
CHUNK = 64 * 1024


class TooLarge(Exception):
    """The body passed MAX_RESPONSE_BYTES; it was not read further."""


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter that remembers its connections so `guard` can cut them."""

    def __init__(self, **kw: Any) -> None:
        self._conns: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._pools = {"http": self._tracking(HTTPConnectionPool),
                       "https": self._tracking(HTTPSConnectionPool)}  # fmt: skip
        super().__init__(**kw)

    def _tracking(self, base: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
        adapter = self

        class Pool(base):  # type: ignore[valid-type,misc]
            def _new_conn(self) -> Any:
                conn = super()._new_conn()
                with adapter._lock:
                    adapter._conns.add(conn)
                return conn

        return Pool

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = dict(self._pools)

    def proxy_manager_for(self, proxy: str, **kw: Any) -> Any:
        known = proxy in self.proxy_manager
        manager = super().proxy_manager_for(proxy, **kw)
        if not known and not proxy.lower().startswith("socks"):  # SOCKS has its own pools
            manager.pool_classes_by_scheme = dict(self._pools)
        return manager

    def cut(self) -> None:
        """Shut down every socket of this adapter: a blocked read returns at once."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            sock = getattr(conn, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    @contextlib.contextmanager
    def guard(self, seconds: float) -> Iterator[threading.Event]:
        """Cut the connections if the block has not finished after `seconds`; the event says
        whether that happened (the request failed because its budget ran out)."""
        fired = threading.Event()

        def expire() -> None:
            fired.set()
            self.cut()

        timer = threading.Timer(max(0.0, seconds), expire)
        timer.daemon = True
        timer.start()
        try:
            yield fired
        finally:
            timer.cancel()


def read_body(resp: Any, cap: int = MAX_RESPONSE_BYTES) -> bytes:
    """The whole body of a streamed response, or TooLarge once it passes `cap` bytes."""
    chunks, size = [], 0
    try:
        for chunk in resp.iter_content(CHUNK):
            size += len(chunk)
            if size > cap:
                raise TooLarge(f"larger than {cap // (1024 * 1024)} MiB")
            chunks.append(chunk)
    finally:
        resp.close()
    return b"".join(chunks)
