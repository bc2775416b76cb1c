"""What the CGI-vars protocols share: uwsgi (``--socket``), SCGI and FastCGI.

In these three protocols a web server (nginx's ``uwsgi_pass``, ``scgi_pass``,
``fastcgi_pass``) sends the request as CGI variables (``REQUEST_METHOD``,
``PATH_INFO``, ``HTTP_*``...) followed by the body, and reads back an HTTP-like answer.
They differ only in framing, so one :class:`VarsConnection` does the rest:

* the connection's life in the loop (``connection_made`` with bytes read early by the
  server, ``data_received`` while a core waits for body bytes, EOF, loss);
* the environ from the vars (:meth:`VarsConnection.start_request`: defaults, the URL
  scheme from ``UWSGI_SCHEME``/``HTTPS``/``X-Forwarded-Proto``, ``SCRIPT_NAME``
  stripped from ``PATH_INFO`` when asked) and the one WSGI runner,
  :func:`~gateway.server.wsgi_call.run_request`;
* ``wsgi.input``: the parser's ``Data``/``EndOfMessage`` events, parking only the core (or
  the file ``UWSGI_POSTFILE`` names: :mod:`gateway.server.post_file`);
* the :class:`~gateway.server.sink.ResponseSink`: a status line (:meth:`status_line`:
  ``Status: 200 OK`` for the CGI protocols, as uWSGI writes them; uwsgi writes
  ``SERVER_PROTOCOL 200 OK``), the app's headers verbatim (nothing added, no chunking),
  and the end of the response, which is the close of the connection unless the protocol
  frames it (:meth:`frame` and :meth:`end_response`: FastCGI's records).

A protocol subclass gives its parser (``make_parser``), its ``_process`` (what to do
with each event in the loop) and, if it frames, ``frame``/``end_response``.
:class:`VarsServer` is the listening side: accept, ``TCP_NODELAY`` on TCP, the
``--socket-timeout`` sweep of connections whose request is not complete.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any, Dict, List, Optional, Set, Tuple

from gateway.logs import gen_log
from gateway.protocol.environ import decode_path, forwarded_ssl
from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1 import NEED_DATA, Data, EndOfMessage
from gateway.server.conn_server import ConnectionServer
from gateway.server.magic_vars import apply_setenv
from gateway.server.post_file import body_source
from gateway.server.sink import answer_sizes
from gateway.server.stream_waits import ConnectionWaits
from gateway.server.wsgi_call import WSGIResponse, run_request
from gateway.server.wsgi_input import BodyError, WSGIInput

__all__ = ["VarsConnection", "VarsServer", "LINGER_RST", "cgi_path_info", "pairs_environ"]

def https_on(value: Optional[str]) -> bool:
    """uWSGI's reading of the ``HTTPS`` var: it starts with ``on`` (any case) or ``1``."""
    return value is not None and forwarded_ssl(value)

#: SO_LINGER 0: close with an RST, so a peer reading to EOF sees a truncated answer as one
LINGER_RST = struct.pack("ii", 1, 0)


class VarsServer(ConnectionServer):
    """All connections of one worker on one listening socket of a CGI-vars protocol."""

    connections: Set[Any]
    #: for log lines: "uwsgi", "SCGI", "FastCGI"
    protocol_name = "CGI"

    def __init__(self, settings: Any, base_environ: Dict[str, Any], tls: Any = None) -> None:
        super().__init__(settings, base_environ, tls)
        self._tcp = True

    def start(self, sock: socket.socket) -> Any:
        """Serve ``sock`` (bound, listening; TCP or UNIX); returns the undo callable."""
        self._tcp = sock.family != socket.AF_UNIX
        return super().start(sock)

    def _on_accept(self, conn: socket.socket, addr: Any) -> None:
        if self._tcp:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._attach(conn, self.connection_class(self, addr))

    def _sweep_connections(self, now: float) -> None:
        for conn in list(self.connections):
            if conn.deadline and now > conn.deadline:
                conn.on_timeout()


class VarsConnection(ConnectionWaits, asyncio.Protocol):
    """One connection of a CGI-vars protocol (see the module docstring); also the sink."""

    #: the status line's prefix before ``200 OK`` (uwsgi overrides :meth:`status_line`)
    STATUS_PREFIX = b"Status: "

    def __init__(self, server: VarsServer, addr: Any) -> None:
        self.server = server
        self.settings = server.settings
        self.parser: Any = self.make_parser()
        self.transport: Optional[asyncio.Transport] = None
        self.peer = "%s:%s" % addr[:2] if isinstance(addr, tuple) else (addr or "unix")  # None: see connection_made
        self.deadline = 0.0
        self.busy = False
        self.closed = False
        self.init_waits()
        self._body_done = True
        self._method = "GET"
        #: bytes the server read before the transport existed
        self.early = b""

    def make_parser(self) -> Any:
        raise NotImplementedError

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.peer == "unix":
            addr = transport.get_extra_info("peername")
            if isinstance(addr, tuple):
                self.peer = "%s:%s" % addr[:2]
        if self.server.tls is not None:  # a TLS connection: its handshake is over
            self.server.handshakes.done(self)
        self.server.connections.add(self)
        self.server.check_budget()
        self.deadline = self.server.loop.time() + self.settings.socket_timeout
        if self.early:
            early, self.early = self.early, b""
            self.data_received(early)

    def data_received(self, data: bytes) -> None:
        self.parser.receive_data(data)
        if self.busy:
            if not self.wake_body() and self.parser.buffered() > 65536:
                self._pause_reading()  # body bytes the app does not read yet
            return
        self._process()

    def eof_received(self) -> bool:
        self.parser.receive_data(b"")
        if self.busy:
            self.wake_body()
            return True  # half-close: still write the response
        self._process()
        return True

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.closed = True
        self.server.connections.discard(self)
        self.server.check_budget()
        self.fail_waiters()

    def _process(self) -> None:
        raise NotImplementedError

    def on_timeout(self) -> None:
        gen_log.info("%s request from %s not complete after %ss: closing",
                     self.server.protocol_name, self.peer, self.settings.socket_timeout)
        self._close(abort=True)

    def _close(self, abort: bool = False) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.deadline = 0.0
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def _drop(self) -> None:
        self._close(abort=True)  # a slow reader (ConnectionWaits.write)

    # -- in a core ------------------------------------------------------------------------

    def start_request(self, environ: Dict[str, Any], strip_script_name: bool = False) -> None:
        """Complete ``environ`` (the base environ updated with the request's vars) and run
        the app on it; ``strip_script_name``: remove ``SCRIPT_NAME`` from the front of
        ``PATH_INFO`` (uwsgi's modifier1 30)."""
        self._method = environ.setdefault("REQUEST_METHOD", "GET")
        environ.setdefault("QUERY_STRING", "")
        path = environ.setdefault("PATH_INFO", "")
        environ.setdefault("SERVER_PROTOCOL", "HTTP/1.0")
        if strip_script_name:
            script = environ.get("SCRIPT_NAME", "")
            if script and path.startswith(script) and path[len(script):len(script) + 1] in ("", "/"):
                environ["PATH_INFO"] = path[len(script):]
        scheme = environ.get("UWSGI_SCHEME")
        if scheme is None:
            if https_on(environ.get("HTTPS")):
                scheme = "https"
            else:
                fwd = environ.get("HTTP_X_FORWARDED_PROTO")
                if fwd is not None:
                    fwd = fwd.split(",", 1)[0].strip().lower()
                    if fwd in ("http", "https"):
                        scheme = fwd
                elif https_on(environ.get("HTTP_X_FORWARDED_SSL")):
                    scheme = "https"  # a proxy's X-Forwarded-Ssl: on, read as uWSGI reads it
        if scheme is not None:
            environ["wsgi.url_scheme"] = scheme
        if "UWSGI_SETENV" in environ:
            apply_setenv(environ["UWSGI_SETENV"])  # as uWSGI, while the vars are read
        post_file = body_source(environ, self.peer) if "UWSGI_POSTFILE" in environ else None
        if post_file is not None:
            environ["wsgi.input"] = WSGIInput(post_file, False, self.settings)  # the web server's file
        else:
            environ["wsgi.input"] = WSGIInput(self, self._body_done, self.settings)
        run_request(self.settings, self, environ)

    def read_body_chunk(self, want: int, timeout: Optional[float], nb: bool = False) -> Optional[bytes]:
        """Next body bytes (suspending the core at most ``timeout`` s per wait), or None at the
        end; with ``nb`` ``b""`` instead of a wait (see :class:`~gateway.server.wsgi_input.BodySource`)."""
        if self._body_done:
            return None
        parser = self.parser
        while True:
            try:
                event = parser.next_event()
            except RemoteProtocolError as e:
                raise BodyError(str(e.args[0] if e.args else e), e.status_hint or 400) from None
            if type(event) is Data:
                return event.data
            if type(event) is EndOfMessage:
                self._body_done = True
                return None
            if event is NEED_DATA:
                if nb:
                    if self.closed:  # gone without an EOF the parser could see (a reset)
                        raise BodyError("%s disconnected while sending the request body" % self.WHO)
                    self._resume_reading()
                    return b""
                self.wait_for_body(want, timeout)
                continue
            if not self.side_event(event):
                raise BodyError("request body ended unexpectedly")

    def side_event(self, event: Any) -> bool:
        """An event that is not part of the body arrived while reading it (FastCGI's
        management records); True when handled."""
        return False

    # -- ResponseSink (gateway.server.sink) ---------------------------------------------

    def status_line(self, resp: WSGIResponse) -> bytes:
        """``Status: 200 OK\\r\\n`` + the app's headers + the blank line; on an NPH socket
        ``SERVER_PROTOCOL 200 OK`` (HTTP/1.0 without one), as uWSGI's nph protocols."""
        if self.server.nph:
            protocol = resp.environ.get("SERVER_PROTOCOL") or "HTTP/1.0"
            return b"%s %s\r\n" % (protocol.encode("latin-1", "replace"), resp.head)
        return b"%s%s\r\n" % (self.STATUS_PREFIX, resp.head)

    def frame(self, data: bytes) -> bytes:
        """Response bytes as they go on the wire (FastCGI wraps them in records)."""
        return data

    def end_response(self) -> None:
        """The response is complete: close (the end of the body is the close)."""
        self._close()

    def peer_parses_chunked(self) -> bool:
        return False  # the web server in front frames the body for its client

    def send_head(self, resp: WSGIResponse, first: bytes, final: bool) -> int:
        head = self.status_line(resp)
        self.write(self.frame(head + first if first and resp.send_body else head))
        return len(head)

    def send_body(self, data: bytes) -> None:
        self.write(self.frame(data))

    def finish(self) -> None:
        if not self.closed:
            self.end_response()

    def error_response(self, status: int, reason: str, body: bytes) -> bytes:
        """The bytes of an error answer (before :meth:`frame`)."""
        return b"%s%d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
            self.STATUS_PREFIX, status, reason.encode(), len(body), b"" if self._method == "HEAD" else body)

    def send_error(self, status: int, reason: str, detail: str = "") -> Tuple[int, int, int]:
        body = (reason + "\n" + detail).encode("utf-8", "replace")
        answer = self.error_response(status, reason, body)
        if not self.closed:
            self.write(self.frame(answer))
            self.end_response()
        return answer_sizes(answer, 0 if self._method == "HEAD" else len(body))

    def abort(self) -> None:
        # An RST (SO_LINGER 0), not a FIN: with no Content-Length the end of the body is
        # the close, so a FIN would make a truncated response look complete to nginx.
        if not self.closed and self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
                except OSError:
                    pass
        self._close(abort=True)

    def detach(self) -> Any:
        self.closed = True
        self.deadline = 0.0
        self.server.connections.discard(self)
        self.server.check_budget()
        leftover = b""
        if self.parser.buffered():
            leftover = self.parser._buf
            self.parser._buf = b""
        return self.transport, leftover

    def request_done(self, ok: bool) -> None:
        self._close()


def cgi_path_info(environ: Dict[str, Any]) -> None:
    """Give a FastCGI or SCGI request without ``PATH_INFO`` the one a WSGI app needs.

    nginx's stock ``fastcgi_params`` send no ``PATH_INFO`` and ``SCRIPT_NAME`` =
    ``$fastcgi_script_name`` (the whole path); its ``scgi_params`` send neither.  An app
    routing on ``PATH_INFO`` would see every request as ``/``.  So, when ``PATH_INFO`` is
    absent, the path is ``DOCUMENT_URI`` (nginx's decoded ``$document_uri``; else
    ``REQUEST_URI``'s path, as an HTTP request's becomes ``PATH_INFO``): a ``SCRIPT_NAME`` that is a mountpoint in
    front of it (``/app`` before ``/app/x``) stays and is cut from ``PATH_INFO``; one that
    is the whole path, or not in front of it, becomes ``""``.  A ``PATH_INFO`` given
    (``fastcgi_split_path_info``, ``fastcgi_param PATH_INFO ...``) is used as is.
    """
    if "PATH_INFO" in environ:
        return
    path = environ.get("DOCUMENT_URI")
    if path is None:
        path = decode_path(environ.get("REQUEST_URI", "").split("?", 1)[0])
    script = environ.get("SCRIPT_NAME", "").rstrip("/")
    if script and path.startswith(script) and path[len(script):len(script) + 1] == "/":
        environ["SCRIPT_NAME"] = script
        environ["PATH_INFO"] = path[len(script):]
    else:
        environ["SCRIPT_NAME"] = ""
        environ["PATH_INFO"] = path


def pairs_environ(base: Dict[str, Any], pairs: List[Any], env: Optional[Dict[str, str]]) -> Dict[str, Any]:
    """The base environ updated with a request's vars (the last duplicate wins, as in uWSGI)."""
    environ = base.copy()
    environ.update(env if env is not None else pairs)
    return environ
