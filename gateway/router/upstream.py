"""The router's side of one uwsgi exchange with a worker: a raw non-blocking socket.

One :class:`Upstream` per forwarded request (workers close after each reply, so
uwsgi connections are not reused; nginx does the same), except toward gateway's own
workers, which keep the connection for more requests when asked
(:mod:`gateway.router.pool`); an idle pooled connection has no owner (``owner`` None)
and closes itself on any byte or EOF from the worker.  It is a plain socket
watched with the loop's ``add_reader``/``add_writer`` callbacks rather than an
asyncio transport: opening a transport on an already connected socket costs a
coroutine (a task) per request on uvloop, and the router opens one upstream
connection per request.  Everything is callbacks into the owner
(:class:`~gateway.router.http_front.RouterConnection`):

* ``upstream_connected()`` once the connection is established,
* ``upstream_data(bytes)`` for every read, ``upstream_eof()`` at the end,
* ``upstream_failed(message, before_connect)`` on a connect or socket error,
* ``upstream_drained()`` when bytes that :meth:`Upstream.write` had to queue are
  all sent (the owner resumes reading its client then: back-pressure).

Addresses are uWSGI's: ``host:port`` (TCP, ``:port`` is loopback here), a UNIX
socket path, or ``@name`` for a Linux abstract socket.
"""

from __future__ import annotations

import _socket
import errno
import socket
from typing import Any, List, Tuple

__all__ = ["Upstream", "parse_upstream", "READ_SIZE"]

#: Bytes asked for per ``recv`` from a worker.
READ_SIZE = 65536

_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK)
_RETRY_DELAY = 0.005
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
_STREAM = socket.SOCK_STREAM | _NONBLOCK | getattr(socket, "SOCK_CLOEXEC", 0)


def resolve_upstreams(option: str, specs: List[str]) -> List[str]:
    """``specs`` (upstream nodes given by an option: ``--http-to``, ``--fastrouter-to``...)
    with host names resolved once, now (at startup): a router connects from its event loop,
    where ``connect`` on a name would look it up again, blocking every client of the
    process, at each connection.  ``ValueError`` naming ``option`` for a bad address or a
    name that does not resolve."""
    from gateway.router.subscription import node_address_error

    out = []
    for spec in specs:
        if node_address_error(spec) is None:
            out.append(spec)
            continue
        host, sep, port = spec.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not (sep and host and port.isdigit() and port.isascii() and 0 < int(port) < 65536):
            raise ValueError("%s %s: expected HOST:PORT (a port from 1 to 65535), a /unix/path or an @name"
                             % (option, spec))
        try:
            info = socket.getaddrinfo(host, int(port), 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            raise ValueError("%s %s: cannot resolve %s: %s" % (option, spec, host, e)) from None
        # an IPv4 address when the name has one: a plain HOST:PORT node was connected over
        # IPv4 (as uWSGI resolves), and a ::1 listed first for localhost is refused by an app
        # bound to 127.0.0.1 or 0.0.0.0
        first = next((i for i in info if i[0] == socket.AF_INET), info[0])
        family, ip = first[0], str(first[4][0])
        out.append(("[%s]:%s" if family == socket.AF_INET6 else "%s:%s") % (ip, port))
    return out


def parse_upstream(spec: str) -> Tuple[int, Any]:
    """``(family, sockaddr)`` for a worker address: ``host:port``, ``/path`` or ``@abstract``."""
    if spec.startswith("@"):
        return socket.AF_UNIX, "\0" + spec[1:]
    if "/" in spec or ":" not in spec:
        return socket.AF_UNIX, spec
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]:")
        return socket.AF_INET6, (host, int(port))
    host, _, port = spec.rpartition(":")
    return socket.AF_INET, (host or "127.0.0.1", int(port))


class Upstream:
    """A connection to a worker, driven by loop callbacks; see the module docstring."""

    __slots__ = (
        "loop", "owner", "sock", "fd", "connected", "closed", "_pending", "_writing",
        "_reading", "_paused", "_connect_deadline", "_address", "_retry", "_shutdown",
        "idle_since", "uses",
    )

    def __init__(self, loop: Any, owner: Any, family: int, address: Any, connect_timeout: float) -> None:
        self.loop = loop
        self.owner = owner
        self.connected = False
        self.closed = False
        self._pending: List[bytes] = []
        self._writing = False
        self._reading = False
        self._paused = False
        self._retry: Any = None
        self._shutdown = False
        self.idle_since = 0.0
        #: answers completed on this connection (a kept one serves several)
        self.uses = 0
        self._address = address
        self._connect_deadline = loop.time() + connect_timeout
        # The C-level socket (no Python wrapper to build and close per request), created
        # non-blocking and close-on-exec in the one socket() call.
        sock = _socket.socket(family, _STREAM)
        if not _NONBLOCK:
            sock.setblocking(False)
        if family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.fd = sock.fileno()

    # -- connecting ---------------------------------------------------------------

    def connect(self) -> None:
        """Start connecting; the owner hears ``upstream_connected`` or ``upstream_failed``."""
        self._retry = None
        if self.closed:
            return
        err = self.sock.connect_ex(self._address)
        if err == 0:
            self._on_connected()
        elif err == errno.EINPROGRESS:
            # TCP: wait until writable, then read SO_ERROR.
            self._writing = True
            self.loop.add_writer(self.fd, self._connect_done)
        elif err in _IN_PROGRESS and self.sock.family == socket.AF_UNIX:
            # A UNIX socket whose accept queue is full: retry until the connect deadline.
            if self.loop.time() > self._connect_deadline:
                self._fail("the worker's listen queue stayed full", True)
            else:
                self._retry = self.loop.call_later(_RETRY_DELAY, self.connect)
        else:
            self._fail(errno.errorcode.get(err, str(err)) + " (" + _strerror(err) + ")", True)

    def _connect_done(self) -> None:
        self.loop.remove_writer(self.fd)
        self._writing = False
        if self.closed:
            return
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._fail(errno.errorcode.get(err, str(err)) + " (" + _strerror(err) + ")", True)
        else:
            self._on_connected()

    def _on_connected(self) -> None:
        self.connected = True
        if not self._paused:
            self._reading = True
            self.loop.add_reader(self.fd, self._on_readable)
        self.owner.upstream_connected()

    def connect_overdue(self, now: float) -> bool:
        """Whether the connection is still not established after its deadline."""
        return not self.connected and not self.closed and now > self._connect_deadline

    # -- reading ------------------------------------------------------------------

    def _on_readable(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._fail("read error: %s" % (e.strerror or e), False)
            return
        owner = self.owner
        if owner is None:  # idle in the pool: the worker closed it (or sent a stray byte)
            self.close()
        elif data:
            owner.upstream_data(data)
        else:
            self._stop_reading()
            owner.upstream_eof()

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.fd)

    def pause_reading(self) -> None:
        """Stop reading from the worker (the client is not keeping up)."""
        if not self._paused:
            self._paused = True
            self._stop_reading()

    def resume_reading(self) -> None:
        if self._paused:
            self._paused = False
            if self.connected and not self.closed and not self._reading:
                self._reading = True
                self.loop.add_reader(self.fd, self._on_readable)

    # -- writing ------------------------------------------------------------------

    def write(self, data: bytes) -> bool:
        """Send ``data``; False when some had to be queued (pause the client until drained)."""
        if self.closed:
            return True
        if self._pending:
            self._pending.append(data)
            return False
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            # The worker closed its side (an app that answers without reading the
            # body): drop the rest of the body, keep reading the answer.
            return True
        if sent == len(data):
            return True
        self._pending.append(data[sent:])
        if not self._writing:
            self._writing = True
            self.loop.add_writer(self.fd, self._on_writable)
        return False

    def _on_writable(self) -> None:
        pending = self._pending
        while pending:
            data = pending[0]
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                pending.clear()
                break
            if sent < len(data):
                pending[0] = data[sent:]
                return
            pending.pop(0)
        self.loop.remove_writer(self.fd)
        self._writing = False
        if self._shutdown:
            self._shutdown = False
            self.shutdown_write()
        if self.owner is not None:
            self.owner.upstream_drained()

    @property
    def write_pending(self) -> bool:
        return bool(self._pending)

    def shutdown_write(self) -> None:
        """Half-close towards the worker once every queued byte is sent.

        Ends a body delimited by the connection (a de-chunked upload) or a tunnel
        whose client finished sending.
        """
        if self.closed:
            return
        if self._pending:
            self._shutdown = True
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # -- ending -------------------------------------------------------------------

    def _fail(self, message: str, before_connect: bool) -> None:
        self.close()
        if self.owner is not None:
            self.owner.upstream_failed(message, before_connect)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.fd)
        if self._writing:
            self._writing = False
            self.loop.remove_writer(self.fd)
        self._pending.clear()
        self.sock.close()


def _strerror(err: int) -> str:
    import os

    return os.strerror(err)
