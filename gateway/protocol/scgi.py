"""Sans-IO SCGI requests (nginx ``scgi_pass``): bytes in, events out.

The wire format (`the SCGI spec <https://python.ca/scgi/protocol.txt>`_)::

    netstring(headers) body        netstring = "<decimal length>:" bytes ","
    headers = name NUL value NUL ...

nginx sends ``CONTENT_LENGTH`` first and ``SCGI`` = ``1``, then its ``scgi_params``
and one ``HTTP_*`` per request header; the body (``CONTENT_LENGTH`` bytes) follows
unframed.  The answer is CGI-style (``Status: 200 OK`` and headers), written by the
server, not here.

Use it like :mod:`gateway.protocol.uwsgi`::

    p = ScgiParser(max_size=4096, max_vars=128)
    p.receive_data(sock_bytes)        # b"" means EOF
    ev = p.next_event()   # Request, then Data*, EndOfMessage, then PAUSED;
                          # NEED_DATA whenever bytes are missing;
                          # ConnectionClosed on EOF before a byte

Every malformation raises its own :class:`ScgiError` subclass; after an error every
call raises it again.  Decisions: like uWSGI, the order of the headers and the ``SCGI``
header are not checked (nginx gets them right; a stricter check would only refuse
other clients); unlike uWSGI, an odd trailing name without a value, an empty name, or a
``CONTENT_LENGTH`` that is not a decimal number is refused instead of silently dropped.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Tuple, Union

from gateway.protocol.byte_stream import ByteStreamParser
from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1 import NEED_DATA, PAUSED, ConnectionClosed, Data, EndOfMessage, Sentinel

__all__ = [
    "ScgiError", "HeaderTooLarge", "BadNetstring", "BadHeaders", "TooManyVars", "BadContentLength",
    "BodyTooLarge", "TruncatedRequest", "TruncatedBody",
    "Request", "ScgiParser", "encode_request", "NEED_DATA", "PAUSED", "Data", "EndOfMessage",
    "ConnectionClosed",
]


class ScgiError(RemoteProtocolError):
    """The peer sent bytes that are not a valid SCGI request."""


class HeaderTooLarge(ScgiError):
    """The netstring announces more than ``max_size`` bytes (``--buffer-size``)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__("invalid SCGI request size: %d (max %d)" % (size, limit), 431)


class BadNetstring(ScgiError):
    """The length prefix is not ``digits:``, or the headers do not end with ``,``."""


class BadHeaders(ScgiError):
    """The headers are not NUL-terminated ``name, value`` pairs with non-empty names."""


class TooManyVars(ScgiError):
    """More headers than ``max_vars``."""


class BadContentLength(ScgiError):
    """``CONTENT_LENGTH`` is not a decimal number."""


class BodyTooLarge(ScgiError):
    """``CONTENT_LENGTH`` above ``max_body`` (``--limit-post``)."""


class TruncatedRequest(ScgiError):
    """EOF inside the netstring."""


class TruncatedBody(ScgiError):
    """EOF before ``CONTENT_LENGTH`` body bytes arrived."""


class Request(NamedTuple):
    """The request headers.  Keys and values are ``str``, latin-1 decodings of the bytes."""

    #: ``(name, value)`` in wire order, duplicates kept
    vars: List[Tuple[str, str]]
    #: the body length (``CONTENT_LENGTH``; 0 when absent)
    content_length: int
    #: bytes of the netstring, prefix and comma included
    size: int
    #: ``dict(vars)``: the last duplicate wins
    env: Dict[str, str]


Event = Union[Request, Data, EndOfMessage, ConnectionClosed, Sentinel]

_HEAD, _BODY, _DONE = range(3)


def decode_headers(block: bytes, max_vars: int) -> List[Tuple[str, str]]:
    """``(name, value)`` pairs of a NUL-separated header block."""
    if not block:
        raise BadHeaders("SCGI request without headers")
    if block[-1:] != b"\0":
        raise BadHeaders("SCGI headers: the last one is not NUL-terminated")
    parts = block.decode("latin-1").split("\0")
    parts.pop()  # after the final NUL
    if len(parts) % 2:
        raise BadHeaders("SCGI headers: %r has no value" % (parts[-1][:64],))
    if len(parts) // 2 > max_vars:
        raise TooManyVars("SCGI request: %d headers, more than %d" % (len(parts) // 2, max_vars))
    pairs = list(zip(parts[0::2], parts[1::2]))
    for name, _ in pairs:
        if not name:
            raise BadHeaders("SCGI headers: an empty name")
    return pairs


def encode_request(pairs: List[Tuple[str, str]], body: bytes = b"") -> bytes:
    """A whole request as nginx sends it (``CONTENT_LENGTH`` and ``SCGI`` first, added here)."""
    items = [("CONTENT_LENGTH", str(len(body))), ("SCGI", "1")] + [
        (k, v) for k, v in pairs if k not in ("CONTENT_LENGTH", "SCGI")]
    block = b"".join(k.encode("latin-1") + b"\0" + v.encode("latin-1") + b"\0" for k, v in items)
    return b"%d:%b,%b" % (len(block), block, body)


class ScgiParser(ByteStreamParser):
    """One request (and its body) at a time; see the module docstring.

    ``max_size``: largest header block (``--buffer-size``); ``max_vars``: headers per
    request; ``max_body``: largest ``CONTENT_LENGTH`` (0: unlimited).
    """

    def __init__(self, max_size: int = 4096, max_vars: int = 128, max_body: int = 0) -> None:
        super().__init__()
        self.max_size = max_size
        self.max_vars = max_vars
        self.max_body = max_body
        self._digits = len(str(max_size))
        self._state = _HEAD

    error_class = ScgiError

    def _truncated_body(self, missing: int) -> ScgiError:
        return TruncatedBody("SCGI request body: EOF with %d of its bytes missing" % missing)

    def _next(self) -> Event:
        state = self._state
        buf = self._buf
        if state == _BODY:
            event = self._read_body()
            if type(event) is EndOfMessage:
                self._state = _DONE
            return event
        if state == _DONE:
            return PAUSED
        colon = buf.find(b":", 0, self._digits + 1)
        if colon < 0:
            if len(buf) > self._digits:
                digits = buf[: self._digits + 1]
                if digits.isdigit():
                    raise HeaderTooLarge(int(digits), self.max_size)
                raise BadNetstring("SCGI request does not start with a netstring length")
            if self._eof:
                if buf:
                    raise TruncatedRequest("EOF inside an SCGI netstring length")
                return ConnectionClosed()
            if buf and not buf.isdigit():
                raise BadNetstring("SCGI request does not start with a netstring length")
            return NEED_DATA
        digits = buf[:colon]
        if not digits.isdigit():
            raise BadNetstring("SCGI request does not start with a netstring length")
        size = int(digits)
        if size > self.max_size:
            raise HeaderTooLarge(size, self.max_size)
        end = colon + 1 + size
        if len(buf) <= end:
            if self._eof:
                raise TruncatedRequest("EOF inside an SCGI netstring: %d of %d bytes" % (len(buf) - colon - 1, size))
            return NEED_DATA
        if buf[end] != 0x2C:  # ","
            raise BadNetstring("SCGI netstring of %d bytes not followed by ','" % size)
        pairs = decode_headers(buf[colon + 1 : end], self.max_vars)
        env = dict(pairs)
        raw = env.get("CONTENT_LENGTH", "").strip()
        if raw and not (raw.isdigit() and raw.isascii()):
            raise BadContentLength("SCGI request: CONTENT_LENGTH %r is not a number" % raw[:32])
        cl = int(raw) if raw else 0
        if self.max_body and cl > self.max_body:
            raise BodyTooLarge("SCGI request: CONTENT_LENGTH %d over the limit %d" % (cl, self.max_body), 413)
        self._buf = buf[end + 1 :]
        self._body_left = cl
        self._state = _BODY
        return Request(pairs, cl, end + 1, env)
