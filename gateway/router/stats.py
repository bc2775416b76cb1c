"""``--http-stats ADDR`` (``--http-stats-server``, ``--http-ss``): the HTTP router's stats server.

uWSGI's corerouters answer each connection to their stats socket with one JSON document
and close it (with ``--stats-http``, as an HTTP/1.0 response to whatever request arrives)::

    {"version": "2.0.31", "pid": 4242, "uid": 0, "gid": 0, "cwd": "/srv",
     "active_sessions": 3, "http": ["0.0.0.0:8080", "0.0.0.0:8443"], "cheap": 0}

``active_sessions`` is the client connections of the router process that serves the
socket; as in uWSGI, with ``--http-processes N`` only the first router process serves
it.  The socket is bound by the CLI before any fork (a bad address fails at startup).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from typing import Any, Callable, Dict, List, Optional

from gateway import UWSGI_COMPAT_VERSION
from gateway.server.accept import serve_on_socket
from gateway.server.listeners import ListenError, bind_tcp, bind_unix, listen_address

#: seconds a stats client has to send its request (with --stats-http), then to read the document
STATS_TIMEOUT = 4.0


def bind_stats(spec: str, backlog: int = 100) -> socket.socket:
    """Bind ``host:port`` (TCP) or a UNIX path (``@name``: abstract); ListenError naming the option."""
    try:
        if ":" in spec and "/" not in spec:
            return bind_tcp(spec, backlog)
        return bind_unix(spec, backlog)
    except ListenError as e:
        raise ListenError("--http-stats: %s" % e) from None


def stats_document(active_sessions: int, listeners: List[str]) -> Dict[str, Any]:
    """The document, with uWSGI's corerouter keys (no subscriptions or static nodes here)."""
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    return {
        "version": UWSGI_COMPAT_VERSION,
        "pid": os.getpid(),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "cwd": cwd,
        "active_sessions": active_sessions,
        "http": listeners,
        "cheap": 0,
    }


class StatsConnection(asyncio.Protocol):
    """One stats client: the document at once, or (``http``) after its request's first bytes."""

    def __init__(self, render: Callable[[], bytes], http: bool) -> None:
        self.render = render
        self.http = http
        self.transport: Optional[asyncio.Transport] = None
        self._timer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if not self.http:
            self._answer()
        else:
            self._timer = asyncio.get_running_loop().call_later(STATS_TIMEOUT, transport.close)

    def data_received(self, data: bytes) -> None:
        if self.http and self.transport is not None and not self.transport.is_closing():
            self._answer()

    def _answer(self) -> None:
        assert self.transport is not None
        body = self.render()
        if self.http:
            body = (b"HTTP/1.0 200 OK\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
        self.transport.write(body)
        self.transport.close()
        if self._timer is not None:
            self._timer.cancel()
        # a client that does not read would keep the document (and the socket) forever:
        # what it has not taken within STATS_TIMEOUT is dropped
        self._timer = asyncio.get_running_loop().call_later(STATS_TIMEOUT, self.transport.abort)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if self._timer is not None:
            self._timer.cancel()


async def serve_stats(loop: asyncio.AbstractEventLoop, sock: socket.socket, sessions: Callable[[], int],
                      listeners: List[socket.socket], http: bool = False,
                      subscriptions: Optional[Callable[[], List[Dict[str, Any]]]] = None) -> Any:
    """Serve the stats socket in the router's loop; returns the asyncio server.

    ``subscriptions``: the table's ``stats`` (``--http-subscription-server``), listed under
    ``subscriptions`` as uWSGI's corerouters list them."""
    names = [listen_address(s) for s in listeners]

    def render() -> bytes:
        doc = stats_document(sessions(), names)
        if subscriptions is not None:
            doc["subscriptions"] = subscriptions()
        return json.dumps(doc, indent=None).encode()

    return await serve_on_socket(loop, lambda: StatsConnection(render, http), sock)
