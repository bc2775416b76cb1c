"""The router's client side: one HTTP/1.x connection, each request relayed to a worker.

:class:`RouterConnection` is an asyncio protocol (created by the loop's own
``create_server``, TLS included).  Requests are parsed by the same sans-IO
:class:`~gateway.protocol.http1.RequestParser`, with the same limits, as on
``--http-socket``; each one becomes a uwsgi packet (:mod:`gateway.router.vars`) on
a connection to a worker (:class:`~gateway.router.upstream.Upstream`): a fresh one,
or toward gateway's own workers one kept from an earlier request (below).
Everything is callbacks: no coroutine per request or per chunk.

**Request bodies** stream as they arrive (``Content-Length`` passed through; a
chunked body re-chunked canonically: trailers and chunk extensions dropped); when the worker does not take bytes as
fast as the client sends them, the client's transport stops reading until the
queued bytes are sent.  ``Expect: 100-continue`` is answered once a worker is
connected.

**Responses.**  A worker writes raw HTTP and closes (uWSGI's wire format; a kept
connection's answer is framed instead, below); the
router reads the head (:mod:`gateway.protocol.upstream_response`) and frames the
body for the client: the worker's ``Content-Length`` passed through (the
connection stays alive); a body the app chunked itself decoded and re-chunked (the
connection stays alive); else chunked for HTTP/1.1 clients; else close-delimited.
No body on ``HEAD``, 1xx, 204 and 304.  The app's ``Connection: close`` (passed on by
the worker) closes the client's connection after the answer, as uWSGI's router does.
A ``Date`` header is added when the app gave none.  When the client reads slower than
the worker writes, the router stops reading from the worker (the worker's own send then
blocks, parking only its core).

**Persistent worker connections** (gateway workers only, :mod:`gateway.router.pool`):
a request whose body is delimited carries ``GATEWAY_KEEPALIVE``; the worker then frames
its answer (``Content-Length``, else chunked: de-chunked by
:class:`~gateway.protocol.upstream_response.ChunkedBody` and re-chunked for HTTP/1.1
clients, close-delimited for HTTP/1.0 ones) and, once it is complete, the connection goes
back to the router's pool.  Requests that are safe to replay (``GET``, ``HEAD``,
``OPTIONS``, ``TRACE``, ``PUT``, ``DELETE`` with at most :data:`REPLAY_MAX` body bytes)
take a pooled connection when there is one; if the worker closed it before sending a
byte of the answer (it was idle too long, stopping, recycled, killed), the request is
sent again once on a fresh connection, so the client never sees it.  Other requests open
a fresh connection (which may then be pooled).

**Upgrades.**  A ``101 Switching Protocols`` from the worker is passed through
verbatim and the connection becomes a raw two-way tunnel (websockets).

**Failures.**  No worker reachable (refused, missing socket, connect timeout), or
a worker that closes before a complete response head: ``502 Bad Gateway``.  No
response head within ``--http-timeout``: ``504 Gateway Timeout``.  A worker lost
in the middle of a body: the client connection is aborted, so the client sees a
truncated response rather than a wrong one.  One line on ``gateway.error`` per
failure, at most one per second per kind.
"""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Dict, List, Optional

from gateway.logs import gen_log
from gateway.protocol import proxy_header
from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1 import (
    NEED_DATA,
    Data,
    EndOfMessage,
    Request,
    RequestParser,
)
from gateway.protocol.upstream_response import ChunkedBody, UpstreamProtocolError, parse_response_head
from gateway.router.gzip_body import GzipRelay, client_accepts_gzip, gzip_head_lines, wants_gzip
from gateway.router.upstream import Upstream
from gateway.router.vars import VarsTooLarge
from gateway.server.body_discard import BodyDiscarding

__all__ = ["RouterConnection", "REPLAY_MAX"]

# Connection states (for the timeout sweep).
IDLE = 0    # between requests: keep-alive timeout
HEAD = 1    # a request head is arriving: --socket-timeout
BUSY = 2    # a request is being relayed: --http-timeout of inactivity
TUNNEL = 3  # after a 101: raw bytes both ways, --http-timeout of inactivity
CLOSED = 4
DISCARD = 5  # the response is out: the rest of the client's body is read and dropped
LINGER = 6   # our FIN is out: what still arrives is dropped until EOF or --linger-timeout

# Response framing modes.
AWAIT_HEAD = 0  # reading the worker's response head
LENGTH = 1      # relaying Content-Length bytes
CHUNKING = 2    # chunk-framing a body that ends at the worker's close
TO_CLOSE = 3    # relaying until the worker closes, then closing the client (HTTP/1.0)
RAW = 4         # tunnel
DONE = 5
DECHUNK = 6     # a chunked answer (a persistent connection's, an app's own): decoded, re-framed for the client
GZIP = 7        # --http-auto-gzip: the worker's body decoded, gzipped, re-framed (gateway.router.gzip_body)

#: Methods whose requests may take a pooled worker connection: replayed once if it was stale.
_REPLAYABLE = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))
#: Largest request body kept for such a replay (bytes); a larger one opens a fresh connection.
REPLAY_MAX = 65536

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"
_LOG_INTERVAL = 1.0


class _Date:
    """``Date: ...\\r\\n``, formatted at most once per second."""

    second = -1
    line = b""

    @classmethod
    def header(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.second = now
            cls.line = b"Date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"
        return cls.line


_last_logged: Dict[str, float] = {}


def _log_limited(kind: str, message: str, *args: Any) -> None:
    """One line on ``gateway.error`` per ``kind`` per second: a dead worker under load must not flood the log."""
    now = time.monotonic()
    if now - _last_logged.get(kind, -10.0) >= _LOG_INTERVAL:
        _last_logged[kind] = now
        gen_log.error(message, *args)


class RouterConnection(BodyDiscarding, asyncio.Protocol):
    """One client connection of the HTTP router (see the module docstring)."""

    DISCARD = DISCARD
    LINGER = LINGER

    # Slots: more than 30 instance attributes would leave CPython's shared-key instance
    # dicts, and every attribute access on the hot path would pay for it.  (__weakref__:
    # TLS handshakes in progress are counted through weak references.)
    __slots__ = (
        "__weakref__",
        "_attempts", "_body_pending", "_chunked_body", "_client_eof", "_conn_vars", "_dechunk",
        "_gzip", "_gzip_ok", "_head", "_head_sent", "_keep_alive",
        "_keepalive_on", "_mode", "_next_target", "_packet", "_persist", "_processing", "_proxy",
        "_reading_paused", "_rechunk", "_remaining", "_replay", "_req", "_reusable", "_sent_continue",
        "_spec", "_spool", "_spooled", "_upstream_eof", "_write_paused", "activity", "loop",
        "parser", "remote_addr", "remote_port", "router", "settings", "transport", "upstream",
        "vars",
    )

    def __init__(self, router: Any, vars_builder: Any) -> None:
        self.router = router
        self.settings = s = router.settings
        self.vars = vars_builder
        self.loop = router.loop
        self.parser = RequestParser(max_head=s.max_head, max_headers=s.max_headers, max_body=s.max_body)
        self.transport: Optional[asyncio.Transport] = None
        self.remote_addr = ""
        self.remote_port = "0"
        self.state = IDLE
        self.deadline = 0.0
        self.activity = 0.0
        self.upstream: Optional[Upstream] = None
        #: ``() -> (family, address, spec)``: the worker address for the next attempt (a subclass,
        #: gateway.router.http_subscription, picks a subscribed node by the request's Host instead)
        self._next_target = router.next_upstream
        self._req: Optional[Request] = None
        self._packet = b""
        self._attempts = 0
        self._spec = ""
        self._mode = DONE
        self._head = bytearray()
        self._remaining = 0
        self._keep_alive = False
        self._head_sent = False
        self._body_pending = False
        self._chunked_body = False
        self._sent_continue = False
        self._reading_paused = False
        self._client_eof = False
        self._upstream_eof = False
        self._write_paused = False
        self._processing = False
        self._keepalive_on = s.keepalive_timeout > 0  # --http-keepalive 0: close after each response
        self._persist = False  # this request asks the worker for a persistent connection
        self._reusable = False  # ... and its answer was framed: the connection can be pooled
        self._replay: Optional[List[bytes]] = None  # bytes sent on a pooled connection, until the answer starts
        self._dechunk: Optional[ChunkedBody] = None
        #: --http-auto-gzip: the client accepts gzip (set per request), and the answer's relay
        self._gzip_ok = False
        self._gzip: Optional[GzipRelay] = None
        #: --http-post-buffering: the body being read before a worker is asked (``_spool``),
        #: then the whole body being sent to it (``_spooled``)
        self._spool: Optional[Any] = None
        self._spooled: Optional[Any] = None
        self._rechunk = False
        #: DISCARD: bytes of the unread body still allowed, and whether to keep the connection after
        self._discard_budget = 0
        self._discard_keep = False
        #: the connection's own uwsgi vars (a TLS client certificate's), encoded
        self._conn_vars = ""
        #: the first bytes until it is known whether they start with a PROXY header
        self._proxy: Optional[bytes] = b"" if s.proxy_protocol else None

    # -- asyncio.Protocol (client side) -------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.remote_addr = peer[0]
            self.remote_port = str(peer[1])
        if self.router.handshakes:  # an --https client: its handshake is over
            self.router.handshakes.done(self)
        self.router.connections.add(self)
        self.router.check_budget()
        self.deadline = self.loop.time() + self.settings.keepalive_timeout
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:  # --https: a client certificate's vars, once per connection
            from gateway.router.tls import client_cert_vars

            pairs = client_cert_vars(ssl_object, self.settings.https_export_cert)
            try:
                self._conn_vars = self.vars.encode_connection_vars(pairs)
            except Exception as e:  # a certificate over 64 KiB cannot be a uwsgi var
                gen_log.info("client certificate from %s not passed on: %s", self.remote_addr, e)

    def data_received(self, data: bytes) -> None:
        if self._proxy is not None:
            rest = self._proxy_header(data)
            if not rest:
                return
            data = rest
        state = self.state
        if state == TUNNEL:
            self.activity = self.loop.time()
            if not self.upstream.write(data):  # type: ignore[union-attr]
                self._pause_reading()
            return
        if state >= DISCARD:
            self._drop_unread(data)
            return
        self.parser.receive_data(data)
        if state == BUSY:
            self.activity = self.loop.time()
            if self._body_pending:
                self._pump_body()
            elif self.parser.buffered() > self.settings.max_head + 65536:
                self._pause_reading()  # pipelined bytes piling up behind this request
            return
        if state == IDLE:
            self.state = HEAD
            self.deadline = self.loop.time() + self.settings.head_timeout
        self._process()

    def _proxy_header(self, data: bytes) -> Optional[bytes]:
        """The bytes after a PROXY header (all of ``data`` without one) once it is known;
        None while it is incomplete or after a malformed one (answered 400)."""
        buf = self._proxy + data if self._proxy else data
        try:
            result = proxy_header.parse(buf)
        except proxy_header.ProxyHeaderError as e:
            self._proxy = None
            gen_log.info("malformed PROXY header from %s: %s", self.remote_addr, e.args[0])
            self._send_error(400, str(e.args[0]))
            return None
        if result is NEED_DATA:
            self._proxy = buf
            if self.state == IDLE:
                self.state = HEAD
                self.deadline = self.loop.time() + self.settings.head_timeout
            return None
        self._proxy = None
        info, used = result  # type: ignore[misc]
        if info is not None:
            self.remote_addr = info.source
            self.remote_port = str(info.source_port)
        return buf[used:] if used else buf

    def eof_received(self) -> bool:
        self._client_eof = True
        if self.state == TUNNEL:
            if self._upstream_eof or self.upstream is None:
                self._close()  # both directions are done
            else:
                self.upstream.shutdown_write()
            return True
        if self.state >= DISCARD:
            self._close()  # the client is done sending: nothing is left unread
            return True
        self.parser.receive_data(b"")
        if self.state == BUSY:
            if self._body_pending:
                self._pump_body()
            return True  # half-close: the response still goes out
        self._process()
        return True

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.state = CLOSED
        self.router.connections.discard(self)
        self.router.check_budget()
        if self._spool is not None or self._spooled is not None:
            self._drop_spools()
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None

    def pause_writing(self) -> None:
        self._write_paused = True
        if self.upstream is not None:
            self.upstream.pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self.upstream is not None:
            self.upstream.resume_reading()

    # -- requests -------------------------------------------------------------------

    def _process(self) -> None:
        """Parse buffered bytes and forward the next complete request."""
        if self._processing:
            return
        self._processing = True
        try:
            while self.state in (IDLE, HEAD):
                try:
                    event = self.parser.next_event()
                except RemoteProtocolError as e:
                    gen_log.info("malformed HTTP request from %s: %s", self.remote_addr, e.args[0] if e.args else e)
                    self._send_error(e.status_hint or 400, str(e.args[0] if e.args else "bad request"))
                    return
                if type(event) is Request:
                    self._forward(event)
                elif event is NEED_DATA:
                    self._resume_reading()
                    return
                else:  # ConnectionClosed, or PAUSED after an error
                    self._close()
                    return
        finally:
            self._processing = False

    def _forward(self, req: Request) -> None:
        self.state = BUSY
        self.deadline = 0.0
        self.activity = self.loop.time()
        self._req = req
        persist = self.settings.persistent and not req.chunked
        self._persist = persist
        try:
            self._packet = self.vars.build(req, self.remote_addr, self.remote_port, persist, self._conn_vars)
        except VarsTooLarge as e:
            gen_log.info("request from %s refused: %s", self.remote_addr, e)
            self._send_error(431, str(e))
            return
        limit = self.settings.expect_limit
        if limit and req.expect_continue and (req.content_length or 0) > limit:
            # --http-manage-expect BYTES: refused before a byte of the body is asked for (uWSGI's 413)
            self._send_error(413, "the request body is larger than %d bytes" % limit)
            return
        self._gzip_ok = self.settings.auto_gzip and client_accepts_gzip(req.headers)
        self._chunked_body = req.chunked
        self._body_pending = req.chunked or bool(req.content_length)
        if not self._body_pending:
            self.parser.next_event()  # the EndOfMessage of a bodiless request
        self._sent_continue = False
        self._mode = AWAIT_HEAD
        self._head = bytearray()
        self._head_sent = False
        self._attempts = 0
        self._reusable = False
        self._replay = None
        if self._body_pending and self.settings.post_buffering:
            self._start_buffering(req)
            return
        if persist and req.method in _REPLAYABLE and (req.content_length or 0) <= REPLAY_MAX:
            target = self._next_target()
            upstream = self.router.pool.get(target[2])
            if upstream is None:
                self._connect(target)
                return
            self._spec = target[2]
            self._attempts = 1
            self._replay = [self._packet]
            upstream.owner = self
            self.upstream = upstream
            if self._write_paused:
                upstream.pause_reading()
            self.upstream_connected()
            return
        self._connect()

    def _start_buffering(self, req: Request) -> None:
        """``--http-post-buffering N``: read the whole body first (up to N bytes in memory, the
        rest in a temporary file), and only then take a worker, so a slow upload never holds
        a worker's core."""
        import tempfile

        self._spool = tempfile.SpooledTemporaryFile(max_size=self.settings.post_buffering)
        if req.expect_continue and self.transport is not None:
            self._sent_continue = True  # we ask for the body now
            self.transport.write(_CONTINUE)
        self._buffer_body()

    def _buffer_body(self) -> None:
        spool = self._spool
        assert spool is not None
        parser = self.parser
        chunked = self._chunked_body
        while True:
            try:
                event = parser.next_event()
            except RemoteProtocolError as e:
                gen_log.info("malformed request body from %s: %s", self.remote_addr, e.args[0] if e.args else e)
                self._body_pending = False
                self._drop_spools()
                self._send_error(e.status_hint or 400, str(e.args[0] if e.args else "bad request body"))
                return
            if type(event) is Data:
                data = event.data
                spool.write(b"%x\r\n%b\r\n" % (len(data), data) if chunked else data)
            elif type(event) is EndOfMessage:
                if chunked:
                    spool.write(LAST_CHUNK)
                self._body_pending = False
                spool.seek(0)
                self._spool, self._spooled = None, spool
                if parser.buffered() <= self.settings.max_head + 65536:
                    self._resume_reading()
                self._connect()
                return
            else:
                if event is NEED_DATA:
                    self._resume_reading()
                return

    def _send_spooled(self) -> None:
        """The buffered body to the worker, as fast as it takes it."""
        upstream = self.upstream
        spooled = self._spooled
        if upstream is None or spooled is None or not upstream.connected:
            return
        while not upstream.write_pending:
            block = spooled.read(65536)
            if not block:
                self._drop_spools()
                return
            if not upstream.write(block):
                return

    def _drop_spools(self) -> None:
        for spool in (self._spool, self._spooled):
            if spool is not None:
                spool.close()
        self._spool = self._spooled = None

    def _connect(self, target: Any = None) -> None:
        family, address, self._spec = target or self._next_target()
        self._attempts += 1
        upstream = Upstream(self.loop, self, family, address, self.settings.connect_timeout)
        self.upstream = upstream
        if self._write_paused:
            # the client has not drained the previous response yet: read nothing until it has
            upstream.pause_reading()
        upstream.connect()

    # -- Upstream callbacks ---------------------------------------------------------

    def upstream_connected(self) -> None:
        upstream = self.upstream
        assert upstream is not None
        if not upstream.write(self._packet):
            self._pause_reading()
        self._packet = b""
        if self._spooled is not None:
            self._send_spooled()
        elif self._body_pending:
            req = self._req
            if req is not None and req.expect_continue and not self._sent_continue and self.transport is not None:
                self._sent_continue = True
                self.transport.write(_CONTINUE)
            self._pump_body()

    def upstream_drained(self) -> None:
        if self.state == TUNNEL:
            self._resume_reading()
        elif self._spooled is not None:
            self._send_spooled()
        elif self._body_pending:
            self._pump_body()
        elif self.state == BUSY and self.parser.buffered() <= self.settings.max_head + 65536:
            self._resume_reading()

    def _pump_body(self) -> None:
        """Move the request body from the parser to the worker, as far as both allow."""
        if self._spool is not None:  # --http-post-buffering: still reading it all first
            self._buffer_body()
            return
        upstream = self.upstream
        if upstream is None or not upstream.connected or upstream.write_pending:
            return
        parser = self.parser
        chunked = self._chunked_body
        while True:
            try:
                event = parser.next_event()
            except RemoteProtocolError as e:
                gen_log.info("malformed request body from %s: %s", self.remote_addr, e.args[0] if e.args else e)
                self._body_pending = False
                if self._head_sent:
                    self._abort()
                else:
                    self._send_error(e.status_hint or 400, str(e.args[0] if e.args else "bad request body"))
                return
            if type(event) is Data:
                data = event.data
                if chunked:
                    data = b"%x\r\n%b\r\n" % (len(data), data)
                elif self._replay is not None:
                    self._replay.append(data)
                if not upstream.write(data):
                    self._pause_reading()
                    return
            elif type(event) is EndOfMessage:
                self._body_pending = False
                if chunked:
                    upstream.write(LAST_CHUNK)
                if parser.buffered() <= self.settings.max_head + 65536:
                    self._resume_reading()
                return
            else:
                if event is NEED_DATA:
                    self._resume_reading()
                return

    def upstream_data(self, data: bytes) -> None:
        self.activity = self.loop.time()
        mode = self._mode
        transport = self.transport
        if transport is None or self.state == CLOSED:
            return
        if mode == LENGTH:
            remaining = self._remaining
            if len(data) < remaining:
                self._remaining = remaining - len(data)
                transport.write(data)
                return
            if len(data) > remaining:
                transport.write(data[:remaining])
                self._reusable = False  # bytes after the answer: this connection is not in step
            else:
                transport.write(data)
            self._remaining = 0
            self._response_done()
        elif mode == CHUNKING:
            transport.write(b"%x\r\n%b\r\n" % (len(data), data))
        elif mode == DECHUNK:
            self._relay_dechunked(data)
        elif mode == GZIP:
            self._relay_gzip(data)
        elif mode == AWAIT_HEAD:
            self._replay = None  # the worker answers: no replay from now on
            if self._head:
                self._head += data
                self._read_head(self._head)
            else:
                self._read_head(data)  # the common case: the head in one read, no copy
        elif mode != DONE:
            transport.write(data)

    def _read_head(self, buf: Any) -> None:
        while True:
            try:
                head = parse_response_head(buf, self.settings.max_response_head)
            except UpstreamProtocolError as e:
                _log_limited("bad-response", "[router] invalid response from worker %s: %s (502)", self._spec, e)
                self._gateway_error(502, "the worker sent an invalid response")
                return
            if head is None:
                if buf is not self._head:
                    self._head = bytearray(buf)
                return
            status = head.status
            rest = bytes(buf[head.size :])
            if status == 101:
                self._start_tunnel(bytes(buf[: head.size]), rest)
                return
            if status < 200:
                # Interim responses: pass on to HTTP/1.1 clients (ours already got a 100).
                req = self._req
                if req is not None and req.version == "HTTP/1.1" and not (status == 100 and self._sent_continue):
                    self.transport.write(bytes(buf[: head.size]))  # type: ignore[union-attr]
                buf = self._head = bytearray(rest)
                if not rest:
                    return
                continue
            break
        if self._head:
            self._head = bytearray()
        req = self._req
        assert req is not None
        keep_alive = req.keep_alive and not self._client_eof and self._keepalive_on
        http11 = req.version == "HTTP/1.1"
        drop_te: Optional[bytes] = None
        if self._gzip_ok and req.method != "HEAD" and status not in (204, 304) and wants_gzip(head.lines):
            self._start_gzip(head, rest, keep_alive and http11 and not head.client_close, http11)
            return
        if req.method == "HEAD" or status in (204, 304):
            mode = DONE
        elif head.chunked:
            # a gateway worker's framing, or an app's own chunks: decoded, then re-chunked for
            # HTTP/1.1 (the end is known: the client's connection stays alive)
            mode = DECHUNK
            self._dechunk = ChunkedBody(self.settings.max_response_head)
            self._rechunk = http11
            if not http11:
                keep_alive = False
                lines = [x for x in head.lines if x.partition(b":")[0].lower() != b"transfer-encoding"]
                drop_te = b"\r\n".join(lines)
        elif head.content_length is not None:
            mode = LENGTH
            self._remaining = head.content_length
            if not head.content_length:
                mode = DONE
        elif http11:
            mode = CHUNKING
        else:
            mode = TO_CLOSE
            keep_alive = False
        if head.connection_close:  # the worker's connection ends here (the common case reads only this)
            self._reusable = False
            if head.client_close:
                keep_alive = False  # the app's Connection: close ends the client's too, as in uWSGI's router
        else:
            self._reusable = self._persist and mode in (DONE, LENGTH, DECHUNK)
        self._keep_alive = keep_alive
        extra = b"" if head.has_date else _Date.header()
        if mode == CHUNKING:
            extra += b"Transfer-Encoding: chunked\r\n"
        if http11:
            if not keep_alive:
                extra += b"Connection: close\r\n"
        elif keep_alive:
            extra += b"Connection: keep-alive\r\n"
        out = head.rebuild(extra) if drop_te is None else head._replace(block=drop_te).rebuild(extra)
        self._mode = mode
        self._head_sent = True
        if mode == DONE:
            self.transport.write(out)  # type: ignore[union-attr]
            if rest:
                self._reusable = False
            self._response_done()
        elif rest:
            if mode == LENGTH and len(rest) >= self._remaining:
                self.transport.write(out + rest[: self._remaining])  # type: ignore[union-attr]
                if len(rest) > self._remaining:
                    self._reusable = False
                self._remaining = 0
                self._response_done()
            elif mode == DECHUNK:
                self.transport.write(out)  # type: ignore[union-attr]
                self._relay_dechunked(rest)
            elif mode == LENGTH:
                self._remaining -= len(rest)
                self.transport.write(out + rest)  # type: ignore[union-attr]
            elif mode == CHUNKING:
                self.transport.write(out + b"%x\r\n%b\r\n" % (len(rest), rest))  # type: ignore[union-attr]
            else:
                self.transport.write(out + rest)  # type: ignore[union-attr]
        else:
            self.transport.write(out)  # type: ignore[union-attr]

    def _start_gzip(self, head: Any, rest: bytes, keep_alive: bool, http11: bool) -> None:
        """``--http-auto-gzip``: send the head with ``Content-Encoding: gzip`` (chunked for an
        HTTP/1.1 client, else close-delimited), then the body gzipped as it arrives."""
        relay = GzipRelay(head.content_length, head.chunked, http11, self.settings.max_response_head)
        self._gzip = relay
        self._keep_alive = keep_alive
        self._reusable = self._persist and not head.connection_close and not relay.ends_at_eof
        extra = b"" if head.has_date else _Date.header()
        if http11:
            extra += b"Transfer-Encoding: chunked\r\n"
            if not keep_alive:
                extra += b"Connection: close\r\n"
        self._mode = GZIP
        self._head_sent = True
        self.transport.write(head._replace(block=gzip_head_lines(head.lines)).rebuild(extra))  # type: ignore[union-attr]
        if rest or relay.done:
            self._relay_gzip(rest)

    def _relay_gzip(self, data: bytes) -> None:
        relay = self._gzip
        assert relay is not None
        try:
            out = relay.feed(data) if data else b""
        except UpstreamProtocolError as e:
            _log_limited("bad-chunked", "[router] invalid chunked answer from worker %s: %s", self._spec, e)
            self._abort()
            return
        if relay.surplus:
            self._reusable = False  # bytes after the answer: this connection is not in step
        transport = self.transport
        if relay.done:
            self._gzip = None
            if transport is not None:
                transport.write(out + relay.finish())
            self._response_done()
        elif out and transport is not None:
            transport.write(out)

    def _relay_dechunked(self, data: bytes) -> None:
        """A persistent worker connection's chunked answer, to the client (re-chunked for 1.1)."""
        body = self._dechunk
        assert body is not None
        try:
            pieces = body.feed(data)
        except UpstreamProtocolError as e:
            _log_limited("bad-chunked", "[router] invalid chunked answer from worker %s: %s", self._spec, e)
            self._abort()
            return
        transport = self.transport
        if pieces and transport is not None:
            if self._rechunk:
                transport.write(b"".join([b"%x\r\n%b\r\n" % (len(p), p) for p in pieces]))
            else:
                transport.write(b"".join(pieces))
        if body.done:
            self._dechunk = None
            if self._rechunk and transport is not None:
                transport.write(LAST_CHUNK)
            self._response_done()

    def _retry(self) -> None:
        """A pooled connection closed before any byte of the answer: send it all again, once,
        on a fresh connection (the worker closed an idle connection, or died)."""
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
        replay = self._replay
        assert replay is not None
        self._replay = None
        gen_log.debug("[router] kept connection to worker %s closed before an answer: sending again", self._spec)
        self._packet = b"".join(replay)
        self._head = bytearray()
        self._attempts = 0
        self._connect()

    def upstream_eof(self) -> None:
        mode = self._mode
        if mode == AWAIT_HEAD:
            if self._replay is not None:
                self._retry()
                return
            if self._head:
                _log_limited("short-head", "[router] worker %s closed in the middle of a response head (502)", self._spec)
            else:
                _log_limited("no-response", "[router] worker %s closed the connection without a response (502)", self._spec)
            self._gateway_error(502, "the worker closed the connection without a complete response")
        elif mode == LENGTH:
            _log_limited("short-body", "[router] worker %s closed %d bytes before the end of a response body",
                         self._spec, self._remaining)
            self._abort()
        elif mode == DECHUNK:
            _log_limited("short-body", "[router] worker %s closed before the end of a chunked response body",
                         self._spec)
            self._abort()
        elif mode == GZIP:
            relay = self._gzip
            self._gzip = None
            if relay is not None and relay.ends_at_eof:
                self.transport.write(relay.finish())  # type: ignore[union-attr]
                self._response_done()
            else:
                _log_limited("short-body", "[router] worker %s closed before the end of a response body", self._spec)
                self._abort()
        elif mode == CHUNKING:
            self.transport.write(LAST_CHUNK)  # type: ignore[union-attr]
            self._response_done()
        elif mode == TO_CLOSE:
            self._keep_alive = False
            self._response_done()
        elif mode == RAW:
            self._upstream_eof = True
            transport = self.transport
            if self._client_eof or transport is None or not transport.can_write_eof():
                self._close()
            else:
                transport.write_eof()

    def upstream_failed(self, message: str, before_connect: bool) -> None:
        spec = self._spec
        self.upstream = None
        if self._replay is not None and not before_connect and self._mode == AWAIT_HEAD:
            self._retry()
            return
        if before_connect:
            quiet = self.settings.quiet  # --http-quiet: failed connections are not reported
            if self._attempts < self.router.upstream_count:
                if not quiet:
                    _log_limited("connect-" + spec, "[router] cannot connect to worker %s: %s (trying the next one)",
                                 spec, message)
                self._connect()
                return
            fallback = self._attempts - self.router.upstream_count
            if fallback < len(self.router.fallbacks):  # --http-fallback: the next node, in order
                if not quiet:
                    _log_limited("connect-" + spec, "[router] cannot connect to worker %s: %s (falling back to %s)",
                                 spec, message, self.router.fallbacks[fallback][2])
                self._connect(self.router.fallbacks[fallback])
                return
            if not quiet:
                _log_limited("connect", "[router] cannot connect to worker %s: %s (502)", spec, message)
            self._gateway_error(502, "no worker is reachable")
            return
        _log_limited("io", "[router] lost the connection to worker %s: %s", spec, message)
        if self._mode == AWAIT_HEAD:
            self._gateway_error(502, "the connection to the worker was lost")
        else:
            self._abort()

    # -- ends -----------------------------------------------------------------------

    def _response_done(self) -> None:
        self._mode = DONE
        upstream = self.upstream
        if upstream is not None:
            self.upstream = None
            upstream.uses += 1
            limit = self.settings.upstream_max_requests
            if (self._reusable and not self._body_pending and not upstream.write_pending
                    and (not limit or upstream.uses < limit)):
                self.router.pool.put(upstream, self._spec)
            else:
                upstream.close()
        self._reusable = False
        self._req = None
        if self.state == CLOSED:
            self._close()
            return
        if self._body_pending:
            # The worker answered without taking the whole body: the rest is read and dropped
            # here (gateway.server.body_discard), so the client never meets a reset
            self._body_pending = False
            if not self._discard_rest(self._keep_alive):
                return
        if not self._keep_alive:
            self._close()
            return
        self._next_request()

    def _next_request(self) -> None:
        self.parser.start_next_request()
        self.state = IDLE
        self.deadline = self.loop.time() + self.settings.keepalive_timeout
        if self.parser.has_input():
            self._process()
        else:
            self._resume_reading()

    def _clock(self) -> float:
        return self.loop.time()

    def _body_dropped(self, keep: bool) -> None:
        if keep:
            self._next_request()
        else:
            self._close()

    def _start_tunnel(self, head: bytes, rest: bytes) -> None:
        self.state = TUNNEL
        self._mode = RAW
        self._head = bytearray()
        self._head_sent = True
        self._body_pending = False
        self.transport.write(head + rest if rest else head)  # type: ignore[union-attr]
        pending, _eof = self.parser.trailing_data
        if pending and self.upstream is not None and not self.upstream.write(pending):
            self._pause_reading()
            return
        if self._client_eof and self.upstream is not None:
            self.upstream.shutdown_write()
        self._resume_reading()

    def _gateway_error(self, status: int, message: str) -> None:
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
        if self._head_sent:
            self._abort()
            return
        req = self._req
        keep = (req is not None and req.keep_alive and not self._body_pending and not self._client_eof
                and self._keepalive_on)
        self._mode = DONE
        self._write_error(status, message, keep)
        if keep:
            self._keep_alive = True
            self._response_done()
        else:
            self._close()

    def on_timeout(self, now: float) -> None:
        """Called by the router's once-a-second sweep."""
        state = self.state
        if state == HEAD and now > self.deadline:
            gen_log.info("request head from %s not complete after %ss: 408", self.remote_addr, self.settings.head_timeout)
            self._send_error(408, "request head not received in time")
        elif (state == IDLE or state >= DISCARD) and now > self.deadline:
            self._close()
        elif state in (BUSY, TUNNEL):
            upstream = self.upstream
            if upstream is not None and upstream.connect_overdue(now):
                upstream.close()
                self.upstream_failed("connect timeout", True)
            elif now - self.activity > self.settings.http_timeout:
                if state == BUSY and not self._head_sent:
                    _log_limited("timeout", "[router] no response from worker %s in %ss (504)",
                                 self._spec, self.settings.http_timeout)
                    self._gateway_error(504, "the worker did not answer in time")
                else:
                    self._abort(hard=True)

    def _write_error(self, status: int, message: str, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None or self.state == CLOSED:
            return
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        body = ("%d %s: %s\n" % (status, reason, message)).encode("latin-1", "replace")
        req = self._req
        # the answer to a HEAD has no body (its Content-Length still says what a GET would get):
        # a keep-alive client would read the body as the next response
        head_only = self.state == BUSY and req is not None and req.method == "HEAD"
        transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s%s\r\n%s"
            % (status, reason.encode(), len(body), _Date.header(),
               b"" if keep_alive else b"Connection: close\r\n", b"" if head_only else body)
        )

    def _send_error(self, status: int, message: str) -> None:
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
        self._write_error(status, message, False)
        self._close()

    def _close(self) -> None:
        if self.state != CLOSED and self.transport is not None:
            self.state = CLOSED
            self.transport.close()
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None

    def _abort(self, hard: bool = False) -> None:
        """End the client connection without completing the response (it must see a truncation).

        What was already written is flushed first, unless ``hard`` (a client that
        does not read).
        """
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
        if self.state != CLOSED and self.transport is not None:
            self.state = CLOSED
            if hard:
                self.transport.abort()
            else:
                self.transport.close()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and self.state != CLOSED:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and self.state != CLOSED:
            self._reading_paused = False
            self.transport.resume_reading()
