"""The FastRouter's reading of a client's uwsgi packet head, sans-IO.

The FastRouter (uWSGI's ``--fastrouter``) speaks uwsgi on both sides: it reads the 4-byte
header and the vars block of the client's packet (nginx's ``uwsgi_pass``), takes the
routing key from the vars, and forwards the very same bytes (modifiers rewritten for a
subscribed node) followed by whatever the client sends next.  :class:`HeadReader` is fed
bytes and says when the head is complete; :func:`routing_key` is uWSGI's choice of key:
``UWSGI_FASTROUTER_KEY`` if present, else ``HTTP_HOST``, else ``SERVER_NAME``.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from gateway.protocol.uwsgi import HEADER_SIZE, UwsgiError, decode_header, decode_vars

__all__ = ["HeadReader", "Head", "routing_key", "MAX_KEY_SIZE"]

#: uWSGI keeps the key in a 255-byte buffer: a longer value is ignored
MAX_KEY_SIZE = 0xFF


class Head:
    """A complete packet head: the raw ``packet`` bytes (header + vars), its vars, and the
    bytes that followed it (the start of the body) in ``rest``."""

    __slots__ = ("modifier1", "modifier2", "packet", "vars", "rest")

    def __init__(self, modifier1: int, modifier2: int, packet: bytes, pairs: List[Tuple[bytes, bytes]],
                 rest: bytes) -> None:
        self.modifier1 = modifier1
        self.modifier2 = modifier2
        self.packet = packet
        self.vars = pairs
        self.rest = rest

    def with_modifiers(self, modifier1: int, modifier2: int) -> bytes:
        """The packet with its header's modifiers replaced (uWSGI does so for subscribed nodes)."""
        return bytes((modifier1,)) + self.packet[1:3] + bytes((modifier2,)) + self.packet[HEADER_SIZE:]


class HeadReader:
    """``feed(data)`` until it returns a :class:`Head`; raises :class:`UwsgiError` on a bad head.

    ``max_size``: the largest vars block accepted (``--fastrouter-buffer-size``, at most 65535).
    """

    def __init__(self, max_size: int = 0xFFFF, max_vars: int = 1024) -> None:
        self.max_size = max_size
        self.max_vars = max_vars
        self._buf = bytearray()

    def feed(self, data: bytes) -> Optional[Head]:
        buf = self._buf
        buf += data
        if len(buf) < HEADER_SIZE:
            return None
        modifier1, size, modifier2 = decode_header(bytes(buf[:HEADER_SIZE]))
        if size > self.max_size:
            raise UwsgiError("uwsgi packet head of %d bytes: over the %d-byte buffer" % (size, self.max_size))
        end = HEADER_SIZE + size
        if len(buf) < end:
            return None
        packet = bytes(buf[:end])
        rest = bytes(buf[end:])
        buf.clear()
        pairs = decode_vars(packet[HEADER_SIZE:], max_vars=self.max_vars)
        return Head(modifier1, modifier2, packet, pairs, rest)


def routing_key(pairs: List[Tuple[bytes, bytes]]) -> str:
    """uWSGI's key: ``UWSGI_FASTROUTER_KEY``, else ``HTTP_HOST``, else ``SERVER_NAME`` ("" if none)."""
    found: Dict[bytes, bytes] = {}
    for key, value in pairs:
        if key in (b"UWSGI_FASTROUTER_KEY", b"HTTP_HOST", b"SERVER_NAME") and len(value) <= MAX_KEY_SIZE:
            found.setdefault(key, value)
    for name in (b"UWSGI_FASTROUTER_KEY", b"HTTP_HOST", b"SERVER_NAME"):
        if name in found:
            return found[name].decode("latin-1")
    return ""
