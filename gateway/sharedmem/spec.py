"""Cache definitions: ``--cache2 name=...,items=...`` and the legacy ``--cache N``
parsed and validated into :class:`CacheSpec` (the configuration of one shared cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

from gateway.sharedmem.keyvals import parse_keyvals

UNSUPPORTED_KEYS = {
    "store", "store_sync", "storesync", "store_delete", "storedelete", "node", "nodes", "sync",
    "udp", "udp_servers", "udp_server", "udpservers", "udpserver", "bitmap", "purge_lru", "lru",
    "lazy_expire", "lazy", "sweep_on_full", "clear_on_full", "lastmod", "hash", "oid",
}


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
    extra: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "CacheSpec":
        """Parse ``name=NAME,items=N[,blocksize=B][,keysize=K][,hashsize=H]...``."""
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
        if "ignore_full" in kv:
            kv.pop("ignore_full")
            spec.ignore_full = True
        if "no_expire" in kv:
            kv.pop("no_expire")
            spec.no_expire = True
        for key in kv:
            if key in UNSUPPORTED_KEYS:
                raise CacheConfigError("cache %r: %r is not supported by gateway" % (name, key))
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


def specs_from_config(cache2: List[str], legacy_items: int, legacy_blocksize: int) -> List[CacheSpec]:
    """``--cache N`` (the "default" cache, first) then every ``--cache2``."""
    specs = []
    if legacy_items:
        specs.append(CacheSpec(name="default", max_items=legacy_items, blocksize=legacy_blocksize or 65536))
    for text in cache2:
        specs.append(CacheSpec.parse(text))
    return specs
