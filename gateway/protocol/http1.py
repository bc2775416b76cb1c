"""Sans-IO HTTP/1.x request parser: bytes in, request events out.

This is the server's hot path and a security boundary, so it is written for
both: the common request costs a handful of C-level scans over the head (find
the blank line, check every byte at once with ``bytes.translate``, split into
lines) and a few string operations per header, with no per-byte Python loop
and no regex on the common path.  Every limit is a constructor parameter.

Use it the way you would use h11, server side only::

    p = RequestParser(max_head=4096, max_headers=100, max_body=0)
    p.receive_data(sock_bytes)          # b"" means EOF
    while True:
        ev = p.next_event()
        if ev is NEED_DATA:             # read more, call receive_data, loop
            ...
        elif type(ev) is Request:       # then Data* then EndOfMessage
            ...
        elif ev is PAUSED:              # EndOfMessage was returned: respond,
            p.start_next_request()      # then go on with pipelined bytes

``next_event()`` returns :class:`Request`, :class:`Data`, :class:`EndOfMessage`,
:class:`ConnectionClosed` or one of the sentinels :data:`NEED_DATA` and
:data:`PAUSED`; it raises :class:`~gateway.protocol.errors.RemoteProtocolError`
(with ``status_hint``) when the client breaks the protocol.  After an error
every further call raises it again: answer ``status_hint`` and close.

Decisions (RFC 9112 unless said otherwise).  The rules of a head (line endings, empty lines
before it, the request line and target, header fields, body framing headers) are in
:mod:`~gateway.protocol.http1_head`, with the functions that apply them.  Here:

* **Chunked bodies**: at most ``max_chunk_size_digits`` hex digits, chunk
  extensions at most ``max_chunk_ext`` bytes (checked for bad bytes, then
  ignored).  Trailer fields are validated like header fields, bounded by
  ``max_head``/``max_headers``, and exposed as ``EndOfMessage.trailers``;
  never merge them into the request headers (they arrive after the app
  started and are a smuggling vector).
* **Body limit**: ``max_body`` (> 0) gives 413, from ``Content-Length`` up
  front and from the running sum of chunk sizes while de-chunking.
* **EOF**: before any byte of a request, :class:`ConnectionClosed`; inside a
  head or a body, 400 saying it was truncated.
* **Streaming**: :class:`Data` hands out body bytes as soon as they arrive, so
  the split of the body into ``Data`` events depends on how bytes arrived.
* **Pipelining**: after :class:`EndOfMessage`, ``next_event()`` returns
  :data:`PAUSED` until :meth:`RequestParser.start_next_request`; bytes already
  received for the next request stay in the buffer (stop reading from the
  socket meanwhile: the parser cannot bound what you feed it while paused).

Headers are *not* mapped to CGI/WSGI names here; :class:`Request` carries the
raw ``(name, value)`` list plus what the server needs without a second pass
(``keep_alive``, ``content_length``, ``chunked``, ``expect_continue``,
``host``).
"""

from __future__ import annotations

from typing import List, Tuple

from .errors import LocalProtocolError, RemoteProtocolError
from .http1_events import NEED_DATA, PAUSED, ConnectionClosed, Data, EndOfMessage, Event, Request, Sentinel
from .http1_head import (
    MAX_CONTENT_LENGTH,
    PLAIN,
    TOKEN,
    bad_request_line,
    check_method,
    check_transfer_encoding,
    find_blank_line,
    merge_content_length,
    parse_content_length,
    show,
    split_block,
    split_other_target,
    valid_host,
)

__all__ = [
    "RequestParser",
    "chunked_body_parser",
    "Request",
    "Data",
    "EndOfMessage",
    "ConnectionClosed",
    "Event",
    "NEED_DATA",
    "PAUSED",
    "MAX_CONTENT_LENGTH",
    "Sentinel",
]

_HEX = b"0123456789abcdefABCDEF"


_KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE")
)

# Header kinds the parser acts on; every other name is kind 0.
_CONTENT_LENGTH, _TRANSFER_ENCODING, _CONNECTION, _EXPECT, _HOST, _CONTENT_TYPE = 1, 2, 3, 4, 5, 6
_SPECIAL = {
    "content-length": _CONTENT_LENGTH,
    "transfer-encoding": _TRANSFER_ENCODING,
    "connection": _CONNECTION,
    "expect": _EXPECT,
    "host": _HOST,
    "content-type": _CONTENT_TYPE,
}
#: How many distinct valid header names (as spelled on the wire, at most
#: ``NAME_CACHE_MAX_LENGTH`` characters) are remembered, process-wide.  A hit
#: skips the token check and the lower-casing; other names are still accepted,
#: only checked each time.  Bounds the cache to a few hundred kB whatever
#: clients send.
NAME_CACHE_SIZE = 4096
NAME_CACHE_MAX_LENGTH = 64
_name_kind: dict[str, int] = {}

_CR_LF = (13, 10)

_END_OF_MESSAGE = EndOfMessage()
_CLOSED = ConnectionClosed()
_new = tuple.__new__


def _field_kind(name: str, sep: str, line: str) -> int:
    """Validate a header/trailer line whose name is not in the cache; learn it."""
    if line[0] in " \t":
        raise RemoteProtocolError(
            f"client sent a folded header line (obs-fold, RFC 9112 §5.2): {show(line)}"
        )
    if not sep:
        raise RemoteProtocolError(f"client sent a header line without a colon: {show(line)}")
    if not name:
        raise RemoteProtocolError(f"client sent a header line with an empty name: {show(line)}")
    if name[-1] in " \t":
        raise RemoteProtocolError(
            f"client sent whitespace between a header name and the colon: {show(line)}"
        )
    if TOKEN.fullmatch(name) is None:
        raise RemoteProtocolError(f"client sent an invalid header name: {show(name)}")
    kind = _SPECIAL.get(name.lower(), 0)
    if len(_name_kind) < NAME_CACHE_SIZE and len(name) <= NAME_CACHE_MAX_LENGTH:
        _name_kind[name] = kind
    return kind


class RequestParser:
    """Server-side HTTP/1.x parser: feed bytes, pull events.

    ``max_head``: bytes of the request line + headers + blank line (431, or 414
    when the request line alone does not fit); also bounds chunked trailers.
    ``max_headers``: header lines (431).  ``max_body``: body bytes, 0 for no
    limit (413).  ``max_leading_empty_lines``: CRLFs tolerated before a request
    line.  ``max_chunk_size_digits`` and ``max_chunk_ext``: bounds of a chunk
    size line.  ``require_host``: refuse HTTP/1.1 requests without ``Host``.

    >>> p = RequestParser()
    >>> p.receive_data(b"GET /a?b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    >>> req = p.next_event()
    >>> req.path, req.query, req.keep_alive
    ('/a', 'b', True)
    >>> p.next_event(), p.next_event()
    (EndOfMessage(trailers=()), PAUSED)
    """

    def __init__(
        self,
        max_head: int = 4096,
        max_headers: int = 100,
        max_body: int = 0,
        *,
        max_leading_empty_lines: int = 8,
        max_chunk_size_digits: int = 16,
        max_chunk_ext: int = 1024,
        require_host: bool = False,
    ) -> None:
        if max_head < 16:
            raise ValueError("max_head must be at least 16 bytes")
        self._max_head = max_head
        self._max_headers = max_headers
        self._max_body = max_body
        self._max_empty_lines = max_leading_empty_lines
        self._max_size_digits = max_chunk_size_digits
        self._max_chunk_ext = max_chunk_ext
        self._chunk_line_limit = max_chunk_size_digits + max_chunk_ext + 2
        self._require_host = require_host
        self._valid_host: str | None = None
        self._buf: bytes | bytearray = b""
        self._pos = 0  # bytes of _buf already consumed
        self._eof = False
        # The current state is the function that produces the next event.  A
        # plain function (not a bound method) so that `is` compares states and
        # the parser holds no reference cycle.
        self._reader = RequestParser._read_head
        self._scanned = 0  # bytes after _pos already searched for a blank line
        self._empty_lines = 0
        self._remaining = 0  # body bytes left (Content-Length or current chunk)
        self._body_total = 0  # de-chunked bytes so far, for max_body
        self._error: RemoteProtocolError | None = None

    # -- public API -------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes received from the client; ``b""`` means the client sent EOF."""
        if not data:
            self._eof = True
            return
        if self._eof:
            raise LocalProtocolError("receive_data() called with data after EOF")
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            # Everything consumed: adopt the new bytes without copying.
            self._buf = data if type(data) is bytes else bytes(data)
            self._pos = 0
        elif type(buf) is bytearray:
            if pos:
                del buf[:pos]  # O(1) amortised at the front of a bytearray
                self._pos = 0
            buf += data
        else:
            # Accumulating a partial message: switch to a growable buffer so a
            # client trickling bytes costs linear, not quadratic, copying.
            grown = bytearray(buf)
            del grown[:pos]
            grown += data
            self._buf = grown
            self._pos = 0

    def next_event(self) -> Event:
        """The next event, :data:`NEED_DATA` or :data:`PAUSED`; see the module doc."""
        try:
            return self._reader(self)
        except RemoteProtocolError as exc:
            # A copy without the traceback: the raised one's frames reference our caller
            # (the connection), a cycle that would keep its buffers until a full gc pass.
            self._error = RemoteProtocolError(exc.args[0], exc.status_hint)
            self._reader = RequestParser._failed
            raise

    def start_next_request(self) -> None:
        """Leave the :data:`PAUSED` state after a complete request and parse the next."""
        if self._reader is not RequestParser._paused:
            raise LocalProtocolError(
                f"start_next_request() called in state {self.state}, not after EndOfMessage"
            )
        self._reader = RequestParser._read_head
        self._scanned = 0
        self._empty_lines = 0

    def has_input(self) -> bool:
        """Whether unparsed bytes (or an EOF) are waiting: cheap, for the idle fast path."""
        return self._pos < len(self._buf) or self._eof

    def buffered(self) -> int:
        """How many received bytes are not parsed yet (no copy, unlike ``trailing_data``)."""
        return len(self._buf) - self._pos

    @property
    def trailing_data(self) -> tuple[bytes, bool]:
        """``(bytes received but not consumed, whether EOF was received)``."""
        return bytes(self._buf[self._pos :]), self._eof

    @property
    def chunk_ended(self) -> bool:
        """Whether the last ``Data`` event completed a chunk of a chunked body (its data,
        not yet its CRLF): where ``uwsgi.chunked_read()`` ends one chunk as the client framed it."""
        return self._reader is RequestParser._read_chunk_end

    @property
    def state(self) -> str:
        """``"HEAD"``, ``"BODY"``, ``"DONE"`` (paused), ``"CLOSED"`` or ``"ERROR"``."""
        return _STATE_NAMES.get(self._reader, "BODY")

    # -- states -----------------------------------------------------------

    def _read_head(self) -> Event:
        buf = self._buf
        pos = self._pos
        if pos >= len(buf) or buf[pos] in _CR_LF:
            # No byte yet, or empty lines before the request line (rare).
            waiting = self._before_request_line()
            if waiting is not None:
                return waiting
            pos = self._pos

        limit = pos + self._max_head
        start = pos + self._scanned - 3 if self._scanned > 3 else pos
        end = buf.find(b"\r\n\r\n", start, limit)
        lines = None
        if end >= 0:
            end += 4
            head = buf[pos:end]
            residue = head.translate(None, PLAIN)
            lines = head.decode("latin-1").split("\r\n")
            crlfs = len(lines) - 1
            if len(residue) == 2 * crlfs and residue.count(b"\r\n") == crlfs:
                # Fast path: every byte allowed, and the residue's CR/LF pairs
                # are real CRLFs (as many as the split found), so no bare CR
                # or LF hides anywhere.
                del lines[-2:]
            else:
                lines = None
        if lines is None:
            # A bare LF or a bad byte somewhere, or the head is not complete.
            end = find_blank_line(buf, start, limit)
            if end < 0:
                return self._head_incomplete(pos)
            lines = split_block(buf[pos:end], "request head")

        if len(lines) - 1 > self._max_headers:
            raise RemoteProtocolError(
                f"client sent more than {self._max_headers} header lines", 431
            )
        self._pos = end
        self._scanned = 0

        # Request line.
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise bad_request_line(lines[0])
        method, target, version = parts
        if version == "HTTP/1.1":
            http11 = True
        elif version == "HTTP/1.0":
            http11 = False
        else:
            raise bad_request_line(lines[0])
        if method not in _KNOWN_METHODS:
            check_method(method)
        if target[:1] == "/" and "\t" not in target and "#" not in target:
            path, _, query = target.partition("?")
            authority = None
        else:
            path, query, authority = split_other_target(method, target)

        # Header fields.
        headers: List[Tuple[str, str]] = []
        append = headers.append
        kinds = _name_kind
        content_length = te = host = None
        hosts = content_types = 0
        close = keep_alive = expect = merge_lengths = False
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            kind = kinds.get(name)
            if kind is None or not sep:
                kind = _field_kind(name, sep, line)
            value = value.strip(" \t")
            append((name, value))
            if kind:
                if kind == _CONTENT_LENGTH:
                    if content_length is not None or not value.isdecimal():
                        merge_lengths = True  # a repeat or a list: the app must see one number
                    content_length = parse_content_length(value, content_length)
                elif kind == _CONTENT_TYPE:
                    content_types += 1
                elif kind == _TRANSFER_ENCODING:
                    te = value if te is None else te + "," + value
                elif kind == _CONNECTION:
                    token = value.lower()
                    if token == "keep-alive":
                        keep_alive = True
                    elif token == "close":
                        close = True
                    else:
                        for item in token.split(","):
                            item = item.strip(" \t")
                            if item == "close":
                                close = True
                            elif item == "keep-alive":
                                keep_alive = True
                elif kind == _EXPECT:
                    expect = value.lower() == "100-continue"
                else:
                    hosts += 1
                    host = value

        # Framing.
        chunked = False
        if te is not None:
            check_transfer_encoding(te, content_length, http11)
            chunked = True
            self._body_total = 0
            self._reader = RequestParser._read_chunk_size
        elif content_length:
            if self._max_body and content_length > self._max_body:
                raise RemoteProtocolError(
                    f"client announced a body of {content_length} bytes,"
                    f" more than the limit of {self._max_body}",
                    413,
                )
            self._remaining = content_length
            self._reader = RequestParser._read_body
        else:
            self._reader = RequestParser._end_of_message
        if hosts > 1 or content_types > 1 or merge_lengths:  # rare: one test on the common path
            if hosts > 1:
                raise RemoteProtocolError("client sent more than one Host header")
            if content_types > 1:
                raise RemoteProtocolError("client sent more than one Content-Type header")
            headers = merge_content_length(headers, content_length)
        if host is not None:
            # checked even behind an absolute-form target: HTTP_HOST is made from the header
            if host != self._valid_host and not valid_host(host):
                raise RemoteProtocolError(f"client sent an invalid Host header: {show(host)}")
            self._valid_host = host  # (a connection repeats its Host: checked once)
        if authority is not None:
            host = authority
        elif host is None and http11 and self._require_host:
            raise RemoteProtocolError("client sent an HTTP/1.1 request without a Host header")

        return _new(
            Request,
            (
                method,
                target,
                path,
                query,
                version,
                headers,
                not close and (http11 or keep_alive),
                content_length,
                chunked,
                expect and http11 and (chunked or bool(content_length)),
                end - pos,
                host,
            ),
        )

    def _before_request_line(self) -> Event | None:
        """Skip empty lines before a request line; None once a request byte is next."""
        buf = self._buf
        pos = self._pos
        size = len(buf)
        count = self._empty_lines
        while pos < size:
            byte = buf[pos]
            if byte == 10:
                pos += 1
            elif byte == 13:
                if pos + 1 == size:
                    break
                if buf[pos + 1] != 10:
                    raise RemoteProtocolError("client sent a bare CR before the request line")
                pos += 2
            else:
                break
            count += 1
            if count > self._max_empty_lines:
                raise RemoteProtocolError(
                    f"client sent more than {self._max_empty_lines} empty lines"
                    " before a request line"
                )
        self._pos = pos
        self._empty_lines = count
        if pos < size and buf[pos] != 13:
            return None
        # Nothing of a request yet (a lone CR may still become an empty line).
        if self._eof:
            self._reader = RequestParser._closed
            return _CLOSED
        return NEED_DATA

    def _head_incomplete(self, pos: int) -> Event:
        buf = self._buf
        available = len(buf) - pos
        if available >= self._max_head:
            if buf.find(b"\n", pos, pos + self._max_head) < 0:
                raise RemoteProtocolError(
                    f"client sent a request line longer than {self._max_head} bytes", 414
                )
            raise RemoteProtocolError(
                f"client sent a request head longer than {self._max_head} bytes", 431
            )
        if self._eof:
            raise RemoteProtocolError(
                f"client closed the connection in the middle of a request head"
                f" (truncated after {available} bytes)"
            )
        self._scanned = available
        return NEED_DATA

    def _end_of_message(self) -> Event:
        self._reader = RequestParser._paused
        return _END_OF_MESSAGE

    def _read_body(self) -> Event:
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if not available:
            if self._eof:
                raise RemoteProtocolError(
                    f"client closed the connection in the middle of a request body"
                    f" (truncated, {self._remaining} bytes missing)"
                )
            return NEED_DATA
        remaining = self._remaining
        if available >= remaining:
            self._reader = RequestParser._end_of_message
            available = remaining
        self._remaining = remaining - available
        self._pos = pos + available
        data = buf[pos : pos + available]
        return _new(Data, (data if type(data) is bytes else bytes(data),))

    def _read_chunk_size(self) -> Event:
        buf = self._buf
        pos = self._pos
        window = self._chunk_line_limit
        newline = buf.find(b"\n", pos, pos + window)
        if newline < 0:
            if len(buf) - pos >= window:
                raise RemoteProtocolError(
                    f"client sent a chunk size line longer than {window} bytes:"
                    f" {show(buf[pos : pos + min(window, 32)])}"
                )
            return self._need_body_data()
        line = buf[pos:newline]
        if line.endswith(b"\r"):
            line = line[:-1]
        size_part, semicolon, extension = line.partition(b";")
        if semicolon:
            size_part = size_part.rstrip(b" \t")
            if len(extension) > self._max_chunk_ext:
                raise RemoteProtocolError(
                    f"client sent a chunk extension longer than {self._max_chunk_ext} bytes"
                )
            if extension.translate(None, PLAIN):
                raise RemoteProtocolError(
                    f"client sent a bad byte in a chunk extension: {show(extension)}"
                )
        if (
            not size_part
            or len(size_part) > self._max_size_digits
            or size_part.translate(None, _HEX)
        ):
            raise RemoteProtocolError(f"client sent an invalid chunk size line: {show(line)}")
        size = int(size_part, 16)
        self._pos = newline + 1
        if size == 0:
            self._reader = RequestParser._read_trailers
            self._scanned = 0
            return self._read_trailers()
        self._body_total += size
        if self._max_body and self._body_total > self._max_body:
            raise RemoteProtocolError(
                f"client sent a chunked body of more than {self._max_body} bytes", 413
            )
        self._remaining = size
        self._reader = RequestParser._read_chunk_data
        return self._read_chunk_data()

    def _read_chunk_data(self) -> Event:
        # Deliberately the same shape as _read_body (they differ in the state that follows and in
        # how EOF is reported): one state function per framing keeps the per-event path branch-free.
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if not available:
            return self._need_body_data()
        remaining = self._remaining
        if available >= remaining:
            self._reader = RequestParser._read_chunk_end
            available = remaining
        self._remaining = remaining - available
        self._pos = pos + available
        data = buf[pos : pos + available]
        return _new(Data, (data if type(data) is bytes else bytes(data),))

    def _read_chunk_end(self) -> Event:
        buf = self._buf
        pos = self._pos
        end = buf[pos : pos + 2]
        if end == b"\r\n":
            self._pos = pos + 2
        elif end[:1] == b"\n":
            self._pos = pos + 1
        elif end == b"\r" or not end:
            return self._need_body_data()
        else:
            raise RemoteProtocolError(
                f"client sent chunk data not followed by CRLF: {show(end if end[0] == 13 else end[:1])}"
            )
        self._reader = RequestParser._read_chunk_size
        return self._read_chunk_size()

    def _read_trailers(self) -> Event:
        buf = self._buf
        pos = self._pos
        first = buf[pos : pos + 2]
        if first == b"\r\n" or first[:1] == b"\n":
            # No trailer fields: the common "0\r\n\r\n" end.
            self._pos = pos + 2 if first == b"\r\n" else pos + 1
            self._reader = RequestParser._paused
            return _END_OF_MESSAGE
        if first == b"\r" or not first:
            return self._need_body_data()
        limit = pos + self._max_head
        start = pos + self._scanned - 3 if self._scanned > 3 else pos
        end = find_blank_line(buf, start, limit)
        if end < 0:
            available = len(buf) - pos
            if available >= self._max_head:
                raise RemoteProtocolError(
                    f"client sent chunked trailers longer than {self._max_head} bytes", 431
                )
            self._scanned = available
            return self._need_body_data()
        lines = split_block(buf[pos:end], "chunked trailers")
        if len(lines) > self._max_headers:
            raise RemoteProtocolError(
                f"client sent more than {self._max_headers} trailer lines", 431
            )
        trailers = []
        for line in lines:
            name, sep, value = line.partition(":")
            if name not in _name_kind or not sep:
                _field_kind(name, sep, line)
            trailers.append((name, value.strip(" \t")))
        self._pos = end
        self._reader = RequestParser._paused
        return _new(EndOfMessage, (tuple(trailers),))

    def _need_body_data(self) -> Event:
        if self._eof:
            raise RemoteProtocolError(
                "client closed the connection in the middle of a chunked request body (truncated)"
            )
        return NEED_DATA

    def _paused(self) -> Event:
        return PAUSED

    def _closed(self) -> Event:
        return _CLOSED

    def _failed(self) -> Event:
        error = self._error
        assert error is not None
        raise RemoteProtocolError(error.args[0], error.status_hint)


_STATE_NAMES = {
    RequestParser._read_head: "HEAD",
    RequestParser._paused: "DONE",
    RequestParser._closed: "CLOSED",
    RequestParser._failed: "ERROR",
}


#: What :func:`chunked_body_parser` primes a parser with: a head announcing a chunked body.
_CHUNKED_HEAD = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunked_body_parser(max_body: int = 0, max_trailers: int = 4096) -> RequestParser:
    """A parser positioned at the start of a chunked body: feed it the body's bytes, get
    ``Data`` events, then ``EndOfMessage`` at the last chunk.

    The one chunked decoder, with its limits (``max_body``: de-chunked bytes, 0 for none;
    ``max_trailers``: bytes of trailers), for bodies whose head is not HTTP: a uwsgi
    request the ``--http`` router streams chunked (:mod:`gateway.protocol.uwsgi`) and a
    persistent worker connection's chunked answer (:mod:`gateway.protocol.upstream_response`).
    Bytes after the last chunk stay buffered (``buffered()``, ``trailing_data``).
    """
    parser = RequestParser(max_head=max(max_trailers, len(_CHUNKED_HEAD)), max_body=max_body)
    parser.receive_data(_CHUNKED_HEAD)
    parser.next_event()  # the primed Request
    return parser
