"""One WSGI call inside an async core: ``start_response``, ``write``, the iterable, ``close()``.

:class:`WSGIResponse` applies PEP 3333 to one request (validation comes from the sans-IO
:mod:`gateway.protocol.wsgi_response`) and turns what the app produces into bytes on
its connection: headers delayed until the first non-empty chunk (or the end), the
framing choice (the app's Content-Length, a computed one for ``return [body]``,
chunked on HTTP/1.1, close-delimited on 1.0), ``schedule_fix`` between generator
chunks, truncation of surplus bytes, and the error paths: a 500 while nothing is sent
yet, an abort (no final chunk) once bytes are out.  ``close()`` on the iterable is
called on every path.

The connection it writes to is duck-typed (``write``, ``server.date_header()``,
``settings``, ``transport``...): see :class:`gateway.server.http.HTTPConnection`.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, Optional

from loop_engine import current_core

from gateway.logs import access_log, app_log
from gateway.protocol.http1 import Request
from gateway.protocol.wsgi_response import body_allowed, serialize_headers, status_code
from gateway.server.wsgi_input import BodyError, ClientDisconnected

_CRLF = b"\r\n"

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
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> "FileWrapper":
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration



class WSGIResponse:
    """One WSGI call: ``start_response``, ``write``, the iterable, ``close()``, errors."""

    __slots__ = (
        "conn", "req", "environ", "status", "code", "head", "headers_count", "content_length",
        "headers_sent", "chunked", "body_bytes", "keep_alive", "send_body", "head_bytes",
        "switches", "_truncated_warned",
    )

    def __init__(self, conn: Any, req: Request, environ: Dict[str, Any]) -> None:
        self.conn = conn
        self.req = req
        self.environ = environ
        self.status: Optional[str] = None
        self.code = 0
        self.head = b""
        self.headers_count = 0
        self.content_length: Optional[int] = None
        self.headers_sent = False
        self.chunked = False
        self.body_bytes = 0
        self.head_bytes = 0
        self.keep_alive = req.keep_alive
        self.send_body = True
        self.switches = 0
        self._truncated_warned = False

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
        head, content_length, count = serialize_headers(headers)
        try:
            status_bytes = status.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("WSGI status %r must be latin-1 encodable" % (status,)) from None
        self.status = status
        self.code = code
        self.head = status_bytes + _CRLF + head
        self.headers_count = count
        self.content_length = content_length
        self.send_body = body_allowed(code, self.req.method)
        return self.write

    def _send_headers(self, first: bytes, final: bool) -> None:
        """Send status line + headers (+ ``first`` body bytes) in one write."""
        req = self.req
        conn = self.conn
        version = req.version
        extra = conn.server.date_header()
        cl = self.content_length
        if not self.send_body:
            # HEAD of a `return [body]` app: the same Content-Length a GET would get.
            if cl is None and final and first and self.code >= 200 and self.code not in (204, 304):
                self.content_length = len(first)
                extra += b"Content-Length: %d\r\n" % len(first)
        elif cl is None:
            if final:
                cl = len(first)
                self.content_length = cl
                extra += b"Content-Length: %d\r\n" % cl
            elif version == "HTTP/1.1":
                self.chunked = True
                extra += b"Transfer-Encoding: chunked\r\n"
            else:
                self.keep_alive = False
        if self.keep_alive and conn._close_after:
            self.keep_alive = False
        if version == "HTTP/1.1":
            if not self.keep_alive:
                extra += b"Connection: close\r\n"
        elif self.keep_alive:
            extra += b"Connection: keep-alive\r\n"
        head = b"%s %s%s\r\n" % (version.encode(), self.head, extra)
        self.head_bytes = len(head)
        self.headers_sent = True
        if not self.send_body:
            conn.write(head)
            return
        if first:
            first = self._clip(first)
            self.body_bytes += len(first)
            if self.chunked:
                conn.write(head + b"%x\r\n" % len(first) + first + _CRLF)
            else:
                conn.write(head + first)
        else:
            conn.write(head)

    def _clip(self, data: bytes) -> bytes:
        cl = self.content_length
        if cl is not None and self.body_bytes + len(data) > cl:
            data = data[: max(cl - self.body_bytes, 0)]
            if not self._truncated_warned:
                self._truncated_warned = True
                app_log.warning(
                    "%s %s: the app sent more than its Content-Length (%d); extra bytes dropped",
                    self.req.method, self.req.target, cl,
                )
        return data

    def write(self, data: bytes) -> None:
        """The ``write()`` callable of PEP 3333 (also used for every iterable chunk)."""
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if type(data) is not bytes:
            if isinstance(data, (bytearray, memoryview)):
                data = bytes(data)
            else:
                raise TypeError("WSGI body chunks must be bytes, not %s" % type(data).__name__)
        if not self.headers_sent:
            if not data:
                return
            self._send_headers(data, False)
            return
        if not data or not self.send_body:
            return
        data = self._clip(data)
        if not data:
            return
        self.body_bytes += len(data)
        if self.chunked:
            self.conn.write(b"%x\r\n" % len(data) + data + _CRLF)
        else:
            self.conn.write(data)

    def run(self, app: Callable) -> bool:
        """Call the app and send its response; return whether the connection may be kept."""
        conn = self.conn
        result = None
        try:
            result = app(self.environ, self.start_response)
            if type(result) is list and len(result) == 1 and not self.headers_sent:
                # The common `return [body]`: one write with an exact Content-Length.
                if self.status is None:
                    raise AssertionError("the app returned without calling start_response()")
                body = result[0]
                if type(body) is not bytes:
                    if isinstance(body, (bytearray, memoryview)):
                        body = bytes(body)
                    else:
                        raise TypeError("WSGI body chunks must be bytes, not %s" % type(body).__name__)
                self._send_headers(body, True)
                self.switches = 1  # uWSGI counts one switch per item (plus one, see the log)
            else:
                self._iterate(result)
            self._finish()
        except ClientDisconnected:
            conn._close_after = True
            return False
        except BodyError as e:
            self._fail(e, e.status, log=False)
            return False
        except Exception as e:
            self._fail(e, 500, log=True)
            return False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    app_log.exception("error in close() of the WSGI response iterable")
        if self.content_length is not None and self.send_body and self.body_bytes < self.content_length:
            # Fewer bytes than promised: the client can only notice by the close.
            return False
        return self.keep_alive

    def _iterate(self, result: Any) -> None:
        if isinstance(result, (list, tuple)):
            for chunk in result:
                self.write(chunk)
            self.switches = len(result)
            return
        it = iter(result)
        engine = self.conn.server.engine
        core = current_core()
        for chunk in it:
            self.write(chunk)
            if core is not None:
                # schedule_fix: let other cores and callbacks run between chunks.
                self.switches += 1
                engine.schedule_fix(core)
            if self.conn._closed:
                raise ClientDisconnected("client disconnected")

    def _finish(self) -> None:
        if self.status is None:
            raise AssertionError("the app returned without calling start_response()")
        if not self.headers_sent:
            self._send_headers(b"", True)
            return
        if self.chunked:
            self.conn.write(b"0\r\n\r\n")

    def _fail(self, exc: BaseException, status: int, log: bool) -> None:
        conn = self.conn
        conn._close_after = True
        if log:
            conn.settings.stats.exceptions += 1
            app_log.error(
                "error in the WSGI app for %s %s", self.req.method, self.req.target, exc_info=exc
            )
        if self.headers_sent or conn._closed:
            # Bytes are out: all we can do is abort, without the final chunk, so the
            # client sees a truncated response rather than a complete wrong one.
            if conn.transport is not None:
                conn.transport.close()
            conn._closed = True
            return
        body = (REASONS.get(status, "Error") + "\n").encode()
        self.status = "%d %s" % (status, REASONS.get(status, "Error"))
        self.code = status
        conn.write(
            b"%s %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s"
            % (self.req.version.encode(), status, REASONS.get(status, "Error").encode(), len(body),
               conn.server.date_header(), body if self.req.method != "HEAD" else b"")
        )
        self.headers_sent = True
        self.body_bytes = len(body)


def log_request(conn: Any, req: Request, environ: Dict[str, Any], resp: WSGIResponse,
                 start: float, core: Any) -> None:
    """uWSGI's default request log line (core/logging.c)."""
    stats = conn.settings.stats
    elapsed = time.time() - start
    if conn.settings.log_micros:
        took = "%d micros" % int(elapsed * 1e6)
    else:
        took = "%d msecs" % int(elapsed * 1000)
    nvars = 0
    vsize = 0
    for k, v in environ.items():
        if type(v) is str:
            nvars += 1
            vsize += len(k) + len(v) + 4
    access_log.info(
        "[pid: %d|app: 0|req: %d/%d] %s (%s) {%d vars in %d bytes} [%s] %s %s => generated %d bytes in %s (%s %d) %d headers in %d bytes (%d switches on core %d)",
        os.getpid(), stats.app_requests, stats.requests, conn.remote_addr, environ.get("REMOTE_USER", ""),
        nvars * 2, vsize, time.ctime(start), req.method, req.target, resp.body_bytes, took,
        req.version, resp.code, resp.headers_count, resp.head_bytes, resp.switches + 1,
        core.id if core is not None else 0,
    )
