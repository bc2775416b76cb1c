"""An undo journal inside a shared mapping: multi-word writes that a killed writer
cannot leave half done.

A writer holding the region's lock calls :meth:`Journal.write` for every store that
other processes could observe; each call first appends ``(offset, old bytes)`` to
the journal, then publishes the entry by storing the new entry count (one aligned
native 4-byte store, :mod:`gateway.sharedmem.words`: a process killed at any
instruction leaves either the old or the new count, never 0 or a mix of their
bytes), then performs the store.  Recovery
walks ``count`` self-describing entries; nothing else in the header is trusted.  :meth:`commit` empties the journal.
Whoever takes the lock next calls :meth:`recover`: a non-empty journal means the
previous holder died mid-transaction (the kernel released its record lock), and the
old bytes are put back in reverse order, so the table is exactly as it was before
that transaction began.

Layout at ``base`` (8-byte aligned): ``u32 count`` (native), ``u32 used`` (bytes, a
hint for humans), then entries ``u64 offset, u32 length, u32 pad, bytes[length]``.
"""

from __future__ import annotations

import struct
from typing import Any

from gateway.sharedmem.words import word_view

HEADER_FIELDS = 8
_ENTRY = struct.Struct("<QII")
HEADER = HEADER_FIELDS


class JournalFull(RuntimeError):
    pass


class Journal:
    """Undo journal of ``capacity`` bytes at ``base`` in ``buf``."""

    __slots__ = ("buf", "base", "capacity", "_count", "_used", "_header")

    def __init__(self, buf: Any, base: int, capacity: int) -> None:
        self.buf = buf
        self.base = base
        self.capacity = capacity
        self._count = 0
        self._used = 0
        #: [count, used] in the mapping, each stored in one instruction
        self._header = word_view(buf, base, "I", 2)

    @staticmethod
    def size_for(capacity: int) -> int:
        return HEADER + capacity

    def write(self, offset: int, data: bytes) -> None:
        """Store ``data`` at ``offset``, journaling the bytes it replaces."""
        buf = self.buf
        n = len(data)
        need = _ENTRY.size + n
        if self._used + need > self.capacity:
            raise JournalFull("journal of %d bytes is full" % self.capacity)
        pos = self.base + HEADER + self._used
        _ENTRY.pack_into(buf, pos, offset, n, 0)
        buf[pos + _ENTRY.size: pos + need] = buf[offset: offset + n]
        self._count += 1
        self._used += need
        header = self._header
        header[1] = self._used
        header[0] = self._count  # publishes the entry
        buf[offset: offset + n] = data

    def pack(self, st: struct.Struct, offset: int, *values: Any) -> None:
        self.write(offset, st.pack(*values))

    def commit(self) -> None:
        self._header[0] = 0
        self._count = 0
        self._used = 0

    def pending(self) -> int:
        return self._header[0]

    def release(self) -> None:
        """Let go of the mapping (before it is closed)."""
        self._header.release()

    def recover(self) -> int:
        """Undo an interrupted transaction; returns how many stores were undone."""
        buf = self.buf
        count = self._header[0]
        if not count:
            self._count = self._used = 0
            return 0
        entries = []
        pos = self.base + HEADER
        end = pos + self.capacity
        for _ in range(count):
            if pos + _ENTRY.size > end:
                break
            offset, n, _ = _ENTRY.unpack_from(buf, pos)
            entries.append((offset, bytes(buf[pos + _ENTRY.size: pos + _ENTRY.size + n])))
            pos += _ENTRY.size + n
        for offset, old in reversed(entries):
            buf[offset: offset + len(old)] = old
        self.commit()
        return len(entries)
