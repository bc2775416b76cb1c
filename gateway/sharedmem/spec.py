"""Cache definitions: ``--cache2 name=...,items=...`` and the legacy ``--cache N``
parsed and validated into :class:`CacheSpec` (the configuration of one shared cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from gateway.sharedmem.keyvals import parse_keyvals

#: uWSGI's cache2 keys gateway refuses, with the reason given in the error
UNSUPPORTED_KEYS = {
    "sync": "uWSGI's startup copy sends its raw memory layout, which gateway's differs from; "
            "fill the cache from the app with uwsgi.cache_get(key, 'name@host:port'), or use "
            "nodes=/udp= replication",
    "bitmap": "values spanning several blocks are not implemented: raise blocksize instead",
    "oid": "caches have no SNMP oid",
}

#: uWSGI's hash algorithms that make sense for a cache (gateway hashes with CRC-32 whatever the name:
#: the choice only spreads keys over the hash table)
HASH_NAMES = ("djb33x", "murmur2", "crc32")

#: the longest sweep_on_full period accepted (a year)
MAX_SWEEP_ON_FULL = 86400 * 365


class CacheConfigError(ValueError):
    pass


def _number(text: str, what: str, name: str) -> int:
    t = text.strip().lower()
    mult = 1
    if t and t[-1] in "kmg":
        mult = {"k": 1024, "m": 1024 * 1024, "g": 1024 ** 3}[t[-1]]
        t = t[:-1]
    try:
        value = int(t) * mult
    except ValueError:
        raise CacheConfigError("cache %r: %s must be a number, got %r" % (name, what, text)) from None
    return value


@dataclass
class CacheSpec:
    """One ``--cache2`` definition (or the legacy ``--cache N``)."""

    name: str
    max_items: int
    blocksize: int = 65536
    keysize: int = 2048
    hashsize: int = 65536
    blocks: int = 0
    math_initial: int = 0
    ignore_full: bool = False
    no_expire: bool = False
    #: evict the least recently used item when the cache is full (instead of failing the set)
    purge_lru: bool = False
    #: expired items are removed when looked up, not by the sweeper
    lazy_expire: bool = False
    #: seconds: when full, remove the expired items (at most once per this period)
    sweep_on_full: int = 0
    #: when full (and sweep_on_full freed nothing), empty the cache
    clear_on_full: bool = False
    #: keep last_modified_at (stats) up to date on every change
    lastmod: bool = False
    #: the file the table lives in (survives restarts), its msync period (seconds, 0 = never),
    #: and whether an invalid file is replaced instead of refused
    store: Optional[str] = None
    store_sync: int = 0
    store_delete: bool = False
    hash: str = "djb33x"
    #: UDP replication: where changes are sent (``nodes``), where they are received (``udp``)
    nodes: List[str] = field(default_factory=list)
    udp_servers: List[str] = field(default_factory=list)
    extra: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, default_store_sync: int = 0) -> "CacheSpec":
        """Parse ``name=NAME,items=N[,blocksize=B][,keysize=K][,hashsize=H]...``;
        ``default_store_sync`` is ``--cache-store-sync`` (the ``store_sync`` of every cache
        that gives none, as in uWSGI)."""
        kv = parse_keyvals(text)
        if kv is None:
            raise CacheConfigError("unable to parse cache definition %r (expected key=value,...)" % text)
        name = kv.pop("name", "")
        if not name:
            raise CacheConfigError("cache definition %r: you have to specify a cache name" % text)
        items = kv.pop("items", None) or kv.pop("max_items", None) or kv.pop("maxitems", None)
        if not items or _number(items, "items", name) <= 0:
            raise CacheConfigError("cache %r: you have to specify the maximum number of cache items" % name)
        spec = cls(name=name, max_items=_number(items, "items", name))
        for key, attr in (("blocksize", "blocksize"), ("keysize", "keysize"), ("key_size", "keysize"),
                          ("hashsize", "hashsize"), ("hash_size", "hashsize"), ("blocks", "blocks")):
            if key in kv:
                setattr(spec, attr, _number(kv.pop(key), key, name))
        if "math_initial" in kv:
            spec.math_initial = _number(kv.pop("math_initial"), "math_initial", name)
        # flags: present means on, whatever the value (as uWSGI's kvlist)
        for keys, attr in ((("ignore_full",), "ignore_full"), (("no_expire",), "no_expire"),
                           (("purge_lru", "lru"), "purge_lru"), (("lazy_expire", "lazy"), "lazy_expire"),
                           (("clear_on_full",), "clear_on_full"), (("lastmod",), "lastmod"),
                           (("store_delete", "storedelete"), "store_delete")):
            for key in keys:
                if key in kv:
                    kv.pop(key)
                    setattr(spec, attr, True)
        if "sweep_on_full" in kv:
            spec.sweep_on_full = _number(kv.pop("sweep_on_full"), "sweep_on_full", name)
            if not 0 <= spec.sweep_on_full <= MAX_SWEEP_ON_FULL:
                raise CacheConfigError("cache %r: sweep_on_full must be 0..%d seconds" % (name, MAX_SWEEP_ON_FULL))
        if "store" in kv:
            spec.store = kv.pop("store") or None
            if spec.store is None:
                raise CacheConfigError("cache %r: store needs a file name" % name)
        spec.store_sync = default_store_sync
        for key in ("store_sync", "storesync"):
            if key in kv:
                spec.store_sync = _number(kv.pop(key), key, name)
        if spec.store_sync < 0:
            raise CacheConfigError("cache %r: store_sync must be >= 0" % name)
        udp_keys: Tuple[Tuple[Tuple[str, ...], str], ...] = (
            (("node", "nodes"), "nodes"),
            (("udp", "udp_servers", "udp_server", "udpservers", "udpserver"), "udp_servers"))
        for names, attr in udp_keys:
            for key in names:
                if key in kv:
                    addrs = [a for a in kv.pop(key).split(";") if a]
                    for a in addrs:
                        if ":" not in a:
                            raise CacheConfigError("cache %r: invalid udp address %r (HOST:PORT)" % (name, a))
                    getattr(spec, attr).extend(addrs)
        if "hash" in kv:
            spec.hash = kv.pop("hash")
            if spec.hash not in HASH_NAMES:
                raise CacheConfigError("cache %r: unknown hash %r (gateway accepts %s)"
                                       % (name, spec.hash, ", ".join(HASH_NAMES)))
        for key in kv:
            if key in UNSUPPORTED_KEYS:
                raise CacheConfigError("cache %r: %r is not supported by gateway: %s"
                                       % (name, key, UNSUPPORTED_KEYS[key]))
            raise CacheConfigError("cache %r: unknown key %r" % (name, key))
        spec.validate()
        return spec

    def validate(self) -> None:
        if self.blocksize <= 0:
            raise CacheConfigError('invalid cache blocksize for "%s"' % self.name)
        if not 0 < self.keysize < 65535:
            raise CacheConfigError('invalid cache keysize for "%s"' % self.name)
        if self.hashsize <= 0:
            raise CacheConfigError('invalid cache hashsize for "%s"' % self.name)
        if self.blocks and self.blocks < self.max_items:
            raise CacheConfigError('invalid number of cache blocks for "%s", must be higher than max_items (%d)'
                                   % (self.name, self.max_items))
        if self.max_items >= 2 ** 32:
            raise CacheConfigError('cache "%s": too many items' % self.name)


def specs_from_config(cache2: List[str], legacy_items: int, legacy_blocksize: int,
                      legacy_store: Optional[str] = None, store_sync: int = 0,
                      legacy_lastmod: bool = False, legacy_nodes: Sequence[str] = (),
                      legacy_udp: Sequence[str] = ()) -> List[CacheSpec]:
    """``--cache N`` (the "default" cache, first) then every ``--cache2``.

    ``--cache-store``, ``--cache-use-last-modified``, ``--cache-udp-node`` and
    ``--cache-udp-server`` apply to the legacy cache only;
    ``--cache-store-sync`` to it and, as their default, to the ``--cache2`` ones (uWSGI)."""
    specs = []
    if legacy_items:
        specs.append(CacheSpec(name="default", max_items=legacy_items, blocksize=legacy_blocksize or 65536,
                               store=legacy_store or None, store_sync=store_sync, lastmod=legacy_lastmod,
                               nodes=list(legacy_nodes), udp_servers=list(legacy_udp)))
    for text in cache2:
        specs.append(CacheSpec.parse(text, store_sync))
    return specs
