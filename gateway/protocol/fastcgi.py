"""Sans-IO FastCGI, the responder role (nginx ``fastcgi_pass``): bytes in, events out.

The wire format (`FastCGI 1.0 <https://fastcgi-archives.github.io/FastCGI_Specification.html>`_):
every message is a **record**, an 8-byte header ``version:u8 (1), type:u8,
request_id:u16be, content_length:u16be, padding_length:u8, reserved:u8`` followed by
the content and the padding.  A request is::

    BEGIN_REQUEST (role RESPONDER, flags: KEEP_CONN)
    PARAMS ... PARAMS(empty)      name-value pairs: lengths of 1 byte (< 128) or 4 (high bit set)
    STDIN ... STDIN(empty)        the body
    <- STDOUT ... END_REQUEST     the CGI-style answer (``Status: 200 OK`` + headers + body)

Records with request id 0 are management records: ``GET_VALUES`` is answered with
``GET_VALUES_RESULT``, any other type with ``UNKNOWN_TYPE`` (the server builds those
answers with :func:`encode_get_values_result` / :func:`encode_unknown_type`).

Use it like :mod:`gateway.protocol.uwsgi`::

    p = FastCGIParser(max_params=4096, max_vars=128)
    p.receive_data(sock_bytes)        # b"" means EOF
    ev = p.next_event()   # Request, then Data*, EndOfMessage, then PAUSED until
                          # start_next() (KEEP_CONN); Management / Rejected / Aborted
                          # at any time; NEED_DATA whenever bytes are missing;
                          # ConnectionClosed on EOF between requests

One request at a time per connection, as nginx sends them: a ``BEGIN_REQUEST`` for
another id while one is active gets :class:`Rejected` with ``CANT_MPX_CONN`` (the spec's
answer, and ``FCGI_MPXS_CONNS`` is 0), a role other than RESPONDER or AUTHORIZER (lighttpd's
``"mode" => "authorizer"``, Apache's ``mod_authnz_fcgi``: the app runs as for a responder,
as in uWSGI) ``UNKNOWN_ROLE``.
Records for an id that is not active are ignored, as the spec says.

Every malformation raises its own :class:`FastCGIError` subclass; after an error every
call raises it again.  Limits: the PARAMS stream of a request is at most ``max_params``
bytes (``--buffer-size``, as uWSGI), at most ``max_vars`` pairs; a ``CONTENT_LENGTH``
above ``max_body`` (``--limit-post``) is refused, and so are STDIN bytes beyond it.
"""

from __future__ import annotations

import struct
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple, Union

from gateway.protocol.byte_stream import ByteStreamParser
from gateway.protocol.errors import LocalProtocolError, RemoteProtocolError
from gateway.protocol.http1 import NEED_DATA, PAUSED, ConnectionClosed, Data, EndOfMessage, Sentinel

__all__ = [
    "VERSION", "BEGIN_REQUEST", "ABORT_REQUEST", "END_REQUEST", "PARAMS", "STDIN", "STDOUT",
    "STDERR", "DATA", "GET_VALUES", "GET_VALUES_RESULT", "UNKNOWN_TYPE", "RESPONDER", "AUTHORIZER", "FILTER",
    "KEEP_CONN", "REQUEST_COMPLETE", "CANT_MPX_CONN", "OVERLOADED", "UNKNOWN_ROLE", "MAX_CONTENT",
    "FastCGIError", "BadVersion", "ParamsTooLarge", "TooManyVars", "BadParams", "UnexpectedRecord",
    "BodyTooLarge", "TruncatedRecord", "TruncatedRequest",
    "Request", "Management", "Rejected", "Aborted", "FastCGIParser",
    "encode_record", "encode_stdout", "encode_end_request", "encode_params", "decode_params",
    "encode_begin_request", "encode_request", "encode_get_values_result", "encode_unknown_type",
    "NEED_DATA", "PAUSED", "Data", "EndOfMessage", "ConnectionClosed",
]

VERSION = 1
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
DATA = 8
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11
#: the roles served: both run the app, which answers as the role asks (an authorizer's
#: ``Status: 200`` grants, any other status denies; ``Variable-*`` headers pass values on)
RESPONDER = 1
AUTHORIZER = 2
#: refused with UNKNOWN_ROLE: its file (the DATA stream) could not reach a WSGI app
FILTER = 3
#: BEGIN_REQUEST flag: keep the connection open after END_REQUEST
KEEP_CONN = 1
# END_REQUEST protocol status
REQUEST_COMPLETE = 0
CANT_MPX_CONN = 1
OVERLOADED = 2
UNKNOWN_ROLE = 3
#: largest record content
MAX_CONTENT = 0xFFFF
HEADER_SIZE = 8

_HEADER = struct.Struct(">BBHHBB")
_BEGIN_BODY = struct.Struct(">HB5x")
_END_BODY = struct.Struct(">IB3x")
_U32 = struct.Struct(">I")


# -- errors: one class per malformation -------------------------------------------------


class FastCGIError(RemoteProtocolError):
    """The peer sent bytes that are not valid FastCGI."""


class BadVersion(FastCGIError):
    """A record whose version is not 1 (often: not FastCGI at all, e.g. an HTTP request)."""


class ParamsTooLarge(FastCGIError):
    """The PARAMS stream of a request is over ``max_params`` bytes (``--buffer-size``)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__("invalid FastCGI PARAMS size: %d (max %d)" % (size, limit), 431)


class TooManyVars(FastCGIError):
    """More name-value pairs than ``max_vars``."""


class BadParams(FastCGIError):
    """A name-value pair that runs past the end of the PARAMS stream, or an empty name."""


class UnexpectedRecord(FastCGIError):
    """A record that cannot come at this point (STDIN before the PARAMS ended, a
    BEGIN_REQUEST body that is not 8 bytes, ...)."""


class BodyTooLarge(FastCGIError):
    """``CONTENT_LENGTH``, or the STDIN bytes received, above ``max_body`` (``--limit-post``)."""


class TruncatedRecord(FastCGIError):
    """EOF inside a record."""


class TruncatedRequest(FastCGIError):
    """EOF while a request was still being received (before its empty STDIN record)."""


# -- events ----------------------------------------------------------------------------


class Request(NamedTuple):
    """A request whose PARAMS are complete.  Keys and values are ``str`` (latin-1)."""

    request_id: int
    #: ``(name, value)`` in wire order, duplicates kept
    vars: List[Tuple[str, str]]
    #: ``CONTENT_LENGTH`` (0 when absent)
    content_length: int
    #: the web server keeps the connection for more requests (flag KEEP_CONN)
    keep_conn: bool
    #: ``dict(vars)``: the last duplicate wins
    env: Dict[str, str]


class Management(NamedTuple):
    """A management record (request id 0): ``GET_VALUES`` with the names asked, or another
    type (``names`` empty), to be answered with ``UNKNOWN_TYPE``."""

    type: int
    names: List[str]


class Rejected(NamedTuple):
    """A BEGIN_REQUEST that cannot be served: answer END_REQUEST with ``protocol_status``."""

    request_id: int
    protocol_status: int


class Aborted(NamedTuple):
    """ABORT_REQUEST for the active request: the web server's client went away."""

    request_id: int


Event = Union[Request, Data, EndOfMessage, Management, Rejected, Aborted, ConnectionClosed, Sentinel]


# -- building blocks ---------------------------------------------------------------------


def encode_record(rtype: int, request_id: int, content: bytes = b"") -> bytes:
    """One record (no padding); ``content`` at most :data:`MAX_CONTENT` bytes."""
    if len(content) > MAX_CONTENT:
        raise LocalProtocolError("FastCGI record content of %d bytes: over 65535" % len(content))
    return _HEADER.pack(VERSION, rtype, request_id, len(content), 0, 0) + content


def encode_stdout(request_id: int, data: bytes) -> bytes:
    """``data`` as STDOUT records of at most 65535 bytes each (nothing for empty data:
    an empty STDOUT record would end the stream)."""
    if len(data) <= MAX_CONTENT:
        return _HEADER.pack(VERSION, STDOUT, request_id, len(data), 0, 0) + data if data else b""
    view = memoryview(data)
    return b"".join(
        _HEADER.pack(VERSION, STDOUT, request_id, len(view[i : i + MAX_CONTENT]), 0, 0) + view[i : i + MAX_CONTENT]
        for i in range(0, len(data), MAX_CONTENT))


def encode_end_request(request_id: int, app_status: int = 0, protocol_status: int = REQUEST_COMPLETE,
                       close_stdout: bool = True) -> bytes:
    """The end of a request: an empty STDOUT record (when ``close_stdout``) and END_REQUEST."""
    end = encode_record(END_REQUEST, request_id, _END_BODY.pack(app_status & 0xFFFFFFFF, protocol_status))
    return (encode_record(STDOUT, request_id) + end) if close_stdout else end


def _length(n: int) -> bytes:
    return bytes((n,)) if n < 128 else _U32.pack(n | 0x80000000)


def encode_params(pairs: Iterable[Tuple[Union[str, bytes], Union[str, bytes]]]) -> bytes:
    """A name-value pair block (``str`` encoded as latin-1)."""
    out: List[bytes] = []
    for name, value in pairs:
        n = name.encode("latin-1") if isinstance(name, str) else name
        v = value.encode("latin-1") if isinstance(value, str) else value
        out.append(_length(len(n)) + _length(len(v)) + n + v)
    return b"".join(out)


def decode_params(block: bytes, max_vars: int = 128) -> List[Tuple[str, str]]:
    """``(name, value)`` pairs of a name-value pair block; raises :class:`BadParams` or
    :class:`TooManyVars`."""
    out: List[Tuple[str, str]] = []
    n = len(block)
    p = 0
    try:
        while p < n:
            lengths = []
            for _ in range(2):
                b = block[p]
                if b < 128:
                    lengths.append(b)
                    p += 1
                else:
                    if p + 4 > n:
                        raise IndexError
                    lengths.append(_U32.unpack_from(block, p)[0] & 0x7FFFFFFF)
                    p += 4
            kl, vl = lengths
            if not kl:
                raise BadParams("FastCGI params: an empty name (pair %d)" % (len(out) + 1))
            if p + kl + vl > n:
                raise BadParams("FastCGI params: pair %d runs past the end" % (len(out) + 1))
            out.append((block[p : p + kl].decode("latin-1"), block[p + kl : p + kl + vl].decode("latin-1")))
            p += kl + vl
            if len(out) > max_vars:
                raise TooManyVars("FastCGI params: more than %d pairs" % max_vars)
    except IndexError:
        raise BadParams("FastCGI params: a length runs past the end (pair %d)" % (len(out) + 1)) from None
    return out


def encode_begin_request(request_id: int, role: int = RESPONDER, flags: int = 0) -> bytes:
    return encode_record(BEGIN_REQUEST, request_id, _BEGIN_BODY.pack(role, flags))


def _stream(rtype: int, request_id: int, data: bytes) -> bytes:
    """``data`` as records of ``rtype`` followed by the empty record that ends the stream."""
    parts = [encode_record(rtype, request_id, data[i : i + MAX_CONTENT]) for i in range(0, len(data), MAX_CONTENT)]
    parts.append(encode_record(rtype, request_id))
    return b"".join(parts)


def encode_request(pairs: Iterable[Tuple[str, str]], body: bytes = b"", request_id: int = 1,
                   keep_conn: bool = False) -> bytes:
    """A whole request as a web server sends it (the client side: tests, fixtures)."""
    return (encode_begin_request(request_id, RESPONDER, KEEP_CONN if keep_conn else 0)
            + _stream(PARAMS, request_id, encode_params(pairs)) + _stream(STDIN, request_id, body))


def encode_get_values_result(pairs: Iterable[Tuple[str, str]]) -> bytes:
    return encode_record(GET_VALUES_RESULT, 0, encode_params(pairs))


def encode_unknown_type(rtype: int) -> bytes:
    return encode_record(UNKNOWN_TYPE, 0, bytes((rtype,)) + b"\0" * 7)


# -- the incremental parser --------------------------------------------------------------

_IDLE, _PARAMS, _STDIN, _DONE = range(4)


class FastCGIParser(ByteStreamParser):
    """One request at a time on a connection; see the module docstring."""

    def __init__(self, max_params: int = 4096, max_vars: int = 128, max_body: int = 0) -> None:
        super().__init__()
        self.max_params = max_params
        self.max_vars = max_vars
        self.max_body = max_body
        self._state = _IDLE
        self._id = 0
        self._keep = False
        self._params: List[bytes] = []
        self._params_size = 0
        self._received = 0
        self._queued: List[Event] = []

    error_class = FastCGIError

    @property
    def request_id(self) -> int:
        """The id of the active (or last) request."""
        return self._id

    @property
    def idle(self) -> bool:
        """No request is under way: waiting for a BEGIN_REQUEST."""
        return self._state == _IDLE

    def start_next(self) -> None:
        """After the request's EndOfMessage (and the answer): wait for the next BEGIN_REQUEST."""
        if self._state != _DONE:
            raise LocalProtocolError("start_next() before the current request was complete")
        self._state = _IDLE

    def _next(self) -> Event:
        while True:
            buf = self._buf
            if len(buf) < HEADER_SIZE:
                return self._short(buf)
            version, rtype, rid, clen, plen, _ = _HEADER.unpack_from(buf)
            if version != VERSION:
                raise BadVersion("FastCGI record version %d (expected 1)" % version)
            end = HEADER_SIZE + clen + plen
            if self._state == _DONE:
                return PAUSED  # the answer is not out yet: the next request waits
            if len(buf) < end:
                if self._eof:
                    raise TruncatedRecord("EOF inside a FastCGI record: %d of %d bytes" % (len(buf), end))
                return NEED_DATA
            content = buf[HEADER_SIZE : HEADER_SIZE + clen]
            self._buf = buf[end:] if len(buf) > end else b""
            event = self._record(rtype, rid, content)
            if event is not None:
                return event

    def _short(self, buf: bytes) -> Event:
        if self._state == _DONE:
            return PAUSED
        if not self._eof:
            return NEED_DATA
        if buf:
            raise TruncatedRecord("EOF inside a FastCGI record header (%d bytes)" % len(buf))
        if self._state == _IDLE:
            return ConnectionClosed()
        raise TruncatedRequest("FastCGI: EOF before the end of request %d" % self._id)

    def _record(self, rtype: int, rid: int, content: bytes) -> Optional[Event]:
        """The event for one complete record, or None when it is consumed silently."""
        if rid == 0:
            if rtype == GET_VALUES:
                return Management(rtype, [k for k, _ in decode_params(content, self.max_vars)])
            return Management(rtype, [])
        state = self._state
        if rtype == BEGIN_REQUEST:
            if len(content) != 8:
                raise UnexpectedRecord("FastCGI BEGIN_REQUEST with a %d-byte body (expected 8)" % len(content))
            role, flags = _BEGIN_BODY.unpack(content)
            if state != _IDLE:
                return Rejected(rid, CANT_MPX_CONN)
            if role != RESPONDER and role != AUTHORIZER:
                return Rejected(rid, UNKNOWN_ROLE)
            self._id = rid
            self._keep = bool(flags & KEEP_CONN)
            self._params = []
            self._params_size = 0
            self._received = 0
            self._state = _PARAMS
            return None
        if state == _IDLE or rid != self._id:
            return None  # a record for a request that is not active: ignored, as the spec says
        if rtype == ABORT_REQUEST:
            return Aborted(rid)
        if rtype == PARAMS:
            if state != _PARAMS:
                raise UnexpectedRecord("FastCGI PARAMS after the PARAMS stream ended")
            if content:
                self._params_size += len(content)
                if self._params_size > self.max_params:
                    raise ParamsTooLarge(self._params_size, self.max_params)
                self._params.append(content)
                return None
            pairs = decode_params(b"".join(self._params), self.max_vars)
            self._params = []
            env = dict(pairs)
            raw = env.get("CONTENT_LENGTH", "").strip()
            cl = int(raw) if raw.isdigit() and raw.isascii() else 0
            if self.max_body and cl > self.max_body:
                raise BodyTooLarge("FastCGI request: CONTENT_LENGTH %d over the limit %d" % (cl, self.max_body), 413)
            self._state = _STDIN
            return Request(rid, pairs, cl, self._keep, env)
        if rtype == STDIN:
            if state == _PARAMS:
                raise UnexpectedRecord("FastCGI STDIN before the end of the PARAMS stream")
            if not content:
                self._state = _DONE
                return EndOfMessage()
            self._received += len(content)
            if self.max_body and self._received > self.max_body:
                raise BodyTooLarge("FastCGI request body over the limit %d" % self.max_body, 413)
            return Data(content)
        return None  # DATA (filter role), or a type we do not know on a request: ignored
