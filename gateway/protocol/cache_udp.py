"""uWSGI's cache replication datagrams (``--cache-udp-node`` / ``--cache-udp-server``,
cache2 ``nodes=`` / ``udp=``), sans-IO.

One datagram carries one change (uWSGI ``core/cache.c``, ``cache_send_udp_command`` and
``cache_udp_server_loop``): a uwsgi header ``111 / pktsize (LE16) / modifier2`` where
modifier2 is :data:`SET` (10: set or update, applied as an update) or :data:`DELETE`
(11), then ``keylen (LE16), key``; a set adds ``vallen (LE16), value, eslen (LE16),
expires`` where *expires* is the item's absolute expiry in unix seconds written in
decimal (``0``: never).  ``pktsize`` counts the bytes after the header.  Nothing is
answered.

A delete is sent with two zero bytes after the key (:data:`DELETE_PAD`): uWSGI 2.0's
udp server drops a delete whose ``pktsize`` is less than ``4 + keylen`` (its own
deletes included, so uWSGI nodes never apply each other's deletes); padded, they do.
Both forms are decoded.

Bounds: a datagram is at most :data:`MAX_DATAGRAM` bytes (the IPv4 UDP payload limit);
:func:`encode` refuses a change that does not fit (uWSGI would send a truncated value).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MODIFIER1 = 111
SET = 10
DELETE = 11
#: the largest UDP payload over IPv4
MAX_DATAGRAM = 65507
#: digits of an expiry (a 64-bit unsigned number)
MAX_EXPIRES_DIGITS = 20

#: what follows the key of a delete we send (see the module docstring)
DELETE_PAD = b"\x00\x00"

_HEADER = struct.Struct("<BHB")
_LEN = struct.Struct("<H")


class CacheUdpError(ValueError):
    """A malformed replication datagram, or a change too large for one."""


@dataclass(frozen=True)
class CacheChange:
    """One replicated change: ``op`` is :data:`SET` or :data:`DELETE`."""

    op: int
    key: bytes
    value: bytes = b""
    expires: int = 0


def encode(change: CacheChange) -> bytes:
    """The datagram for ``change``."""
    if not change.key:
        raise CacheUdpError("empty key")
    too_big = CacheUdpError("key and value of %d + %d bytes do not fit in one datagram (%d bytes at most)"
                            % (len(change.key), len(change.value), MAX_DATAGRAM))
    if len(change.key) > 0xFFFF or len(change.value) > 0xFFFF:
        raise too_big
    parts = [_LEN.pack(len(change.key)), change.key]
    if change.op == SET:
        if not change.value:
            raise CacheUdpError("empty value")
        if not 0 <= change.expires < 1 << 64:
            raise CacheUdpError("expires out of range")
        es = b"%d" % change.expires
        parts += [_LEN.pack(len(change.value)), change.value, _LEN.pack(len(es)), es]
    elif change.op == DELETE:
        parts.append(DELETE_PAD)
    else:
        raise CacheUdpError("unknown operation %r" % change.op)
    body = b"".join(parts)
    if _HEADER.size + len(body) > MAX_DATAGRAM:
        raise too_big
    return _HEADER.pack(MODIFIER1, len(body), change.op) + body


def decode(datagram: bytes) -> CacheChange:
    """The change in ``datagram``; :class:`CacheUdpError` when it is not a well-formed one."""
    n = len(datagram)
    if n < _HEADER.size + 2:
        raise CacheUdpError("datagram of %d bytes is too short" % n)
    mod1, size, op = _HEADER.unpack_from(datagram, 0)
    if mod1 != MODIFIER1:
        raise CacheUdpError("modifier1 %d is not %d" % (mod1, MODIFIER1))
    if size != n - _HEADER.size:
        raise CacheUdpError("header says %d bytes, the datagram has %d" % (size, n - _HEADER.size))
    if op not in (SET, DELETE):
        raise CacheUdpError("unknown modifier2 %d" % op)
    pos = _HEADER.size
    keylen = _LEN.unpack_from(datagram, pos)[0]
    pos += 2
    if not keylen or pos + keylen > n:
        raise CacheUdpError("bad key length %d" % keylen)
    key = bytes(datagram[pos: pos + keylen])
    pos += keylen
    if op == DELETE:
        if pos != n and datagram[pos:] != DELETE_PAD:
            raise CacheUdpError("%d bytes after the key" % (n - pos))
        return CacheChange(DELETE, key)
    if pos + 2 > n:
        raise CacheUdpError("no value length")
    vallen = _LEN.unpack_from(datagram, pos)[0]
    pos += 2
    if not vallen or pos + vallen > n:
        raise CacheUdpError("bad value length %d" % vallen)
    value = bytes(datagram[pos: pos + vallen])
    pos += vallen
    expires = 0
    if pos < n:  # the expiry is optional (uWSGI reads it only when present)
        if pos + 2 > n:
            raise CacheUdpError("truncated expiry length")
        eslen = _LEN.unpack_from(datagram, pos)[0]
        pos += 2
        es = bytes(datagram[pos: pos + eslen])
        if len(es) != eslen or pos + eslen != n or eslen > MAX_EXPIRES_DIGITS or not (es.isdigit() or not es):
            raise CacheUdpError("bad expiry %r" % es)
        expires = int(es) if es else 0
        if expires >= 1 << 64:
            raise CacheUdpError("expiry out of range")
    return CacheChange(SET, key, value, expires)
