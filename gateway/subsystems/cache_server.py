"""The server side of remote caches: modifier1 111 packets on every ``--socket``.

Registered with :func:`gateway.server.uwsgi.register_handler` when the instance has a
cache.  Speaks uWSGI's "magic" form (modifier2 17, :mod:`gateway.protocol.uwsgi_cache`):
``get``, ``exists``, ``del``, ``clear``, ``set`` and ``update`` (whose value follows
the packet: read with the connection's ``read(n)``, registered ``wants_body=True``).  As uWSGI's cache
plugin, a failure (unknown cache, missing key, full cache, value too large) closes the
connection without a byte; a success answers ``status: ok`` (plus the value for
``get``).  uWSGI's raw modifier2 0..6 forms are not served (closed at once).
"""

from __future__ import annotations

from typing import Callable, List, Optional

import gateway.subsystems as _subs
from gateway.protocol import uwsgi_cache as wire
from gateway.sharedmem.cache import SharedCache


def _parse(modifier2: int, payload: bytes) -> Optional[dict]:
    if modifier2 != wire.MAGIC or not payload:
        return None
    try:
        return wire.decode_request(payload)
    except wire.CacheWireError:
        return None


def _cache(fields: dict) -> Optional[SharedCache]:
    s = _subs.current
    if s is None:
        return None
    name = fields.get("cache")
    return s.caches.get(name.decode("latin-1") if name else None)


def body_size(modifier2: int, payload: bytes) -> int:
    """Bytes of value that follow a set/update packet (0 when none or refused)."""
    fields = _parse(modifier2, payload)
    if fields is None or fields.get("cmd") not in (b"set", b"update"):
        return 0
    cache = _cache(fields)
    size = wire.number(fields.get("size"))
    if cache is None or size > cache.blocksize:
        return 0  # refused before reading the value, as uWSGI (it closes)
    return size


def answer(modifier2: int, payload: bytes, peer: str, read: Optional[Callable[[int], bytes]] = None) -> List[bytes]:
    """The reply to one modifier1 111 packet; ``read(n)`` gives the bytes after it."""
    n = body_size(modifier2, payload)
    value = read(n) if n and read is not None else b""
    fields = _parse(modifier2, payload)
    if fields is None:
        return []
    cache = _cache(fields)
    if cache is None:
        return []
    cmd = fields.get("cmd")
    key = fields.get("key", b"")
    if cmd == b"get":
        v = cache.get(key)
        return [] if v is None else [wire.encode_reply(v)]
    if cmd == b"exists":
        return [wire.encode_reply()] if cache.exists(key) else []
    if cmd == b"del":
        return [wire.encode_reply()] if cache.delete(key) else []
    if cmd == b"clear":
        cache.clear()
        return [wire.encode_reply()]
    if cmd in (b"set", b"update"):
        if not value or len(value) != wire.number(fields.get("size")):
            return []
        expires = wire.number(fields.get("expires"))
        ok = cache.update(key, value, expires) if cmd == b"update" else cache.set(key, value, expires)
        return [wire.encode_reply()] if ok else []
    return []


