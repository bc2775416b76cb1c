"""Listening sockets from uWSGI address specs: ``host:port``, ``:port``, ``[v6]:port``.

Sockets are bound before the app is loaded (as uWSGI does), non-blocking, with
``SO_REUSEADDR`` and the ``--listen`` backlog.  On Linux a backlog above
``net.core.somaxconn`` is refused at startup with uWSGI's message instead of being
silently clipped by the kernel.
"""

from __future__ import annotations

import socket
from typing import Tuple


class ListenError(Exception):
    """A socket spec is malformed or cannot be bound; ``str()`` names the spec."""


def parse_address(spec: str) -> Tuple[str, int]:
    """``"127.0.0.1:9090"`` -> (host, port); ``":9090"`` binds every interface."""
    host, sep, port = spec.rpartition(":")
    if not sep:
        raise ListenError("socket address %r: expected host:port or :port (UNIX sockets are not supported yet)" % spec)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port_no = int(port)
    except ValueError:
        raise ListenError("socket address %r: port %r is not a number" % (spec, port)) from None
    if not 0 <= port_no <= 65535:
        raise ListenError("socket address %r: port %d out of range" % (spec, port_no))
    return host or "0.0.0.0", port_no


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
