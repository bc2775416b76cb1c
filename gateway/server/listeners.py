"""Listening sockets from uWSGI address specs: ``host:port``, ``:port``, ``[v6]:port``, UNIX paths.

Each bound socket remembers the protocol it speaks (``"http"`` for ``--http-socket``,
``"uwsgi"`` for ``--socket`` (or what ``--protocol`` says), ``"fastcgi"`` and ``"scgi"``
for ``--fastcgi-socket`` and ``--scgi-socket``): :func:`socket_protocol` tells it to the
worker, which serves it accordingly, and :func:`ready_addresses` renders the
machine-readable part of the readiness line (``http-socket=A,B socket=C``).

Sockets are bound before the app is loaded (as uWSGI does), non-blocking, with
``SO_REUSEADDR`` and the ``--listen`` backlog.  On Linux a backlog above
``net.core.somaxconn`` is refused at startup with uWSGI's message instead of being
silently clipped by the kernel.
"""

from __future__ import annotations

import os
import socket
import ssl
import stat
import weakref
from typing import Iterable, List, Optional, Tuple

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


#: socket options set on every TCP socket before it is bound (:func:`set_bind_flags`)
_BIND_FLAGS: List[Tuple[int, int]] = []


def set_bind_flags(reuse_port: bool = False, freebind: bool = False) -> None:
    """``--reuse-port`` (SO_REUSEPORT: other processes may bind the same port, the kernel
    spreads connections) and ``--freebind`` (IP_FREEBIND: bind an address not configured
    yet) for every TCP socket bound from now on; called by the CLI before it binds."""
    _BIND_FLAGS.clear()
    if reuse_port:
        _BIND_FLAGS.append((socket.SOL_SOCKET, getattr(socket, "SO_REUSEPORT", 15)))
    if freebind:
        _BIND_FLAGS.append((socket.IPPROTO_IP, getattr(socket, "IP_FREEBIND", 15)))


class SocketTuning:
    """``--socket-sndbuf``, ``--socket-rcvbuf`` (every socket bound), ``--tcp-fast-open`` (TCP)
    and ``--abstract-socket`` (UNIX): set once by the CLI (:func:`set_socket_tuning`) before it
    binds, applied by :func:`bind_tcp` and :func:`bind_unix` as uWSGI's ``bind_to_*`` do."""

    sndbuf = 0
    rcvbuf = 0
    fast_open = 0
    abstract = False


def set_socket_tuning(sndbuf: int = 0, rcvbuf: int = 0, fast_open: int = 0, abstract: bool = False) -> None:
    SocketTuning.sndbuf, SocketTuning.rcvbuf = sndbuf, rcvbuf
    SocketTuning.fast_open, SocketTuning.abstract = fast_open, abstract


def _tune(sock: socket.socket) -> None:
    """The buffer sizes of :class:`SocketTuning` (accepted connections inherit them), and
    TCP_FASTOPEN before ``listen`` on a TCP socket; a refused one is an ``OSError``."""
    if SocketTuning.sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SocketTuning.sndbuf)
    if SocketTuning.rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SocketTuning.rcvbuf)
    if SocketTuning.fast_open and sock.family != socket.AF_UNIX:
        sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, "TCP_FASTOPEN", 23), SocketTuning.fast_open)


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
        for level, flag in _BIND_FLAGS:
            sock.setsockopt(level, flag, 1)
        _tune(sock)
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


#: the protocol each listening socket speaks (kept across fork: same objects)
_PROTOCOLS: "weakref.WeakKeyDictionary[socket.socket, str]" = weakref.WeakKeyDictionary()
#: readiness-line key per protocol (uWSGI's option names)
READY_KEYS = {"http": "http-socket", "https": "https-socket", "suwsgi": "ssl-socket", "uwsgi": "socket", "fastcgi": "fastcgi-socket",
              "fastcgi-nph": "fastcgi-nph-socket", "scgi": "scgi-socket", "scgi-nph": "scgi-nph-socket"}
#: ``--https-socket``, ``--ssl-socket``: the server TLS context of each such listening socket
_TLS: "weakref.WeakKeyDictionary[socket.socket, ssl.SSLContext]" = weakref.WeakKeyDictionary()


def set_tls_context(sock: socket.socket, context: "ssl.SSLContext", protocol: str = "https") -> None:
    """Serve ``sock`` behind TLS with ``context``: ``"https"`` (``--https-socket``) or
    ``"suwsgi"`` (``--ssl-socket``, the uwsgi protocol)."""
    _TLS[sock] = context
    _PROTOCOLS[sock] = protocol


def tls_context(sock: socket.socket) -> "Optional[ssl.SSLContext]":
    """The TLS context of an ``--https-socket`` or ``--ssl-socket``, None for the others."""
    return _TLS.get(sock)


def is_unix_spec(spec: str) -> bool:
    return "/" in spec or ":" not in spec


def bind_unix(path: str, backlog: int = 100) -> socket.socket:
    """Bind a UNIX stream socket (``@name``: Linux abstract namespace; with
    ``--abstract-socket`` every name is).  A stale socket file left by a previous run is
    replaced; any other existing file is refused."""
    if path.startswith("@"):
        address = "\0" + path[1:]
    elif SocketTuning.abstract:
        address = "\0" + path
    else:
        address = path
    if not address.startswith("\0"):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise ListenError("cannot bind %s: %s" % (path, e.strerror or e)) from None
        else:
            if not stat.S_ISSOCK(st.st_mode):
                raise ListenError("cannot bind %s: a file that is not a socket is in the way" % path)
            os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        _tune(sock)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        raise ListenError("cannot bind %s: %s" % (path, e.strerror or e)) from None
    sock.setblocking(False)
    return sock


def unix_socket_file(sock: socket.socket) -> Optional[str]:
    """The path of a UNIX socket bound to a file, None for TCP and abstract sockets."""
    if sock.family != socket.AF_UNIX:
        return None
    name = sock.getsockname()
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    return name if name and not name.startswith("\0") else None


def set_socket_file_access(sock: socket.socket, mode: Optional[int], uid: int = -1, gid: int = -1) -> None:
    """``--chmod-socket``/``--chown-socket`` on a UNIX socket's file (nothing for TCP or abstract)."""
    path = unix_socket_file(sock)
    if path is None:
        return
    try:
        if mode is not None:
            os.chmod(path, mode)
        if uid != -1 or gid != -1:
            os.chown(path, uid, gid)
    except OSError as e:
        raise ListenError("%s: cannot set its owner or permissions: %s" % (path, e.strerror or e)) from None


#: ``--shared-socket`` sockets, bound first, in order: ``=N`` refers to ``SHARED[N]``.
SHARED: List[socket.socket] = []


def bind_shared(spec: str, backlog: int = 100) -> socket.socket:
    """Bind a ``--shared-socket`` (before privileges are dropped) and remember it."""
    sock = bind_tcp(spec, backlog)
    SHARED.append(sock)
    return sock


def shared_socket(spec: str) -> socket.socket:
    """The socket ``=N`` refers to; :class:`ListenError` if there is no such shared socket."""
    index = int(spec[1:])
    if index >= len(SHARED):
        raise ListenError("%s: there is no shared socket %d (%d --shared-socket given)"
                          % (spec, index, len(SHARED)))
    return SHARED[index]


def bind_socket(spec: str, backlog: int = 100, protocol: str = "http") -> socket.socket:
    """Bind ``spec`` (TCP, or a UNIX path except for ``http``/``https``) for ``protocol``; ``=N``
    is the N-th shared socket, already bound."""
    if spec.startswith("="):
        sock = shared_socket(spec)
        _PROTOCOLS[sock] = protocol
        return sock
    if protocol not in ("http", "https") and is_unix_spec(spec):
        sock = bind_unix(spec, backlog)
    else:
        sock = bind_tcp(spec, backlog)
    _PROTOCOLS[sock] = protocol
    return sock


def socket_protocol(sock: socket.socket) -> str:
    """``"http"``, ``"https"``, ``"uwsgi"``, ``"fastcgi"`` or ``"scgi"``; sockets bound elsewhere
    (``bind_tcp``) speak HTTP."""
    return _PROTOCOLS.get(sock, "http")


def set_socket_protocol(sock: socket.socket, protocol: str) -> None:
    """Mark a socket bound elsewhere (e.g. inherited) as speaking ``protocol``."""
    _PROTOCOLS[sock] = protocol


def listen_address(sock: socket.socket) -> str:
    """``host:port`` or the UNIX path (``@name`` for an abstract socket)."""
    if sock.family == socket.AF_UNIX:
        name = sock.getsockname()
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        return "@" + name[1:] if name.startswith("\0") else name
    return bound_address(sock)


def ready_addresses(sockets: Iterable[socket.socket]) -> str:
    """``http-socket=A,B socket=C``: the listeners of the readiness line, by protocol."""
    groups: dict = {}
    for sock in sockets:
        groups.setdefault(socket_protocol(sock), []).append(listen_address(sock))
    parts: List[str] = []
    for proto, key in READY_KEYS.items():
        if proto in groups:
            parts.append("%s=%s" % (key, ",".join(groups[proto])))
    return " ".join(parts)
