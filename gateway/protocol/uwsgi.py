"""Sans-IO uwsgi packets: the 4-byte header, vars blocks, request bodies; bytes in, events out.

The wire format (reference/uwsgi.md §1, fixtures in ``tests/fixtures/uwsgi/``):

* a **packet** is ``modifier1:u8, size:u16le, modifier2:u8`` followed by ``size``
  bytes of payload.  ``modifier1`` selects the handler: 0 WSGI, 30 WSGI with
  ``SCRIPT_NAME`` stripped from ``PATH_INFO``, 100 ping, 173 RPC, ...;
* the payload of a WSGI request (modifier1 in ``vars_modifiers``) is a **vars block**:
  ``u16le keylen, key, u16le vallen, value`` repeated (nginx's ``uwsgi_params`` and one
  ``HTTP_*`` per request header);
* the request **body** follows the packet unframed; its length is ``CONTENT_LENGTH``
  (leading decimal digits, as uWSGI parses it; absent means no body).  One extension:
  a request *without* ``CONTENT_LENGTH`` whose ``HTTP_TRANSFER_ENCODING`` is ``chunked``
  (what gateway's ``--http`` router sends for a chunked upload it streams) has a
  chunked body, de-chunked here by the HTTP parser's own chunked reader, with its
  limits.  nginx always de-chunks and sends ``CONTENT_LENGTH``, which then wins.
* a second gateway-only extension, **persistent connections**: a request carrying the var
  :data:`KEEPALIVE_VAR` (``GATEWAY_KEEPALIVE``, sent only by gateway's own ``--http``
  router toward workers known to be gateway's) asks the worker to frame its HTTP answer
  (``Content-Length``, else ``Transfer-Encoding: chunked``) and to wait for the next packet
  on the same connection; when it closes anyway it says :data:`KEEPALIVE_END`
  (``Connection: gateway-close``: this worker connection ends, the client's does not), and
  when the app said ``Connection: close`` it says that (both end, as a worker answering
  without the var says it: the router in front closes the client's connection).  uWSGI matches
  its ``UWSGI_*`` vars by exact name, so the name cannot clash; a real uWSGI worker would
  pass it into the environ and close as usual.  The parser itself is unchanged: it
  already reads one packet after another (``start_next``).

Use it like :mod:`gateway.protocol.http1`::

    p = PacketParser(max_size=4096, max_vars=128)
    p.receive_data(sock_bytes)              # b"" means EOF
    ev = p.next_event()   # Request (vars modifiers), then Data*, EndOfMessage;
                          # or Packet (other modifiers, no body); then PAUSED until
                          # start_next(); NEED_DATA whenever bytes are missing;
                          # ConnectionClosed on EOF between packets

Every malformation raises its own :class:`UwsgiError` subclass (a
:class:`~gateway.protocol.errors.RemoteProtocolError`, so ``status_hint`` says what an
HTTP peer would be answered); after an error every call raises it again.

Decisions: a key that overruns the block is rejected (uWSGI's C parser re-reads from
inside it); a duplicate key is kept in ``vars`` in order (an environ built from it keeps
the last, as uWSGI's does); the size limit applies to every packet, whatever its
modifier1, as uWSGI's ``--buffer-size`` check does.

:func:`encode_header`, :func:`decode_header`, :func:`encode_vars` and
:func:`decode_vars` are the reusable pieces (the RPC codec in
:mod:`gateway.protocol.uwsgi_rpc` and clients build on them).
"""

from __future__ import annotations

import struct
from typing import Any, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Tuple, Union

from gateway.protocol.byte_stream import ByteStreamParser
from gateway.protocol.errors import LocalProtocolError, RemoteProtocolError
from gateway.protocol.http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    RequestParser,
    Sentinel,
    chunked_body_parser,
)

__all__ = [
    "HEADER_SIZE", "MAX_PACKET", "MOD1_WSGI", "MOD1_WSGI_STRIP", "MOD1_PING", "MOD1_RPC",
    "PING_REQUEST", "PING_REPLY", "VARS_MODIFIERS", "KEEPALIVE_VAR", "KEEPALIVE_END",
    "UwsgiError", "PacketTooLarge", "TooManyVars", "NullKey", "TruncatedVars", "EmptyRequest",
    "BodyTooLarge", "TruncatedPacket", "TruncatedBody", "BadChunkedBody",
    "encode_header", "decode_header", "encode_vars", "decode_vars", "encode_packet", "encode_request",
    "content_length", "PacketParser", "Request", "Packet", "Data", "EndOfMessage", "ConnectionClosed",
    "NEED_DATA", "PAUSED",
]

HEADER_SIZE = 4
MAX_PACKET = 0xFFFF
MOD1_WSGI = 0
MOD1_WSGI_STRIP = 30
MOD1_PING = 100
MOD1_RPC = 173
#: modifier1 values whose payload is a vars block followed by a CONTENT_LENGTH body.
VARS_MODIFIERS = frozenset((MOD1_WSGI, MOD1_WSGI_STRIP))
#: a ping and its answer (modifier2 1), as uWSGI sends them.
PING_REQUEST = b"\x64\x00\x00\x00"
PING_REPLY = b"\x64\x00\x00\x01"
#: the var by which gateway's HTTP router asks a gateway worker to keep the connection
#: for more packets (see the module docstring); its value is ``1``.
KEEPALIVE_VAR = "GATEWAY_KEEPALIVE"
#: the header line by which a worker says a persistent connection ends after this answer
#: for its own reasons (idle bound, stopping, an error), leaving the client's connection alone;
#: the app's ``Connection: close`` is passed on as such and ends both.
KEEPALIVE_END = b"Connection: gateway-close\r\n"

_HEADER = struct.Struct("<BHB")
_U16 = struct.Struct("<H")


# -- errors: one class per malformation -------------------------------------------------


class UwsgiError(RemoteProtocolError):
    """The peer sent bytes that are not a valid uwsgi packet."""


class PacketTooLarge(UwsgiError):
    """The header announces more than ``max_size`` bytes (uWSGI: ``invalid request block
    size: N (max M)...skip``).  ``size`` and ``limit`` are attributes."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__("invalid request block size: %d (max %d)" % (size, limit), 431)
        self.size = size
        self.limit = limit


class TooManyVars(UwsgiError):
    """More key/value pairs than ``max_vars`` (uWSGI: ``max vec size reached``)."""


class NullKey(UwsgiError):
    """A zero-length key (uWSGI: ``uwsgi key cannot be null``)."""


class TruncatedVars(UwsgiError):
    """A key or value length runs past the end of the vars block."""


class EmptyRequest(UwsgiError):
    """A WSGI packet with an empty vars block (uWSGI: ``Empty python request``)."""


class BodyTooLarge(UwsgiError):
    """``CONTENT_LENGTH`` above ``max_body`` (``--limit-post``)."""


class TruncatedPacket(UwsgiError):
    """EOF inside a packet header or payload."""


class TruncatedBody(UwsgiError):
    """EOF before ``CONTENT_LENGTH`` body bytes arrived."""


class BadChunkedBody(UwsgiError):
    """A chunked body (no ``CONTENT_LENGTH``, ``HTTP_TRANSFER_ENCODING: chunked``) that
    the chunked reader refuses: bad framing, truncation, or over ``max_body``."""


# -- events ----------------------------------------------------------------------------


class Request(NamedTuple):
    """A request whose payload is a vars block (modifier1 0, 30).  Keys and values are
    ``str``, latin-1 decodings of the bytes (PEP 3333's tunnelling)."""

    modifier1: int
    modifier2: int
    #: ``(key, value)`` in wire order, duplicates kept
    vars: List[Tuple[str, str]]
    #: the body length (``CONTENT_LENGTH``; 0 when absent)
    content_length: int
    #: bytes of the packet: header + vars block
    size: int
    #: the body is chunked (no CONTENT_LENGTH, HTTP_TRANSFER_ENCODING: chunked)
    chunked: bool = False
    #: ``dict(vars)``: the last duplicate wins, as in an environ
    env: Optional[Dict[str, str]] = None


class Packet(NamedTuple):
    """Any other packet (ping, RPC, ...): the raw payload; no body follows."""

    modifier1: int
    modifier2: int
    payload: bytes


Event = Union[Request, Packet, Data, EndOfMessage, ConnectionClosed, Sentinel]


# -- building blocks ---------------------------------------------------------------------


def encode_header(modifier1: int, size: int, modifier2: int = 0) -> bytes:
    """The 4-byte packet header."""
    if not 0 <= size <= MAX_PACKET:
        raise LocalProtocolError("uwsgi packet size %d out of range 0..65535" % size)
    return _HEADER.pack(modifier1, size, modifier2)


def decode_header(header: bytes) -> Tuple[int, int, int]:
    """``(modifier1, size, modifier2)`` from the first 4 bytes of ``header``."""
    if len(header) < HEADER_SIZE:
        raise TruncatedPacket("uwsgi header needs 4 bytes, got %d" % len(header))
    return _HEADER.unpack_from(header)


def _b(value: Union[str, bytes]) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            raise LocalProtocolError("uwsgi var %r is not latin-1 encodable" % (value,)) from None
    return bytes(value)


def encode_vars(pairs: Iterable[Tuple[Union[str, bytes], Union[str, bytes]]]) -> bytes:
    """A vars block from ``(key, value)`` pairs (``str`` is encoded as latin-1)."""
    parts: List[bytes] = []
    append = parts.append
    pack = _U16.pack
    for key, value in pairs:
        # bytes, the common case of the HTTP router's hot path, skip the _b() calls
        k = key if type(key) is bytes else _b(key)
        v = value if type(value) is bytes else _b(value)
        lk = len(k)
        lv = len(v)
        if not lk:
            raise LocalProtocolError("uwsgi var keys cannot be empty")
        if lk > MAX_PACKET or lv > MAX_PACKET:
            raise LocalProtocolError("uwsgi var %r: over 65535 bytes" % (k[:32],))
        append(pack(lk))
        append(k)
        append(pack(lv))
        append(v)
    return b"".join(parts)


def decode_vars(block: bytes, max_vars: int = 128, text: bool = False) -> List[Tuple[Any, Any]]:
    """``(key, value)`` pairs of a vars block; ``str`` (latin-1) when ``text``, else bytes.

    Raises :class:`NullKey`, :class:`TruncatedVars` or :class:`TooManyVars`.
    """
    # Decode the whole block once: latin-1 maps byte i to character i, so the same
    # offsets slice the str (one C call instead of one per key and value).  The loop
    # is the hot path of every request from nginx: bounds are checked by IndexError
    # inside it and by the final offset after it (an overrun always ends past ``n``).
    s = block.decode("latin-1") if text else block
    n = len(block)
    p = 0
    out: List[Tuple[Any, Any]] = []
    append = out.append
    try:
        while p < n:
            kl = block[p] | (block[p + 1] << 8)
            if not kl:
                raise NullKey("uwsgi vars block: empty key at offset %d" % p)
            k = p + 2
            v = k + kl
            vl = block[v] | (block[v + 1] << 8)
            p = v + 2 + vl
            append((s[k:v], s[v + 2 : p]))
    except IndexError:
        raise TruncatedVars("uwsgi vars block: a length runs past the end (var %d)" % (len(out) + 1)) from None
    if p > n:
        raise TruncatedVars("uwsgi vars block: the value of %r runs past the end" % (out[-1][0],))
    if len(out) > max_vars:
        raise TooManyVars("uwsgi vars block: %d vars, more than %d" % (len(out), max_vars))
    return out


def encode_packet(modifier1: int, payload: bytes, modifier2: int = 0) -> bytes:
    """Header + payload."""
    return encode_header(modifier1, len(payload), modifier2) + payload


def encode_request(
    pairs: Iterable[Tuple[Union[str, bytes], Union[str, bytes]]],
    body: bytes = b"",
    modifier1: int = MOD1_WSGI,
    modifier2: int = 0,
) -> bytes:
    """A whole WSGI request as nginx sends it: header, vars block, body.

    ``CONTENT_LENGTH`` is the caller's business (put it in ``pairs`` when there is a body).
    """
    block = encode_vars(pairs)
    if len(block) > MAX_PACKET:
        raise LocalProtocolError("uwsgi vars block of %d bytes: over 65535" % len(block))
    return encode_header(modifier1, len(block), modifier2) + block + body


def content_length(value: Optional[str]) -> int:
    """uWSGI's reading of ``CONTENT_LENGTH``: its leading decimal digits, 0 when none."""
    if not value:
        return 0
    if value.isdigit() and value.isascii():
        return int(value)
    i = 0
    while i < len(value) and "0" <= value[i] <= "9":
        i += 1
    return int(value[:i]) if i else 0


# -- the incremental parser --------------------------------------------------------------

_HEAD, _PAYLOAD, _BODY, _DONE, _ERROR, _CHUNKED = range(6)


class PacketParser(ByteStreamParser):
    """One packet (and its body) at a time; see the module docstring.

    ``max_size``: largest payload accepted (``--buffer-size``); ``max_vars``: key/value
    pairs per vars block; ``max_body``: largest ``CONTENT_LENGTH`` (0: unlimited);
    ``vars_modifiers``: modifier1 values whose payload is a vars block with a body.
    """

    def __init__(
        self,
        max_size: int = 4096,
        max_vars: int = 128,
        max_body: int = 0,
        vars_modifiers: FrozenSet[int] = VARS_MODIFIERS,
    ) -> None:
        super().__init__()
        self.max_size = max_size
        self.max_vars = max_vars
        self.max_body = max_body
        self.vars_modifiers = vars_modifiers
        self._state = _HEAD
        self._mod1 = 0
        self._mod2 = 0
        self._size = 0
        self._dechunker: Optional[RequestParser] = None

    error_class = UwsgiError

    def _failed(self) -> None:
        self._state = _ERROR

    def _truncated_body(self, missing: int) -> UwsgiError:
        return TruncatedBody("uwsgi request body: EOF with %d of its bytes missing" % missing)

    @property
    def chunk_ended(self) -> bool:
        """Whether the last ``Data`` event of a chunked body completed a chunk (see
        :attr:`gateway.protocol.http1.RequestParser.chunk_ended`)."""
        return self._dechunker is not None and self._dechunker.chunk_ended

    def take(self, n: int) -> bytes:
        """Up to ``n`` raw bytes received after a complete :class:`Packet` (a payload that
        follows it unframed, e.g. a remote cache value); ``b""`` when none are buffered."""
        if self._state != _DONE:
            raise LocalProtocolError("take() is for bytes after a complete packet")
        buf = self._buf
        if len(buf) <= n:
            self._buf = b""
            return buf
        self._buf = buf[n:]
        return buf[:n]

    def start_next(self) -> None:
        """Leave :data:`PAUSED` after a complete packet and parse the next one."""
        if self._state != _DONE:
            raise LocalProtocolError("start_next() before the current packet was complete")
        self._state = _HEAD

    def _next(self) -> Event:
        state = self._state
        buf = self._buf
        if state == _CHUNKED:
            return self._next_chunked()
        if state == _BODY:
            event = self._read_body()
            if type(event) is EndOfMessage:
                self._state = _DONE
            return event
        if state == _DONE:
            return PAUSED
        if state == _HEAD:
            if len(buf) < HEADER_SIZE:
                if self._eof:
                    if buf:
                        raise TruncatedPacket("EOF inside a uwsgi packet header (%d bytes)" % len(buf))
                    return ConnectionClosed()
                return NEED_DATA
            mod1, size, mod2 = _HEADER.unpack_from(buf)
            if size > self.max_size:
                raise PacketTooLarge(size, self.max_size)
            self._mod1, self._size, self._mod2 = mod1, size, mod2
            self._state = state = _PAYLOAD
        # _PAYLOAD
        size = self._size
        end = HEADER_SIZE + size
        if len(buf) < end:
            if self._eof:
                raise TruncatedPacket("EOF inside a uwsgi packet: %d of %d payload bytes" % (len(buf) - HEADER_SIZE, size))
            return NEED_DATA
        mod1 = self._mod1
        payload = buf[HEADER_SIZE:end]
        self._buf = buf[end:] if len(buf) > end else b""
        if mod1 not in self.vars_modifiers:
            self._state = _DONE
            return Packet(mod1, self._mod2, payload)
        if not size:
            raise EmptyRequest("empty uwsgi request (modifier1 %d, no vars)" % mod1)
        pairs = decode_vars(payload, self.max_vars, text=True)
        env = dict(pairs)  # the last duplicate wins, as in the environ
        raw_cl = env.get("CONTENT_LENGTH")
        cl = content_length(raw_cl)
        if raw_cl is None and env.get("HTTP_TRANSFER_ENCODING", "").strip().lower() == "chunked":
            self._dechunker = chunked_body_parser(self.max_body)
            self._state = _CHUNKED
            return Request(mod1, self._mod2, pairs, 0, end, True, env)
        if self.max_body and cl > self.max_body:
            raise BodyTooLarge("uwsgi request: CONTENT_LENGTH %d over the limit %d" % (cl, self.max_body), 413)
        self._body_left = cl
        self._state = _BODY
        return Request(mod1, self._mod2, pairs, cl, end, False, env)

    def _next_chunked(self) -> Event:
        d = self._dechunker
        assert d is not None
        if self._buf:
            d.receive_data(self._buf)
            self._buf = b""
        try:
            ev = d.next_event()
            if ev is NEED_DATA and self._eof:
                d.receive_data(b"")
                ev = d.next_event()
        except RemoteProtocolError as e:
            raise BadChunkedBody("chunked request body: %s" % e.args[0], e.status_hint) from None
        if type(ev) is EndOfMessage:
            self._state = _DONE
            self._dechunker = None
            return EndOfMessage()
        if type(ev) is Data or ev is NEED_DATA:
            return ev
        raise BadChunkedBody("chunked request body: unexpected %r" % (ev,))
