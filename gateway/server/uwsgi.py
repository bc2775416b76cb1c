"""``--socket``: the uwsgi protocol (nginx ``uwsgi_pass``), served by the one WSGI runner.

One :class:`UwsgiConnection` (an asyncio protocol on the IOLoop's own loop) per
connection, one request per connection, as nginx and uWSGI use it.  The packet is
parsed in the loop by the sans-IO :class:`~gateway.protocol.uwsgi.PacketParser` before
a core is taken (a peer dribbling its packet never pins a core; it must arrive within
``--socket-timeout`` of the connection, which uWSGI's tornado engine does not check).
Then, by modifier1:

* 0 and 30 (WSGI): the vars block becomes the environ and the request runs in a core
  through :func:`~gateway.server.wsgi_call.run_request`, exactly as an HTTP request;
  this connection is its :class:`~gateway.server.sink.ResponseSink`: the status line
  is ``SERVER_PROTOCOL`` (``HTTP/1.0`` when absent) + the app's status, then the app's
  headers verbatim (nothing added, no chunking, as uWSGI), and the end of the body is
  the close of the connection.  modifier1 30 strips ``SCRIPT_NAME`` from the front of
  ``PATH_INFO`` (real uWSGI 2.0.31 fails to on Python 3).  ``wsgi.input`` streams the
  body by ``CONTENT_LENGTH`` and parks only the current core.
  With ``--offload-threads``, a ``wsgi.file_wrapper`` over a regular file is sent
  from the loop by :class:`~gateway.server.file_offload.FileOffload` (the same code
  as ``--http-socket``) once the app returned it, the core already free; the head
  then carries a ``Content-Length`` (the file's remaining size, unless the app gave
  one), so nginx can tell a truncated file, and the close still ends the body.
* 100 (ping): answered ``64 LL LL 01`` and ``uwsgi.set_warning_message``'s text (LL its
  length; ``64 00 00 01`` without one) from the loop, then closed.
* any modifier1 with a handler in :data:`HANDLERS` (173: RPC, :mod:`gateway.server.uwsgi_rpc`;
  17: remote spooling, :mod:`gateway.spooler.remote`):
  ``handler(modifier2, payload, peer) -> [bytes]`` runs in a core (counted as a
  request, not access-logged), its buffers are written, then the connection closes.
  A handler registered with ``wants_body=True`` also gets ``read(n)``, which returns
  the next ``n`` raw bytes after the packet (parking the core; ``BodyError`` on
  timeout or EOF), for packets followed by a payload (remote cache values).
* anything else: ``-- unavailable modifier requested: N --`` and close, as uWSGI.

**Persistent connections** (a gateway-only extension, :data:`~gateway.protocol.uwsgi.KEEPALIVE_VAR`):
when gateway's own ``--http`` router marks a request with ``GATEWAY_KEEPALIVE`` and its
body is delimited (``CONTENT_LENGTH`` or none, not a de-chunked upload), the answer is
framed as on ``--http-socket`` (the same :func:`~gateway.server.sink.body_framing`:
``Content-Length``, else chunked) and the connection waits for the next packet instead
of closing.  Bounded: at most ``--socket-keepalive-max`` idle ones per listening socket
(over it the answer says ``Connection: gateway-close``, :data:`~gateway.protocol.uwsgi.KEEPALIVE_END`,
and the connection closes; the app's own ``Connection: close`` is passed on as such, here as
without the marker, and closes it too), each idle at
most ``--socket-timeout``; a graceful stop (:meth:`UwsgiServer.begin_drain`) closes the
idle ones at once and the busy ones after their answer.  A packet arriving on a *kept*
connection while every core of this worker is busy is refused by closing the connection
unanswered: the router (which only sends requests it may replay on kept connections)
sends it again on a fresh connection, which waits in the shared listen queue for whichever
worker has a free core, as it would have without persistent connections; a kept
connection must not tie a request to a busy worker while another one idles.  Requests
without the marker
(nginx, uWSGI's router, RPC clients) are served exactly as before.

Malformed packets are logged on ``gateway.error`` at INFO with uWSGI's wording
(``invalid request block size: 4248 (max 4096)...skip`` for a vars block over
``--buffer-size``) and the connection is closed without a byte (nginx answers 502);
the worker goes on.

Deliberate difference: an app exception before the response started is answered
with a ``500`` (uWSGI closes without a byte, which nginx turns into a 502).
"""

from __future__ import annotations

import socket
import struct
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from gateway.logformat import MODIFIERS, PACKET_VARS
from gateway.logs import gen_log
from gateway.protocol import uwsgi as wire
from gateway.protocol.uwsgi import (
    KEEPALIVE_END,
    KEEPALIVE_VAR,
    NEED_DATA,
    Packet,
    PacketParser,
    Request,
)
from gateway.server.body_discard import drop_body, start_linger
from gateway.server.file_offload import FileOffload
from gateway.server.modifiers import served_as
from gateway.server.settings import ServerSettings
from gateway.server.sink import CHUNKED, answer_sizes, body_framing
from gateway.server.uwsgi_rpc import answer as rpc_answer
from gateway.server.vars_conn import VarsConnection, VarsServer, pairs_environ
from gateway.server.wsgi_call import WSGIResponse
from gateway.server.wsgi_input import BodyError, ClientDisconnected
from gateway.spooler import remote as remote_spool
from gateway.warning_message import ping_reply
from loop_engine import CoreTimeout, wait_fd_write

__all__ = ["HANDLERS", "WANTS_BODY", "UwsgiConnection", "UwsgiServer", "register_handler"]

#: modifier1 -> ``handler(modifier2, payload, peer) -> list of bytes to write``.
#: Runs in a core; must not raise (log and return ``[]`` to close without a byte).
HANDLERS: Dict[int, Callable[..., List[bytes]]] = {}
#: modifier1 values whose handler also takes ``read(n)`` (see the module docstring).
WANTS_BODY: Set[int] = set()


def register_handler(modifier1: int, handler: Callable[..., List[bytes]], wants_body: bool = False) -> Callable[[], None]:
    """Answer packets of ``modifier1`` with ``handler(modifier2, payload, peer[, read])``;
    returns the undo callable."""
    if modifier1 in wire.VARS_MODIFIERS or modifier1 == wire.MOD1_PING:
        raise ValueError("modifier1 %d is served by the uwsgi server itself" % modifier1)
    HANDLERS[modifier1] = handler
    if wants_body:
        WANTS_BODY.add(modifier1)
    else:
        WANTS_BODY.discard(modifier1)

    def remove() -> None:
        if HANDLERS.get(modifier1) is handler:
            del HANDLERS[modifier1]
            WANTS_BODY.discard(modifier1)

    return remove


HANDLERS[wire.MOD1_RPC] = rpc_answer
HANDLERS[remote_spool.MODIFIER1] = remote_spool.answer


class UwsgiServer(VarsServer):
    """All uwsgi connections of one worker on one listening socket, and their timeout sweep.

    Every request from nginx is a new connection, so accepting is the hot path: on uvloop
    the loop accepts (`ConnectionServer.start`).
    """

    connections: Set[UwsgiConnection]
    protocol_name = "uwsgi"

    def __init__(self, settings: ServerSettings, base_environ: Dict[str, Any], tls: Any = None) -> None:
        super().__init__(settings, base_environ, tls)
        #: persistent connections (gateway's router) waiting for their next packet
        self.idle: Set[UwsgiConnection] = set()
        #: --socket-keepalive-max: the bound of :attr:`idle`; 0 ignores the router's marker
        self.keepalive_max = settings.uwsgi_keepalive_max
        self.draining = False
        #: --allowed-modifiers/--remap-modifier: wire modifier1 -> served modifier1 (None: itself)
        self.modifiers = settings.uwsgi_modifiers
        #: the wire modifier1 values whose packets are WSGI requests (a vars block and a body)
        self.vars_modifiers = (wire.VARS_MODIFIERS if self.modifiers is None
                               else served_as(self.modifiers, wire.VARS_MODIFIERS))

    def _on_accept(self, conn: socket.socket, addr: Any) -> None:
        # nginx and RPC clients send their packet as soon as they are connected: it is
        # usually here already.  A complete handler packet (RPC, ...) is then answered on
        # the raw socket, without a transport (that costs more than the RPC itself).
        try:
            early = conn.recv(65536, socket.MSG_DONTWAIT)
            if not early:  # the peer connected and closed
                conn.close()
                return
        except (BlockingIOError, InterruptedError):
            early = b""
        except OSError:
            conn.close()
            return
        if early and self._raw_packet(conn, addr, early):
            return
        if self._tcp:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        protocol = UwsgiConnection(self, addr)
        protocol.early = early
        self._attach(conn, protocol)

    def _raw_packet(self, conn: socket.socket, addr: Any, data: bytes) -> bool:
        """Answer ``data`` on the raw socket if it is exactly one complete handler packet."""
        if len(data) < 4:
            return False
        mod1, size, mod2 = struct.unpack_from("<BHB", data)
        handler = HANDLERS.get(mod1)
        if handler is None or mod1 in WANTS_BODY or len(data) != 4 + size or size > self.settings.max_head:
            return False
        peer = "%s:%s" % addr[:2] if isinstance(addr, tuple) else (addr or "unix")
        self.engine.submit(self._run_raw, conn, handler, mod1, mod2, data[4:], peer)
        return True

    def _run_raw(self, conn: socket.socket, handler: Callable[..., List[bytes]], mod1: int, mod2: int,
                 payload: bytes, peer: str) -> None:
        """In a core: the handler's buffers written on the raw socket (one ``sendmsg``, so
        no Nagle delay without TCP_NODELAY, which is set only if a write is partial), then close."""
        try:
            bufs: List[Any] = list(handler(mod2, payload, peer))
            while bufs:
                try:
                    sent = conn.sendmsg(bufs, (), socket.MSG_DONTWAIT)
                except BlockingIOError:
                    sent = 0
                while sent and bufs:
                    if sent >= len(bufs[0]):
                        sent -= len(bufs.pop(0))
                    else:
                        bufs[0] = memoryview(bufs[0])[sent:]
                        sent = 0
                if bufs:
                    if self._tcp:
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    wait_fd_write(conn, self.settings.send_timeout)
        except (OSError, CoreTimeout):
            pass
        except Exception:
            gen_log.exception("error in the handler of modifier1 %d", mod1)
        finally:
            self.settings.stats.requests += 1
            conn.close()

    def begin_drain(self) -> None:
        """Graceful stop: persistent connections waiting for a packet are closed now, busy
        ones after their answer.  A plain uwsgi connection carries one request and closes
        after its answer; one that never sends its packet is closed by the
        ``--socket-timeout`` sweep, so :attr:`connections` empties on its own."""
        self.draining = True
        for conn in list(self.connections):
            conn._close_after = True
        for conn in list(self.idle):
            conn._close()
            self.connections.discard(conn)
        self.idle.clear()


class UwsgiConnection(FileOffload, VarsConnection):
    """One uwsgi connection: one packet, one answer, close.  Also the request's sink."""

    server: UwsgiServer

    def __init__(self, server: UwsgiServer, addr: Any) -> None:
        super().__init__(server, addr)
        self.init_offload()
        self._request: Optional[Request] = None
        self._protocol = b"HTTP/1.0"
        #: this request carries the router's keep-alive marker (see the module docstring)
        self._persist = False
        #: the connection was kept after an answer: its next packets come from the router's pool
        self.kept = False
        self._chunked = False
        self._close_after = False
        #: after an answer, what the app left of the body is dropped (gateway.server.body_discard):
        #: the bytes still allowed; -1 while lingering; None otherwise
        self._discarding: Optional[int] = None

    def make_parser(self) -> PacketParser:
        s = self.settings
        return PacketParser(max_size=s.max_head, max_vars=s.max_vars, max_body=s.max_body,
                            vars_modifiers=self.server.vars_modifiers)

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        super().connection_lost(exc)
        self.server.idle.discard(self)

    def data_received(self, data: bytes) -> None:
        if self._discarding is not None:
            self._drop_unread(data)
            return
        super().data_received(data)

    def eof_received(self) -> bool:
        if self._discarding is not None:
            self._close()  # the peer is done sending: nothing is left unread
            return True
        return super().eof_received()

    # -- the packet, in the loop ------------------------------------------------------

    def _process(self) -> None:
        if self.closed:
            return
        try:
            event = self.parser.next_event()
        except wire.PacketTooLarge as e:
            gen_log.info("%s (from %s)", e.args[0] + "...skip", self.peer)
            self._close(abort=True)
            return
        except wire.UwsgiError as e:
            gen_log.info("invalid uwsgi request from %s: %s. skip.", self.peer, e.args[0])
            self._close(abort=True)
            return
        if event is NEED_DATA:
            return
        self.deadline = 0.0
        self.busy = True
        if type(event) is Request:
            self._request = event
            self._body_done = event.content_length == 0 and not event.chunked
            server = self.server
            if server.idle:
                server.idle.discard(self)
            if self.kept and not server.engine.free_cores:
                # Every core busy: not here, the router replays it on a fresh connection.
                gen_log.debug("uwsgi: all cores busy, a kept connection from %s refused", self.peer)
                self._close(abort=True)
                return
            if KEEPALIVE_VAR in event.env and server.keepalive_max and not event.chunked:  # type: ignore[operator]
                self._persist = True
            if not self.server.engine.submit(self._run, event):
                self._pause_reading()
            return
        if type(event) is Packet:
            self._packet(event)
            return
        self._close()  # ConnectionClosed: the peer went away before a packet

    def _packet(self, pkt: Packet) -> None:
        served = pkt.modifier1
        modifiers = self.server.modifiers
        if modifiers is not None:
            served = modifiers[served]
        if served == wire.MOD1_PING:
            gen_log.debug("PING from %s", self.peer)
            if self.transport is not None:
                self.transport.write(ping_reply())  # uwsgi.set_warning_message's text, if any
            self._close()
            return
        handler = HANDLERS.get(served)
        if handler is None:
            gen_log.info("-- unavailable modifier requested: %d -- (from %s)", pkt.modifier1, self.peer)
            self._close(abort=True)
            return
        self.server.engine.submit(self._run_packet, handler, pkt, served)

    def on_timeout(self) -> None:
        if self._discarding is not None:
            self._close()  # the rest of the body did not come, or the linger is over
            return
        if self in self.server.idle and not self.parser.buffered():
            self.server.idle.discard(self)
            self._close()  # a persistent connection idle for --socket-timeout: no news
            return
        gen_log.info("uwsgi packet from %s not complete after %ss: closing", self.peer, self.settings.socket_timeout)
        self._close(abort=True)

    # -- in a core ------------------------------------------------------------------------

    def _run_packet(self, handler: Callable[..., List[bytes]], pkt: Packet, served: int) -> None:
        try:
            if served in WANTS_BODY:
                bufs = handler(pkt.modifier2, pkt.payload, self.peer, self.read_raw)
            else:
                bufs = handler(pkt.modifier2, pkt.payload, self.peer)
            for buf in bufs:
                self.write(buf)
        except (ClientDisconnected, BodyError):
            pass
        except Exception:
            gen_log.exception("error in the handler of modifier1 %d", pkt.modifier1)
        finally:
            self.settings.stats.requests += 1
            self._close()

    def _run(self, req: Request) -> None:
        environ = pairs_environ(self.server.base_environ, req.vars, req.env)
        nvars, block = len(req.vars), req.size - 4
        if KEEPALIVE_VAR in environ:
            # the router's business, not the app's (nor the log's)
            nvars, block = nvars - 1, block - 4 - len(KEEPALIVE_VAR) - len(environ.pop(KEEPALIVE_VAR))
        self._protocol = environ.setdefault("SERVER_PROTOCOL", "HTTP/1.0").encode("latin-1")
        if req.modifier1 or req.modifier2:  # (--log-format's %(modifier1), %(modifier2))
            environ[MODIFIERS] = (req.modifier1, req.modifier2)
        environ[PACKET_VARS] = (nvars, block)  # the log's {N vars in B bytes}, as uWSGI
        modifiers = self.server.modifiers
        served = req.modifier1 if modifiers is None else modifiers[req.modifier1]
        self.start_request(environ, served == wire.MOD1_WSGI_STRIP)

    def read_raw(self, n: int) -> bytes:
        """Exactly ``n`` raw bytes after a packet, parking the core while they arrive."""
        parts: List[bytes] = []
        left = n
        while left:
            data = self.parser.take(left)
            if data:
                parts.append(data)
                left -= len(data)
                continue
            if self.closed or self.parser.eof:
                raise BodyError("peer closed with %d of %d bytes after the packet missing" % (left, n))
            try:
                self.park_for_body(self.settings.socket_timeout)
            except CoreTimeout:
                raise BodyError("timeout reading %d bytes after the packet from %s" % (n, self.peer), 408) from None
            except ClientDisconnected:
                raise BodyError("peer disconnected") from None
        return b"".join(parts)

    # -- ResponseSink (gateway.server.sink): raw HTTP, end = close (or framed: persistent) --

    def status_line(self, resp: WSGIResponse) -> bytes:
        if resp.close_connection:
            # the app's Connection: close goes on, as uWSGI's worker passes it: the router in
            # front (uWSGI's or ours) then closes the client's connection; nginx ignores it
            return b"%s %sConnection: close\r\n\r\n" % (self._protocol, resp.head)
        return b"%s %s\r\n" % (self._protocol, resp.head)

    def peer_parses_chunked(self) -> bool:
        return self._persist  # the router reads a persistent connection's answers framed

    def send_head(self, resp: WSGIResponse, first: bytes, final: bool) -> int:
        if self._persist:
            return self._send_framed_head(resp, first, final)
        return super().send_head(resp, first, final)

    def _send_framed_head(self, resp: WSGIResponse, first: bytes, final: bool) -> int:
        """The head of a persistent connection's answer: framed so the router knows its end."""
        extra, kind = body_framing(resp, first, final, True)
        server = self.server
        if resp.close_connection:
            self._persist = False  # the app's close: the router closes the client's connection too
            extra += b"Connection: close\r\n"
        elif self._close_after or server.draining or len(server.idle) >= server.keepalive_max:
            self._persist = False  # still framed: the router reads it the same way
            extra += KEEPALIVE_END
        head = b"%s %s%s\r\n" % (self._protocol, resp.head, extra)
        if kind == CHUNKED:
            self._chunked = True
            if first and resp.send_body:
                self.write(head + b"%x\r\n%b\r\n" % (len(first), first))
                return len(head)
        if first and resp.send_body:
            self.write(head + first)
        else:
            self.write(head)
        return len(head)

    def send_body(self, data: bytes) -> None:
        if self._chunked:
            self.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.write(data)

    def finish(self) -> None:
        if self._chunked:
            self._chunked = False
            if not self.closed:
                self.write(b"0\r\n\r\n")
        if not self._persist and not self.closed:
            if self._body_done:
                self._close()  # the end of the answer (nginx reads to EOF)
            else:
                # The end of the answer is our FIN; the close waits for request_done, which
                # first drops what the app left of the body (no reset)
                start_linger(self.transport)

    def send_error(self, status: int, reason: str, detail: str = "") -> Tuple[int, int, int]:
        body = (reason + "\n" + detail).encode("utf-8", "replace")
        sent = b"" if self._method == "HEAD" else body
        answer = (b"%s %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
                  % (self._protocol, status, reason.encode(), len(body),
                     KEEPALIVE_END if self._persist else b"", sent))
        self.write(answer)
        self._persist = False
        self._close()
        return answer_sizes(answer, len(sent))

    def request_done(self, ok: bool) -> None:
        if self.defer_request_done(ok):
            return  # the file still travels (--offload-threads): called again when it is out
        self._request = None
        persist, self._persist = self._persist, False
        self._chunked = False
        if self.closed:
            return
        verdict, budget = drop_body(self.parser, self.settings.discard_max)
        if verdict is None and ok and not self._close_after:
            # The body is still coming (nginx sends all of it): read and drop it, so the
            # peer meets no reset before it has read the answer
            self._discarding = budget
            self._persist = persist
            self.deadline = self.server.loop.time() + self.settings.socket_timeout
            self._resume_reading()
            return
        if not verdict:
            self._linger()
        elif persist and ok and not self._close_after:
            self._keep()
        else:
            self._close()

    def _drop_unread(self, data: bytes) -> None:
        budget = self._discarding
        if budget is None or budget < 0:
            return  # lingering: everything is dropped
        self.parser.receive_data(data)
        self.deadline = self.server.loop.time() + self.settings.socket_timeout
        verdict, self._discarding = drop_body(self.parser, budget)
        if verdict is None:
            return
        if not verdict:
            self._linger()
            return
        self._discarding = None
        persist, self._persist = self._persist, False
        if persist:
            self._keep()
        else:
            self._close()

    def _linger(self) -> None:
        """Close without a reset: our FIN now, the close at the peer's EOF or the deadline."""
        self._discarding = -1
        self.deadline = self.server.loop.time() + self.settings.linger_timeout
        start_linger(self.transport)
        self._resume_reading()

    def _keep(self) -> None:
        """A persistent connection (gateway's router): wait for the next packet."""
        self.kept = True
        self.parser.start_next()
        self.busy = False
        if self.parser.eof and not self.parser.buffered():
            self._close()  # the peer half-closed after its last packet: none will come
            return
        self.deadline = self.server.loop.time() + self.settings.socket_timeout
        self.server.idle.add(self)
        if self.parser.buffered() or self._reading_paused:
            self.server.loop.call_soon(self._next_packet)

    def _next_packet(self) -> None:
        if not self.busy and not self.closed:
            self._resume_reading()
            if self.parser.buffered():
                self._process()



UwsgiServer.connection_class = UwsgiConnection
