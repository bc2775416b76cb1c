"""RFC 6455 WebSocket framing, sans-IO: bytes in, events out; events in, bytes out.

:class:`FrameReader` is the server side of one connection after the ``101``: feed it
the raw bytes the client sends (:meth:`~FrameReader.receive_data`, ``b""`` for EOF) and
pull events with :meth:`~FrameReader.next_event` until it returns :data:`NEED_DATA`:

* :class:`Message`: a complete data message (``TEXT`` or ``BINARY``), fragments
  reassembled, the payload unmasked; a text message is valid UTF-8 (checked while the
  fragments arrive, so a bad byte fails at once, not after the last fragment);
* :class:`Ping` / :class:`Pong`: control frames (they may arrive between fragments);
* :class:`Close`: the peer's CLOSE frame, with its status code and reason.  Nothing
  is parsed after it.

The reader never writes anything: answering a PING with a PONG, or a CLOSE with a
CLOSE, is the I/O layer's job (:func:`build_frame`, :func:`close_frame`).

A peer that breaks the protocol gets :class:`WebSocketError` raised, whose ``code`` is
the close status to answer with (``1002`` protocol error, ``1007`` invalid UTF-8,
``1009`` too big: :class:`MessageTooBig`, a distinct class for ``--websockets-max-size``).
Once it raised, the reader raises the same error again: the connection is over.
:class:`MessageTooBig` is the exception: the framing is intact, so the reader drops
the oversized message unbuffered and goes on (a server answering 1009 can still read
the peer's CLOSE).

:func:`accept_key` computes the handshake's ``Sec-WebSocket-Accept`` (RFC 6455 §4.2.2).
This module imports only the standard library.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import os
import struct
from typing import List, Optional, Union

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "NEED_DATA",
    "PING",
    "PONG",
    "TEXT",
    "Close",
    "FrameReader",
    "Message",
    "MessageTooBig",
    "Ping",
    "Pong",
    "WebSocketError",
    "accept_key",
    "apply_mask",
    "build_frame",
    "close_frame",
    "parse_close_payload",
]

CONTINUATION = 0x0
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8
PING = 0x9
PONG = 0xA

_DATA_OPCODES = (CONTINUATION, TEXT, BINARY)
_CONTROL_OPCODES = (CLOSE, PING, PONG)

#: Close status codes (RFC 6455 §7.4.1).
NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
UNSUPPORTED_DATA = 1003
NO_STATUS = 1005  # never on the wire: "the CLOSE frame had no payload"
ABNORMAL_CLOSURE = 1006  # never on the wire
INVALID_PAYLOAD = 1007
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
MANDATORY_EXTENSION = 1010
INTERNAL_ERROR = 1011

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_CONTROL_PAYLOAD = 125


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by :meth:`FrameReader.next_event` when more bytes are needed.
NEED_DATA = _NeedData()


class Message:
    """A complete data message: ``opcode`` is :data:`TEXT` or :data:`BINARY`, ``data`` bytes."""

    __slots__ = ("opcode", "data")

    def __init__(self, opcode: int, data: bytes) -> None:
        self.opcode = opcode
        self.data = data

    def __eq__(self, other: object) -> bool:
        return type(other) is Message and other.opcode == self.opcode and other.data == self.data

    def __repr__(self) -> str:
        return "Message(%s, %r)" % ("TEXT" if self.opcode == TEXT else "BINARY", self.data[:40])


class Ping:
    """A PING control frame; answer with a PONG carrying the same ``payload``."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return type(other) is Ping and other.payload == self.payload

    def __repr__(self) -> str:
        return "Ping(%r)" % (self.payload,)


class Pong:
    """A PONG control frame (an answer to our PING, or unsolicited: a heartbeat)."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return type(other) is Pong and other.payload == self.payload

    def __repr__(self) -> str:
        return "Pong(%r)" % (self.payload,)


class Close:
    """The peer's CLOSE frame: ``code`` (1005 when it carried no status) and ``reason``."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return type(other) is Close and other.code == self.code and other.reason == self.reason

    def __repr__(self) -> str:
        return "Close(%d, %r)" % (self.code, self.reason)


Event = Union[Message, Ping, Pong, Close]


class WebSocketError(Exception):
    """The peer broke RFC 6455; ``code`` is the close status to send before closing.

    ``args[0]`` is a one-line message, safe to log (peer bytes appear only via ``repr``).
    """

    def __init__(self, msg: str, code: int = PROTOCOL_ERROR) -> None:
        super().__init__(msg)
        self.code = code


class MessageTooBig(WebSocketError):
    """A message (or a single frame) would exceed ``max_size`` (``--websockets-max-size``)."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg, MESSAGE_TOO_BIG)


def _valid_close_code(code: int) -> bool:
    # RFC 6455 §7.4.1/§7.4.2 and the IANA registry: 1000-1003, 1007-1014 are defined
    # and sendable; 3000-4999 belong to libraries and applications.  1004-1006 and
    # 1015 are reserved or must never appear on the wire.
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def parse_close_payload(payload: bytes) -> Close:
    """Decode a CLOSE frame's payload; raises :class:`WebSocketError` if it is invalid."""
    if not payload:
        return Close(NO_STATUS, "")
    if len(payload) == 1:
        raise WebSocketError("CLOSE frame with a 1-byte payload")
    (code,) = struct.unpack_from("!H", payload)
    if not _valid_close_code(code):
        raise WebSocketError("CLOSE frame with invalid status code %d" % code)
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise WebSocketError("CLOSE frame reason is not valid UTF-8", INVALID_PAYLOAD) from None
    return Close(code, reason)


def apply_mask(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte masking ``key`` repeated (masking and unmasking alike)."""
    n = len(data)
    if n == 0:
        return b""
    # One big-integer XOR is linear and runs in C: ~100x faster than a Python loop.
    repeated = (key * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


def build_frame(opcode: int, payload: bytes = b"", fin: bool = True, mask: Optional[bytes] = None,
                rsv: int = 0) -> bytes:
    """One frame's bytes.  Servers send unmasked frames (``mask=None``); a client passes
    4 random bytes as ``mask``.  ``rsv`` sets the reserved bits (tests only)."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | opcode
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask is not None:
        return head + mask + apply_mask(payload, mask)
    return head + payload


def close_frame(code: Optional[int] = NORMAL_CLOSURE, reason: str = "", mask: Optional[bytes] = None) -> bytes:
    """A CLOSE frame with ``code`` and ``reason`` (``code=None``: an empty payload)."""
    if code is None:
        return build_frame(CLOSE, b"", mask=mask)
    payload = struct.pack("!H", code) + reason.encode("utf-8")
    if len(payload) > _MAX_CONTROL_PAYLOAD:
        payload = payload[:_MAX_CONTROL_PAYLOAD]
    return build_frame(CLOSE, payload, mask=mask)


def accept_key(key: Union[str, bytes]) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key`` (RFC 6455 §4.2.2)."""
    if isinstance(key, str):
        key = key.encode("latin-1")
    return base64.b64encode(hashlib.sha1(key.strip() + _GUID).digest()).decode("ascii")


def new_client_key() -> str:
    """A random ``Sec-WebSocket-Key`` (for clients and tests)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


class FrameReader:
    """The receiving half of one WebSocket connection (see the module docstring).

    ``max_size`` bounds a whole message (all its fragments together) and is checked
    from a frame's header, before its payload is buffered: an oversized message costs
    at most one frame header of memory.  ``require_mask`` (the server side, RFC 6455
    §5.1) rejects unmasked frames; a client reader passes False.
    """

    __slots__ = (
        "max_size", "require_mask", "_buf", "_pos", "_error", "_closed",
        "_frag_opcode", "_frag_parts", "_frag_size", "_utf8", "_skip", "_skip_message",
    )

    def __init__(self, max_size: int = 1 << 20, require_mask: bool = True) -> None:
        self.max_size = max_size
        self.require_mask = require_mask
        self._buf = bytearray()
        self._pos = 0
        self._error: Optional[WebSocketError] = None
        self._closed = False  # a CLOSE was parsed: nothing follows it
        self._frag_opcode = 0  # opcode of the message being reassembled, 0 when none
        self._frag_parts: List[bytes] = []
        self._frag_size = 0
        self._utf8: Optional[codecs.IncrementalDecoder] = None
        self._skip = 0  # payload bytes of an oversized frame still to drop
        self._skip_message = False  # drop continuation frames up to the oversized message's end

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer.  (EOF is the I/O layer's business: after it, events
        still buffered are delivered, then the connection is over.)"""
        if data and not self._closed and self._error is None:
            if self._skip and self._pos == len(self._buf):
                # Dropping an oversized payload: never buffer it.
                n = min(self._skip, len(data))
                self._skip -= n
                data = data[n:]
            self._buf += data

    @property
    def in_message(self) -> bool:
        """True while a fragmented message is half received."""
        return self._frag_opcode != 0

    def buffered(self) -> int:
        """Bytes received and not parsed yet."""
        return len(self._buf) - self._pos

    def next_event(self) -> Union[Event, _NeedData]:
        """The next event, or :data:`NEED_DATA`; raises :class:`WebSocketError`."""
        if self._error is not None:
            raise self._error
        try:
            while True:
                if self._closed:
                    return NEED_DATA
                event = self._next_frame()
                if event is not None:
                    return event
        except MessageTooBig:
            raise
        except WebSocketError as e:
            self._error = e
            self._buf = bytearray()
            self._pos = 0
            raise

    def _next_frame(self) -> Union[Event, _NeedData, None]:
        """Parse one frame; None when it was a fragment that completes nothing yet."""
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if self._skip:
            n = min(self._skip, avail)
            self._skip -= n
            self._pos = pos = pos + n
            avail -= n
            if self._skip:
                return NEED_DATA
        if avail < 2:
            return NEED_DATA
        b0 = buf[pos]
        b1 = buf[pos + 1]
        fin = b0 & 0x80
        opcode = b0 & 0x0F
        masked = b1 & 0x80
        length = b1 & 0x7F
        if b0 & 0x70:
            raise WebSocketError("reserved bits set (0x%x) without a negotiated extension" % (b0 & 0x70))
        is_control = opcode >= 8
        if is_control:
            if opcode not in _CONTROL_OPCODES:
                raise WebSocketError("reserved control opcode 0x%x" % opcode)
            if not fin:
                raise WebSocketError("fragmented control frame (opcode 0x%x)" % opcode)
            if length > _MAX_CONTROL_PAYLOAD:
                raise WebSocketError("control frame payload of %d bytes (max 125)" % length)
        elif opcode not in _DATA_OPCODES:
            raise WebSocketError("reserved data opcode 0x%x" % opcode)
        elif opcode == CONTINUATION:
            if self._skip_message:
                return self._drop_frame(pos, avail, b1, bool(fin))
            if not self._frag_opcode:
                raise WebSocketError("continuation frame without a message to continue")
        elif self._frag_opcode or self._skip_message:
            raise WebSocketError("new data frame (opcode 0x%x) inside a fragmented message" % opcode)
        if self.require_mask and not masked:
            raise WebSocketError("unmasked frame from the client (RFC 6455 §5.1)")
        head = 2
        if length == 126:
            if avail < 4:
                return NEED_DATA
            (length,) = struct.unpack_from("!H", buf, pos + 2)
            head = 4
        elif length == 127:
            if avail < 10:
                return NEED_DATA
            (length,) = struct.unpack_from("!Q", buf, pos + 2)
            if length >> 63:
                raise WebSocketError("frame length with the most significant bit set")
            head = 10
        if not is_control and self._frag_size + length > self.max_size:
            size = self._frag_size + length
            # Not sticky: the stream is still well framed.  Its payload (and the rest
            # of its message) will be dropped unbuffered, so a server that answered
            # 1009 can still read the peer's CLOSE that follows.
            self._pos = pos + head + (4 if masked else 0)
            self._skip = length
            self._skip_message = not fin
            self._frag_opcode = 0
            self._frag_parts = []
            self._frag_size = 0
            self._utf8 = None
            raise MessageTooBig("message of %d bytes or more exceeds the limit of %d bytes" % (size, self.max_size))
        if masked:
            head += 4
        end = head + length
        if avail < end:
            return NEED_DATA
        start = pos + head
        payload = bytes(buf[start:start + length])
        if masked:
            payload = apply_mask(payload, bytes(buf[start - 4:start]))
        pos += end
        if pos == len(buf):
            buf.clear()
            pos = 0
        elif pos > 65536 and pos > len(buf) >> 1:
            del buf[:pos]
            pos = 0
        self._pos = pos
        if is_control:
            if opcode == PING:
                return Ping(payload)
            if opcode == PONG:
                return Pong(payload)
            close = parse_close_payload(payload)
            self._closed = True
            self._buf = bytearray()
            self._pos = 0
            return close
        if opcode != CONTINUATION:
            if fin:
                if opcode == TEXT:
                    _check_utf8(payload)
                return Message(opcode, payload)
            self._frag_opcode = opcode
            self._frag_parts = [payload]
            self._frag_size = length
            if opcode == TEXT:
                self._utf8 = codecs.getincrementaldecoder("utf-8")()
                self._feed_utf8(payload, False)
            return None
        self._frag_parts.append(payload)
        self._frag_size += length
        if self._utf8 is not None:
            self._feed_utf8(payload, bool(fin))
        if not fin:
            return None
        message = Message(self._frag_opcode, b"".join(self._frag_parts))
        self._frag_opcode = 0
        self._frag_parts = []
        self._frag_size = 0
        self._utf8 = None
        return message

    def _drop_frame(self, pos: int, avail: int, b1: int, fin: bool) -> Union[_NeedData, None]:
        """Drop one continuation frame of a message refused as too big."""
        length = b1 & 0x7F
        head = 2
        if length == 126:
            if avail < 4:
                return NEED_DATA
            (length,) = struct.unpack_from("!H", self._buf, pos + 2)
            head = 4
        elif length == 127:
            if avail < 10:
                return NEED_DATA
            (length,) = struct.unpack_from("!Q", self._buf, pos + 2)
            head = 10
        if b1 & 0x80:
            head += 4
        if avail < head:
            return NEED_DATA
        self._pos = pos + head
        self._skip = length
        if fin:
            self._skip_message = False
        return None

    def _feed_utf8(self, data: bytes, final: bool) -> None:
        try:
            self._utf8.decode(data, final)  # type: ignore[union-attr]
        except UnicodeDecodeError:
            raise WebSocketError("text message is not valid UTF-8", INVALID_PAYLOAD) from None


def _check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise WebSocketError("text message is not valid UTF-8", INVALID_PAYLOAD) from None
