"""uWSGI's remote cache protocol (modifier1 111, modifier2 17: "magic"), sans-IO.

What ``uwsgi.cache_get(key, "name@host:port")`` sends (uWSGI ``core/cache.c``,
``plugins/cache/cache.c``): one uwsgi packet ``111 / size / 17`` whose payload is a vars
block ``cmd`` (``get``, ``set``, ``update``, ``del``, ``exists``, ``clear``), ``key``,
``size`` (set/update: the value's length), ``expires`` (seconds, when not 0) and
``cache`` (the remote cache's name; absent = its default cache), followed by ``size``
bytes of value for set/update.  The server answers success with a packet ``111 / size
/ 17`` whose vars hold ``status`` = ``ok`` (and, for ``get``, ``size`` and maybe
``expires``), followed for ``get`` by ``size`` bytes of value; on any failure it closes
the connection without a byte.

:func:`encode_request` / :class:`ReplyParser` are the client side, :func:`decode_request`
/ :func:`encode_reply` the server side.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

from gateway.protocol.uwsgi import HEADER_SIZE, UwsgiError, decode_header, decode_vars, encode_header, encode_vars

MODIFIER1 = 111
MAGIC = 17
COMMANDS = ("get", "set", "update", "del", "exists", "clear")


class CacheWireError(ValueError):
    """A malformed remote-cache packet."""


def encode_request(cmd: str, key: bytes = b"", cache: Optional[bytes] = None, value: Optional[bytes] = None,
                   expires: int = 0) -> bytes:
    """The request packet (+ value) for ``cmd``."""
    if cmd not in COMMANDS:
        raise ValueError("unknown remote cache command %r" % cmd)
    pairs: List[Tuple[Union[str, bytes], Union[str, bytes]]] = [("cmd", cmd)]
    if cmd != "clear":
        pairs.append(("key", key))
    if value is not None:
        pairs.append(("size", str(len(value))))
    if expires:
        pairs.append(("expires", str(expires)))
    if cache:
        pairs.append(("cache", cache))
    block = encode_vars(pairs)
    return encode_header(MODIFIER1, len(block), MAGIC) + block + (value or b"")


def decode_request(payload: bytes) -> Dict[str, bytes]:
    """The vars of a request payload (server side); raises :class:`CacheWireError`."""
    try:
        pairs = decode_vars(payload, 16)
    except (ValueError, UwsgiError) as e:
        raise CacheWireError(str(e)) from None
    return {k.decode("latin-1"): v for k, v in pairs}


def number(value: Optional[bytes]) -> int:
    """uWSGI's ``uwsgi_str_num``: leading decimal digits, 0 when none."""
    if not value:
        return 0
    digits = b""
    for c in value:
        if 48 <= c <= 57:
            digits += bytes((c,))
        else:
            break
    return int(digits) if digits else 0


def encode_reply(value: Optional[bytes] = None, expires: int = 0) -> bytes:
    """A success reply (``status: ok``); with ``value`` for ``get``."""
    pairs: List[Tuple[Union[str, bytes], Union[str, bytes]]] = [("status", "ok")]
    if value is not None:
        pairs.append(("size", str(len(value))))
        if expires:
            pairs.append(("expires", str(expires)))
    block = encode_vars(pairs)
    return encode_header(MODIFIER1, len(block), MAGIC) + block + (value or b"")


class ReplyParser:
    """Client side: feed bytes (``b""`` = EOF); :meth:`receive_data` returns None until
    done, then ``("ok", value or None)`` or ``("closed", None)`` (the server's way of
    saying "failed").  ``max_value`` bounds the value a peer may send."""

    def __init__(self, max_value: int) -> None:
        self.max_value = max_value
        self._buf = b""
        self._vars: Optional[Dict[str, bytes]] = None
        self._need = 0

    def receive_data(self, data: bytes) -> Optional[Tuple[str, Optional[bytes]]]:
        if not data:
            return ("closed", None)
        self._buf += data
        if self._vars is None:
            if len(self._buf) < HEADER_SIZE:
                return None
            mod1, size, mod2 = decode_header(self._buf)
            if mod1 != MODIFIER1:
                raise CacheWireError("remote cache reply with modifier1 %d" % mod1)
            if len(self._buf) < HEADER_SIZE + size:
                return None
            try:
                pairs = decode_vars(self._buf[HEADER_SIZE: HEADER_SIZE + size], 16)
            except (ValueError, UwsgiError) as e:
                raise CacheWireError(str(e)) from None
            self._vars = {k.decode("latin-1"): v for k, v in pairs}
            self._buf = self._buf[HEADER_SIZE + size:]
            if self._vars.get("status") != b"ok":
                return ("closed", None)
            self._need = number(self._vars.get("size"))
            if self._need > self.max_value:
                raise CacheWireError("remote cache value of %d bytes: over the %d-byte limit" % (self._need, self.max_value))
        if len(self._buf) < self._need:
            return None
        return ("ok", self._buf[: self._need] if self._need else None)
