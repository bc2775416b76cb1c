"""Sans-IO parser of the HTTP response head a worker sends back over the uwsgi protocol.

A worker answers a uwsgi request with raw HTTP (uWSGI's wire format, see
``../shared/reference/uwsgi.md`` §1.4): a status line built from the request's
``SERVER_PROTOCOL``, the app's headers verbatim, a blank line, the body, then it
closes the connection.  The HTTP router relays that to clients that keep their
connections alive, so it must know where the body ends and how to frame it; this
module reads the head and says what the router needs, without doing any I/O::

    head = parse_response_head(buf, max_size=65536)   # None: need more bytes
    head.status, head.content_length, head.chunked, head.size
    out = head.rebuild(extra)                           # the head to send on

Only CRLF line ends are accepted (our worker and uWSGI's write them); a status
line that is not ``HTTP/1.x NNN reason`` or a head over ``max_size`` raises
:class:`UpstreamProtocolError`: the router answers 502.  The worker is trusted
less than a library but more than a client: conflicting ``Content-Length``
values, bad digits and control characters are refused all the same.

**Connection: close.**  A worker passes the app's ``Connection: close`` on (uWSGI's
worker verbatim, gateway's as a line of its own): :attr:`ResponseHead.client_close`, the
router closes the client's connection after this answer, as uWSGI's router does.

**Persistent worker connections** (gateway's own extension, see
:data:`gateway.protocol.uwsgi.KEEPALIVE_VAR`): a gateway worker asked to keep the
connection frames its answer (``Content-Length``, else ``Transfer-Encoding: chunked``)
and says ``Connection: gateway-close`` (:data:`~gateway.protocol.uwsgi.KEEPALIVE_END`)
when it closes anyway for its own reasons; either token sets
:attr:`ResponseHead.connection_close` (the worker's connection ends here).  :class:`ChunkedBody` reads such a chunked body without I/O: payload out, the
end of the body found, anything after it refused (nothing may follow an answer until
the next request)::

    body = ChunkedBody()
    pieces = body.feed(data)      # payload bytes in ``data`` (maybe none)
    body.done                     # True once the last chunk and trailers are in

Hop-by-hop headers the router owns (``Connection``, ``Keep-Alive``,
``Transfer-Encoding`` unless the worker chunked the body itself) are dropped by
:meth:`ResponseHead.rebuild`; everything else goes through verbatim, in order.
"""

from __future__ import annotations

import re
from typing import List, NamedTuple, Optional, Tuple, Union

from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1 import NEED_DATA, Data, EndOfMessage, chunked_body_parser
from gateway.protocol.uwsgi import KEEPALIVE_END

__all__ = ["ChunkedBody", "ResponseHead", "UpstreamProtocolError", "parse_response_head"]

Buffer = Union[bytes, bytearray]


class UpstreamProtocolError(Exception):
    """The worker's response head is malformed or too large (the router answers 502)."""


_CL = b"\r\ncontent-length:"
#: The header names the parser must look at, found in one pass over the lowered head; any
#: but Content-Length and Date makes the fast path give way to a line-by-line look.
_SPECIAL = re.compile(rb"\r\n(content-length|date|connection|keep-alive|proxy-connection|transfer-encoding|upgrade):")
#: A single plain Content-Length value (anything else goes through :func:`_content_length`).
_CL_VALUE = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]{1,19})[ \t]*(?:\r\n|\Z)")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: |\r\n|\Z)")
# Bytes allowed in a head line besides the CRLFs: HTAB, SP..~, obs-text.
_PLAIN = bytes([9]) + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
#: ``gateway-close``: a persistent worker connection ends, the client's does not
_KEEPALIVE_END_TOKEN = KEEPALIVE_END.partition(b":")[2].strip().lower()
_DROP = frozenset((b"connection", b"keep-alive", b"transfer-encoding", b"proxy-connection"))


class ResponseHead(NamedTuple):
    """What the router needs to know about a worker's response head."""

    #: the status code, e.g. 200
    status: int
    #: the status line as sent, without its CRLF (``b"HTTP/1.1 200 OK"``)
    status_line: bytes
    #: the header lines to pass on, joined by CRLF, without a final CRLF (``b""``: none)
    block: bytes
    #: the Content-Length value, None when absent
    content_length: Optional[int]
    #: the worker sent ``Transfer-Encoding: chunked`` (its body frames itself)
    chunked: bool
    #: a ``Date`` header is present
    has_date: bool
    #: the ``Upgrade`` header's value (for 101), else None
    upgrade: Optional[bytes]
    #: bytes of the head, blank line included: the body starts there
    size: int
    #: the worker said ``Connection: close`` or ``gateway-close`` (its connection ends here)
    connection_close: bool = False
    #: the app said ``Connection: close``: the client's connection ends after this answer too
    client_close: bool = False

    @property
    def lines(self) -> Tuple[bytes, ...]:
        """The header lines to pass on, each without its CRLF, in order."""
        return tuple(self.block.split(b"\r\n")) if self.block else ()

    def rebuild(self, extra: bytes = b"") -> bytes:
        """The head to send to the client: status line, kept lines, ``extra``, blank line.

        ``extra`` is pre-formatted header lines, each ending in CRLF.
        """
        if self.block:
            return b"%b\r\n%b\r\n%b\r\n" % (self.status_line, self.block, extra)
        return b"%b\r\n%b\r\n" % (self.status_line, extra)


def parse_response_head(buf: Buffer, max_size: int = 65536) -> Optional[ResponseHead]:
    """Parse the head at the start of ``buf``; None while it is incomplete.

    Raises :class:`UpstreamProtocolError` when it is malformed or longer than
    ``max_size`` bytes.
    """
    end = buf.find(b"\r\n\r\n", 0, max_size + 4)
    if end < 0:
        if len(buf) >= max_size:
            raise UpstreamProtocolError("response head longer than %d bytes" % max_size)
        if buf[:1] and buf[:1] != b"H":
            raise UpstreamProtocolError("response does not start with an HTTP status line: %r" % bytes(buf[:32]))
        return None
    size = end + 4
    if size > max_size:
        raise UpstreamProtocolError("response head longer than %d bytes" % max_size)
    head = bytes(buf[:end])
    residue = head.translate(None, _PLAIN)
    crlfs = head.count(b"\r\n")
    if len(residue) != 2 * crlfs or residue.count(b"\r\n") != crlfs:
        raise UpstreamProtocolError("response head holds a bare CR/LF or a control character")
    first = head.find(b"\r\n")
    status_line = head if first < 0 else head[:first]
    m = _STATUS_LINE.match(head)
    status = int(m.group(1)) if m is not None else 0
    if status < 100:
        _status(status_line)  # raises, saying what is wrong
    lowered = head.lower()
    # One pass finds every header the router must look at; usually just Content-Length.
    found = _SPECIAL.findall(lowered)
    content_length: Optional[int] = None
    has_date = False
    hop = False
    if found:
        cl = found.count(b"content-length")
        dates = found.count(b"date")
        has_date = dates > 0
        hop = len(found) > cl + dates
        if cl == 1:
            m = _CL_VALUE.search(lowered)
            content_length = int(m.group(1)) if m is not None else _content_length(head, lowered, lowered.find(_CL))
        elif cl:
            content_length = _content_length(head, lowered, lowered.find(_CL))
    if first < 0 or not hop:
        # The common case: nothing hop-by-hop, every header line goes on as is.
        block = head[first + 2 :] if first >= 0 else b""
        return ResponseHead(status, status_line, block, content_length, False, has_date, None, size)
    kept: List[bytes] = []
    chunked = False
    upgrade = None
    close = client_close = False
    for line in head[first + 2 :].split(b"\r\n"):
        name, sep, value = line.partition(b":")
        key = name.lower()
        if not sep or not name or name[-1:] in b" \t":
            raise UpstreamProtocolError("malformed response header line: %r" % line[:48])
        if key == b"transfer-encoding":
            codings = [c.strip(b" \t").lower() for c in value.split(b",")]
            if codings[-1] != b"chunked":
                raise UpstreamProtocolError("response Transfer-Encoding not ending in chunked: %r" % value[:48])
            chunked = True
            kept.append(line)
            continue
        if key == b"upgrade":
            upgrade = value.strip(b" \t")
            kept.append(line)
            continue
        if key in _DROP:
            if key == b"connection":
                tokens = [t.strip(b" \t").lower() for t in value.split(b",")]
                if b"close" in tokens:
                    close = client_close = True
                elif _KEEPALIVE_END_TOKEN in tokens:
                    close = True
            continue
        kept.append(line)
    if chunked and content_length is not None:
        raise UpstreamProtocolError("response has both Transfer-Encoding and Content-Length")
    if not chunked:
        # Without chunking there is nothing left for a Transfer-Encoding line to say.
        kept = [k for k in kept if k.partition(b":")[0].lower() != b"transfer-encoding"]
    return ResponseHead(status, status_line, b"\r\n".join(kept), content_length, chunked, has_date, upgrade, size,
                        close, client_close)


def _status(line: bytes) -> int:
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if (
        version not in (b"HTTP/1.1", b"HTTP/1.0")
        or len(code) != 3
        or not code.isdigit()
        or rest[3:4] not in (b"", b" ")
    ):
        raise UpstreamProtocolError("malformed response status line: %r" % line[:48])
    status = int(code)
    if status < 100:
        raise UpstreamProtocolError("response status below 100: %r" % line[:48])
    return status


def _content_length(head: bytes, lowered: bytes, pos: int) -> int:
    """The Content-Length value(s) from ``pos`` on: all equal, else an error."""
    value: Optional[int] = None
    while pos >= 0:
        start = pos + len(_CL)
        stop = lowered.find(b"\r\n", start)
        raw = head[start : stop if stop >= 0 else len(head)]
        for element in raw.split(b","):
            element = element.strip(b" \t")
            if not element.isdigit() or len(element) > 19:
                raise UpstreamProtocolError("invalid response Content-Length: %r" % raw[:32])
            number = int(element)
            if value is not None and value != number:
                raise UpstreamProtocolError("conflicting response Content-Length values")
            value = number
        pos = lowered.find(_CL, start)
    assert value is not None
    return value


class ChunkedBody:
    """A persistent worker connection's chunked answer body, decoded without I/O.

    The decoding is the HTTP parser's own (:func:`~gateway.protocol.http1.chunked_body_parser`,
    its limits included: ``max_trailers`` bytes of trailers, which are dropped).  Errors,
    and any byte after the last chunk, raise :class:`UpstreamProtocolError` (the router
    then cuts its client's connection: the head is already out).
    """

    __slots__ = ("_parser", "done")

    def __init__(self, max_trailers: int = 65536) -> None:
        self._parser = chunked_body_parser(0, max_trailers)
        #: the last chunk (and the trailers) arrived
        self.done = False

    def feed(self, data: bytes) -> List[bytes]:
        """The payload pieces ``data`` completes, in order (``data`` never empty)."""
        if self.done:
            raise UpstreamProtocolError("the worker sent %d bytes after a complete chunked answer" % len(data))
        parser = self._parser
        parser.receive_data(data)
        out: List[bytes] = []
        try:
            while True:
                event = parser.next_event()
                if type(event) is Data:
                    out.append(event.data)
                elif type(event) is EndOfMessage:
                    self.done = True
                    if parser.buffered():
                        raise UpstreamProtocolError(
                            "the worker sent %d bytes after a complete chunked answer" % parser.buffered())
                    return out
                elif event is NEED_DATA:
                    return out
                else:  # pragma: no cover - the parser only pauses after EndOfMessage
                    raise UpstreamProtocolError("chunked answer: unexpected %r" % (event,))
        except RemoteProtocolError as e:
            raise UpstreamProtocolError(
                "invalid chunked answer: %s" % str(e.args[0] if e.args else e).replace("client sent ", "")
            ) from None
