"""WebSockets on any protocol: the takeover after the ``101``, and uWSGI's ``websocket_*`` API.

``uwsgi.websocket_handshake()`` (in the app's core) writes the ``101`` response and takes
the connection away from the protocol that carried the request, whichever it is
(``--http-socket``, ``--socket`` behind nginx, the ``--http`` router): the runner's
:meth:`~gateway.server.wsgi_call.WSGIResponse.detach` hands over the transport and the
bytes already received, and a :class:`WebSocket` becomes the transport's protocol.
From then on frames are parsed in the loop by the sans-IO
:class:`~gateway.protocol.websocket.FrameReader`, as they arrive:

* PING is answered with a PONG at once (while the peer does not read what we send, only
  the last PING is answered, once it reads again: RFC 6455 §5.5.3 allows that, and a peer
  flooding PINGs it never reads the answers of cannot make the worker buffer PONGs
  without bound), a CLOSE with a CLOSE (then the connection is
  closed), a protocol error with a CLOSE carrying its status (1002, 1007, or 1009 for
  ``--websockets-max-size``) and one INFO line;
* complete messages queue in an inbox (bounded: reading pauses while the app has more
  than ``--websockets-max-size`` bytes unread) until the app's core asks for them.

``websocket_recv()`` **parks** its greenlet while the inbox is empty
(:meth:`loop_engine.Engine.wait_parked`): the core goes back to the pool, so
``--tornado 100`` serves plain requests while any number of websockets wait, and the
greenlet takes a core again when a message (or the end) arrives.

From a ``--threads`` thread each call is done by the request's core
(``environ[CORE_CALL]``, :mod:`gateway.server.app_threads`) while the thread blocks, as
a uWSGI thread does: such a websocket holds its thread (and its core, which is not
parked) for its whole life.

One :class:`WebSocketHub` per worker (created after fork, by the worker) holds the
options and the open websockets, and runs one sweep per second: a PING to every
websocket every ``--websockets-ping-freq`` seconds, and a websocket whose PONG is more
than ``--websockets-pong-tolerance`` seconds late is closed as a dead peer (its core
then gets ``IOError`` from ``websocket_recv()``).
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Callable, Deque, Dict, Optional, Set, Tuple, TypeVar, Union

import loop_engine
from gateway.api_args import bytes_arg
from gateway.logs import app_log, gen_log
from gateway.protocol import websocket as wsproto
from gateway.protocol.websocket import NEED_DATA, Close, FrameReader, Message, Ping, Pong, WebSocketError
from gateway.server.app_threads import CORE_CALL
from loop_engine import CoreTimeout, Waiter

__all__ = [
    "WebSocket",
    "WebSocketHub",
    "configure",
    "websocket_handshake",
    "websocket_recv",
    "websocket_recv_nb",
    "websocket_send",
    "websocket_send_binary",
]

_T = TypeVar("_T")

#: Seconds we wait for the peer's CLOSE (or EOF) after ours, reading and dropping its bytes.
DRAIN_TIMEOUT = 2.0

_PONG_EMPTY = wsproto.build_frame(wsproto.PONG, b"")
_PING_EMPTY = wsproto.build_frame(wsproto.PING, b"")


class WebSocketHub:
    """The websockets of one worker: options, the open connections, the ping sweep."""

    def __init__(
        self,
        engine: Any,
        *,
        max_size: int = 1 << 20,
        ping_freq: float = 30.0,
        pong_tolerance: float = 3.0,
        send_timeout: float = 30.0,
        stats: Any = None,
    ) -> None:
        self.engine = engine
        #: The worker's request stats (``exceptions`` counts apps that raised).
        self.stats = stats
        self.loop = engine.asyncio_loop
        self.max_size = max_size
        self.ping_freq = ping_freq
        self.pong_tolerance = pong_tolerance
        self.send_timeout = send_timeout
        self.open: Set[WebSocket] = set()
        self._sweeper: Optional[asyncio.TimerHandle] = None

    def add(self, ws: "WebSocket") -> None:
        self.open.add(ws)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(1.0, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        now = self.loop.time()
        for ws in list(self.open):
            ws.check_liveness(now)
        if self.open:
            self._sweeper = self.loop.call_later(1.0, self._sweep)

    def close_all(self, code: int = wsproto.GOING_AWAY) -> None:
        """Close every websocket of this worker (shutdown): CLOSE ``code``, then the socket."""
        for ws in list(self.open):
            ws.close(code, "server shutting down")


_hub: Optional[WebSocketHub] = None


def configure(hub: Optional[WebSocketHub]) -> None:
    """Install this worker's hub (called by the worker after fork, before serving)."""
    global _hub
    _hub = hub


def _get_hub() -> WebSocketHub:
    global _hub
    if _hub is None:
        core = loop_engine.current_core()
        _hub = WebSocketHub(core.engine)  # type: ignore[union-attr]
    return _hub


class WebSocket(asyncio.Protocol):
    """One upgraded connection: the transport's protocol after the ``101``."""

    # Thousands of these may sit idle in a worker: no per-instance dict.
    __slots__ = (
        "hub", "transport", "peer", "what", "app_id", "reader", "inbox", "inbox_bytes", "closed", "close_sent",
        "waiter", "watcher", "_drain_waiter", "_write_paused", "_reading_paused", "last_ping",
        "ping_outstanding", "pending_close", "pending_since", "draining_since", "peer_closed", "response",
        "park", "_pong_owed",
    )

    def __init__(self, hub: WebSocketHub, transport: Any, environ: Dict[str, Any]) -> None:
        self.hub = hub
        self.transport = transport
        self.peer = environ.get("REMOTE_ADDR", "")
        self.what = "%s %s" % (environ.get("REQUEST_METHOD", "GET"), environ.get("REQUEST_URI", ""))
        self.app_id = environ.get("gateway.app_id", 0)
        #: The request's response: every frame we send counts in its ``body_bytes``, so the
        #: request's log line says "generated N bytes" for the whole session, as uWSGI's.
        self.response = environ["gateway.response"]
        #: Wait for messages parked, holding no core; not for a ``--threads`` request, whose
        #: core stays with its thread (the pool counts it busy until the thread is done).
        self.park = CORE_CALL not in environ
        self.reader = FrameReader(max_size=hub.max_size)
        self.inbox: Deque[bytes] = collections.deque()
        self.inbox_bytes = 0
        #: No more messages will arrive (CLOSE received, error, EOF, dead peer).
        self.closed = False
        #: We sent our CLOSE (or the connection is gone): nothing more may be sent.
        self.close_sent = False
        self.waiter: Optional[Waiter] = None
        self.watcher: Optional[Callable[[], None]] = None
        self._drain_waiter: Optional[Waiter] = None
        self._write_paused = False
        self._reading_paused = False
        #: the payload of the last PING received while writing was paused (answered on resume)
        self._pong_owed: Optional[bytes] = None
        now = hub.loop.time()
        self.last_ping = now
        self.ping_outstanding = False
        #: Our CLOSE, held back until the app has read what arrived before the end.
        self.pending_close: Optional[Tuple[Optional[int]]] = None
        self.pending_since = 0.0
        #: When our CLOSE went out before the peer's (we then wait for its CLOSE or EOF).
        self.draining_since = 0.0
        self.peer_closed = False

    def start(self, leftover: bytes) -> None:
        """Become the transport's protocol; parse what the previous protocol had buffered."""
        self.hub.add(self)
        self.transport.set_protocol(self)
        try:
            self.transport.resume_reading()  # the HTTP side may have paused it
        except (AttributeError, RuntimeError):
            pass
        if leftover:
            self.data_received(leftover)

    # -- asyncio.Protocol (in the loop) ------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.closed:
            if self.draining_since:
                self._drain(data)
            return
        reader = self.reader
        reader.receive_data(data)
        try:
            while True:
                event = reader.next_event()
                if event is NEED_DATA:
                    break
                kind = type(event)
                if kind is Message:
                    self.inbox.append(event.data)  # type: ignore[union-attr]
                    self.inbox_bytes += len(event.data)  # type: ignore[union-attr]
                elif kind is Ping:
                    payload = event.payload  # type: ignore[union-attr]
                    if self._write_paused:
                        self._pong_owed = payload  # the peer is not reading: answer the last one later
                    else:
                        self._write(wsproto.build_frame(wsproto.PONG, payload) if payload else _PONG_EMPTY)
                elif kind is Pong:
                    self.ping_outstanding = False
                elif kind is Close:
                    # Echo the status (RFC 6455 §5.5.1); no status -> an empty CLOSE.
                    self.peer_closed = True
                    code = event.code  # type: ignore[union-attr]
                    self._end(None if code == wsproto.NO_STATUS else code)
                    break
        except WebSocketError as e:
            gen_log.info('[uwsgi-websocket] "%s" (%s) %s: closing with status %d', self.what, self.peer, e.args[0], e.code)
            self._end(e.code)
        if self.inbox_bytes > self.hub.max_size and not self._reading_paused and not self.closed:
            # The app reads slower than the peer sends: stop reading until it catches up.
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._set_closed()
        return False  # let the transport close

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.close_sent = True
        self._set_closed()
        self.hub.open.discard(self)
        w = self._drain_waiter
        if w is not None:
            self._drain_waiter = None
            w.fire()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        owed = self._pong_owed
        if owed is not None:
            self._pong_owed = None
            if not self.close_sent:
                self._write(wsproto.build_frame(wsproto.PONG, owed) if owed else _PONG_EMPTY)
        w = self._drain_waiter
        if w is not None:
            self._drain_waiter = None
            w.fire()

    # -- closing -------------------------------------------------------------------

    def _end(self, code: Optional[int]) -> None:
        """Nothing more will be received; our CLOSE (``code``) goes out once the app has
        had the messages that arrived before the end (their echoes precede the CLOSE,
        as Autobahn's strict cases expect), at the latest one sweep later."""
        self.pending_close = (code,)
        self.pending_since = self.hub.loop.time()
        if not self.inbox:
            self._finish_close()
        else:
            self._set_closed()

    def _finish_close(self) -> None:
        pending = self.pending_close
        if pending is not None:
            self.pending_close = None
            self.close(pending[0])

    def close(self, code: Optional[int] = wsproto.NORMAL_CLOSURE, reason: str = "") -> None:
        """Send CLOSE ``code`` (if not sent yet; None: no status) and end the connection.

        After the peer's CLOSE the TCP connection is closed at once (the server closes
        first, RFC 6455 §7.1.1).  Otherwise we keep reading, and dropping, until the
        peer's CLOSE or EOF, at most ``DRAIN_TIMEOUT``: closing a socket that still has
        unread input sends a RST, which can destroy our CLOSE frame before the peer (or
        a proxy such as nginx, still forwarding the peer's bytes) has read it.
        """
        if not self.close_sent:
            self.close_sent = True
            self._write(wsproto.close_frame(code, reason))
        transport = self.transport
        if self.peer_closed or transport.is_closing():
            self.hub.open.discard(self)
            transport.close()
        elif not self.draining_since:
            self.draining_since = self.hub.loop.time()
            if self._reading_paused:
                self._reading_paused = False
                transport.resume_reading()
        # Last: waking the app's core may run it (and its end) right here.
        self._set_closed()

    def _drain(self, data: bytes) -> None:
        """After our CLOSE: look for the peer's CLOSE in what still arrives, drop the rest."""
        reader = self.reader
        try:
            reader.receive_data(data)  # a reader that failed keeps nothing
            while True:
                event = reader.next_event()
                if event is NEED_DATA:
                    return
                if type(event) is Close:
                    self.peer_closed = True
                    self.hub.open.discard(self)
                    self.transport.close()
                    return
        except WebSocketError:
            return  # after a protocol error the bytes cannot be framed: wait for EOF

    def abort(self) -> None:
        """Drop the connection without a CLOSE (a dead peer would never read it)."""
        self.close_sent = True
        self._set_closed()
        self.hub.open.discard(self)
        self.transport.abort()

    def _set_closed(self) -> None:
        if not self.closed:
            self.closed = True
            self._wake()

    def _wake(self) -> None:
        if self.inbox or self.closed:
            w = self.waiter
            if w is not None:
                self.waiter = None
                w.fire()
            watcher = self.watcher
            if watcher is not None:
                self.watcher = None
                watcher()

    def watch(self, callback: Optional[Callable[[], None]]) -> None:
        """Call ``callback`` once a message is pending or the websocket ended (at once if
        so already); None cancels.  For ``uwsgi.wait_fd_read(connection_fd())``."""
        self.watcher = callback
        if callback is not None:
            self._wake()

    def fileno(self) -> int:
        sock = self.transport.get_extra_info("socket")
        return sock.fileno() if sock is not None else -1

    def check_liveness(self, now: float) -> None:
        """From the hub's sweep: PING every ``ping_freq`` s; a missing PONG means a dead peer."""
        hub = self.hub
        if self.closed:
            if self.pending_close is not None and now - self.pending_since >= 1.0:
                self._finish_close()  # the app did not come for its messages in time
            elif self.draining_since and now - self.draining_since >= DRAIN_TIMEOUT:
                self.hub.open.discard(self)
                self.transport.close()
            return
        if self.ping_outstanding:
            if now - self.last_ping > hub.pong_tolerance:
                gen_log.warning(
                    '[uwsgi-websocket] "%s" (%s) no PONG received in %g seconds !!!',
                    self.what, self.peer, hub.pong_tolerance,
                )
                self.abort()
        elif now - self.last_ping >= hub.ping_freq:
            self.last_ping = now
            self.ping_outstanding = True
            self._write(_PING_EMPTY)

    def app_returned(self, exc: Optional[BaseException]) -> None:
        """The app that owned this websocket returned (or raised ``exc``): say goodbye.

        CLOSE 1000 after a return, 1011 after an exception.  The ``IOError`` our own
        ``websocket_recv``/``send`` raise once the websocket is over is how uWSGI apps
        leave their loop: it is not logged (uWSGI prints its traceback).
        """
        if self.pending_close is not None:
            self._finish_close()  # the peer's CLOSE or its protocol error decides the status
        failed = exc is not None and not (isinstance(exc, OSError) and self.closed)
        if failed:
            app_log.error("error in the WSGI app for websocket %s", self.what, exc_info=exc)
            stats = self.hub.stats
            if stats is not None:
                stats.count_exception(self.app_id)
        if not self.close_sent:
            self.close(wsproto.INTERNAL_ERROR if failed else wsproto.NORMAL_CLOSURE)
        # Else our CLOSE is out and close() decided: the connection is closed already
        # (after the peer's CLOSE) or drains until the peer's CLOSE, EOF or DRAIN_TIMEOUT.

    def _write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)
            self.response.body_bytes += len(data)

    # -- the app's side (in its core) -----------------------------------------------------

    def recv(self, nb: bool) -> bytes:
        while True:
            inbox = self.inbox
            if inbox:
                data = inbox.popleft()
                self.inbox_bytes -= len(data)
                if self._reading_paused and self.inbox_bytes <= self.hub.max_size and not self.closed:
                    self._reading_paused = False
                    self.transport.resume_reading()
                return data
            if self.closed:
                self._finish_close()
                # As uWSGI: once the app has been told the websocket is over, a send
                # fails too (after the peer's EOF the transport is not closing yet).
                self.close_sent = True
                raise OSError("unable to receive websocket message")
            if nb:
                return b""
            w = Waiter()
            self.waiter = w
            try:
                if self.park:
                    self.hub.engine.wait_parked(w)
                else:
                    w.wait()
            finally:
                if self.waiter is w:
                    self.waiter = None

    def send(self, data: bytes, opcode: int, what: str) -> None:
        if self.close_sent or self.transport.is_closing():
            raise OSError("unable to send websocket %s" % what)
        frame = wsproto.build_frame(opcode, data)
        self.transport.write(frame)
        self.response.body_bytes += len(frame)
        if self._write_paused:
            w = Waiter()
            self._drain_waiter = w
            try:
                w.wait(self.hub.send_timeout)
            except CoreTimeout:
                self._drain_waiter = None
                gen_log.info(
                    '[uwsgi-websocket] "%s" (%s) client did not read for %ss: closing',
                    self.what, self.peer, self.hub.send_timeout,
                )
                self.abort()
                raise OSError("unable to send websocket %s" % what) from None
            if self.transport.is_closing() and self._write_paused:
                raise OSError("unable to send websocket %s" % what)


# -- the uwsgi module's functions ------------------------------------------------------------

def _from_thread(what: str, func: Callable[..., _T], *args: Any) -> _T:
    """From a ``--threads`` thread: ``func(*args)`` run in the request's core, which does the
    websocket's I/O (the thread blocks meanwhile, as a uWSGI thread in ``websocket_recv()``)."""
    from gateway.server.current_request import environ_or_none

    environ = environ_or_none()
    call = environ.get(CORE_CALL) if environ is not None else None
    if call is None:
        raise OSError("%s: no request in this core (call it from inside a request)" % what)
    return call(func, *args)


def _environ(what: str) -> Dict[str, Any]:
    core = loop_engine.current_core()
    environ = core.info if core is not None else None
    if not isinstance(environ, dict):
        raise OSError("%s: no request in this core (call it from inside a request)" % what)
    return environ


def _current(what: str) -> WebSocket:
    ws = _environ(what).get("gateway.websocket")
    if ws is None:
        raise OSError("%s: no websocket handshake in this request" % what)
    return ws


def websocket_for_fd(fd: int) -> Optional[WebSocket]:
    """This request's websocket if ``fd`` is its connection, else None."""
    core = loop_engine.current_core()
    environ = core.info if core is not None else None
    ws = environ.get("gateway.websocket") if isinstance(environ, dict) else None
    if ws is not None and not ws.transport.is_closing() and ws.fileno() == fd:
        return ws
    return None


def connection_fd() -> int:
    """The fd of the current request's client connection (-1 if unknown); also from a
    ``--threads`` thread serving the request (it only reads which fd it is), as uWSGI."""
    from gateway.server.current_request import environ_or_none

    environ = environ_or_none() if loop_engine.current_core() is None else None
    if environ is None:
        environ = _environ("connection_fd()")
    ws = environ.get("gateway.websocket")
    if ws is not None:
        return ws.fileno()
    response = environ.get("gateway.response")
    transport = getattr(getattr(response, "sink", None), "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    return sock.fileno() if sock is not None else -1


def _text(value: Union[str, bytes, None], name: str) -> Optional[bytes]:
    if not value:
        return None
    if isinstance(value, str):
        value = value.encode("latin-1")
    elif isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    elif not isinstance(value, bytes):
        raise TypeError("websocket_handshake() argument %s must be str or bytes, not %s" % (name, type(value).__name__))
    if b"\r" in value or b"\n" in value or b"\0" in value:
        raise ValueError("websocket_handshake() argument %s contains CR, LF or NUL" % name)
    return value


def _header(environ: Dict[str, Any], key: str) -> Optional[bytes]:
    value = environ.get(key)
    return value.encode("latin-1") if value else None


def websocket_handshake(key: Union[str, bytes, None] = None, origin: Union[str, bytes, None] = None,
                        proto: Union[str, bytes, None] = None) -> None:
    """Answer the upgrade with ``101`` and turn this request's connection into a websocket.

    ``key`` defaults to the request's ``Sec-WebSocket-Key``, ``origin`` to its
    ``Origin`` (``*`` when absent), ``proto`` to its ``Sec-WebSocket-Protocol`` when
    the client offered exactly one.  Returns None; raises ``IOError`` ("unable to
    complete websocket handshake") without a key, after a response was started, or
    for a second handshake, as uWSGI does.
    """
    if loop_engine.current_core() is None:
        _from_thread("websocket_handshake()", websocket_handshake, key, origin, proto)
        return
    environ = _environ("websocket_handshake()")
    key_b = _text(key, "key")
    origin_b = _text(origin, "origin")
    proto_b = _text(proto, "proto")
    response = environ.get("gateway.response")
    key_b = key_b or _header(environ, "HTTP_SEC_WEBSOCKET_KEY")
    if (key_b is None or response is None or response.headers_sent or response.status is not None
            or "gateway.websocket" in environ):
        raise OSError("unable to complete websocket handshake")
    origin_b = origin_b or _header(environ, "HTTP_ORIGIN") or b"*"
    if proto_b is None:
        offered = _header(environ, "HTTP_SEC_WEBSOCKET_PROTOCOL")
        if offered and b"," not in offered:
            proto_b = offered.strip()
    head = [
        environ.get("SERVER_PROTOCOL", "HTTP/1.1").encode("latin-1"), b" 101 Web Socket Protocol Handshake\r\n",
        b"Upgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Origin: ", origin_b, b"\r\n",
    ]
    if proto_b:
        head += [b"Sec-WebSocket-Protocol: ", proto_b, b"\r\n"]
    head += [b"Sec-WebSocket-Accept: ", wsproto.accept_key(key_b).encode(), b"\r\n\r\n"]
    hub = _get_hub()
    holder: list = []
    transport, leftover = response.detach(lambda exc: holder[0].app_returned(exc) if holder else None)
    if transport is None or transport.is_closing():
        raise OSError("unable to complete websocket handshake")
    ws = WebSocket(hub, transport, environ)
    holder.append(ws)
    environ["gateway.websocket"] = ws
    head_bytes = b"".join(head)
    transport.write(head_bytes)
    response.head_bytes = len(head_bytes)  # (the request's log line: "N headers in M bytes", as uWSGI)
    response.headers_count = 5 if proto_b else 4
    ws.start(leftover)


def websocket_recv() -> bytes:
    """The next message (bytes; fragments reassembled), suspending only this request.

    While nothing is pending the greenlet is parked and holds no core.  Raises
    ``IOError`` ("unable to receive websocket message") once the peer closed, broke
    the protocol, sent a message over ``--websockets-max-size`` or stopped answering
    PINGs, as uWSGI does.
    """
    if loop_engine.current_core() is None:
        return _from_thread("websocket_recv()", websocket_recv)
    return _current("websocket_recv()").recv(False)


def websocket_recv_nb() -> bytes:
    """The next message if one is pending, else ``b""``; ``IOError`` after the end."""
    if loop_engine.current_core() is None:
        return _from_thread("websocket_recv_nb()", websocket_recv_nb)
    return _current("websocket_recv_nb()").recv(True)


def websocket_send(message: Union[str, bytes]) -> None:
    """Send a TEXT message (str is UTF-8 encoded); ``IOError`` if the websocket is closed."""
    data = bytes_arg(message, "websocket_send")
    if loop_engine.current_core() is None:
        _from_thread("websocket_send()", websocket_send, data)
        return
    _current("websocket_send()").send(data, wsproto.TEXT, "message")


def websocket_send_binary(message: Union[str, bytes]) -> None:
    """Send a BINARY message; ``IOError`` if the websocket is closed."""
    data = bytes_arg(message, "websocket_send_binary")
    if loop_engine.current_core() is None:
        _from_thread("websocket_send_binary()", websocket_send_binary, data)
        return
    _current("websocket_send_binary()").send(data, wsproto.BINARY, "binary message")
