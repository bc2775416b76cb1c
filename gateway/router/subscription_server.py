"""The socket side of a router's subscription server, shared by the FastRouter and the HTTP router.

:func:`bind_subscription_socket` binds the datagram socket of a ``--fastrouter-subscription-server``
or ``--http-subscription-server`` (UDP ``HOST:PORT``, or a UNIX datagram ``/path`` or ``@name``)
before any fork; :class:`SubscriptionServer` is the asyncio datagram protocol that applies each
announce to the router's one :class:`~gateway.router.subscription.SubscriptionTable`.  Parsing and
the table itself are sans-IO (:mod:`gateway.router.subscription`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import time
from typing import Any

from gateway.logs import gen_log
from gateway.router.fastrouter import log_limited
from gateway.router.subscription import SubscriptionError, SubscriptionTable, parse_subscription
from gateway.server.listeners import ListenError, parse_address

__all__ = ["bind_subscription_socket", "SubscriptionServer"]


def _bind_unix_dgram(spec: str) -> socket.socket:
    """A UNIX datagram socket at ``spec`` (``@name``: abstract); a stale socket file is replaced."""
    address = "\0" + spec[1:] if spec.startswith("@") else spec
    if not spec.startswith("@"):
        try:
            if not stat.S_ISSOCK(os.stat(spec).st_mode):
                raise ListenError("cannot bind %s: a file that is not a socket is in the way" % spec)
            os.unlink(spec)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise ListenError("cannot bind %s: %s" % (spec, e.strerror or e)) from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise ListenError("cannot bind %s: %s" % (spec, e.strerror or e)) from None
    sock.setblocking(False)
    return sock


def bind_subscription_socket(spec: str) -> socket.socket:
    """The subscription server's socket: UDP ``HOST:PORT``, or a UNIX datagram ``/path`` or ``@name``;
    :class:`~gateway.server.listeners.ListenError` (saying why) when it cannot be bound."""
    if spec.startswith(("/", "@")) or "/" in spec:
        return _bind_unix_dgram(spec)
    try:
        host, port = parse_address(spec)
    except ListenError:
        raise
    except (ValueError, TypeError):
        raise ListenError("%s: expected HOST:PORT" % spec) from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ListenError("cannot bind %s: %s" % (spec, e.strerror or e)) from None
    sock.setblocking(False)
    return sock


class SubscriptionServer(asyncio.DatagramProtocol):
    """One subscription server socket: each datagram updates ``table``.

    ``name`` prefixes the log lines (``fastrouter-subscription``, ``http-subscription``).  A bad
    datagram costs one rate-limited log line and nothing else."""

    def __init__(self, table: SubscriptionTable, name: str = "fastrouter-subscription") -> None:
        self.table = table
        self.name = name

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            line = self.table.apply(parse_subscription(data), time.monotonic())
        except SubscriptionError as e:
            log_limited("subscription", "[%s] datagram from %s refused: %s", self.name,
                        addr[0] if isinstance(addr, tuple) else addr, e)
            return
        if line:
            gen_log.info("[%s] %s", self.name, line)

    def error_received(self, exc: Exception) -> None:
        log_limited("subscription-io", "[%s] receive error: %s", self.name, exc)
