"""``--fastcgi-socket``: FastCGI's responder role (nginx ``fastcgi_pass``), served by the one WSGI runner.

One :class:`FastCGIConnection` per connection, one request at a time on it.  Records are
parsed in the loop by the sans-IO :class:`~gateway.protocol.fastcgi.FastCGIParser`; once
the PARAMS stream is complete (within ``--socket-timeout`` of the connection, so a
dribbling peer never pins a core) the params become the environ and the request runs in
a core through :func:`~gateway.server.wsgi_call.run_request`, exactly as on ``--socket``.
The body is the STDIN stream, cut at ``CONTENT_LENGTH`` when the params give one
(PEP 3333, and what uWSGI's ``wsgi.input`` does); without one (absent or empty: nginx under
``fastcgi_request_buffering off`` passes a chunked upload it has not read whole so) it is the
whole stream, where uWSGI reads nothing.  ``wsgi.input`` parks only the current core.

The answer is CGI-style, as uWSGI writes it: ``Status: 200 OK``, the app's headers
verbatim, the body, all in STDOUT records of at most 65535 bytes, then an empty STDOUT
record and END_REQUEST (application status 0, REQUEST_COMPLETE).  Then the connection
closes, unless the web server set KEEP_CONN in BEGIN_REQUEST (nginx's
``fastcgi_keep_conn on`` with an upstream ``keepalive`` pool): it then waits, at most
``--socket-timeout``, for the next request (a graceful stop closes such a connection
while it is idle between requests; any other finishes its request first).  A failure after the answer started cuts the
connection without END_REQUEST, so nginx sees a truncated answer (``upstream
prematurely closed``), never a complete wrong one.

nginx's stock ``fastcgi_params`` send no ``PATH_INFO`` and ``SCRIPT_NAME`` = the whole
path: without a ``PATH_INFO``, the path comes from ``DOCUMENT_URI`` and ``SCRIPT_NAME``
stays only when it is a mountpoint in front of it
(:func:`~gateway.server.vars_conn.cgi_path_info`), so an unmodified WSGI app routes as it
would on ``--socket``; ``fastcgi_split_path_info`` setups pass their own.

Management records (request id 0) are answered from the loop: ``GET_VALUES`` with
``FCGI_MAX_CONNS`` and ``FCGI_MAX_REQS`` (this worker's cores) and ``FCGI_MPXS_CONNS``
0; any other type with ``UNKNOWN_TYPE``.  A second request on the same connection
while one runs (multiplexing) gets END_REQUEST ``CANT_MPX_CONN``, a role other than
responder or authorizer ``UNKNOWN_ROLE``.  These answers obey back-pressure as a response does: while
the transport is over its high-water mark the connection reads no further (in a core, the
core waits for the drain), so a peer that streams management records without reading the
answers cannot grow the worker; it is closed by the ``--socket-timeout`` sweep.

ABORT_REQUEST (the web server's client left) closes the connection when the parser reads
it, and the parser reads a running request's records only as the app reads
``wsgi.input``: the abort is acted on before the app runs (the PARAMS stream), while it
reads its body, or after its answer when the rest of the body is drained.  An app that
does not read its body runs to the end and its answer is written (the web server
discards it); an abort after the end of the body is ignored, as the request is complete.

Malformed records are logged on ``gateway.error`` at INFO (``invalid FastCGI request
from ...``) and the connection is closed without a byte; the worker goes on.
``--offload-threads`` does not apply (the file would need framing); a
``wsgi.file_wrapper`` is sent by the core, and websockets cannot cross FastCGI (nginx
never upgrades a FastCGI request): the handshake fails with uWSGI's ``OSError``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Set, Tuple

from gateway.logs import gen_log
from gateway.protocol import fastcgi as wire
from gateway.protocol.uwsgi import content_length
from gateway.server.vars_conn import VarsConnection, VarsServer, cgi_path_info, pairs_environ
from gateway.server.wsgi_input import ClientDisconnected
from loop_engine import in_core

__all__ = ["FastCGIConnection", "FastCGIServer", "declared_length"]


def declared_length(env: Dict[str, str]) -> Optional[int]:
    """The body length ``CONTENT_LENGTH`` gives, read as on ``--socket`` (its leading
    digits, as uWSGI); None when it is absent or empty: then the STDIN stream says where the
    body ends."""
    raw = env.get("CONTENT_LENGTH")
    return content_length(raw) if raw else None


class FastCGIServer(VarsServer):
    """All FastCGI connections of one worker on one listening socket."""

    protocol_name = "FastCGI"
    connections: Set["FastCGIConnection"]

    #: set by a graceful stop: a request that starts now does not keep its connection
    draining = False

    def begin_drain(self) -> None:
        """Graceful stop: kept connections idle between requests close now; every other one
        (busy, or with a request partly received, or fresh) closes after its current or
        first answer.  One that never completes its request is closed by the
        ``--socket-timeout`` sweep, so :attr:`connections` empties on its own."""
        self.draining = True
        for conn in list(self.connections):
            conn.keep = False
            if conn.idle_between_requests():
                conn._close()
                self.connections.discard(conn)


class FastCGIConnection(VarsConnection):
    """One FastCGI connection (see the module docstring).  Also the request's sink."""

    server: FastCGIServer

    def __init__(self, server: FastCGIServer, addr: Any) -> None:
        super().__init__(server, addr)
        self.rid = 0
        #: the web server asked to keep the connection (KEEP_CONN) and nothing forbids it
        self.keep = False
        #: reading stopped until the peer reads the management answers already written
        self._answers_held = False
        #: body bytes the app may still read: ``CONTENT_LENGTH`` when the params give one,
        #: else None (the whole STDIN stream)
        self._body_left: Optional[int] = None

    def make_parser(self) -> wire.FastCGIParser:
        s = self.settings
        return wire.FastCGIParser(max_params=s.max_head, max_vars=s.max_vars, max_body=s.max_body)

    # -- in the loop ---------------------------------------------------------------------

    def _process(self) -> None:
        while not self.closed and not self.busy:
            if self._write_paused:
                # Answers to management records (or refusals) wait in the transport: read
                # no more until the peer reads them, or a peer streaming GET_VALUES without
                # reading grows this worker without bound.  resume_writing goes on.
                self._answers_held = True
                self._pause_reading()
                return
            try:
                event = self.parser.next_event()
            except wire.FastCGIError as e:
                gen_log.info("invalid FastCGI request from %s: %s. skip.", self.peer, e.args[0])
                self._close(abort=True)
                return
            if event is wire.NEED_DATA or event is wire.PAUSED:
                return
            if type(event) is wire.Request:
                self.deadline = 0.0
                self.busy = True
                self.rid = event.request_id
                self.keep = event.keep_conn and not self.server.draining
                self._body_done = False  # the STDIN stream always ends with an empty record
                self._body_left = declared_length(event.env)
                if not self.server.engine.submit(self._run, event):
                    self._pause_reading()
                return
            if not self.side_event(event):
                self._close()  # ConnectionClosed: the peer went away between requests
                return

    def side_event(self, event: Any) -> bool:
        """Management records, refused BEGIN_REQUESTs, ABORT_REQUEST (loop or core)."""
        kind = type(event)
        if kind is wire.Management:
            if event.type == wire.GET_VALUES:
                cores = str(len(self.server.engine.cores))
                known = {"FCGI_MAX_CONNS": cores, "FCGI_MAX_REQS": cores, "FCGI_MPXS_CONNS": "0"}
                self._answer(wire.encode_get_values_result([(n, known[n]) for n in event.names if n in known]))
            else:
                self._answer(wire.encode_unknown_type(event.type))
            return True
        if kind is wire.Rejected:
            self._answer(wire.encode_end_request(event.request_id, 0, event.protocol_status, close_stdout=False))
            return True
        if kind is wire.Aborted:
            gen_log.debug("FastCGI request %d from %s aborted by the web server", event.request_id, self.peer)
            self.keep = False
            self._close(abort=True)
            return True
        return False

    def idle_between_requests(self) -> bool:
        """A kept connection that has served a request and holds nothing of the next one."""
        return bool(self.rid) and not self.busy and self.parser.idle and not self.parser.buffered()

    def _answer(self, data: bytes) -> None:
        """Write an answer the peer did not ask through a request.  In a core (the app reads
        ``wsgi.input``) the core waits for the drain as a response write does, so it reads
        no further meanwhile; in the loop, `_process` stops reading while the transport is
        over its high-water mark."""
        if self.transport is None or self.closed:
            return
        if in_core():
            try:
                self.write(data)
            except ClientDisconnected:
                pass  # dropped after --socket-timeout without a drain: the body read fails next
        else:
            self.transport.write(data)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._answers_held:
            self._answers_held = False
            if not self.closed:
                self._resume_reading()
                self.server.loop.call_soon(self._process)

    def on_timeout(self) -> None:
        if not self.busy and not self.parser.buffered() and self.rid:
            self._close()  # a kept connection idle for --socket-timeout: no news
            return
        super().on_timeout()

    # -- in a core ---------------------------------------------------------------------------

    def _run(self, req: wire.Request) -> None:
        environ = pairs_environ(self.server.base_environ, req.vars, req.env)
        cgi_path_info(environ)
        self.start_request(environ, self.server.strip_script_name)

    def read_body_chunk(self, want: int, timeout: Optional[float], nb: bool = False) -> Optional[bytes]:
        """The STDIN stream, cut at ``CONTENT_LENGTH`` when the params give one (PEP 3333,
        and uWSGI's ``wsgi.input``); the rest is drained after the answer."""
        left = self._body_left
        if left is None:
            return super().read_body_chunk(want, timeout, nb)
        if left <= 0:
            return None
        chunk = super().read_body_chunk(want, timeout, nb)
        if chunk:
            if len(chunk) > left:
                chunk = chunk[:left]
            self._body_left = left - len(chunk)
        return chunk

    # -- ResponseSink: STDOUT records, END_REQUEST ---------------------------------------

    def frame(self, data: bytes) -> bytes:
        return wire.encode_stdout(self.rid, data)

    def end_response(self) -> None:
        self.write(wire.encode_end_request(self.rid))
        if not self.keep:
            self._close()

    def send_error(self, status: int, reason: str, detail: str = "") -> Tuple[int, int, int]:
        self.keep = False
        return super().send_error(status, reason, detail)

    def detach(self) -> Any:
        return None, b""  # no raw stream under FastCGI: the websocket handshake fails

    def request_done(self, ok: bool) -> None:
        if not (self.keep and ok) or self.closed or not self._drain_body() or self.closed:
            self._close()
            return
        # KEEP_CONN: wait for the next request on this connection.
        self.parser.start_next()
        self.busy = False
        self.deadline = self.server.loop.time() + self.settings.socket_timeout
        self._resume_reading()
        if self.parser.buffered():
            self.server.loop.call_soon(self._process)

    def _drain_body(self) -> bool:
        """Discard what the app left of the STDIN stream if it is all here; else False."""
        while not self._body_done:
            try:
                event = self.parser.next_event()
            except wire.FastCGIError:
                return False
            if type(event) is wire.EndOfMessage:
                self._body_done = True
            elif type(event) is not wire.Data and not self.side_event(event):
                return False  # NEED_DATA: still on the wire, closing is cheaper than reading it
        return True


FastCGIServer.connection_class = FastCGIConnection
