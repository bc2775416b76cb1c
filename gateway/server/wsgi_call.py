"""The one WSGI path: every protocol's requests run through :func:`run_request`.

A protocol parses a request head in the loop, builds the PEP 3333 environ from it
(``wsgi.input`` included), and submits ``run_request(settings, sink, environ)`` to a
core.  This module then does everything that is the same whichever protocol carries
the request, and nothing that is not:

* the WSGI call (:class:`WSGIResponse`): ``start_response`` validated by the sans-IO
  :mod:`gateway.protocol.wsgi_response`, headers delayed until the first non-empty
  chunk (or the end; by ``start_response`` itself with ``--start-response-nodelay``:
  :meth:`WSGIResponse.flush_head`), ``write()``, the iterable with ``schedule_fix`` between generator
  chunks, surplus bytes cut to the app's Content-Length (one warning), ``close()`` on
  every path, a 500 while nothing is sent yet or an abort once bytes are out;
* the routing chains around the response (``--error-route*``, ``--response-route*`` just
  before the head goes out, ``--final-route*`` after the response) and the response header
  options (``--del-header``, ``--collect-header``, ``--pull-header``), through
  ``settings.response_phases`` (:class:`gateway.routing.response.ResponsePhases`), and the
  ``--error-page-500`` of an app that raised;
* per-core bookkeeping (``uwsgi.core``, ``core.info``, ``core.request_start``), the
  worker's stats, the hooks of :class:`~gateway.server.settings.ServerSettings`, and
  uWSGI's request log line, computed from the environ (so ``REMOTE_ADDR`` is the
  client nginx saw, not nginx).

Bytes reach the peer only through the protocol's
:class:`~gateway.server.sink.ResponseSink`: framing, keep-alive and connection
management are the sink's business, never the runner's.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from gateway.logformat import log_text, process_memory, request_vars
from gateway.logs import APP_TRACEBACK, access_log, app_log, gen_log
from gateway.protocol.wsgi_response import body_allowed, serialize_headers, status_code, with_reason
from gateway.routing.transforms import TRANSFORMS_KEY, TransformChain, TransformError
from gateway.server import error_pages
from gateway.server.settings import ServerSettings
from gateway.server.sink import ResponseSink
from gateway.server.wsgi_input import BodyError, ClientDisconnected
from loop_engine import Core, current_core

_CRLF = b"\r\n"
#: the worker's loop runs in the main thread (``--threads`` apps in others)
_MAIN_THREAD = threading.main_thread().ident
#: environ key: header edits ``uwsgi.route()`` left for ``start_response`` (headers -> headers)
ROUTE_HEADER_EDITS = "gateway.route_header_edits"
#: environ key: the request chain's ``addheader`` lines, sent after ``--add-header`` on whatever
#: response goes out (the app's, a rule's answer, a later chain's replacement), as uWSGI does
ROUTE_ADDED_HEADERS = "gateway.route_added_headers"

REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


class FileWrapper:
    """``wsgi.file_wrapper``: iterate a file-like object in blocks, close it with the response."""

    def __init__(self, filelike: Any, blksize: int = 65536) -> None:
        self.filelike = filelike
        self.blksize = blksize
        #: bytes left to send (``--honour-range``: the range's length), None: to the end
        self.remaining: Optional[int] = None
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> "FileWrapper":
        return self

    def __next__(self) -> bytes:
        remaining = self.remaining
        if remaining is None:
            data = self.filelike.read(self.blksize)
        elif remaining > 0:
            data = self.filelike.read(min(self.blksize, remaining))
            self.remaining = remaining - len(data)
        else:
            data = b""
        if data:
            return data
        raise StopIteration


def note_file_body(resp: "WSGIResponse", wrapper: FileWrapper) -> None:
    """The app answered a ``wsgi.file_wrapper``: for the request log, a body uWSGI sends in one
    go (0 switches) and, when the file has a descriptor, by ``sendfile()`` (``via sendfile()``,
    ``--log-sendfile``); uWSGI ``read()``s any other file-like object (``io.BytesIO``)."""
    notes = resp.note()
    notes.file_body = True
    try:
        notes.from_file = type(wrapper.filelike.fileno()) is int
    except (AttributeError, OSError, ValueError):
        pass


def run_request(settings: ServerSettings, sink: ResponseSink, environ: Dict[str, Any]) -> None:
    """Run ``settings.app`` for one request, in the current core; never raises.

    ``environ`` is complete (``wsgi.input`` included).  Ends with ``sink.request_done``.
    """
    start = time.time()
    core = current_core()
    if core is not None:
        environ["uwsgi.core"] = core.id
        core.info = environ
        core.request_start = start
    if settings.request_start_hooks:
        for hook in settings.request_start_hooks:
            hook(core, environ)
    response = WSGIResponse(sink, environ, settings)
    environ["gateway.response"] = response  # for protocol take-overs (websocket)
    # uWSGI counts the app's request when it starts (the stats' apps[].requests include the
    # running ones and one ended by harakiri); the worker's requests when it ends
    settings.stats.app_requests += 1
    ok = response.run(settings.app)
    if settings.response_phases is not None and settings.response_phases.on_final:
        try:
            # --final-route*: before the log line, as uWSGI
            settings.response_phases.final(environ, response.code, response.body_bytes, time.time() - start)
        except Exception:
            app_log.exception("error in the final routes of %s %s", environ.get("REQUEST_METHOD"),
                              environ.get("REQUEST_URI"))
    stats = settings.stats
    stats.requests += 1
    stats.tx += response.head_bytes + response.body_bytes  # uWSGI's tx: every byte sent, headers too
    if settings.request_end_hooks:
        for end_hook in settings.request_end_hooks:
            end_hook(core, environ, response)
    if "gateway.donotlog" in environ:
        pass  # a --route donotlog: action
    elif settings.log_requests or "gateway.log_this" in environ or (  # uwsgi.log_this_request()
            settings.log_some and worth_logging(settings, response, start)):
        log_request(settings, environ, response, start, core)
    if response.exception is not None and settings.reload_on_exception and settings.retire is not None:
        settings.retire("reload-on-exception: the app raised for %s %s" % (
            environ.get("REQUEST_METHOD", ""), environ.get("REQUEST_URI", "")))
    elif "gateway.retire_after" in environ and settings.retire is not None:
        settings.retire(environ["gateway.retire_after"])  # this request served, the worker goes
    # environ <-> response is a reference cycle: break it, or each connection (its parser and
    # buffers, up to --buffer-size + a read) lives until a full gc pass (issue 9.2).
    environ.pop("gateway.response", None)
    sink.request_done(ok)


def close_iterable(result: Any) -> None:
    """PEP 3333's ``close()`` of the app's iterable, if it has one; an error in it is logged
    (the response is already decided) and never raised."""
    close = getattr(result, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            app_log.exception("error in close() of the WSGI response iterable")


#: :attr:`WSGIResponse.switches` of a response uWSGI logs with 0 switches (``logged_switches``)
NO_SWITCHES = -1


class ResponseNotes:
    """What only some responses have to remember: failed writes, the routes' state, what
    ``--log-sendfile`` and ``--log-ioerror`` look at.  Made by the first note
    (:meth:`WSGIResponse.note`): a plain response never makes one."""

    __slots__ = ("write_errors", "read_errors", "app_headers", "headless", "from_file", "file_body", "io_error",
                 "truncated_warned")

    def __init__(self) -> None:
        #: chunks that could not be sent, the client being gone (--write-errors-tolerance)
        self.write_errors = 0
        #: the request body could not be read (``%(rerr)`` in --log-format)
        self.read_errors = 0
        #: the app's header list, kept by start_response when ``settings.response_phases`` edits heads
        self.app_headers: Sequence[Any] = ()
        #: a ``disableheaders`` rule: the body went out alone (the connection then closes)
        self.headless = False
        #: the body was a file sent from its descriptor: a wsgi.file_wrapper's, uwsgi.sendfile()
        #: (uWSGI's sendfile responses: ``via sendfile()``, --log-sendfile)
        self.from_file = False
        #: the body was a wsgi.file_wrapper (of any file-like object: uWSGI logs 0 switches)
        self.file_body = False
        #: reading the request body or writing the response failed (--log-ioerror)
        self.io_error = False
        #: the app sent more than its Content-Length (warned once)
        self.truncated_warned = False


class WSGIResponse:
    """One WSGI call: ``start_response``, ``write``, the iterable, ``close()``, errors.

    What the sink may read: ``head`` (``b"200 OK\\r\\n"`` + the app's header lines),
    ``code``, ``content_length`` (the app's, or None), ``send_body`` (False for HEAD,
    1xx, 204, 304), ``environ``.

    One is made per request, so it stays small: slots, set to constants by the
    constructor; what only some responses need is in :attr:`notes` (None until then).
    """

    __slots__ = (
        "sink", "environ", "settings", "status", "code", "head", "headers_count", "content_length",
        "headers_sent", "body_bytes", "send_body", "head_bytes", "switches", "detached",
        "on_app_return", "offloaded", "exception", "method", "notes", "transform", "close_connection",
    )

    def __init__(self, sink: ResponseSink, environ: Dict[str, Any], settings: ServerSettings) -> None:
        self.sink = sink
        self.environ = environ
        self.settings = settings
        #: the method the client sent (HEAD gets no body even if a --route setmethod: changed it)
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.status: Optional[str] = None
        self.code = 0
        self.head = b""
        self.headers_count = 0
        self.content_length: Optional[int] = None
        self.headers_sent = False
        self.body_bytes = 0
        self.head_bytes = 0
        self.send_body = True
        self.switches = 0
        self.detached = False
        self.on_app_return: Optional[Callable[[Optional[BaseException]], None]] = None
        #: the body went to the sink's ``offload_file`` (--offload-threads)
        self.offloaded = False
        #: what the app raised (logged on gateway.app; for --reload-on-exception and its
        #: -type/-value/-repr variants), None if nothing
        self.exception: Optional[BaseException] = None
        #: the request's response transformations (``--route ... gzip:``), None: none
        self.transform: Optional[TransformChain] = None
        #: see :meth:`note`
        self.notes: Optional[ResponseNotes] = None
        #: the app sent ``Connection: close`` (left out of the head): the HTTP sink closes after
        self.close_connection = False

    def note(self) -> ResponseNotes:
        """This response's :class:`ResponseNotes`, made on first use."""
        notes = self.notes
        if notes is None:
            notes = self.notes = ResponseNotes()
        return notes

    @property
    def headless(self) -> bool:
        """A ``disableheaders`` rule sent the body alone (the connection then closes)."""
        return self.notes is not None and self.notes.headless

    @property
    def from_file(self) -> bool:
        """The body was a ``wsgi.file_wrapper`` of a file with a descriptor (``--log-sendfile``)."""
        return self.notes is not None and self.notes.from_file

    def logged_switches(self) -> int:
        """uWSGI's switch count in the request log: one per body item the app's iterable gave,
        plus the last step in async mode (``--tornado``; not in sync mode,
        ``settings.sync_switches``); 0 (:data:`NO_SWITCHES`) when the body was a
        ``wsgi.file_wrapper`` (uWSGI sends it in one go, by sendfile or ``read()``) or the
        app raised before responding."""
        if self.switches < 0 or (self.notes is not None and self.notes.file_body):
            return 0
        return self.switches if self.settings.sync_switches else self.switches + 1

    @property
    def io_error(self) -> bool:
        """Reading the request body or writing the response failed (``--log-ioerror``)."""
        return self.notes is not None and self.notes.io_error

    def start_response(self, status: str, headers: List, exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called twice without exc_info (PEP 3333)")
        code = status_code(status)
        if len(status) <= 4:
            status = with_reason(status, code)
        edits = self.environ.get(ROUTE_HEADER_EDITS)
        if edits is not None:  # uwsgi.route("addheader"/"delheader") before start_response
            headers = edits(headers)
        head, content_length, count, close = serialize_headers(headers)
        self.close_connection = close
        try:
            status_bytes = status.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("WSGI status %r must be latin-1 encodable" % (status,)) from None
        self.status = status
        self.code = code
        settings = self.settings
        if settings.response_phases is not None:
            self.note().app_headers = list(headers)  # the head is made again from them when it goes out
        added = self.environ.get(ROUTE_ADDED_HEADERS)
        if settings.extra_headers or added:
            head, count = self._server_headers(head, count, added)
        head = status_bytes + _CRLF + head
        if len(head) > settings.response_headers_limit:
            self.head, self.status, self.code = b"", None, 0  # as if never called
            # uWSGI's start_response fails the same way (its headers buffer is full)
            raise TypeError("unable to add header to the response: %d bytes of status and headers, "
                            "more than --response-headers-limit %d" % (len(head), settings.response_headers_limit))
        self.head = head
        self.headers_count = count
        self.content_length = content_length
        self.send_body = body_allowed(code, self.method)
        if settings.start_hooks:  # (one test for both: the default path pays for one)
            if settings.transforms:
                self._start_transform(code, headers)
            if settings.start_response_nodelay and threading.get_ident() == _MAIN_THREAD:
                self.flush_head()  # (in an app thread, --threads: the thread asks the core to)
        if settings.write_exceptions and not settings.write_errors_tolerance:
            return self.write
        return self._write_quietly

    def flush_head(self) -> None:
        """``--start-response-nodelay`` (uWSGI's "PEP violation"): send the status line and
        headers now, from ``start_response``, not with the first body bytes.  Not when they
        are out already, nor while a transformation chain holds them (its steps edit the
        head: Content-Encoding, fixcl's Content-Length).  :class:`ClientDisconnected` (an
        ``OSError``, in the app's ``start_response``) when the client is gone.

        What follows from the early head: a ``return [body]`` gets no computed Content-Length
        (chunked for an HTTP/1.1 client, else the body ends with the connection); an error
        after ``start_response`` cuts the response instead of answering 500, and
        ``start_response(..., exc_info)`` re-raises (PEP 3333); the response chains and header
        options (``settings.response_phases``) run now, inside ``start_response``, as in uWSGI
        (a rule's own answer then replaces the app's body, which is dropped)."""
        if not self.headers_sent and self.status is not None and self.transform is None:
            self._send_headers(b"", False)

    def _start_transform(self, code: int, headers: List) -> None:
        """A ``--route`` rule gave this request transformations: the body goes through them
        (not for a response without a body: HEAD, 204, 304...)."""
        chain = self.environ.get(TRANSFORMS_KEY)
        if chain is None or not body_allowed(code, "GET"):
            self.transform = None
            return
        if self.transform is not None:
            # start_response(..., exc_info) before the head went out: the new response's body
            # must not follow what the buffering steps hold of the old one
            chain.restart()
        # a HEAD response runs the chain too (its body then dropped), so that its head says
        # what a GET's would: Content-Encoding, the length fixcl finds...
        if not self.sink.peer_parses_chunked():
            chain.drop_chunked()
        self.transform = chain
        self.note().app_headers = list(headers)  # the head is made again, with the steps' edits, when it goes out
        chain.start(code, headers)

    def _transform_write(self, data: bytes) -> None:
        """``write()`` of a transformed response: the chunk goes through the chain, and what
        comes out (maybe nothing yet: a buffering step) is sent."""
        transform = self.transform
        assert transform is not None
        for out in transform.feed(data):
            self._send_out(out)

    def _transform_end(self) -> None:
        """The app is done: what the chain still holds (a buffered body, gzip's trailer,
        the last chunk) is sent."""
        transform = self.transform
        if transform is not None:
            self._transform_send(transform.finish())

    def _transform_whole(self, body: bytes) -> None:
        """A ``return [body]`` through the chain: all of it known at once, so the head
        can go out with the whole transformed body and its exact Content-Length."""
        transform = self.transform
        assert transform is not None
        out = transform.feed(body) if body else []
        self._transform_send(out + transform.finish())

    def _transform_send(self, out: List[bytes]) -> None:
        """The chain's last output: with the head when it has not gone out (one write, a
        computed Content-Length unless a ``chunked`` step frames the body), else as is."""
        transform = self.transform
        if not self.headers_sent and transform is not None and not transform.self_chunked:
            self._send_headers(b"".join(out), True)
            return
        for data in out:
            self._send_out(data)

    def _send_out(self, data: bytes) -> None:
        if not self.headers_sent:
            self._send_headers(data, False)
            return
        self._send_body_chunk(data)

    def _send_body_chunk(self, data: bytes) -> None:
        """``data`` as body bytes after the head, clipped to the Content-Length (the rare
        paths: transformations, rules' replacements; ``write`` inlines it)."""
        if data and self.send_body:
            data = self._clip(data)
            if data:
                self.body_bytes += len(data)
                self.sink.send_body(data)

    def _server_headers(self, head: bytes, count: int, added: Any) -> Tuple[bytes, int]:
        """``head`` (the app's header block) and its ``count`` with the server's lines after
        them, in uWSGI's order: ``--add-header``'s, then ``added``, the ``addheader`` lines of
        the routing chains (whatever response goes out: the app's, or one a chain made)."""
        settings = self.settings
        if settings.extra_headers:
            head += settings.extra_headers
            count += settings.extra_headers_count
        if added:
            extra, _, n, _ = serialize_headers(added)
            head += extra
            count += n
        return head, count

    def _transform_head(self) -> None:
        """``self.head`` made again from the app's headers as the steps edited them."""
        transform = self.transform
        assert transform is not None and self.status is not None
        notes = self.note()
        notes.app_headers = transform.edit_headers(notes.app_headers)
        head, self.content_length, count, _ = serialize_headers(notes.app_headers)
        head, count = self._server_headers(head, count, self.environ.get(ROUTE_ADDED_HEADERS))
        if transform.self_chunked:
            head += b"Transfer-Encoding: chunked\r\n"  # (hop-by-hop: no app may set it, a step may)
            count += 1
        self.head = self.status.encode("latin-1") + _CRLF + head
        self.headers_count = count

    def _write_quietly(self, data: bytes) -> None:
        """The app's ``write()`` with ``--disable-write-exception`` (a vanished client is not
        the app's exception: the rest of its writes go nowhere; its iterable, if any, is not
        iterated further) or ``--write-errors-tolerance N`` (the first N failed writes return
        quietly)."""
        try:
            self.write(data)
        except ClientDisconnected:
            notes = self.note()
            notes.write_errors += 1
            settings = self.settings
            if settings.write_exceptions and notes.write_errors > settings.write_errors_tolerance:
                raise

    def _as_bytes(self, data: Any) -> bytes:
        """A body chunk that is not ``bytes``: bytearray and memoryview are copied, any other
        buffer-protocol object too with ``--wsgi-accept-buffer``; anything else is an error."""
        if isinstance(data, (bytearray, memoryview)):
            return bytes(data)
        if self.settings.accept_buffers and not isinstance(data, str):
            try:
                return memoryview(data).tobytes()
            except TypeError:
                pass
        raise TypeError("WSGI body chunks must be bytes, not %s" % type(data).__name__)

    def _send_headers(self, first: bytes, final: bool) -> None:
        """Status line + headers (+ ``first`` body bytes), in one write by the sink."""
        if self.transform is not None:
            self._transform_head()
        if self.settings.response_phases is not None and self._run_phases(first):
            return
        if first and self.send_body:
            if self.content_length is not None:
                first = self._clip(first)
            self.body_bytes += len(first)
        self.headers_sent = True
        self.head_bytes = self.sink.send_head(self, first, final)

    def _run_phases(self, first: bytes) -> bool:
        """The error and response chains and the header options, on the head about to go
        out with the body bytes ``first`` (``self.head`` is made again).  True when the
        caller is to send nothing: a rule's answer went out instead (the app's further
        writes are dropped), or ``first`` went out without a head (``disableheaders``).  A
        rule that ends the request unanswered raises ClientDisconnected (the connection is
        cut, and the app's write() fails as on a vanished client)."""
        phases = self.settings.response_phases
        assert self.status is not None and phases is not None
        if not phases.on_head:
            return False
        reply = phases.head(self.environ, self.status, self.note().app_headers)
        if reply.cut:
            self.headers_sent = True
            self.send_body = False
            raise ClientDisconnected("a route ended the request without a response")
        head, content_length, count, _ = serialize_headers(reply.headers)
        if reply.status != self.status:
            self.code = status_code(reply.status)
            self.status = reply.status
        # every chain's addheader lines (the request chain's first), last as in uWSGI
        head, count = self._server_headers(head, count, reply.added)
        if self.transform is not None:
            if reply.body is None and self.transform.self_chunked:
                head += b"Transfer-Encoding: chunked\r\n"
                count += 1
            elif reply.body is not None or reply.no_headers:
                self.transform = None  # a rule's answer goes out as it is
        self.head = self.status.encode("latin-1") + _CRLF + head
        self.headers_count = count
        self.content_length = content_length
        self.send_body = body_allowed(self.code, self.method)
        if reply.no_headers:
            self._send_headless(first, reply.body)
            return True
        if reply.body is None:
            return False
        body = reply.body
        try:
            if type(body) is list and len(body) == 1:
                first = body[0]
                if self.send_body:
                    first = self._clip(first)
                    self.body_bytes = len(first)
                self.headers_sent = True
                self.head_bytes = self.sink.send_head(self, first, True)
            else:
                self.headers_sent = True
                self.head_bytes = self.sink.send_head(self, b"", False)
                for chunk in body:
                    self._send_body_chunk(chunk)
        finally:
            close_iterable(body)
        self.send_body = False  # what the app still writes goes nowhere (uWSGI's ignore_body)
        return True

    def _send_headless(self, first: bytes, replacement: Optional[Any]) -> None:
        """``disableheaders``: the body alone (the app's, from ``first`` on, or a rule's
        ``replacement``), through ``send_body``; without a head nothing frames it, so the
        connection closes after it (the runner returns False)."""
        self.note().headless = True
        self.headers_sent = True
        self.head = b""
        self.headers_count = 0
        chunks = [first] if replacement is None else replacement
        try:
            for chunk in chunks:
                self._send_body_chunk(chunk)
        finally:
            if replacement is not None:
                close_iterable(replacement)
        if replacement is not None:
            self.send_body = False  # the app's own body goes nowhere

    def _clip(self, data: bytes) -> bytes:
        cl = self.content_length
        if cl is not None and self.body_bytes + len(data) > cl:
            data = data[: max(cl - self.body_bytes, 0)]
            notes = self.note()
            if not notes.truncated_warned:
                notes.truncated_warned = True
                app_log.warning(
                    "%s %s: the app sent more than its Content-Length (%d); extra bytes dropped",
                    self.environ.get("REQUEST_METHOD"), self.environ.get("REQUEST_URI"), cl,
                )
        return data

    def write(self, data: bytes) -> None:
        """The ``write()`` callable of PEP 3333 (also used for every iterable chunk)."""
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if type(data) is not bytes:
            data = self._as_bytes(data)
        if self.transform is not None:
            if data:
                self._transform_write(data)
            return
        if not self.headers_sent:
            if not data:
                return
            self._send_headers(data, False)
            return
        if not data or not self.send_body:
            return
        if self.content_length is not None:
            data = self._clip(data)
            if not data:
                return
        self.body_bytes += len(data)
        self.sink.send_body(data)

    def detach(self, on_app_return: Optional[Callable[[Optional[BaseException]], None]] = None) -> Any:
        """Take the connection away from HTTP/uwsgi framing (a websocket handshake).

        Nothing more is written for this response; returns the sink's
        ``(transport, bytes received after the request and not parsed)``.  The new
        owner is told when the app is over: ``on_app_return(exc)`` runs after the
        app returned (``exc`` None) or raised (``exc``, which the runner then neither
        logs nor answers: the connection is no longer HTTP, its owner decides).
        """
        self.detached = True
        self.on_app_return = on_app_return
        self.headers_sent = True
        self.send_body = False
        if self.status is None:
            self.status = "101 Switching Protocols"
            self.code = 101
        return self.sink.detach()

    def run(self, app: Callable) -> bool:
        """Call the app and send its response; return whether it went out complete."""
        sink = self.sink
        result: Any = None
        escaped: Optional[BaseException] = None
        settings = self.settings
        try:
            if settings.post_buffering:
                self._buffer_body()
            result = app(self.environ, self.start_response)
            kind = type(result)
            if ((kind is bytes or (settings.accept_buffers and kind is not list and self._is_body(result)))
                    and not settings.wsgi_strict):
                # uWSGI sends a returned bytes object whole (unless --wsgi-strict)
                result, kind = [result], list
            if kind is list and len(result) == 1 and not self.headers_sent and self.transform is None:
                # The common `return [body]`: one write with an exact Content-Length.
                body = result[0]
                result = None  # (an exact list has no close())
                if self.status is None:
                    raise AssertionError("the app returned without calling start_response()")
                if type(body) is not bytes:
                    body = self._as_bytes(body)
                if settings.response_phases is not None and self._run_phases(body):
                    sink.finish()
                    return not self.headless
                # (_send_headers, inlined: this is the hot path)
                if self.send_body:
                    if self.content_length is not None and len(body) > self.content_length:
                        body = self._clip(body)
                    self.body_bytes = len(body)
                self.headers_sent = True
                self.head_bytes = sink.send_head(self, body, True)
                self.switches = 1  # uWSGI counts one switch per item (plus one, see the log)
            elif kind is list and len(result) == 1 and not self.headers_sent and self.status is not None:
                body = result[0]  # (a transformed response: the chain sees the whole body at once)
                self._transform_whole(body if type(body) is bytes else self._as_bytes(body))
            elif kind is FileWrapper and self._file_body(result):
                result = None  # the connection sends the file and closes it; this core is free
                return True
            else:
                self._iterate(result)
                if self.detached:
                    return False
                if self.status is None:
                    raise AssertionError("the app returned without calling start_response()")
                if self.transform is not None:
                    self._transform_end()
                if not self.headers_sent:
                    self._send_headers(b"", True)
            sink.finish()
        except ClientDisconnected:
            notes = self.note()
            notes.io_error = True
            notes.write_errors = notes.write_errors or 1
            sink.abort()
            return False
        except BodyError as e:
            notes = self.note()
            notes.io_error = True
            notes.read_errors += 1
            self._fail(e, e.status, log=False)
            return False
        except TransformError as e:
            gen_log.error("%s %s: %s", self.environ.get("REQUEST_METHOD"), self.environ.get("REQUEST_URI"), e)
            self._fail(e, 500, log=False)
            return False
        except Exception as e:
            if self.on_app_return is None:
                self._fail(e, 500, log=True)
                return False
            escaped = e  # detached: reported by the connection's new owner
        finally:
            if result is not None:
                close_iterable(result)
            if self.on_app_return is not None:
                self.on_app_return(escaped)
        if self.detached or (self.notes is not None and self.notes.headless):
            return False
        if self.content_length is not None and self.send_body and self.body_bytes < self.content_length:
            # Fewer bytes than promised: the client can only notice by the close.
            return False
        return True

    def _is_body(self, result: Any) -> bool:
        """Whether the app returned its body itself rather than an iterable of chunks: bytes,
        or with ``--wsgi-accept-buffer`` any buffer-protocol object (not a str, nor a file)."""
        if type(result) is bytes:
            return True
        if not self.settings.accept_buffers or isinstance(result, (str, tuple, FileWrapper)):
            return False
        try:
            memoryview(result)
        except TypeError:
            return False
        return True

    def _file_body(self, wrapper: FileWrapper) -> bool:
        """A ``wsgi.file_wrapper`` body: noted for the request log (:func:`note_file_body`), then
        offloaded where it can be (:meth:`_offload`); True when it was."""
        note_file_body(self, wrapper)
        return self._offload(wrapper)

    def _buffer_body(self) -> None:
        """``--post-buffering N``: the whole request body is read (this core parking while it
        arrives, with the usual timeouts) before the app is called; up to N bytes stay in
        memory, a larger body goes to a temporary file.  ``wsgi.input`` becomes that file.
        With ``--upload-progress`` a larger body's progress is told in a file
        (:mod:`gateway.server.upload_progress`)."""
        source = self.environ["wsgi.input"]
        if getattr(source, "at_end", True):
            return
        settings = self.settings
        spool = tempfile.SpooledTemporaryFile(max_size=settings.post_buffering)
        progress = None
        if settings.upload_progress is not None:
            # --upload-progress: a body bound for the disk (uWSGI's case) reports its progress
            try:
                size = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                size = 0
            if size > settings.post_buffering:
                from gateway.server.upload_progress import UploadProgress

                progress = UploadProgress.open(settings.upload_progress, self.environ.get("REQUEST_URI", ""), size,
                                               stale_after=2 * settings.socket_timeout)
        received = 0
        try:
            while True:
                chunk = source.read(settings.post_buffering_bufsize or 65536)
                if not chunk:
                    break
                spool.write(chunk)
                if progress is not None:
                    received += len(chunk)
                    progress.update(received)
        finally:
            if progress is not None:
                progress.close()
        spool.seek(0)
        self.environ["wsgi.input"] = spool

    def _offload(self, wrapper: "FileWrapper") -> bool:
        """``--offload-threads``: hand a ``wsgi.file_wrapper`` response over to the connection,
        which sends the file from the loop (blocks read by offload threads) after this core
        has moved on.  False when it cannot be offloaded (no offload, not a regular file, a
        sink that cannot, headers already out): the wrapper is then iterated as usual."""
        offload = getattr(self.settings, "offload", None)
        send_file = getattr(self.sink, "offload_file", None)
        phases = self.settings.response_phases
        if (phases is not None and phases.on_head) or self.transform is not None:
            return False  # the routes or transformations may change the head: iterated
        if offload is None or send_file is None or self.headers_sent or self.status is None or not self.send_body:
            return False
        fobj = wrapper.filelike
        try:
            fd = fobj.fileno()
            st = os.fstat(fd)
            offset = fobj.tell()
        except (AttributeError, OSError, ValueError):
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        count = max(st.st_size - offset, 0)
        if wrapper.remaining is not None:
            count = min(count, wrapper.remaining)
        if self.content_length is not None:
            count = min(count, self.content_length)
        else:
            self.head += b"Content-Length: %d\r\n" % count
            self.headers_count += 1
            self.content_length = count
        self.headers_sent = True
        self.head_bytes = self.sink.send_head(self, b"", False)
        self.body_bytes = count
        self.offloaded = True
        send_file(fobj, fd, offset, count, offload, getattr(wrapper, "close", None))
        return True

    def _iterate(self, result: Any) -> None:
        if isinstance(result, (list, tuple)):
            for chunk in result:
                self.write(chunk)
            self.switches = len(result)
            return
        it = iter(result)
        engine = self.settings.engine
        core = current_core()
        sink = self.sink
        for chunk in it:
            if sink.closed:
                self._write_failed(it)
                continue
            try:
                self.write(chunk)
            except ClientDisconnected:
                self._write_failed(it)
            else:
                if core is not None:
                    # schedule_fix: let other cores and callbacks run between chunks.
                    self.switches += 1
                    engine.schedule_fix(core)
                if sink.closed and not self.settings.write_errors_tolerance:
                    self._write_failed(it)  # stop now rather than after the app's next chunk

    def _write_failed(self, it: Any) -> None:
        """One more chunk could not be sent, the client being gone.  Up to
        ``--write-errors-tolerance`` of them the iteration goes on (the chunks dropped); past it
        :class:`ClientDisconnected` ends the response, after being thrown into the app's
        generator with ``--write-errors-exception-only`` (the app may clean up; what it yields
        then is dropped and the generator closed)."""
        notes = self.note()
        notes.write_errors += 1
        settings = self.settings
        if notes.write_errors <= settings.write_errors_tolerance:
            return
        error = ClientDisconnected("write error: the client went away")
        throw = getattr(it, "throw", None)
        if settings.write_errors_exception_only and settings.write_exceptions and throw is not None:
            try:
                throw(error)
            except StopIteration:
                pass
        raise error

    def _fail(self, exc: BaseException, status: int, log: bool) -> None:
        sink = self.sink
        if log:
            self.exception = exc
            self.settings.stats.count_exception(self.environ.get("gateway.app_id", 0))
            app_log.error(
                "error in the WSGI app for %s %s",
                self.environ.get("REQUEST_METHOD"), self.environ.get("REQUEST_URI"), exc_info=exc,
                extra=APP_TRACEBACK,
            )
        if self.headers_sent or sink.closed:
            # Bytes are out: all we can do is abort, so the peer sees a truncated
            # response rather than a complete wrong one.
            if not self.detached:
                sink.abort()
            return
        if log and status == 500 and not self.detached and self._answer_500(exc):
            return
        reason = REASONS.get(status, "Error")
        self.status = "%d %s" % (status, reason)
        self.code = status
        self.headers_sent = True
        detail = ""
        if log and self.settings.catch_exceptions:  # --catch-exceptions: the traceback, for the developer
            detail = "\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.headers_count, self.head_bytes, self.body_bytes = sink.send_error(status, reason, detail)
        if log:
            self.switches = NO_SWITCHES  # the app raised before responding

    def _answer_500(self, exc: BaseException) -> bool:
        """The 500 of an app that raised, as a response of its own when the routes may see
        or change it (``--error-route-status 500 ...``) or ``--error-page-500`` gives its
        HTML: it then goes out like the app's would, and the connection closes after it
        (the runner returns False).  False when neither applies (``sink.send_error`` then)."""
        settings = self.settings
        html = None if settings.catch_exceptions else error_pages.page(500)
        phases = settings.response_phases
        if html is None and (phases is None or not phases.on_head):
            return False
        if html is not None:
            body, ctype = html, "text/html"
        else:
            detail = ""
            if settings.catch_exceptions:
                detail = "\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            body, ctype = ("Internal Server Error\n" + detail).encode("utf-8", "replace"), "text/plain"
        self.start_response("500 Internal Server Error",
                            [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                            (type(exc), exc, exc.__traceback__))
        try:
            if self.headers_sent:  # --start-response-nodelay sent the head
                self.write(body)
            else:
                self._send_headers(body, True)
            self.sink.finish()
        except ClientDisconnected:
            self.sink.abort()
        except Exception:  # a route or a header failed on the 500 itself: cut rather than loop
            app_log.exception("error answering 500 for %s %s", self.environ.get("REQUEST_METHOD"),
                              self.environ.get("REQUEST_URI"))
            self.sink.abort()
        return True


def worth_logging(settings: ServerSettings, resp: WSGIResponse, start: float) -> bool:
    """With ``--disable-logging``: a request ``--log-4xx``, ``--log-5xx``, ``--log-slow``,
    ``--log-big``, ``--log-zero``, ``--log-sendfile`` or ``--log-ioerror`` still wants in the
    log (uWSGI's rules)."""
    code = resp.code or 0
    if settings.log_5xx and code >= 500:
        return True
    if settings.log_4xx and 400 <= code < 500:
        return True
    if settings.log_big and resp.body_bytes >= settings.log_big:
        return True
    also = settings.log_also
    if also and (("zero" in also and resp.body_bytes == 0) or ("sendfile" in also and resp.from_file)
                 or ("ioerror" in also and resp.io_error)):
        return True
    return bool(settings.log_slow and (time.time() - start) * 1000 >= settings.log_slow)


def log_request(settings: ServerSettings, environ: Dict[str, Any], resp: WSGIResponse, start: float,
                core: Optional[Core]) -> None:
    """uWSGI's default request log line (core/logging.c), from the environ."""
    stats = settings.stats
    log_format = settings.log_format
    if log_format is not None:  # --log-format (gateway.logformat.LogFormat)
        access_log.info("%s", log_format.render(environ, resp, start, core, stats))
        return
    elapsed = time.time() - start
    if settings.log_micros:
        took = "%d micros" % int(elapsed * 1e6)
    else:
        took = "%d msecs" % int(elapsed * 1000)
    nvars, vsize = request_vars(environ)
    get = environ.get
    app_id = get("gateway.app_id", 0)
    prefix = ""
    if settings.memory_report:
        rss, vsz = process_memory()
        prefix = "{address space usage: %d bytes/%dMB} {rss usage: %d bytes/%dMB} " % (vsz, vsz >> 20, rss, rss >> 20)
    access_log.info(
        "%s[pid: %d|app: %d|req: %d/%d] %s (%s) {%d vars in %d bytes} [%s] %s %s => generated %d bytes in %s%s(%s %d) %d headers in %d bytes (%d switches on core %d)",
        prefix, os.getpid(), app_id, stats.app_request_count(app_id), stats.total_requests,
        log_text((settings.log_x_forwarded_for and get("HTTP_X_FORWARDED_FOR")) or get("REMOTE_ADDR", "")),
        log_text(get("REMOTE_USER", "")), nvars, vsize, time.ctime(start), log_text(get("REQUEST_METHOD", "")),
        log_text(get("REQUEST_URI", "")), resp.body_bytes, took,
        # uWSGI marks how a file body went: sendfile() in the core, or an offload thread
        " via offload() " if resp.offloaded else " via sendfile() " if resp.from_file else " ",
        log_text(get("SERVER_PROTOCOL", "")), resp.code,
        resp.headers_count, resp.head_bytes, resp.logged_switches(), core.id if core is not None else 0,
    )
