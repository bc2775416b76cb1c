"""The on-mmap layout of one shared cache (uWSGI's ``core/cache.c``): header fields
and their offsets, the item header, the fixed-width encodings used on the mapping;
:func:`_math`, the int64_t arithmetic ``inc``/``dec``/``mul``/``div`` apply to an
8-byte native integer value; and :func:`check_table`, the invariants of the table.

A cache is a hash table of item indexes, ``items`` fixed item headers (item 0 is
never used, so ``items=N`` holds ``N - 1`` keys, as in uWSGI), a stack of free items,
and one ``blocksize`` data block per item::

    header | journal | per-process hits/miss | hash table | free stack | items | blocks

Everything here is a byte layout shared by every process mapping the region; changing
it changes the format.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:
    from gateway.sharedmem.cache import SharedCache

_MAGIC = 0x43574147  # "GAWC"
# header: magic, flags(clearing), gen, n_items, free_count, next_scan, last_modified, full
_HDR = struct.Struct("<IIQQQQQQ")
_GEN_OFF = 8
_NITEMS_OFF = 16
_FREE_OFF = 24
_NEXT_SCAN_OFF = 32
_LASTMOD_OFF = 40
_FULL_OFF = 48
_U64 = struct.Struct("<Q")
# the generation word: native (one aligned 8-byte store), so a reader never sees a mix
# of an old and a new value's bytes
_GEN = struct.Struct("Q")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_HITS = struct.Struct("<QQ")
# item: hash, keysize, flags, valsize, expires, prev, next
_ITEM = struct.Struct("<IHHQQII")
_ITEM_VALSIZE = 8
_ITEM_EXPIRES = 16
_ITEM_PREV = 24
_ITEM_NEXT = 28
_PAIR = struct.Struct("<II")


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


def check_table(c: "SharedCache") -> List[str]:
    """Invariant violations of ``c``'s table (empty when consistent); the caller holds
    its lock."""
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
    if _GEN.unpack_from(buf, _GEN_OFF)[0] & 1:
        problems.append("generation odd after recovery")
    return problems
