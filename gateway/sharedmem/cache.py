"""uWSGI caches (``--cache2``, ``--cache``) in shared memory, with uWSGI's semantics.

One cache is one :class:`~gateway.sharedmem.region.Region` laid out like uWSGI's
(:mod:`gateway.sharedmem.layout`); :class:`CacheSpec` (:mod:`gateway.sharedmem.spec`)
is its configuration.

Semantics copied from uWSGI 2.0 (and checked against it): ``set`` never overwrites
(``None`` when the key exists, the cache is full, the key is longer than
``keysize``, the value is empty or longer than ``blocksize``); ``update`` upserts;
``inc``/``dec``/``mul``/``div`` work on an 8-byte native integer, creating it from
``math_initial`` (0) and keeping an existing item's expiry; division by zero gives
0; expired items stay readable until the sweeper (every ``--cache-expire-freq``
seconds, 3 by default) removes them.

Concurrency: writers hold the cache's :class:`~gateway.sharedmem.region.ShortLock`
and journal every store (:mod:`gateway.sharedmem.journal`), so a worker killed
mid-write is rolled back by the next holder.  Readers take no lock: a generation
word (odd while a write is in progress) is read before and after the lookup and the
read is retried when it moved (a seqlock); after a few failed tries the reader
takes the lock, which also repairs a dead writer's leftovers.  This relies on the
stores of one process being seen in order by the others (x86 and other TSO
machines); elsewhere every read takes the lock.
"""

from __future__ import annotations

import mmap
import platform
import struct
import time
import zlib
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from gateway.logs import gen_log
from gateway.protocol.cache_udp import DELETE, SET, CacheChange
from gateway.sharedmem.cache_store import CacheStoreError, msync, open_store
from gateway.sharedmem.journal import Journal
from gateway.sharedmem.layout import (
    _FREE_OFF,
    _FULL_SWEEP_OFF,
    _GEN_OFF,
    _GEOM,
    _GEOM_OFF,
    _HDR,
    _HITS,
    _I64,
    _ITEM,
    _ITEM_EXPIRES,
    _ITEM_NEXT,
    _ITEM_PREV,
    _ITEM_VALSIZE,
    _LRU_ENDS_OFF,
    _MAGIC,
    _NEXT_SCAN_OFF,
    _NITEMS_OFF,
    _PAIR,
    _U32,
    _U64,
    FORMAT_VERSION,
    HEADER_SIZE,
    _math,
    check_lru,
    check_table,
)
from gateway.sharedmem.region import Region, ShortLock
from gateway.sharedmem.spec import (  # noqa: F401  (re-exported: the public API stays importable from here)
    UNSUPPORTED_KEYS,
    CacheConfigError,
    CacheSpec,
    specs_from_config,
)
from gateway.sharedmem.words import word_view

if TYPE_CHECKING:
    from gateway.subsystems.cache_udp import NodeSender

_LOCKFREE_READS = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


class SharedCache:
    """One cache.  Create it before fork; every process then uses the same object
    (after fork each worker calls :meth:`after_fork` with its slot number).

    The table lives in an anonymous mapping, or in ``spec.store``'s file; the lock bytes
    and the per-process hit/miss counters in a second, anonymous one (``region``)."""

    def __init__(self, spec: CacheSpec, slots: int = 1) -> None:
        self.spec = spec
        self.name = spec.name
        self.max_items = n = spec.max_items
        self.blocksize = bs = spec.blocksize
        self.keysize = spec.keysize
        self.hashsize = spec.hashsize
        self.itemsize = (_ITEM.size + spec.keysize + 7) & ~7
        self.slots = slots
        journal_cap = 4096 + ((max(bs, spec.keysize) + 7) & ~7)
        # (few attributes: past 30, CPython 3.11 stops sharing the instances' keys and every
        # attribute load of the hot path gets slower)
        journal_off = off = HEADER_SIZE
        off += (Journal.size_for(journal_cap) + 7) & ~7
        self.hash_off = off
        off += 4 * spec.hashsize
        off = (off + 7) & ~7
        self.free_off = off
        off += 4 * n
        off = (off + 7) & ~7
        self.lru_off = off
        off += _PAIR.size * n
        self.items_off = off
        off += self.itemsize * n
        off = (off + 4095) & ~4095
        self.data_off = off
        off += bs * n
        # the lock bytes and the per-process hit/miss counters (slot n at _HITS.size * n; see hits_words)
        self.region = Region("cache-" + spec.name, _HITS.size * slots)
        #: [hits, misses] of process slot n at 2n, 2n + 1: summed by the stats while workers add
        #: to theirs, so each is stored in one instruction (gateway.sharedmem.words)
        self.hits_words = word_view(self.region.buf, 0, "Q", 2 * slots)
        #: what holds the table: the store file's mapping, or an anonymous Region
        self._storage: Any
        created = True
        if spec.store:
            self._storage, created = open_store(spec.store, off, 'cache "%s": store' % spec.name,
                                                self._store_problem, spec.store_delete)
            self.buf = self._storage
        else:
            self._storage = Region("cache-table-" + spec.name, off)
            self.buf = self._storage.buf
        self.journal = Journal(self.buf, journal_off, journal_cap)
        #: the generation word, stored in one instruction (never through struct.pack_into,
        #: which passes through 0: :mod:`gateway.sharedmem.words`)
        self.gen_word = word_view(self.buf, _GEN_OFF, "Q")
        #: [next_scan, last_modified, full] (the header words at _NEXT_SCAN_OFF): the stats and
        #: the sweeper read them without the lock, so each is stored in one instruction too
        self.header_words = word_view(self.buf, _NEXT_SCAN_OFF, "Q", 3)
        self.lock = ShortLock(self.region, 0, "cache_" + spec.name)
        self.lock.on_acquire = self._recover
        self._slot = 0
        # process-local memo of values read at generation ``memo_gen`` (see get_memo)
        self.memo: Dict[object, Optional[bytes]] = {}
        self.memo_gen = -1
        self.memo_bytes = 0
        self.local_hits = 0
        self.local_miss = 0
        # purge_lru and lazy_expire caches act on every lookup (the LRU order, the expiry):
        # their reads go through the lock and skip the memo (memo_gen stays -1, which no
        # generation word ever equals, so uwsgi.cache_get's inline memo check never hits)
        self._tracked = spec.purge_lru or spec.lazy_expire
        #: where this cache's changes are sent (``nodes``; set by the subsystems)
        self.nodes: Optional[NodeSender] = None
        if self._tracked:
            self.get_memo = self._get_memo_tracked  # type: ignore[method-assign]
        if created or _U32.unpack_from(self.buf, 0)[0] == 0:
            self._init_table()
        else:
            self._load_stored()

    # -- setup ------------------------------------------------------------------------

    def _init_table(self) -> None:
        _HDR.pack_into(self.buf, 0, _MAGIC, 0, 0, 0, 0, 0, 0, 0)
        _PAIR.pack_into(self.buf, _LRU_ENDS_OFF, 0, 0)
        _GEOM.pack_into(self.buf, _GEOM_OFF, *self._geometry())
        _U64.pack_into(self.buf, _FULL_SWEEP_OFF, 0)
        self._rebuild_free_stack()

    def _geometry(self) -> Tuple[int, int, int, int, int]:
        return (FORMAT_VERSION, self.keysize, self.max_items, self.blocksize, self.hashsize)

    def _store_problem(self, mm: mmap.mmap) -> Optional[str]:
        """Why an existing store file does not hold a table of this geometry (None: it does)."""
        magic = _U32.unpack_from(mm, 0)[0]
        if magic == 0 and not any(mm[:HEADER_SIZE]):
            return None  # created but never laid out (the previous start died first)
        if magic != _MAGIC:
            return "not a gateway cache store"
        geom = _GEOM.unpack_from(mm, _GEOM_OFF)
        if geom != self._geometry():
            return ("written for version %d, keysize %d, items %d, blocksize %d, hashsize %d"
                    % geom)
        return None

    def _load_stored(self) -> None:
        """A table recovered from the store file: finish or undo what a crashed writer left,
        then check every invariant; a table that fails them is emptied (with a warning)."""
        self._recover()
        problems = check_table(self, lru=False)
        if problems:
            gen_log.warning('cache "%s": the store file %s is inconsistent (%s): starting empty',
                            self.name, self.spec.store, "; ".join(problems[:3]))
            self._clear_locked()
            self.gen_word[0] = (self.gen_word[0] | 1) + 1
        elif self.spec.purge_lru and check_lru(self, self._linked()):
            self._rebuild_lru()
        gen_log.info("[uwsgi-cache] restored %d items", self.items_count())

    def _linked(self) -> set:
        return {i for i in range(1, self.max_items)
                if _ITEM.unpack_from(self.buf, self.items_off + i * self.itemsize)[1]}

    def _rebuild_lru(self) -> None:
        """Link every item into the LRU list in index order (a store file written without
        ``purge_lru``, or whose list is damaged, has no usable order)."""
        buf = self.buf
        buf[self.lru_off: self.lru_off + _PAIR.size * self.max_items] = bytes(_PAIR.size * self.max_items)
        prev = 0
        head = 0
        for i in sorted(self._linked()):
            _PAIR.pack_into(buf, self.lru_off + _PAIR.size * i, prev, 0)
            if prev:
                _U32.pack_into(buf, self.lru_off + _PAIR.size * prev + 4, i)
            else:
                head = i
            prev = i
        _PAIR.pack_into(buf, _LRU_ENDS_OFF, head, prev)

    def _rebuild_free_stack(self) -> None:
        # items 1 .. max_items-1 are usable; the last pushed is popped first (as uWSGI)
        buf = self.buf
        count = 0
        for i in range(1, self.max_items):
            if _ITEM.unpack_from(buf, self.items_off + i * self.itemsize)[1] == 0:
                _U32.pack_into(buf, self.free_off + 4 * count, i)
                count += 1
        _U64.pack_into(buf, _FREE_OFF, count)

    def after_fork(self, slot: int) -> None:
        """Per-process state of a freshly forked worker (``slot`` < ``slots``)."""
        self.lock.after_fork()
        self._slot = 2 * (slot % self.slots)
        self.memo = {}
        self.memo_gen = -1
        self.memo_bytes = 0
        self.local_hits = self.local_miss = 0

    def flush_counters(self) -> None:
        """Add this process's hits/misses since the last flush to its shared slot."""
        h, m = self.local_hits, self.local_miss
        if h or m:
            self.local_hits = self.local_miss = 0
            words = self.hits_words
            slot = self._slot  # the index of this process's hits word
            words[slot] = (words[slot] + h) & 0xFFFFFFFFFFFFFFFF
            words[slot + 1] = (words[slot + 1] + m) & 0xFFFFFFFFFFFFFFFF

    def get_memo(self, key: object) -> Optional[bytes]:
        """:meth:`get` through a process-local memo.

        The memo holds values this process read while the generation word had the
        value ``memo_gen``; as long as the word still has it, nothing in the cache
        changed (every write, delete, clear and sweep moves it), so the memo is exact.
        One load of the word replaces the hash walk: what makes repeated reads of
        hot keys fast.  Bounded: values up to 4 KiB, 1 MiB in all, then it restarts.
        """
        gen = self.gen_word[0]
        memo = self.memo
        if gen != self.memo_gen:
            memo.clear()
            self.memo_bytes = 0
            self.memo_gen = gen
        else:
            try:
                value = memo[key]
            except (KeyError, TypeError):
                pass
            else:
                if value is None:
                    self.local_miss += 1
                else:
                    self.local_hits += 1
                return value
        if isinstance(key, str):
            kb = key.encode("utf-8")
        elif isinstance(key, (bytes, bytearray, memoryview)):
            kb = bytes(key)
        else:
            raise TypeError("cache_get: a bytes-like object or str is required, not '%s'" % type(key).__name__)
        value, read_gen = self._get_gen(kb)
        if read_gen == gen and not gen & 1 and isinstance(key, (str, bytes)):
            size = 0 if value is None else len(value)
            if size <= 4096:
                if self.memo_bytes + size > 1 << 20:
                    memo.clear()
                    self.memo_bytes = 0
                memo[key] = value
                self.memo_bytes += size + 64
        return value

    # -- recovery ---------------------------------------------------------------------

    def _recover(self) -> None:
        buf = self.buf
        clearing = _U32.unpack_from(buf, 4)[0]
        undone = self.journal.recover() if self.journal.pending() else 0
        if clearing:
            self._clear_locked()
            gen_log.warning('cache "%s": finished a clear interrupted by the death of its process', self.name)
        elif undone:
            gen_log.warning('cache "%s": rolled back a write interrupted by the death of its process '
                            '(%d stores undone)', self.name, undone)
        gen = self.gen_word[0]
        if gen & 1:
            self.gen_word[0] = gen + 1

    # -- transactions -----------------------------------------------------------------

    def _begin(self) -> None:
        self.gen_word[0] |= 1

    def _end(self) -> None:
        if self.spec.lastmod:
            self.header_words[1] = int(time.time())  # last_modified
        self.journal.commit()
        self.gen_word[0] = (self.gen_word[0] | 1) + 1

    # -- the LRU list (purge_lru; lock held, journaled) ---------------------------------

    def _lru_unlink(self, idx: int) -> None:
        buf = self.buf
        j = self.journal
        lru = self.lru_off
        head, tail = _PAIR.unpack_from(buf, _LRU_ENDS_OFF)
        prev, nxt = _PAIR.unpack_from(buf, lru + 8 * idx)
        if nxt:
            j.pack(_U32, lru + 8 * nxt, prev)
        else:
            tail = prev
        if prev:
            j.pack(_U32, lru + 8 * prev + 4, nxt)
        else:
            head = nxt
        j.pack(_PAIR, _LRU_ENDS_OFF, head, tail)
        j.pack(_PAIR, lru + 8 * idx, 0, 0)

    def _lru_append(self, idx: int) -> None:
        buf = self.buf
        j = self.journal
        head, tail = _PAIR.unpack_from(buf, _LRU_ENDS_OFF)
        if tail:
            j.pack(_U32, self.lru_off + 8 * tail + 4, idx)
        else:
            head = idx
        j.pack(_PAIR, self.lru_off + 8 * idx, tail, 0)
        j.pack(_PAIR, _LRU_ENDS_OFF, head, idx)

    def _lru_touch(self, idx: int) -> None:
        """``idx`` becomes the most recently used item."""
        if _PAIR.unpack_from(self.buf, _LRU_ENDS_OFF)[1] != idx:
            self._lru_unlink(idx)
            self._lru_append(idx)

    # -- lookups ----------------------------------------------------------------------

    def _index(self, key: bytes, h: int) -> int:
        """Item index of ``key`` (0: absent).  Bounded walk: safe on a torn table."""
        buf = self.buf
        items_off = self.items_off
        itemsize = self.itemsize
        max_items = self.max_items
        klen = len(key)
        idx = _U32.unpack_from(buf, self.hash_off + 4 * (h % self.hashsize))[0]
        steps = 0
        while idx:
            if idx >= max_items or steps > max_items:
                return 0
            off = items_off + idx * itemsize
            ih, ks, _, _, _, _, nxt = _ITEM.unpack_from(buf, off)
            if ih == h and ks == klen and buf[off + 32: off + 32 + klen] == key:
                return idx
            idx = nxt
            steps += 1
        return 0

    def _count(self, hit: bool) -> None:
        if hit:
            self.local_hits += 1
        else:
            self.local_miss += 1

    def get(self, key: bytes) -> Optional[bytes]:
        """The value of ``key``, or None."""
        if self._tracked:
            return self._get_tracked(key)
        return self._get_gen(key)[0]

    def _expired(self, idx: int) -> bool:
        """Whether item ``idx`` of a lazy_expire cache has expired."""
        exp = _U64.unpack_from(self.buf, self.items_off + idx * self.itemsize + _ITEM_EXPIRES)[0]
        return bool(exp) and exp <= time.time()

    def _get_memo_tracked(self, key: object) -> Optional[bytes]:
        """:meth:`get_memo` of a purge_lru / lazy_expire cache: no memo."""
        if isinstance(key, str):
            kb = key.encode("utf-8")
        elif isinstance(key, (bytes, bytearray, memoryview)):
            kb = bytes(key)
        else:
            raise TypeError("cache_get: a bytes-like object or str is required, not '%s'" % type(key).__name__)
        return self._get_tracked(kb)

    def _get_tracked(self, key: bytes) -> Optional[bytes]:
        """A lookup under the lock that removes an expired item (lazy_expire) and makes a
        hit the most recently used item (purge_lru), as uWSGI's lookups do."""
        h = zlib.crc32(key)
        buf = self.buf
        value = None
        with self.lock:
            idx = self._index(key, h)
            if idx and self.spec.lazy_expire and self._expired(idx):
                self._begin()
                self._del_index_locked(idx)
                self._end()
                idx = 0
            if idx:
                vs = _U64.unpack_from(buf, self.items_off + idx * self.itemsize + _ITEM_VALSIZE)[0]
                start = self.data_off + idx * self.blocksize
                value = buf[start: start + vs]
                if self.spec.purge_lru:
                    self._lru_touch(idx)
                    self.journal.commit()  # the order changed, no value did: the generation stays
        self._count(value is not None)
        return value

    def _get_gen(self, key: bytes) -> Tuple[Optional[bytes], int]:
        """(value or None, the generation it was read at; -1 when read under the lock)."""
        h = zlib.crc32(key)
        buf = self.buf
        if _LOCKFREE_READS:
            gen_word = self.gen_word
            for _ in range(4):
                g1 = gen_word[0]
                if g1 & 1:
                    continue
                try:
                    idx = self._index(key, h)
                    value = None
                    if idx:
                        vs = _U64.unpack_from(buf, self.items_off + idx * self.itemsize + _ITEM_VALSIZE)[0]
                        if vs <= self.blocksize:
                            start = self.data_off + idx * self.blocksize
                            value = buf[start: start + vs]
                except struct.error:
                    continue
                if gen_word[0] == g1:
                    self._count(value is not None)
                    return value, g1
        with self.lock:
            idx = self._index(key, h)
            value = None
            if idx:
                vs = _U64.unpack_from(buf, self.items_off + idx * self.itemsize + _ITEM_VALSIZE)[0]
                start = self.data_off + idx * self.blocksize
                value = buf[start: start + vs]
        self._count(value is not None)
        return value, -1

    def exists(self, key: bytes) -> bool:
        h = zlib.crc32(key)
        if self.spec.lazy_expire:
            with self.lock:
                idx = self._index(key, h)
                if idx and self._expired(idx):
                    self._begin()
                    self._del_index_locked(idx)
                    self._end()
                    idx = 0
                return idx != 0
        if _LOCKFREE_READS:
            for _ in range(4):
                g1 = self.gen_word[0]
                if g1 & 1:
                    continue
                try:
                    idx = self._index(key, h)
                except struct.error:
                    continue
                if self.gen_word[0] == g1:
                    return idx != 0
        with self.lock:
            return self._index(key, h) != 0

    def num(self, key: bytes) -> int:
        value = self.get(key)
        if value is None or len(value) != 8:
            return 0
        return _I64.unpack(value)[0]

    def keys(self) -> List[bytes]:
        """Every key, in hash-table order (as uWSGI walks it)."""
        buf = self.buf
        out = []
        with self.lock:
            hashes = memoryview(buf)[self.hash_off: self.hash_off + 4 * self.hashsize].cast("I")
            try:
                for pos in range(self.hashsize):
                    idx = hashes[pos]
                    steps = 0
                    while idx and steps <= self.max_items:
                        off = self.items_off + idx * self.itemsize
                        _, ks, _, _, _, _, nxt = _ITEM.unpack_from(buf, off)
                        out.append(bytes(buf[off + 32: off + 32 + ks]))
                        idx = nxt
                        steps += 1
            finally:
                hashes.release()
        return out

    def items_count(self) -> int:
        return _U64.unpack_from(self.buf, _NITEMS_OFF)[0]

    # -- writes (lock held) -----------------------------------------------------------

    def _full(self) -> None:
        """No free item for a new key (lock held): count it, say so, then make room as
        the cache asks (uWSGI's order: purge_lru, then sweep_on_full, then clear_on_full)."""
        buf = self.buf
        spec = self.spec
        words = self.header_words
        words[2] = (words[2] + 1) & 0xFFFFFFFFFFFFFFFF  # full
        if not spec.ignore_full:
            if spec.purge_lru:
                gen_log.info('LRU item will be purged from cache "%s"', self.name)
            else:
                gen_log.warning('*** DANGER cache "%s" is FULL !!! ***', self.name)
        if spec.purge_lru:
            head = _PAIR.unpack_from(buf, _LRU_ENDS_OFF)[0]
            if head:
                self._begin()
                self._del_index_locked(head)
                self._end()
        removed = 0
        if spec.sweep_on_full:
            now = int(time.time())
            if _U64.unpack_from(buf, _FULL_SWEEP_OFF)[0] <= now:
                _U64.pack_into(buf, _FULL_SWEEP_OFF, now + spec.sweep_on_full)
                removed = self._sweep_locked(now)
        if spec.clear_on_full and not removed:
            self._begin()
            self._clear_locked()
            self._end()

    def _set_locked(self, key: bytes, value: bytes, expires: int, update: bool,
                    math: Optional[str] = None, absolute: bool = False) -> bool:
        buf = self.buf
        j = self.journal
        klen = len(key)
        vlen = len(value)
        if not klen or not vlen or klen > self.keysize or vlen > self.blocksize:
            return False
        if math is not None and vlen != 8:
            return False
        h = zlib.crc32(key)
        idx = self._index(key, h)
        now = int(time.time())
        if idx and self.spec.lazy_expire and self._expired(idx):
            self._begin()
            self._del_index_locked(idx)
            self._end()
            idx = 0
        if not idx:
            free_count = _U64.unpack_from(buf, _FREE_OFF)[0]
            if not free_count:
                self._full()
                free_count = _U64.unpack_from(buf, _FREE_OFF)[0]
                if not free_count:
                    return False
            self._begin()
            idx = _U32.unpack_from(buf, self.free_off + 4 * (free_count - 1))[0]
            j.pack(_U64, _FREE_OFF, free_count - 1)
            if expires:
                if not absolute:
                    expires += now
                next_scan = _U64.unpack_from(buf, _NEXT_SCAN_OFF)[0]
                if not next_scan or next_scan > expires:
                    j.pack(_U64, _NEXT_SCAN_OFF, expires)
            off = self.items_off + idx * self.itemsize
            # key and value go to a free item nobody can reach yet: no journal needed
            buf[off + 32: off + 32 + klen] = key
            start = self.data_off + idx * self.blocksize
            if math is None:
                buf[start: start + vlen] = value
            else:
                buf[start: start + 8] = _I64.pack(_math(math, self.spec.math_initial, _I64.unpack(value)[0]))
            slot_off = self.hash_off + 4 * (h % self.hashsize)
            last = _U32.unpack_from(buf, slot_off)[0]
            prev = 0
            if last:
                steps = 0
                while True:
                    nxt = _U32.unpack_from(buf, self.items_off + last * self.itemsize + _ITEM_NEXT)[0]
                    if not nxt or steps > self.max_items:
                        break
                    last = nxt
                    steps += 1
                prev = last
            j.pack(_ITEM, off, h, klen, 0, vlen, expires, prev, 0)
            if prev:
                j.pack(_U32, self.items_off + prev * self.itemsize + _ITEM_NEXT, idx)
            else:
                j.pack(_U32, slot_off, idx)
            j.pack(_U64, _NITEMS_OFF, _U64.unpack_from(buf, _NITEMS_OFF)[0] + 1)
            if self.spec.purge_lru:
                self._lru_append(idx)
        elif update:
            self._begin()
            off = self.items_off + idx * self.itemsize
            if math is None:
                if expires:
                    if not absolute:
                        expires += now
                    next_scan = _U64.unpack_from(buf, _NEXT_SCAN_OFF)[0]
                    if not next_scan or next_scan > expires:
                        j.pack(_U64, _NEXT_SCAN_OFF, expires)
                if _U64.unpack_from(buf, off + _ITEM_EXPIRES)[0] != expires:
                    j.pack(_U64, off + _ITEM_EXPIRES, expires)
                j.write(self.data_off + idx * self.blocksize, value)
            else:
                start = self.data_off + idx * self.blocksize
                current = _I64.unpack_from(buf, start)[0]
                j.pack(_I64, start, _math(math, current, _I64.unpack(value)[0]))
            if _U64.unpack_from(buf, off + _ITEM_VALSIZE)[0] != vlen:
                j.pack(_U64, off + _ITEM_VALSIZE, vlen)
            if self.spec.purge_lru:
                self._lru_touch(idx)
        else:
            return False
        self._end()
        return True

    def _del_index_locked(self, idx: int) -> None:
        buf = self.buf
        j = self.journal
        off = self.items_off + idx * self.itemsize
        h, ks, _, _, _, prev, nxt = _ITEM.unpack_from(buf, off)
        if not ks:
            return
        free_count = _U64.unpack_from(buf, _FREE_OFF)[0]
        j.pack(_U32, self.free_off + 4 * free_count, idx)
        j.pack(_U64, _FREE_OFF, free_count + 1)
        if prev:
            j.pack(_U32, self.items_off + prev * self.itemsize + _ITEM_NEXT, nxt)
        else:
            j.pack(_U32, self.hash_off + 4 * (h % self.hashsize), nxt)
        if nxt:
            j.pack(_U32, self.items_off + nxt * self.itemsize + _ITEM_PREV, prev)
        j.pack(_U64, _NITEMS_OFF, _U64.unpack_from(buf, _NITEMS_OFF)[0] - 1)
        j.pack(_ITEM, off, 0, 0, 0, 0, 0, 0, 0)
        if self.spec.purge_lru:
            self._lru_unlink(idx)

    def set(self, key: bytes, value: bytes, expires: int = 0) -> bool:
        with self.lock:
            ok = self._set_locked(key, value, expires, False)
            change = self._item_change(key) if ok and self.nodes is not None else None
        if change is not None:
            self.nodes.send(change)  # type: ignore[union-attr]
        return ok

    def update(self, key: bytes, value: bytes, expires: int = 0, absolute: bool = False,
               local: bool = False) -> bool:
        """Store ``value`` (upsert).  ``absolute``: ``expires`` is a unix time, not a delay;
        ``local``: not replicated to the ``nodes`` (a change received from one)."""
        with self.lock:
            ok = self._set_locked(key, value, expires, True, absolute=absolute)
            change = self._item_change(key) if ok and self.nodes is not None and not local else None
        if change is not None:
            self.nodes.send(change)  # type: ignore[union-attr]
        return ok

    def math(self, op: str, key: bytes, amount: int, expires: int = 0) -> bool:
        try:
            delta = _I64.pack(amount)
        except struct.error:
            raise OverflowError("cache_%s: amount out of the 64-bit range" % op) from None
        with self.lock:
            ok = self._set_locked(key, delta, expires, True, op)
            change = self._item_change(key) if ok and self.nodes is not None else None
        if change is not None:
            self.nodes.send(change)  # type: ignore[union-attr]
        return ok

    def delete(self, key: bytes, local: bool = False) -> bool:
        with self.lock:
            idx = self._index(key, zlib.crc32(key))
            if not idx:
                return False
            self._begin()
            self._del_index_locked(idx)
            self._end()
        if self.nodes is not None and not local:
            self.nodes.send(CacheChange(DELETE, bytes(key)))
        return True

    def _item_change(self, key: bytes) -> Optional[CacheChange]:
        """The replication datagram's content for ``key`` as stored now (lock held): its
        value (the result, for a math operation) and absolute expiry."""
        idx = self._index(key, zlib.crc32(key))
        if not idx:
            return None
        off = self.items_off + idx * self.itemsize
        vs = _U64.unpack_from(self.buf, off + _ITEM_VALSIZE)[0]
        expires = _U64.unpack_from(self.buf, off + _ITEM_EXPIRES)[0]
        start = self.data_off + idx * self.blocksize
        return CacheChange(SET, bytes(key), bytes(self.buf[start: start + vs]), expires)

    def _clear_locked(self) -> None:
        buf = self.buf
        _U32.pack_into(buf, 4, 1)
        buf[self.hash_off: self.hash_off + 4 * self.hashsize] = bytes(4 * self.hashsize)
        zero = bytes(_ITEM.size)
        for i in range(1, self.max_items):
            buf[self.items_off + i * self.itemsize: self.items_off + i * self.itemsize + _ITEM.size] = zero
        _U64.pack_into(buf, _NITEMS_OFF, 0)
        buf[self.lru_off: self.lru_off + _PAIR.size * self.max_items] = bytes(_PAIR.size * self.max_items)
        _PAIR.pack_into(buf, _LRU_ENDS_OFF, 0, 0)
        self._rebuild_free_stack()
        _U32.pack_into(buf, 4, 0)

    def clear(self) -> bool:
        with self.lock:
            self._begin()
            self._clear_locked()
            self._end()
        return True

    def sweep(self, now: Optional[float] = None) -> int:
        """Delete expired items (the sweeper); returns how many.  ``no_expire`` and
        ``lazy_expire`` caches are not swept (as in uWSGI)."""
        if self.spec.no_expire or self.spec.lazy_expire:
            return 0
        now = int(time.time() if now is None else now)
        next_scan = _U64.unpack_from(self.buf, _NEXT_SCAN_OFF)[0]
        if not next_scan or next_scan > now:
            return 0
        with self.lock:
            return self._sweep_locked(now)

    def _sweep_locked(self, now: int) -> int:
        buf = self.buf
        freed = 0
        new_next = 0
        self._begin()
        for i in range(1, self.max_items):
            off = self.items_off + i * self.itemsize
            _, ks, _, _, exp, _, _ = _ITEM.unpack_from(buf, off)
            if not ks or not exp:
                continue
            if exp <= now:
                self._del_index_locked(i)
                self.journal.commit()
                freed += 1
            elif not new_next or new_next > exp:
                new_next = exp
        self.header_words[0] = new_next  # next_scan
        self._end()
        return freed

    def check(self) -> List[str]:
        """Invariant violations of the table (empty when consistent); for tests."""
        with self.lock:
            return check_table(self)

    # -- stats ------------------------------------------------------------------------

    def stats(self) -> Dict[str, object]:
        """The entry of this cache in the stats JSON (uWSGI's keys, in its order).

        Hits and misses are counted per process and published by each worker once a
        second (:meth:`flush_counters`), so they may lag by that much."""
        self.flush_counters()
        _, _, _, n_items, _, _, last_mod, full = _HDR.unpack_from(self.buf, 0)
        hits = miss = 0
        for s in range(self.slots):
            hh, mm = self.hits_words[2 * s], self.hits_words[2 * s + 1]
            hits += hh
            miss += mm
        return {
            "name": self.name,
            "hash": "crc32",
            "hashsize": self.hashsize,
            "keysize": self.keysize,
            "max_items": self.max_items,
            "blocks": self.spec.blocks or self.max_items,
            "blocksize": self.blocksize,
            "items": n_items,
            "hits": hits,
            "miss": miss,
            "full": full,
            "last_modified_at": last_mod,
        }

    @property
    def _file(self) -> Optional[mmap.mmap]:
        """The store file's mapping (None: an anonymous table, or closed)."""
        return self._storage if isinstance(self._storage, mmap.mmap) else None

    @property
    def table_size(self) -> int:
        return len(self.buf)

    def sync(self, wait: bool = False) -> None:
        """Start writing a store file's dirty pages (``store_sync``; ``wait`` at exit)."""
        if self._file is None:
            return
        try:
            msync(self._file, wait)
        except (OSError, ValueError) as e:
            gen_log.error('msync() of the store of cache "%s" (%s): %s', self.name, self.spec.store, e)

    def close(self) -> None:
        if self._file is not None:
            self.sync(wait=True)
        if self._storage is not None:
            self.journal.release()
            self.gen_word.release()
            self.header_words.release()
            self._storage.close()
            self._storage = None
        self.hits_words.release()
        self.region.close()


class Caches:
    """Every cache of the instance, by name; the first one is the default
    (``cache=None``), as in uWSGI (the legacy ``--cache`` one comes first)."""

    def __init__(self, specs: List[CacheSpec], slots: int = 1) -> None:
        seen = set()
        for s in specs:
            if s.name in seen:
                raise CacheConfigError('cache "%s" defined twice' % s.name)
            seen.add(s.name)
        self.caches: List[SharedCache] = []
        try:
            for s in specs:
                self.caches.append(SharedCache(s, slots))
        except CacheStoreError as e:
            self.close()
            raise CacheConfigError(str(e)) from None
        self.by_name: Dict[str, SharedCache] = {c.name: c for c in self.caches}
        self.default: Optional[SharedCache] = self.caches[0] if self.caches else None
        #: monotonic time of each store's next msync (uWSGI syncs at the first master cycle too)
        self._next_sync: Dict[str, float] = {c.name: 0.0 for c in self.caches if c.spec.store}
        for c in self.caches:
            gen_log.info('*** Cache "%s" initialized: %dMB (key: %d bytes, keys: %d bytes, data: %d bytes) preallocated ***',
                         c.name, c.table_size // (1024 * 1024), c.itemsize, c.itemsize * c.max_items,
                         c.blocksize * c.max_items)

    def get(self, name: Optional[str]) -> Optional[SharedCache]:
        if not name:
            return self.caches[0] if self.caches else None
        return self.by_name.get(name)

    def after_fork(self, slot: int) -> None:
        for c in self.caches:
            c.after_fork(slot)

    def flush_counters(self) -> None:
        for c in self.caches:
            c.flush_counters()

    def sweep(self, report: bool = False) -> int:
        """Run every cache's sweeper; ``report`` (``--cache-report-freed-items``) logs each
        cache's count when it freed some."""
        total = 0
        for c in self.caches:
            freed = c.sweep()
            if report and freed:
                gen_log.info('freed %d items for cache "%s"', freed, c.name)
            total += freed
        return total

    def sync_stores(self, now: float) -> None:
        """msync the store files whose ``store_sync`` period is due (``now``: monotonic)."""
        for c in self.caches:
            due = self._next_sync.get(c.name)
            if due is None or now < due:
                continue
            c.sync()
            self._next_sync[c.name] = now + c.spec.store_sync if c.spec.store_sync else float("inf")

    def stats(self) -> List[Dict[str, object]]:
        return [c.stats() for c in self.caches]

    def lock_stats(self) -> List[Tuple[str, int]]:
        return [(c.lock.name, c.lock.holder()) for c in self.caches]

    def close(self) -> None:
        for c in self.caches:
            c.close()

