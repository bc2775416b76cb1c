"""The on-mmap layout of one shared cache (uWSGI's ``core/cache.c``): header fields
and their offsets, the item header, the fixed-width encodings used on the mapping;
:func:`_math`, the int64_t arithmetic ``inc``/``dec``/``mul``/``div`` apply to an
8-byte native integer value; and :func:`check_table`, the invariants of the table.

A cache is a hash table of item indexes, ``items`` fixed item headers (item 0 is
never used, so ``items=N`` holds ``N - 1`` keys, as in uWSGI), a stack of free items,
the links of the least-recently-used list (``purge_lru``; one ``(prev, next)`` pair
per item) and one ``blocksize`` data block per item::

    header (128 bytes) | journal | hash table | free stack | LRU links | items | blocks

The per-process hit/miss counters live in a separate anonymous mapping, so the table's
size depends on the cache's geometry only: a ``store=FILE`` written by one instance is
valid for the next one whatever its number of workers.  The header records that
geometry (:data:`_GEOM` at :data:`_GEOM_OFF`), and a stored file is used only when it
matches.

Everything here is a byte layout shared by every process mapping the region (and
written to a ``store`` file); changing it changes the format: bump
:data:`FORMAT_VERSION`.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:
    from gateway.sharedmem.cache import SharedCache

_MAGIC = 0x43574147  # "GAWC"
FORMAT_VERSION = 2
HEADER_SIZE = 128
# header: magic, flags(clearing), gen, n_items, free_count, next_scan, last_modified, full
_HDR = struct.Struct("<IIQQQQQQ")
_GEN_OFF = 8
_NITEMS_OFF = 16
_FREE_OFF = 24
_NEXT_SCAN_OFF = 32
_LASTMOD_OFF = 40
_FULL_OFF = 48
# then: the LRU list's head (least recently used) and tail (most recently used) items
_LRU_ENDS_OFF = 56
# then the geometry the table was laid out for: version, keysize, items, blocksize, hashsize
_GEOM = struct.Struct("<IIQQQ")
_GEOM_OFF = 64
# then: when sweep_on_full may sweep again (unix seconds)
_FULL_SWEEP_OFF = 96
_U64 = struct.Struct("<Q")
# the generation word (native u64 at _GEN_OFF) is read and written through
# SharedCache.gen_word, one aligned 8-byte load or store (gateway.sharedmem.words)
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_HITS = struct.Struct("<QQ")
# item: hash, keysize, flags, valsize, expires, prev, next
_ITEM = struct.Struct("<IHHQQII")
_ITEM_VALSIZE = 8
_ITEM_EXPIRES = 16
_ITEM_PREV = 24
_ITEM_NEXT = 28
_PAIR = struct.Struct("<II")  # (prev, next) of one item in the LRU list; also the list's (head, tail)


def _math(op: str, current: int, delta: int) -> int:
    if op == "inc":
        r = current + delta
    elif op == "dec":
        r = current - delta
    elif op == "mul":
        r = current * delta
    elif op == "div":
        if delta == 0:
            return 0
        q = abs(current) // abs(delta)  # C division truncates toward zero
        r = q if (current >= 0) == (delta >= 0) else -q
    else:
        raise ValueError(op)
    # wrap around like int64_t arithmetic
    r &= 0xFFFFFFFFFFFFFFFF
    return r - (1 << 64) if r >= 1 << 63 else r


def check_table(c: "SharedCache", lru: bool = True) -> List[str]:
    """Invariant violations of ``c``'s table (empty when consistent); the caller holds
    its lock.  ``lru``: check the LRU list too (of a purge_lru cache)."""
    problems: List[str] = []
    buf = c.buf
    linked = set()
    for pos in range(c.hashsize):
        idx = _U32.unpack_from(buf, c.hash_off + 4 * pos)[0]
        prev = 0
        while idx:
            if idx in linked or idx >= c.max_items:
                problems.append("slot %d: bad or repeated item %d" % (pos, idx))
                break
            linked.add(idx)
            h, ks, _, vs, _, p, nxt = _ITEM.unpack_from(buf, c.items_off + idx * c.itemsize)
            if not ks or h % c.hashsize != pos or p != prev or vs > c.blocksize:
                problems.append("item %d: hash/keysize/prev/valsize inconsistent" % idx)
            prev = idx
            idx = nxt
    n_items = _U64.unpack_from(buf, _NITEMS_OFF)[0]
    if n_items != len(linked):
        problems.append("n_items %d but %d items linked" % (n_items, len(linked)))
    free_count = _U64.unpack_from(buf, _FREE_OFF)[0]
    free = [_U32.unpack_from(buf, c.free_off + 4 * i)[0] for i in range(free_count)]
    if set(free) & linked or len(set(free)) != len(free):
        problems.append("free stack overlaps linked items or repeats")
    if len(free) + len(linked) != c.max_items - 1:
        problems.append("%d free + %d linked != %d" % (len(free), len(linked), c.max_items - 1))
    if c.gen_word[0] & 1:
        problems.append("generation odd after recovery")
    if lru and c.spec.purge_lru:
        problems += check_lru(c, linked)
    return problems


def check_lru(c: "SharedCache", linked: "set[int]") -> List[str]:
    """Violations of the LRU list: it must hold every linked item exactly once, with
    each item's ``prev`` pointing back."""
    buf = c.buf
    head, tail = _PAIR.unpack_from(buf, _LRU_ENDS_OFF)
    seen: List[int] = []
    idx, prev = head, 0
    while idx and len(seen) <= len(linked):
        if idx >= c.max_items:
            return ["LRU list: item %d out of range" % idx]
        p, nxt = _PAIR.unpack_from(buf, c.lru_off + 8 * idx)
        if p != prev:
            return ["LRU list: item %d has prev %d, expected %d" % (idx, p, prev)]
        seen.append(idx)
        prev, idx = idx, nxt
    if prev != tail or set(seen) != linked or len(seen) != len(linked):
        return ["LRU list: %d items listed, %d linked (tail %d, last %d)" % (len(seen), len(linked), tail, prev)]
    return []
