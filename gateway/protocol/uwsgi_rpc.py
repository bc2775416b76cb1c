"""Sans-IO uWSGI RPC (modifier1 173): uwsgi arrays, requests, replies; bytes in, values out.

The wire format (reference/uwsgi.md §1.7, captured in ``tests/fixtures/uwsgi_rpc/``):

* a **uwsgi array** is items of ``u16le length + bytes``;
* a **request** is a uwsgi packet ``ad <size:u16le> <modifier2>`` whose payload is an
  array: item 0 the function name, items 1..n the arguments (at most 254: the name and
  the arguments fit uWSGI's 255-slot table).  ``modifier2`` says how to answer:
  0 a reply packet, 1 the raw result (what nginx needs), 2 the HTTP bridge (the
  payload is a vars block and ``PATH_INFO`` is ``/func/arg1/arg2``);
* a **reply** to modifier2 0 is ``ad <len> 00`` + the result, or, for results over
  65535 bytes, ``ad <dictlen> 05`` + a vars dict ``{CONTENT_LENGTH: n}`` + n raw bytes.

Deliberate differences from uWSGI's parser, both about the documented nginx trick
(``uwsgi_param bar "";`` pads an odd item count): zero-length items are skipped as in
uWSGI, **including a trailing one** (uWSGI 2.0.31 rejects that packet: nginx 502), and
a request with more than 255 items is refused instead of silently truncated.

Our server also tells its failures apart in replies to modifier2 0: an empty packet
(size 0) whose modifier2 is one of :data:`REPLY_ERRORS` (``ad 00 00 0a`` = unknown
function, ``0b`` = the function raised, ``0c`` = malformed request).  A real uWSGI
client reads any size-0 reply as "no result" (``None``), so this stays compatible; a
real uWSGI server just closes the connection on every failure.

Nothing here does I/O: :func:`encode_request`/:func:`encode_reply` build bytes,
:func:`decode_request` parses a payload the packet layer (``protocol/uwsgi.py``) cut out,
and :class:`ReplyParser` consumes a reply incrementally (whole, byte by byte, any split).
"""

from __future__ import annotations

import struct
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from gateway.protocol.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "MODIFIER1", "MAX_ARGS", "MAX_ITEMS", "MAX_PACKET", "REPLY_ERRORS",
    "RPCWireError", "ArrayTruncated", "TooManyItems", "EmptyRequest", "BadReply", "ReplyTooLarge",
    "RequestTooLarge", "TooManyArguments",
    "encode_array", "decode_array", "encode_request", "decode_request", "encode_reply",
    "encode_error_reply", "http_bridge_call", "http_bridge_reply", "http_bridge_error", "ReplyParser",
]

MODIFIER1 = 173
#: modifier2 of a request: reply in a uwsgi packet / raw reply / HTTP bridge.
MOD2_PACKET, MOD2_RAW, MOD2_HTTP = 0, 1, 2
#: modifier2 of a reply: a CONTENT_LENGTH dict and the raw result follow.
MOD2_LARGE = 5
#: modifier2 of a size-0 reply from gateway, when the call failed (a uWSGI client sees None).
ERR_UNKNOWN, ERR_RAISED, ERR_BAD_REQUEST = 10, 11, 12
REPLY_ERRORS = {ERR_UNKNOWN: "unknown function", ERR_RAISED: "the function raised", ERR_BAD_REQUEST: "malformed request"}

MAX_PACKET = 0xFFFF
#: the function name plus its arguments (uWSGI's table has 255 slots).
MAX_ITEMS = 255
MAX_ARGS = MAX_ITEMS - 1

_U16 = struct.Struct("<H")
_HEADER = struct.Struct("<BHB")
Bytesish = Union[bytes, bytearray, memoryview, str]


class RPCWireError(RemoteProtocolError):
    """The peer sent bytes that are not a valid RPC request or reply."""


class ArrayTruncated(RPCWireError):
    """An item's length runs past the end of the packet (or a lone length byte is left)."""


class TooManyItems(RPCWireError):
    """More items than the function name and :data:`MAX_ARGS` arguments."""


class EmptyRequest(RPCWireError):
    """A request without a function name (size 0, or only zero-length items)."""


class BadReply(RPCWireError):
    """A reply that is not a reply packet (or a modifier2 5 reply without a valid CONTENT_LENGTH)."""


class ReplyTooLarge(RPCWireError):
    """A reply announcing a result larger than the caller's bound."""


class RequestTooLarge(LocalProtocolError, ValueError):
    """The function name and arguments do not fit one packet (65535 bytes)."""


class TooManyArguments(LocalProtocolError, ValueError):
    """More than :data:`MAX_ARGS` arguments."""


def _as_bytes(value: Bytesish, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be bytes or str, not %s" % (what, type(value).__name__))


# ------------------------------------------------------------------------------ arrays


def encode_array(items: Iterable[bytes]) -> bytes:
    """``u16le len + bytes`` for each item; an item over 65535 bytes is a ``ValueError``."""
    out = []
    for item in items:
        if len(item) > MAX_PACKET:
            raise RequestTooLarge("uwsgi array item of %d bytes (at most %d)" % (len(item), MAX_PACKET))
        out.append(_U16.pack(len(item)))
        out.append(item)
    return b"".join(out)


def decode_array(payload: bytes, max_items: int = MAX_ITEMS) -> List[bytes]:
    """The non-empty items of a uwsgi array (zero-length items are skipped, as uWSGI does)."""
    items: List[bytes] = []
    pos, end = 0, len(payload)
    while pos < end:
        if pos + 2 > end:
            raise ArrayTruncated("uwsgi array: a lone byte where an item length should be (offset %d)" % pos)
        (size,) = _U16.unpack_from(payload, pos)
        pos += 2
        if not size:
            continue
        if pos + size > end:
            raise ArrayTruncated(
                "uwsgi array: item of %d bytes at offset %d runs past the end (%d bytes)" % (size, pos - 2, end)
            )
        if len(items) >= max_items:
            raise TooManyItems("uwsgi array: more than %d items" % max_items)
        items.append(payload[pos:pos + size])
        pos += size
    return items


# ------------------------------------------------------------------------------ requests


def encode_request(func: Bytesish, args: Sequence[Bytesish] = (), modifier2: int = MOD2_PACKET) -> bytes:
    """A complete request packet.  ``str`` names and arguments are sent as UTF-8.

    Raises :class:`TooManyArguments` (> 254) or :class:`RequestTooLarge` (payload over
    65535 bytes), never truncates.
    """
    if len(args) > MAX_ARGS:
        raise TooManyArguments("RPC call with %d arguments (at most %d)" % (len(args), MAX_ARGS))
    name = _as_bytes(func, "RPC function name")
    if not name:
        raise ValueError("RPC function name must not be empty")
    items = [name]
    for i, a in enumerate(args):
        items.append(_as_bytes(a, "RPC argument %d" % (i + 1)))
    size = 2 * len(items) + sum(len(i) for i in items)
    if size > MAX_PACKET:
        raise RequestTooLarge("RPC request of %d bytes (name and arguments must fit in %d)" % (size, MAX_PACKET))
    return _HEADER.pack(MODIFIER1, size, modifier2) + encode_array(items)


def decode_request(payload: bytes) -> Tuple[bytes, List[bytes]]:
    """``(name, args)`` from the payload of a modifier2 0/1 request."""
    if not payload:
        raise EmptyRequest("empty RPC request")
    items = decode_array(payload)
    if not items:
        raise EmptyRequest("RPC request without a function name")
    return items[0], items[1:]


# ------------------------------------------------------------------------------ replies


def encode_reply(result: bytes, modifier2: int = MOD2_PACKET) -> List[bytes]:
    """What the server writes for ``result`` (then it closes), as a list of buffers.

    modifier2 1: the raw bytes.  modifier2 0: ``ad <len> 00`` + result, or the
    modifier2 5 form for results over 65535 bytes.
    """
    if modifier2 == MOD2_RAW:
        return [result]
    n = len(result)
    if n <= MAX_PACKET:
        return [_HEADER.pack(MODIFIER1, n, MOD2_PACKET) + result] if n < 16384 else [_HEADER.pack(MODIFIER1, n, MOD2_PACKET), result]
    value = str(n).encode()
    block = _U16.pack(14) + b"CONTENT_LENGTH" + _U16.pack(len(value)) + value
    return [_HEADER.pack(MODIFIER1, len(block), MOD2_LARGE) + block, result]


def encode_error_reply(code: int) -> bytes:
    """The size-0 reply that tells a gateway client why the call failed (:data:`REPLY_ERRORS`)."""
    return _HEADER.pack(MODIFIER1, 0, code)


class ReplyParser:
    """Incremental client-side parser of the reply to a modifier2 0 request.

    ``receive_data(chunk)`` (``b""`` at EOF) then ``result()``: ``None`` while more bytes
    are needed, else a tuple ``(status, value)``:

    * ``("ok", bytes)``: the result (``b""`` for a size-0 reply: "no result");
    * ``("error", code)``: a gateway server's failure reply (:data:`REPLY_ERRORS`);
    * ``("closed", None)``: the peer closed without sending a byte (how uWSGI says
      "unknown function", "exception" and "no result" alike).

    Raises :class:`BadReply` (EOF inside a reply, a bad modifier2 5 dict) and
    :class:`ReplyTooLarge` (more than ``max_result`` bytes announced).
    """

    __slots__ = ("max_result", "_buf", "_need", "_state", "_done")

    def __init__(self, max_result: int = 64 * 1024 * 1024) -> None:
        self.max_result = max_result
        self._buf = bytearray()
        self._state = 0  # 0 header, 1 packet body, 2 large dict, 3 large body
        self._need = 4
        self._done: Optional[Tuple[str, object]] = None

    def receive_data(self, data: bytes) -> Optional[Tuple[str, object]]:
        """Feed bytes (``b""`` = EOF); returns :meth:`result`."""
        if self._done is not None:
            return self._done
        if not data:
            if not self._buf and self._state == 0:
                self._done = ("closed", None)
                return self._done
            raise BadReply("RPC peer closed in the middle of a reply (%d of %d bytes)" % (len(self._buf), self._need))
        self._buf += data
        while self._done is None and len(self._buf) >= self._need:
            self._step()
        return self._done

    def result(self) -> Optional[Tuple[str, object]]:
        return self._done

    def _step(self) -> None:
        buf = self._buf
        if self._state == 0:
            _mod1, size, mod2 = _HEADER.unpack_from(buf, 0)
            del buf[:4]
            if mod2 == MOD2_LARGE:
                self._state, self._need = 2, size
            elif size == 0 and mod2 in REPLY_ERRORS:
                self._done = ("error", mod2)
            elif mod2 == MOD2_PACKET:
                self._state, self._need = 1, size
            else:
                raise BadReply("RPC reply with modifier2 %d (expected 0 or 5)" % mod2)
            self._check(self._need)
        elif self._state == 1:
            self._done = ("ok", bytes(buf[: self._need]))
        elif self._state == 2:
            block = bytes(buf[: self._need])
            del buf[: self._need]
            self._state, self._need = 3, _content_length(block)
            self._check(self._need)
        else:
            self._done = ("ok", bytes(buf[: self._need]))

    def _check(self, n: int) -> None:
        if n > self.max_result:
            raise ReplyTooLarge("RPC reply of %d bytes (the bound is %d)" % (n, self.max_result))


def _content_length(block: bytes) -> int:
    items = decode_array(block, max_items=2 * MAX_ITEMS)
    pairs: Dict[bytes, bytes] = dict(zip(items[0::2], items[1::2]))
    value = pairs.get(b"CONTENT_LENGTH")
    if value is None or not value.isdigit() or len(value) > 19:
        raise BadReply("RPC reply with modifier2 5 but no valid CONTENT_LENGTH (%r)" % (value,))
    return int(value)


# ------------------------------------------------------------------------------ HTTP bridge


def http_bridge_call(path_info: bytes) -> Optional[Tuple[bytes, List[bytes]]]:
    """``(name, args)`` from a modifier2 2 ``PATH_INFO`` (``/func/arg1/arg2``; empty
    segments are skipped), or None when there is no function name (uWSGI answers 500)."""
    parts = [p for p in path_info.split(b"/") if p]
    if not parts:
        return None
    if len(parts) > MAX_ITEMS:
        raise TooManyItems("RPC HTTP bridge: more than %d path segments" % MAX_ITEMS)
    return parts[0], parts[1:]


_BRIDGE_ERRORS = {
    404: b"404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nNot Found",
    500: b"500 Internal Server Error\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nInternal Server Error",
}


def _protocol(server_protocol: Optional[bytes]) -> bytes:
    return server_protocol if server_protocol in (b"HTTP/1.0", b"HTTP/1.1") else b"HTTP/1.0"


def http_bridge_reply(result: bytes, server_protocol: Optional[bytes], accept: Optional[bytes]) -> List[bytes]:
    """uWSGI's modifier2 2 success response: 200, Content-Length, a Content-Type from
    ``HTTP_ACCEPT`` unless absent or ``*``/``*/*`` (then ``application/binary``)."""
    ctype = accept if accept and accept not in (b"*", b"*/*") and b"\r" not in accept and b"\n" not in accept else b"application/binary"
    head = b"%s 200 OK\r\nContent-Length: %d\r\nContent-Type: %s\r\n\r\n" % (_protocol(server_protocol), len(result), ctype)
    return [head + result] if len(result) < 16384 else [head, result]


def http_bridge_error(status: int, server_protocol: Optional[bytes]) -> bytes:
    """uWSGI's modifier2 2 404 (unknown function, no result) or 500 (no name / failure)."""
    return _protocol(server_protocol) + b" " + _BRIDGE_ERRORS[status]
