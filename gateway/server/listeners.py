"""Listening sockets from uWSGI address specs: ``host:port``, ``:port``, ``[v6]:port``.

Sockets are bound before the app is loaded (as uWSGI does), non-blocking, with
``SO_REUSEADDR`` and the ``--listen`` backlog.  On Linux a backlog above
``net.core.somaxconn`` is refused at startup with uWSGI's message instead of being
silently clipped by the kernel.
"""

from __future__ import annotations

import socket
from typing import Tuple

from gateway.config.converters import parse_address as _parse_address
from gateway.config.errors import Invalid


class ListenError(Exception):
    """A socket spec is malformed or cannot be bound; ``str()`` names the spec."""


def parse_address(spec: str) -> Tuple[str, int]:
    """``"127.0.0.1:9090"`` -> (host, port); ``":9090"`` binds every interface.

    The syntax is the config layer's (one parser for both); here a bad spec
    becomes a :class:`ListenError` naming it.
    """
    try:
        return _parse_address(spec)
    except Invalid as e:
        reason = e.detail or "expected " + e.expected
        raise ListenError("socket address %r: %s" % (spec, reason)) from None


def somaxconn() -> int:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def bind_tcp(spec: str, backlog: int = 100) -> socket.socket:
    """Bind and listen on ``spec``; raise :class:`ListenError` with the reason."""
    host, port = parse_address(spec)
    limit = somaxconn()
    if limit and backlog > limit:
        raise ListenError(
            "Listen queue size is greater than the system max net.core.somaxconn (%d): --listen %d" % (limit, backlog)
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        raise ListenError("cannot bind %s: %s" % (spec, e.strerror or e)) from None
    sock.setblocking(False)
    return sock


def bound_address(sock: socket.socket) -> str:
    """``host:port`` actually bound (resolves port 0)."""
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = "[%s]" % host
    return "%s:%d" % (host, port)
