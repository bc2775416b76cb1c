"""``--http-socket``: HTTP/1.0 and 1.1 connections served by WSGI apps in async cores.

One :class:`HTTPConnection` (an asyncio protocol on the IOLoop's own asyncio loop) per
client connection.  The request head is parsed in the loop, by the sans-IO
:class:`~gateway.protocol.http1.RequestParser`, *before* a core is taken: a slow or
malicious client that dribbles its head never pins a core (uWSGI's tornado engine has
no head timeout at all).  A complete head is submitted to the engine; the app then
runs in a core, reading the body through :class:`~gateway.server.wsgi_input.WSGIInput`
and writing through the transport.

Framing of responses: the app's Content-Length if it gave one (surplus bytes are cut
and logged once; a short body closes the connection); otherwise, for a single-chunk
list, the length is computed; otherwise chunked on HTTP/1.1, close-delimited on 1.0.
Keep-alive and pipelining follow RFC 9112; bytes of a pipelined request wait in the
parser until the previous response is complete.

Timeouts, all from options: the head of a request must arrive within
``--socket-timeout`` of its first byte (408 otherwise), an idle keep-alive connection
is closed after ``--http-keepalive`` seconds, and each wait for body bytes or for the
client to drain our writes is bounded by ``--socket-timeout``.  They are checked by
one sweep per second over all connections, so the request path arms no timers.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, Dict, Optional, Set, Tuple

from gateway.logs import gen_log
from gateway.protocol import proxy_header
from gateway.protocol.environ import request_environ
from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Request,
    RequestParser,
)
from gateway.server.body_discard import BodyDiscarding
from gateway.server.conn_server import ConnectionServer
from gateway.server.file_offload import FileOffload
from gateway.server.settings import RequestStats, ServerSettings
from gateway.server.sink import CHUNKED, TO_CLOSE, answer_sizes, body_framing
from gateway.server.stream_waits import ConnectionWaits
from gateway.server.wsgi_call import REASONS, FileWrapper, WSGIResponse, run_request
from gateway.server.wsgi_input import BodyError, BodyTimeout, WSGIInput

__all__ = ["FileWrapper", "HTTPConnection", "HTTPServer", "RequestStats", "ServerSettings"]


# Connection states, for the timeout sweep.
IDLE = 0  # between requests: keep-alive timeout
HEAD = 1  # some bytes of a request head arrived: head timeout
BUSY = 2  # a request is queued or running in a core: core-level timeouts apply
CLOSED = 3
DISCARD = 4  # the response is out, the rest of its request body is read and dropped
LINGER = 5  # our FIN is out, what still arrives is dropped until EOF or --linger-timeout

_CRLF = b"\r\n"


class HTTPServer(ConnectionServer):
    """All HTTP connections of one worker on one listening socket, and their timeout sweep."""

    connections: Set[HTTPConnection]
    long_lived_connections = True

    def __init__(self, settings: ServerSettings, base_environ: Dict[str, Any], tls: Any = None) -> None:
        super().__init__(settings, base_environ, tls)
        self._date = b""
        self._date_second = -1

    def _on_accept(self, conn: socket.socket, addr: Any) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._attach(conn, HTTPConnection(self, addr))

    def date_header(self) -> bytes:
        """``Date: ...\\r\\n`` (RFC 9110 §6.6.1), formatted at most once per second."""
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = b"Date: " + _http_date(now) + _CRLF
        return self._date

    def _sweep_connections(self, now: float) -> None:
        for conn in list(self.connections):
            if conn.state != BUSY and conn.deadline and now > conn.deadline:
                conn.on_timeout()

    def begin_drain(self) -> None:
        """Graceful stop: close idle keep-alive connections now; every other one closes
        after its current or first request (``Connection: close``).  A connection
        accepted before the stop is owed an answer: the worker waits until
        :attr:`connections` is empty (bounded by its mercy) before exiting."""
        for conn in list(self.connections):
            conn._close_after = True
            if conn.state == IDLE and conn.served:
                conn._close()
                self.connections.discard(conn)


_WEEKDAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
_MONTHS = (b"", b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")


def _http_date(ts: int) -> bytes:
    t = time.gmtime(ts)
    return b"%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _WEEKDAYS[t.tm_wday], t.tm_mday, _MONTHS[t.tm_mon], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec,
    )


class HTTPConnection(FileOffload, ConnectionWaits, BodyDiscarding, asyncio.Protocol):
    """One client connection: parse in the loop, run each request in a core."""

    WHO = "client"
    SLOW_READER = "client %s did not read the response for %ss: closing"
    DISCARD = DISCARD
    LINGER = LINGER

    # Slots: more than 30 instance attributes would leave CPython's shared-key instance
    # dicts, and every attribute access on the hot path would pay for it.
    __slots__ = (
        "_body_done", "_body_waiter", "_chunked", "_close_after", "_continue_pending",
        "_drain_future", "_drain_waiter", "_eof", "_eom_seen", "_input", "_keep_alive",
        "_offload_done", "_offload_task", "_processing", "_proxy", "_reading_paused", "_request",
        "_write_paused", "closed", "parser", "peer", "remote_addr", "remote_port", "served",
        "server", "settings", "transport",
    )

    def __init__(self, server: HTTPServer, addr: Any) -> None:
        self.server = server
        self.settings = server.settings
        s = self.settings
        self.parser = RequestParser(max_head=s.max_head, max_headers=s.max_headers, max_body=s.max_body)
        self.transport: Optional[asyncio.Transport] = None
        if isinstance(addr, tuple):
            self.remote_addr = addr[0]
            self.remote_port = str(addr[1])
        else:
            self.remote_addr = ""
            self.remote_port = "0"
        self.peer = self.remote_addr  # wsgi_input.BodySource: for log lines
        self.state = IDLE
        self.deadline = 0.0
        self._processing = False  # inside _process(): a finishing request must not re-enter it
        self.init_waits()
        self._eof = False
        self.closed = False
        self._close_after = False
        self._request: Optional[Request] = None
        self._input: Optional[WSGIInput] = None
        self._continue_pending = False
        self._body_done = True
        self._eom_seen = True
        self._keep_alive = True
        self._chunked = False
        #: DISCARD: bytes of the unread body still allowed, and whether to keep the connection after
        self._discard_budget = 0
        self._discard_keep = False
        #: Requests dispatched on this connection (0: freshly accepted).
        self.served = 0
        self.init_offload()  # --offload-threads: a file sent from the loop after its core moved on
        #: --enable-proxy-protocol: the first bytes, kept until it is known whether they
        #: start with a PROXY header (None: decided, or the option is off)
        self._proxy: Optional[bytes] = b"" if s.proxy_protocol else None

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if not self.remote_addr:  # accepted by the loop's own server: ask the transport
            addr = transport.get_extra_info("peername")
            if isinstance(addr, tuple):
                self.remote_addr = self.peer = addr[0]
                self.remote_port = str(addr[1])
        if self.server.tls is not None:  # a TLS connection: its handshake is over
            self.server.handshakes.done(self)
        self.server.connections.add(self)
        self.server.check_budget()
        self.deadline = self.server.loop.time() + self.settings.socket_timeout

    def data_received(self, data: bytes) -> None:
        if self._proxy is not None:
            rest = self._proxy_header(data)
            if not rest:
                return
            data = rest
        state = self.state
        if state >= DISCARD:
            self._drop_unread(data)
            return
        self.parser.receive_data(data)
        if state == BUSY:
            if not self.wake_body() and self.parser.buffered() > self.settings.max_head + 65536:
                # Pipelined bytes piling up behind a running request: stop reading.
                self._pause_reading()
            return
        if self.state == IDLE:
            self.state = HEAD
            self.deadline = self.server.loop.time() + self.settings.socket_timeout
        self._process()

    def _proxy_header(self, data: bytes) -> Optional[bytes]:
        """The bytes after a PROXY header (the whole ``data`` without one), once it is
        known; None while it is incomplete or after a malformed one (answered 400)."""
        buf = self._proxy + data if self._proxy else data
        try:
            result = proxy_header.parse(buf)
        except proxy_header.ProxyHeaderError as e:
            self._proxy = None
            self._protocol_error(e)
            return None
        if result is NEED_DATA:
            self._proxy = buf
            if self.state == IDLE:
                self.state = HEAD
                self.deadline = self.server.loop.time() + self.settings.socket_timeout
            return None
        self._proxy = None
        info, used = result  # type: ignore[misc]
        if info is not None:
            self.remote_addr = self.peer = info.source
            self.remote_port = str(info.source_port)
        return buf[used:] if used else buf

    def eof_received(self) -> bool:
        self._eof = True
        if self.state >= DISCARD:
            self._close()  # the client is done sending: nothing is left unread
            return True
        self.parser.receive_data(b"")
        if self.state == BUSY:
            self.wake_body()
            return True  # half-close: still write the response
        self._process()
        return True

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.closed = True
        self.state = CLOSED
        self.server.connections.discard(self)
        self.server.check_budget()
        self.fail_waiters()

    # -- request dispatch (hub) ------------------------------------------------------

    def _process(self) -> None:
        """Parse buffered bytes and start the next request, if complete."""
        if self._processing or self.closed:
            return
        self._processing = True
        try:
            # IDLE or HEAD only: a request that failed its body inside this loop (a core
            # that ran at once) leaves the connection in DISCARD/LINGER, whose bytes are
            # not the next request's (parsing them again would answer a second time).
            while self.state < BUSY and not self.closed:
                try:
                    event = self.parser.next_event()
                except RemoteProtocolError as e:
                    self._protocol_error(e)
                    return
                if type(event) is Request:
                    self._dispatch(event)
                    # A request that never suspended is already done: loop for the
                    # next pipelined one, if any bytes wait.  Otherwise
                    # _finish_request resumes us.
                    if self.state != BUSY and not self.parser.has_input():
                        if self._reading_paused:
                            self._resume_reading()
                        return
                    continue
                if event is NEED_DATA:
                    if self._reading_paused:
                        self._resume_reading()
                    return
                if type(event) is ConnectionClosed or event is PAUSED:
                    self._close()
                    return
                # Stray Data/EndOfMessage cannot happen outside a request.
                self._close()
                return
        finally:
            self._processing = False

    def _dispatch(self, req: Request) -> None:
        self.served += 1
        self.state = BUSY
        self.deadline = 0.0
        self._request = req
        has_body = req.chunked or bool(req.content_length)
        self._body_done = not has_body
        self._eom_seen = False
        self._continue_pending = req.expect_continue and has_body
        if not self.server.engine.submit(self._run, req):
            self._pause_reading()
        elif self.state == BUSY and self.parser.buffered() > self.settings.max_head + 65536:
            self._pause_reading()  # pipelined bytes arrived with the request: hold the rest

    def _finish_request(self, keep_alive: bool) -> None:
        """Called in the core when a response is complete."""
        self._request = None
        self._input = None
        if self.closed:
            return
        if not self._eom_seen:
            if self._close_after and not self._body_done:
                self._linger()  # the body failed (timeout, malformed): no point reading on
                return
            # What the app left of the body (a bodiless request still has its EndOfMessage)
            if not self._discard_rest(keep_alive):
                return
        if not keep_alive:
            self._close()
            return
        self._next_request()

    def _next_request(self) -> None:
        self.parser.start_next_request()
        self.state = IDLE
        self.deadline = self.server.loop.time() + self.settings.keepalive_timeout
        if self._processing:
            return  # we are nested in _process's dispatch: it continues the loop
        if self.parser.has_input() or self._reading_paused:
            self.server.loop.call_soon(self._process)

    def _clock(self) -> float:
        return self.server.loop.time()

    def _body_dropped(self, keep: bool) -> None:
        if keep and not self._close_after:
            self._next_request()
        else:
            self._close()

    # -- timeouts, errors, flow control ----------------------------------------------

    def on_timeout(self) -> None:
        if self.state == HEAD:
            gen_log.info("request head from %s not complete after %ss: 408", self.remote_addr, self.settings.socket_timeout)
            self._send_error(408, "request head not received in time")
        else:
            self._close()

    def _protocol_error(self, e: RemoteProtocolError) -> None:
        gen_log.info("malformed HTTP request from %s: %s", self.remote_addr, e.args[0] if e.args else e)
        self._send_error(e.status_hint or 400, str(e.args[0] if e.args else "bad request"))

    def _send_error(self, status: int, message: str) -> None:
        if self.closed or self.transport is None:
            return
        body = (message + "\n").encode("latin-1", "replace")
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, REASONS.get(status, "Error").encode(), len(body), body)
        )
        self._close()

    def _close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.state = CLOSED
            self.transport.close()

    # -- used by the core ------------------------------------------------------------

    def read_body_chunk(self, want: int, timeout: Optional[float], nb: bool = False) -> Optional[bytes]:
        """Next body bytes (suspending the core at most ``timeout`` s per wait), or None at the
        end; with ``nb`` ``b""`` instead of a wait (see :class:`~gateway.server.wsgi_input.BodySource`)."""
        if self._body_done:
            return None
        if self._continue_pending:
            self._continue_pending = False
            if not self.closed:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # type: ignore[union-attr]
        parser = self.parser
        while True:
            try:
                event = parser.next_event()
            except RemoteProtocolError as e:
                self._close_after = True
                raise BodyError(str(e.args[0] if e.args else e), e.status_hint or 400) from None
            if type(event) is Data:
                return event.data
            if type(event) is EndOfMessage:
                self._body_done = True
                self._eom_seen = True
                return None
            if event is NEED_DATA:
                if nb:
                    if self.closed:  # gone without an EOF the parser could see (a reset)
                        raise BodyError("%s disconnected while sending the request body" % self.WHO)
                    self._resume_reading()
                    return b""
                try:
                    self.wait_for_body(want, timeout)
                except BodyTimeout:
                    self._close_after = True
                    raise
                continue
            # ConnectionClosed / PAUSED inside a body: the parser reports truncation as errors.
            self._close_after = True
            raise BodyError("request body ended unexpectedly")

    # -- the request, inside a core ---------------------------------------------------

    def _run(self, req: Request) -> None:
        inp = WSGIInput(self, self._body_done, self.settings)
        self._input = inp
        self._keep_alive = req.keep_alive
        self._chunked = False
        server = self.server
        environ = request_environ(
            server.base_environ,
            req.method, req.target, req.path, req.query, req.version, req.headers,
            self.remote_addr, self.remote_port, server.keep_encoded_slashes,
        )
        environ["wsgi.input"] = inp
        if server.strip_script_name:  # modifier1 30 (--http-socket-modifier1)
            script, path = environ["SCRIPT_NAME"], environ["PATH_INFO"]
            if script and path.startswith(script) and path[len(script):len(script) + 1] in ("", "/"):
                environ["PATH_INFO"] = path[len(script):]
        run_request(self.settings, self, environ)

    # -- ResponseSink (gateway.server.sink): HTTP/1.x framing -------------------------

    def peer_parses_chunked(self) -> bool:
        return self._request is not None and self._request.version == "HTTP/1.1"

    def send_head(self, resp: WSGIResponse, first: bytes, final: bool) -> int:
        version = self._request.version  # type: ignore[union-attr]
        lines, kind = body_framing(resp, first, final, version == "HTTP/1.1")
        extra = self.server.date_header() + lines
        if kind == CHUNKED:
            self._chunked = True
        elif kind == TO_CLOSE:
            self._keep_alive = False
        if self._keep_alive and (self._close_after or resp.close_connection):
            self._keep_alive = False
        if version == "HTTP/1.1":
            if not self._keep_alive:
                extra += b"Connection: close\r\n"
        elif self._keep_alive:
            extra += b"Connection: keep-alive\r\n"
        head = b"%s %s%s\r\n" % (version.encode(), resp.head, extra)
        if not resp.send_body or not first:
            self.write(head)
        elif self._chunked:
            self.write(head + b"%x\r\n" % len(first) + first + _CRLF)
        else:
            self.write(head + first)
        return len(head)

    def send_body(self, data: bytes) -> None:
        if self._chunked:
            self.write(b"%x\r\n" % len(data) + data + _CRLF)
        else:
            self.write(data)

    def finish(self) -> None:
        if self._chunked:
            self.write(b"0\r\n\r\n")

    def send_error(self, status: int, reason: str, detail: str = "") -> Tuple[int, int, int]:
        self._close_after = True
        req = self._request
        body = (reason + "\n" + detail).encode("utf-8", "replace")
        sent = body if req.method != "HEAD" else b""  # type: ignore[union-attr]
        answer = (b"%s %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s"
                  % (req.version.encode(), status, reason.encode(), len(body),  # type: ignore[union-attr]
                     self.server.date_header(), sent))
        self.write(answer)
        return answer_sizes(answer, len(sent))

    def abort(self) -> None:
        self._close_after = True
        if self.transport is not None:
            self.transport.close()
        self.closed = True

    def detach(self) -> Any:
        """Hand the connection over (websocket): ``(transport, unparsed bytes)``.  From
        now on this object neither parses, times out, writes nor closes it."""
        self._close_after = True
        self.state = BUSY  # no more parsing or timeouts for this connection
        self.closed = True
        self.server.connections.discard(self)
        self.server.check_budget()
        leftover = self.parser.trailing_data[0] if self.parser.buffered() else b""
        return self.transport, leftover

    def request_done(self, ok: bool) -> None:
        if self.defer_request_done(ok):
            return  # the file still travels (--offload-threads): called again when it is out
        self._finish_request(ok and self._keep_alive and not self._close_after)


HTTPServer.connection_class = HTTPConnection
