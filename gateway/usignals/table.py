"""The shared signal table: who handles which signal, and the event sources.

Created before fork (one :class:`~gateway.sharedmem.region.Region`), written by
workers, read by the master:

* for each signal 0..255: its *target* (``""``, ``"worker"``, ``"workers"``,
  ``"workerN"``, ``"active-workers"``, ...) and a bitmap of the workers that
  registered a handler (a worker's handlers themselves live in that worker);
* per worker slot, how many signals it handled (the stats' ``signals``);
* the event sources (``add_timer``, ``add_rb_timer``, ``add_cron``,
  ``add_file_monitor``), up to 64 of each kind, as in uWSGI.

With ``--lazy-apps`` every worker imports the app itself, so every worker registers
the same ``@timer``: an event source identical to one already in the table is not
added twice (uWSGI's lazy workers each add theirs).
"""

from __future__ import annotations

import struct
from typing import List, Tuple

from gateway.sharedmem.region import Region, ShortLock
from gateway.sharedmem.words import word_view

TIMER, RB_TIMER, CRON, FILEMON = 1, 2, 3, 4
KIND_NAMES = {TIMER: "timer", RB_TIMER: "rbtimer", CRON: "cron", FILEMON: "filemon"}
MAX_PER_KIND = 64
MAX_WORKERS = 256
TARGET_SIZE = 64

_ENTRY = struct.Struct("<%ds32s" % TARGET_SIZE)
_U32 = struct.Struct("<I")
# kind, signal, pad, a, b, c, d, e, path
_SOURCE = struct.Struct("<BBHiiiii256s")
_MAX_SOURCES = MAX_PER_KIND * 4

Source = Tuple[int, int, Tuple[int, int, int, int, int], bytes]


class TableFull(ValueError):
    pass


class SignalTable:
    """See the module docstring.  ``slots`` = worker ids 0..slots-1 (0 = master)."""

    def __init__(self, slots: int) -> None:
        self.slots = min(slots, MAX_WORKERS)
        self.entries_off = 0
        self.counters_off = 256 * _ENTRY.size
        self.count_off = self.counters_off + 8 * MAX_WORKERS
        self.sources_off = self.count_off + 8
        size = self.sources_off + _SOURCE.size * _MAX_SOURCES
        self.region = Region("signals", size)
        self.buf = self.region.buf
        #: handled-signal counters, one per worker, read by the stats while workers count
        #: (single stores: gateway.sharedmem.words)
        self.counters = word_view(self.buf, self.counters_off, "Q", MAX_WORKERS)
        self.lock = ShortLock(self.region, 0, "signal")
        #: event sources :meth:`clear` keeps (the config's --timer/--rbtimer, added first)
        self.pinned = 0

    def after_fork(self) -> None:
        self.lock.after_fork()

    # -- registrations -----------------------------------------------------------------

    def register(self, sig: int, target: str, wid: int) -> None:
        tb = target.encode()
        if len(tb) >= TARGET_SIZE:
            raise ValueError("unable to register signal: target %r is longer than 63 bytes" % target)
        off = self.entries_off + sig * _ENTRY.size
        padded = tb.ljust(TARGET_SIZE, b"\0")
        buf = self.buf
        with self.lock:
            # only what changes, in place: the master reads the entry without the lock (route),
            # and struct.pack_into would blank all of it first (no target: the wrong workers)
            if buf[off: off + TARGET_SIZE] != padded:
                buf[off: off + TARGET_SIZE] = padded
            if 0 <= wid < MAX_WORKERS:
                at = off + TARGET_SIZE + wid // 8
                buf[at] |= 1 << (wid % 8)  # one byte: one store

    def target(self, sig: int) -> Tuple[str, List[int]]:
        """(target, worker ids that registered a handler) of ``sig``."""
        tb, mask = _ENTRY.unpack_from(self.buf, self.entries_off + sig * _ENTRY.size)
        wids = [i for i in range(MAX_WORKERS) if mask[i // 8] & (1 << (i % 8))]
        return tb.rstrip(b"\0").decode(errors="replace"), wids

    def forget_worker(self, wid: int) -> None:
        """A worker died: it will register again when respawned."""
        if not 0 <= wid < MAX_WORKERS:
            return
        buf = self.buf
        bit = 1 << (wid % 8)
        with self.lock:
            for sig in range(256):
                at = self.entries_off + sig * _ENTRY.size + TARGET_SIZE + wid // 8
                if buf[at] & bit:
                    buf[at] &= ~bit & 0xFF  # one byte (see register)

    def snapshot(self) -> Tuple[bytes, bytes]:
        """Targets and event sources, for :meth:`restore` (not the counters)."""
        with self.lock:
            return (bytes(self.buf[self.entries_off: self.counters_off]),
                    bytes(self.buf[self.count_off: self.region.size]))

    def restore(self, snap: Tuple[bytes, bytes]) -> None:
        entries, sources = snap
        with self.lock:
            self.buf[self.entries_off: self.counters_off] = entries
            self.buf[self.count_off: self.region.size] = sources

    def clear(self) -> None:
        """Forget every target, registration and event source but the pinned ones (an app
        reload in the master imports the app again, which registers them again)."""
        with self.lock:
            self.buf[self.entries_off: self.entries_off + 256 * _ENTRY.size] = bytes(256 * _ENTRY.size)
            _U32.pack_into(self.buf, self.count_off, min(self.pinned, _U32.unpack_from(self.buf, self.count_off)[0]))

    def pin_sources(self) -> None:
        """Every event source added so far survives :meth:`clear` (the config's timers: an
        app reload must not drop them)."""
        self.pinned = self.source_count()

    # -- per-worker counters ----------------------------------------------------------

    def count_handled(self, wid: int) -> None:
        if 0 <= wid < MAX_WORKERS:
            self.counters[wid] = (self.counters[wid] + 1) & 0xFFFFFFFFFFFFFFFF

    def handled(self, wid: int) -> int:
        if 0 <= wid < MAX_WORKERS:
            return self.counters[wid]
        return 0

    # -- event sources ------------------------------------------------------------------

    def add_source(self, kind: int, sig: int, fields: Tuple[int, int, int, int, int] = (0, 0, 0, 0, 0),
                   path: bytes = b"") -> bool:
        """Add an event source; False if an identical one exists. Raises TableFull."""
        if len(path) > 255:
            raise ValueError("file monitor path longer than 255 bytes")
        with self.lock:
            sources = self._sources_locked()
            same_kind = 0
            for s in sources:
                if s == (kind, sig, fields, path):
                    return False
                if s[0] == kind:
                    same_kind += 1
            if same_kind >= MAX_PER_KIND:
                raise TableFull("you can register max %d %ss !!!" % (MAX_PER_KIND, KIND_NAMES[kind]))
            n = len(sources)
            _SOURCE.pack_into(self.buf, self.sources_off + n * _SOURCE.size, kind, sig & 0xFF, 0, *fields, path)
            _U32.pack_into(self.buf, self.count_off, n + 1)
        return True

    def source_count(self) -> int:
        return _U32.unpack_from(self.buf, self.count_off)[0]

    def source(self, i: int) -> Source:
        kind, sig, _, a, b, c, d, e, path = _SOURCE.unpack_from(self.buf, self.sources_off + i * _SOURCE.size)
        return kind, sig, (a, b, c, d, e), path.rstrip(b"\0")

    def _sources_locked(self) -> List[Source]:
        return [self.source(i) for i in range(min(self.source_count(), _MAX_SOURCES))]

    def lock_holder(self) -> int:
        return self.lock.holder()

    def close(self) -> None:
        self.counters.release()
        self.region.close()
