"""The ``uwsgi`` module's raw socket helpers: ``connect``, ``async_connect``, ``send``, ``recv``,
``close``, ``is_connected`` and ``disconnect`` (uWSGI 2.0.31's, for async apps).

uWSGI's documented async pattern works inside a core::

    fd = uwsgi.async_connect("127.0.0.1:6379")     # non-blocking: returns at once
    uwsgi.wait_fd_write(fd, 3)
    uwsgi.suspend()                                 # this core waits, the worker serves
    if uwsgi.is_connected(fd):
        uwsgi.send(fd, b"PING\\r\\n")
        uwsgi.wait_fd_read(fd, 3)
        uwsgi.suspend()
        reply = uwsgi.recv(fd)                      # bytes, or None at EOF
    uwsgi.close(fd)

Values and argument forms are uWSGI's (``plugins/python/uwsgi_pymodule.c``): fds are plain
ints, ``connect`` and ``async_connect`` return -1 on failure, ``send`` returns ``b""``
(None after a failed write, logged), ``recv(fd[, size])`` reads at most 4096 bytes and
returns None at EOF or on an error, ``close`` and ``disconnect`` return None.  Addresses
are ``IPv4:port`` (an empty host is INADDR_ANY), ``[IPv6]:port`` (beyond uWSGI) or a
UNIX socket path (``@name``: abstract); host names are not resolved, as in uWSGI.

What differs, because a gateway worker serves every core on one loop: inside a core a
``connect`` waiting for the connection, a ``send`` on an fd that is not writable and a
``recv`` on an fd with nothing to read *park the core* until the fd is ready (uWSGI blocks
its whole worker there); elsewhere (a ``--threads`` thread, a mule, the spooler) they
block, as in uWSGI.  In a core ``send(fd, data)`` writes all of ``data`` non-blocking (the
fd's blocking mode is restored), each wait bounded by ``--socket-timeout``.  ``send(data)`` without an fd writes raw bytes on the request's own
connection (so does ``send(connection_fd(), data)``): the connection then leaves HTTP/uwsgi
framing (as a websocket handshake does), what the app returns is not sent, and the
connection closes once the app returns.  ``recv(connection_fd())`` reads the client through
the connection's transport the same way (:class:`RawConnection` keeps what arrives).
"""

from __future__ import annotations

import asyncio
import errno
import os
import select
import socket
from typing import Any, Callable, Optional, Tuple

import loop_engine
from gateway.logs import gen_log
from gateway.server.current_request import current_environ, environ_or_none

#: uWSGI's ``recv`` reads at most this much per call (its stack buffer).
RECV_MAX = 4096
#: ``recv(connection_fd())``: the most bytes from the client kept unread (reading pauses past it).
CONNECTION_BUFFER_MAX = 65536
#: ``connect`` without a timeout waits this long for the connection (uWSGI's ``timed_connect``).
DEFAULT_CONNECT_TIMEOUT = 3
#: ``send(fd, data)`` in a core waits this long for a writable fd without a request's
#: ``--socket-timeout`` (uWSGI's default).
DEFAULT_SOCKET_TIMEOUT = 4.0
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK, errno.EALREADY)


def parse_address(address: str) -> Optional[Tuple[int, Any]]:
    """``(family, sockaddr)`` of a uWSGI socket name, or None when it cannot name a socket.

    Pure: ``"127.0.0.1:3031"``, ``":3031"`` (INADDR_ANY), ``"[::1]:3031"``, ``"/tmp/s.sock"``,
    ``"@abstract"``.  No name resolution (uWSGI uses ``inet_addr``).
    """
    if ":" in address and not address.startswith(("/", ".", "@")):
        if address.startswith("["):
            host, sep, port = address[1:].partition("]:")
            family = socket.AF_INET6
            if not sep:
                return None
        else:
            host, _, port = address.rpartition(":")
            family = socket.AF_INET
            host = host or "0.0.0.0"
        if not port.isdigit() or not 0 < int(port) < 65536:
            return None
        try:
            socket.inet_pton(family, host)
        except OSError:
            return None
        return family, (host, int(port))
    if not address:
        return None
    return socket.AF_UNIX, "\0" + address[1:] if address.startswith("@") else address


def _text(address: Any, what: str) -> str:
    if isinstance(address, bytes):
        return address.decode("utf-8", "surrogateescape")
    if not isinstance(address, str):
        raise TypeError("%s() argument 1 must be str, not %s" % (what, type(address).__name__))
    return address


def _new_socket(address: Any, what: str) -> Tuple[Optional[socket.socket], Any]:
    parsed = parse_address(_text(address, what))
    if parsed is None:
        return None, None
    family, sockaddr = parsed
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as e:
        gen_log.error("uwsgi.%s(): socket(): %s", what, e)
        return None, None
    sock.setblocking(False)
    return sock, sockaddr


def async_connect(address: Any) -> int:
    """Start connecting to ``address`` without waiting: the non-blocking fd, or -1."""
    sock, sockaddr = _new_socket(address, "async_connect")
    if sock is None:
        return -1
    err = sock.connect_ex(sockaddr)
    if err and err not in _IN_PROGRESS:
        sock.close()
        return -1
    return sock.detach()


def connect(address: Any, timeout: int = 0) -> int:
    """Connect to ``address`` waiting up to ``timeout`` seconds (3 when < 1): a blocking fd,
    or -1.  In a core only the core waits."""
    sock, sockaddr = _new_socket(address, "connect")
    if sock is None:
        return -1
    wait = float(timeout) if int(timeout) >= 1 else float(DEFAULT_CONNECT_TIMEOUT)
    try:
        err = sock.connect_ex(sockaddr)
        if err in _IN_PROGRESS:
            if not _wait_fd(sock.fileno(), False, wait):
                sock.close()
                return -1
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            return -1
        sock.setblocking(True)
    except OSError:
        sock.close()
        return -1
    return sock.detach()


def _wait_fd(fd: int, reader: bool, timeout: Optional[float]) -> bool:
    """Wait until ``fd`` is readable/writable: park the core in one, else ``poll``.  False
    after ``timeout`` seconds (None: no limit)."""
    if _ready_now(fd, reader):
        return True
    core = loop_engine.current_core()
    if core is None:
        poller = select.poll()
        poller.register(fd, select.POLLIN if reader else select.POLLOUT)
        return bool(poller.poll(None if timeout is None else timeout * 1000))
    loop = core.engine.asyncio_loop
    w = loop_engine.Waiter()
    (loop.add_reader if reader else loop.add_writer)(fd, w.fire, True)
    try:
        return bool(w.wait(timeout))
    except loop_engine.CoreTimeout:
        return False
    finally:
        (loop.remove_reader if reader else loop.remove_writer)(fd)


def _ready_now(fd: int, reader: bool) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN if reader else select.POLLOUT)
    return bool(poller.poll(0))


def send(*args: Any) -> Optional[bytes]:
    """``send(data)`` or ``send(fd, data)``: one write; ``b""``, or None after an error."""
    if not 1 <= len(args) <= 2:
        raise TypeError("send() takes 1 or 2 arguments (%d given)" % len(args))
    data = args[-1]
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("send(): data must be bytes, not %s" % type(data).__name__)
    if len(args) == 1:
        return _send_on_connection(bytes(data))
    fd = _fd(args[0], "send")
    if fd == _connection_fd():  # uwsgi.send(uwsgi.connection_fd(), data): as send(data)
        return _send_on_connection(bytes(data))
    try:
        if loop_engine.current_core() is None:
            _wait_fd(fd, False, None)
            os.write(fd, data)  # a blocking fd blocks this thread only, as in uWSGI
        else:
            _write_in_core(fd, memoryview(data).cast("B"), _socket_timeout())
    except OSError as e:
        gen_log.error("uwsgi.send(): write(): %s", e)
        return None
    return b""


def _write_in_core(fd: int, view: memoryview, timeout: float) -> None:
    """Write all of ``view`` to ``fd`` without blocking the worker: non-blocking writes of
    what fits, the core parked while the fd is not writable (at most ``timeout`` seconds
    each time, then ``ETIMEDOUT``).  The fd's blocking mode is restored afterwards."""
    blocking = os.get_blocking(fd)
    if blocking:
        os.set_blocking(fd, False)
    try:
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                pass
            if view and not _wait_fd(fd, False, timeout):
                raise OSError(errno.ETIMEDOUT, "timed out after %gs (--socket-timeout)" % timeout)
    finally:
        if blocking:
            os.set_blocking(fd, True)


def _socket_timeout() -> float:
    """The request's ``--socket-timeout`` (uWSGI's default, 4 s, outside a request)."""
    environ = environ_or_none()
    settings = getattr(environ.get("gateway.response") if environ else None, "settings", None)
    return float(getattr(settings, "socket_timeout", DEFAULT_SOCKET_TIMEOUT))


def _connection_fd() -> int:
    """The fd of the request's client connection (-1 outside a request or when detached)."""
    environ = environ_or_none()
    if environ is None:
        return -1
    transport = environ.get("gateway.raw_transport")
    if transport is None:
        response = environ.get("gateway.response")
        if response is None or response.detached:
            return -1
        transport = getattr(response.sink, "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    return sock.fileno() if sock is not None else -1


def _raw_connection(what: str) -> "RawConnection":
    """The request's connection out of HTTP/uwsgi framing: detached (as a websocket
    handshake does) on the first call, closed once the app returns."""
    environ = current_environ(what)
    conn = environ.get("gateway.raw_connection")
    if conn is None:
        if loop_engine.current_core() is None:
            raise OSError("uwsgi.%s() on the request's connection works in an async core, "
                          "not in a --threads thread: give an fd" % what)
        response = environ.get("gateway.response")
        if response is None or response.detached:
            raise OSError("uwsgi.%s(): this request's connection is no longer available" % what)
        holder: list = []
        transport, leftover = response.detach(lambda exc: holder[0].transport.close() if holder else None)
        if transport is None:
            raise OSError("uwsgi.%s(): this request's connection is no longer available" % what)
        conn = RawConnection(transport, leftover)
        holder.append(conn)
        environ["gateway.raw_transport"] = transport
        environ["gateway.raw_connection"] = conn
    return conn


def raw_connection_for_fd(fd: int) -> Optional["RawConnection"]:
    """For ``wait_fd_read(fd)`` in a core: when ``fd`` is the request's own connection
    (not a websocket), its :class:`RawConnection` (detaching it, as ``recv`` would)."""
    if fd < 0 or loop_engine.current_core() is None or fd != _connection_fd():
        return None
    return _raw_connection("wait_fd_read")


class RawConnection(asyncio.Protocol):
    """The protocol of a request's connection after ``send(data)``/``recv(connection_fd())``
    took it out of HTTP/uwsgi framing: keeps what the client sends for :meth:`recv`.

    At most ``CONNECTION_BUFFER_MAX`` unread bytes are kept: past that, reading from the
    client pauses until the app has read some.
    """

    def __init__(self, transport: Any, leftover: bytes = b"") -> None:
        self.transport = transport
        self.buffer = bytearray(leftover)
        self.eof = False
        self.paused = False
        self.waiter: Optional[loop_engine.Waiter] = None
        self.watcher: Optional[Callable[[], None]] = None
        transport.set_protocol(self)
        try:
            transport.resume_reading()  # the HTTP side may have paused it
        except (AttributeError, RuntimeError):
            pass
        self._bound()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._bound()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return True  # half-closed: the app may still send

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.eof = True
        self._wake()

    def _bound(self) -> None:
        if len(self.buffer) >= CONNECTION_BUFFER_MAX and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def _wake(self) -> None:
        w = self.waiter
        if w is not None:
            self.waiter = None
            w.fire()
        watcher = self.watcher
        if watcher is not None and self.readable():
            self.watcher = None
            watcher()

    def readable(self) -> bool:
        """``recv`` would not wait: bytes are here, or the client is gone."""
        return bool(self.buffer) or self.eof or self.transport.is_closing()

    def watch(self, callback: Optional[Callable[[], None]]) -> None:
        """Call ``callback`` once :meth:`readable` (at once if so already); None cancels.
        For ``uwsgi.wait_fd_read(connection_fd())``."""
        self.watcher = callback
        if callback is not None:
            self._wake()

    def recv(self, size: int) -> Optional[bytes]:
        """At most ``size`` bytes the client sent, parking the core while there are none;
        None at EOF (or once the connection is closed)."""
        while not self.readable():
            w = self.waiter = loop_engine.Waiter()
            try:
                w.wait()
            finally:
                self.waiter = None
        if not self.buffer:
            return None
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        if self.paused and len(self.buffer) < CONNECTION_BUFFER_MAX:
            self.paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()
        return data


def _send_on_connection(data: bytes) -> Optional[bytes]:
    """The request's connection leaves its protocol and gets ``data`` raw."""
    transport = _raw_connection("send").transport
    if transport.is_closing():
        gen_log.error("uwsgi.send(): write(): the connection is closed")
        return None
    transport.write(data)
    return b""


def recv(fd: Any, size: int = RECV_MAX) -> Optional[bytes]:
    """Read at most ``size`` (≤ 4096) bytes from ``fd``: bytes, or None at EOF or on error."""
    fd = _fd(fd, "recv")
    size = min(int(size), RECV_MAX)
    if size <= 0:
        return None
    if fd >= 0 and fd == _connection_fd():  # the loop's transport owns it: read through it
        return _raw_connection("recv").recv(size)
    try:
        _wait_fd(fd, True, None)
        data = os.read(fd, size)
    except OSError:
        return None
    return data or None


def close(fd: Any) -> None:
    """Close ``fd`` (errors ignored, as uWSGI's ``close(fd)``).

    The request's own connection (``close(connection_fd())``) is closed as
    :func:`disconnect` does, through its transport (a websocket sends CLOSE 1000 first):
    the loop owns that fd, and an ``os.close`` would leave the transport to close the same
    number again later, by then another client's connection.
    """
    fd = _fd(fd, "close")
    if fd >= 0 and fd == _connection_fd():
        return disconnect()
    ws = _websocket_for_fd(fd)
    if ws is not None:  # this request's websocket: CLOSE 1000, then the TCP close
        ws.close()
        return None
    try:
        os.close(fd)
    except OSError:
        pass
    return None


def _websocket_for_fd(fd: int) -> Any:
    """This request's websocket when ``fd`` is its connection (its transport owns the fd)."""
    if fd < 0 or loop_engine.current_core() is None:
        return None
    from gateway.server.websocket import websocket_for_fd  # (imports this module's importer)

    return websocket_for_fd(fd)


def is_connected(fd: Any) -> bool:
    """True when ``fd`` is a socket with no pending error (a finished ``async_connect``)."""
    fd = _fd(fd, "is_connected")
    try:
        sock = socket.socket(fileno=fd)
    except (OSError, ValueError):  # not a socket, or a negative fd: False, as uWSGI
        return False
    try:
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    except OSError:
        return False
    finally:
        sock.detach()


def disconnect() -> None:
    """Close the request's client connection now (what was written so far still goes out);
    the app keeps running, its further output is dropped."""
    environ = current_environ("disconnect")
    transport = environ.get("gateway.raw_transport")
    response = environ.get("gateway.response")
    action: Optional[Callable[[], None]] = None
    if transport is not None:
        action = transport.close
    elif response is not None and not response.sink.closed:
        action = response.sink.abort
    if action is None:
        return None
    if loop_engine.current_core() is not None:
        action()
    else:  # a --threads thread: the connection belongs to the loop
        from gateway import uwsgi_module

        engine = uwsgi_module._runtime.engine
        if engine is not None:
            engine.io_loop.add_callback(action)
    return None


def _fd(value: Any, what: str) -> int:
    if hasattr(value, "fileno"):
        return int(value.fileno())
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s(): an integer fd is required, not %s" % (what, type(value).__name__))
    return value
