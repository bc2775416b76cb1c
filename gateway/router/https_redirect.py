"""``--http-to-https ADDR[,PORT]``: a router listener that sends every client to HTTPS.

uWSGI's option: each request on ADDR is answered ``301 Moved Permanently`` with
``Location: https://HOST[:PORT]/the/request/target`` (HOST is the request's ``Host``
without its port; PORT, when given, is the HTTPS port to name) and the connection is
closed; nothing reaches a worker.  The request head is read with the router's own
parser and limits (``--buffer-size``, ``--http-max-headers``, ``--socket-timeout``),
so a malformed or slow request costs its sender only: a 4xx, or a close at the deadline.

A request without any ``Host`` cannot be redirected and gets a ``400``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from gateway.logs import gen_log
from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1 import NEED_DATA, RequestParser
from gateway.protocol.http1_events import Request

__all__ = ["HttpsRedirect", "redirect_location"]

IDLE, CLOSED = 0, 4


def redirect_location(host: str, target: str, port: str) -> str:
    """``https://`` + ``host`` without its port (``[v6]`` kept whole) + ``:port`` if given + ``target``."""
    if host.startswith("["):
        name = host[: host.find("]") + 1] if "]" in host else host
    else:
        name = host.split(":", 1)[0]
    if not target.startswith("/"):
        target = "/" if target in ("", "*") else target
    return "https://%s%s%s" % (name, ":" + port if port else "", target)


class HttpsRedirect(asyncio.Protocol):
    """One connection on an ``--http-to-https`` listener (the sweep's interface of
    :class:`~gateway.router.http_front.RouterConnection`: ``state``, ``on_timeout``, ``_close``)."""

    def __init__(self, router: Any, port: str) -> None:
        self.router = router
        self.port = port
        s = router.settings
        self.parser = RequestParser(max_head=s.max_head, max_headers=s.max_headers, max_body=s.max_body)
        self.transport: Optional[asyncio.Transport] = None
        self.state = IDLE
        self.deadline = 0.0
        self.remote_addr = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.remote_addr = peer[0]
        self.router.connections.add(self)
        self.router.check_budget()
        self.deadline = self.router.loop.time() + self.router.settings.socket_timeout

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.state = CLOSED
        self.router.connections.discard(self)
        self.router.check_budget()

    def data_received(self, data: bytes) -> None:
        if self.state == CLOSED:
            return
        self.parser.receive_data(data)
        try:
            event = self.parser.next_event()
        except RemoteProtocolError as e:
            gen_log.info("malformed HTTP request from %s: %s", self.remote_addr, e.args[0] if e.args else e)
            self._answer(e.status_hint or 400, "Bad Request", None)
            return
        if event is NEED_DATA:
            return
        if type(event) is Request:
            if not event.host:
                self._answer(400, "Bad Request", None)
            else:
                self._answer(301, "Moved Permanently", redirect_location(event.host, event.target, self.port))
            return
        self._close()

    def eof_received(self) -> Optional[bool]:
        self._close()
        return None

    def on_timeout(self, now: float) -> None:
        if self.state != CLOSED and now > self.deadline:
            self._close()

    def _answer(self, status: int, reason: str, location: Optional[str]) -> None:
        if self.transport is not None and self.state != CLOSED:
            head = "HTTP/1.1 %d %s\r\n" % (status, reason)
            if location is not None:
                head += "Location: %s\r\n" % location
            head += "Content-Length: 0\r\nConnection: close\r\n\r\n"
            self.transport.write(head.encode("latin-1", "replace"))
        self._close()

    def _close(self) -> None:
        if self.state != CLOSED and self.transport is not None:
            self.state = CLOSED
            self.transport.close()
