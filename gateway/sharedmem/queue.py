"""``--queue N``: uWSGI's shared queue and the ``uwsgi.queue_*`` functions.

The queue is one mapping laid out exactly as uWSGI's: a 16-byte header (``pos`` and
``pull_pos``, native unsigned 64-bit) then N slots of ``--queue-blocksize`` bytes (8192 by
default), each starting with a 16-byte item header (the value's size, 0 for an empty slot,
and the time it was stored, in seconds) followed by the value.  So a value holds at most
``blocksize - 16`` bytes.  It is made before the first fork, so every worker, mule and
spooler sees the same slots; each operation holds the queue's short cross-process lock.

* ``queue_push(value)`` stores at ``pos`` and moves ``pos`` on (wrapping: a full ring
  overwrites its oldest slot, as uWSGI);
* ``queue_pop()`` moves ``pos`` back and takes that slot (LIFO);
* ``queue_pull()`` takes the slot at ``pull_pos`` and moves it on (FIFO);
* ``queue_get(i)`` / ``queue_set(i, value)`` read / overwrite slot ``i``;
* ``queue_last([n])``: the value just before ``pos`` (``n`` absent or 0), or a list of the
  ``n`` slots before ``pos``, newest first (``None`` for empty ones);
* ``queue_slot()`` / ``queue_pull_slot()``: ``pos`` / ``pull_pos``; ``queue_size``: N.

A process killed inside an operation (harakiri, the OOM killer) leaves every slot empty or
whole, and each position old or new: the positions are single-store words
(:mod:`gateway.sharedmem.words`), a slot's size is written last, and a pull moves
``pull_pos`` before it empties the slot.  The value being pushed or pulled may be lost,
never the queue.

Results are uWSGI's: ``True`` or ``None`` for ``push``/``set``; bytes or ``None`` for the
readers.  :class:`Ring` is the sans-IO part (any writable buffer); :class:`SharedQueue` adds
the mapping (anonymous, or ``--queue-store FILE`` mapped ``MAP_SHARED``) and the lock.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
import struct
import time
from typing import Any, Callable, List, Optional, Tuple, Union

from gateway.api_args import bytes_arg, int_arg
from gateway.logs import gen_log
from gateway.sharedmem.region import Region, ShortLock
from gateway.sharedmem.words import word_view

__all__ = ["FUNCTIONS", "QueueConfigError", "Ring", "SharedQueue", "check_geometry"]

#: the queue header: pos, pull_pos
HEADER = struct.Struct("=QQ")
#: each slot's item header: size, ts (uWSGI's struct uwsgi_queue_item: uint64_t, time_t)
ITEM = struct.Struct("=Qq")
_SIZE = struct.Struct("=Q")
_TIME = struct.Struct("=q")
DEFAULT_BLOCKSIZE = 8192
#: the largest queue (N x blocksize): a typo like '--queue 100000000' must not take the machine's memory
MAX_BYTES = 1 << 31


class QueueConfigError(ValueError):
    """A ``--queue*`` value that cannot work; ``str()`` names the option."""


def check_geometry(items: int, blocksize: int, page: int = mmap.PAGESIZE) -> None:
    """Refuse a queue uWSGI would refuse (N x blocksize not a whole number of pages) and the
    ones it would let corrupt memory (a block too small for its item header) or that are absurd."""
    if items <= 0:
        raise QueueConfigError("--queue %d: the queue needs at least one slot" % items)
    if blocksize <= ITEM.size:
        raise QueueConfigError("--queue-blocksize %d: a block must be larger than its %d-byte item header"
                               % (blocksize, ITEM.size))
    if items * blocksize > MAX_BYTES:
        raise QueueConfigError("--queue %d x --queue-blocksize %d: the queue would take %d bytes, more than %d"
                               % (items, blocksize, items * blocksize, MAX_BYTES))
    if (items * blocksize) % page:
        raise QueueConfigError("invalid queue size/blocksize %d: must be a multiple of memory page size (%d bytes)"
                               " (--queue %d x --queue-blocksize %d = %d bytes)"
                               % (blocksize, page, items, blocksize, items * blocksize))


class Ring:
    """uWSGI's queue operations over ``buf`` (header + ``items`` slots of ``blocksize``).

    Not locked: the caller holds the queue's lock around each call."""

    def __init__(self, buf: Any, items: int, blocksize: int, clock: Callable[[], float] = time.time) -> None:
        if len(buf) < HEADER.size + items * blocksize:
            raise ValueError("buffer too small for %d slots of %d bytes" % (items, blocksize))
        self.buf = buf
        self.items = items
        self.blocksize = blocksize
        self.capacity = blocksize - ITEM.size
        self.clock = clock
        #: pos, pull_pos (gateway.sharedmem.words)
        self._header = word_view(buf, 0, "Q", 2)

    # -- header ---------------------------------------------------------------------------

    def positions(self) -> Tuple[int, int]:
        header = self._header
        return header[0], header[1]

    def _set_positions(self, pos: int, pull: int) -> None:
        # each word in one store, and only the one that moves: a process killed here leaves
        # the old or the new position (struct.pack_into would pass both through 0)
        header = self._header
        if header[0] != pos:
            header[0] = pos
        if header[1] != pull:
            header[1] = pull

    def release(self) -> None:
        """Let go of the buffer (before the mapping is closed)."""
        self._header.release()

    def repair(self) -> bool:
        """Bring a header read from a store file back in range (True if it was not)."""
        pos, pull = self.positions()
        if pos < self.items and pull < self.items:
            return False
        self._set_positions(pos if pos < self.items else 0, pull if pull < self.items else 0)
        return True

    # -- slots ----------------------------------------------------------------------------

    def _offset(self, index: int) -> int:
        return HEADER.size + index * self.blocksize

    def _read(self, index: int) -> Optional[bytes]:
        off = self._offset(index)
        size = ITEM.unpack_from(self.buf, off)[0]
        if size == 0 or size > self.capacity:  # empty (or a corrupt store file's garbage)
            return None
        start = off + ITEM.size
        return bytes(self.buf[start:start + size])

    def _write(self, index: int, value: bytes) -> None:
        # the size word goes to 0 first and gets its value last (its pack_into passes through 0
        # too: empty): a process killed at any point leaves an empty slot or the whole value
        off = self._offset(index)
        buf = self.buf
        _SIZE.pack_into(buf, off, 0)
        start = off + ITEM.size
        buf[start:start + len(value)] = value
        _TIME.pack_into(buf, off + _SIZE.size, int(self.clock()))
        _SIZE.pack_into(buf, off, len(value))

    def _clear(self, index: int) -> None:
        _SIZE.pack_into(self.buf, self._offset(index), 0)

    def fits(self, value: bytes) -> bool:
        return 0 < len(value) <= self.capacity

    # -- uWSGI's operations -----------------------------------------------------------------

    def push(self, value: bytes) -> bool:
        if not self.fits(value):
            return False
        pos, pull = self.positions()
        self._write(pos, value)
        self._set_positions((pos + 1) % self.items, pull)
        return True

    def set(self, index: int, value: bytes) -> bool:
        if not self.fits(value) or not 0 <= index < self.items:
            return False
        self._write(index, value)
        return True

    def pop(self) -> Optional[bytes]:
        """LIFO: ``pos`` moves back first, even onto an empty slot (as uWSGI)."""
        pos, pull = self.positions()
        pos = pos - 1 if pos else self.items - 1
        self._set_positions(pos, pull)
        value = self._read(pos)
        if value is not None:
            self._clear(pos)
        return value

    def pull(self) -> Optional[bytes]:
        """FIFO: ``pull_pos`` moves on only when its slot held a value."""
        pos, pull = self.positions()
        value = self._read(pull)
        if value is None:
            return None
        # pull_pos moves first: a process killed in between leaves the value behind pull_pos
        # (lost with its puller), never pull_pos on an emptied slot, where every later pull
        # would return None until the ring wrapped
        self._set_positions(pos, (pull + 1) % self.items)
        self._clear(pull)
        return value

    def get(self, index: int) -> Optional[bytes]:
        if not 0 <= index < self.items:
            return None
        return self._read(index)

    def last(self, num: int = 0) -> Union[None, bytes, List[Optional[bytes]]]:
        pos = self.positions()[0]
        base = pos - 1 if pos else self.items - 1
        if num == 0:
            return self._read(base)
        out: List[Optional[bytes]] = []
        for _ in range(min(max(num, 0), self.items)):
            out.append(self._read(base))
            base = base - 1 if base else self.items - 1
        return out


def _open_store(path: str, size: int) -> mmap.mmap:
    """Map ``--queue-store`` (created zero-filled, or recovered when its size matches).

    The file is opened once, without following a symlink (``O_NOFOLLOW``), created only if
    absent (``O_EXCL``), and checked on the open descriptor (``fstat``: a regular file of
    this process's user, of the right size): a planted symlink or a file swapped between a
    check and the open cannot make the server write the queue elsewhere."""
    created = True
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        created = False
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
        except OSError as e:
            why = "a symlink (refused)" if e.errno == errno.ELOOP else (e.strerror or str(e))
            raise QueueConfigError("--queue-store %s: %s" % (path, why)) from None
    except OSError as e:
        why = "a symlink (refused)" if e.errno == errno.ELOOP else (e.strerror or str(e))
        raise QueueConfigError("--queue-store %s: %s" % (path, why)) from None
    try:
        if not created:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size != size:
                raise QueueConfigError("--queue-store %s: invalid queue store file. Please remove it or fix queue "
                                       "blocksize/items to match its size (%d bytes expected, it has %d)"
                                       % (path, size, st.st_size))
            if st.st_uid != os.geteuid():
                raise QueueConfigError("--queue-store %s: owned by uid %d, not by this process's user (%d)"
                                       % (path, st.st_uid, os.geteuid()))
            gen_log.info("recovered queue from backing store file: %s", path)
        else:
            gen_log.info("creating a new queue store file: %s", path)
            os.ftruncate(fd, size)
        return mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)  # the mapping keeps the file


def _msync_async(mm: mmap.mmap) -> bool:
    """``msync(MS_ASYNC)`` on a whole mapping (the ``mmap`` module only has ``MS_SYNC``);
    False where libc's ``msync`` cannot be reached."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        address = ctypes.addressof(ctypes.c_char.from_buffer(mm))
    except (OSError, TypeError, ValueError, AttributeError):
        return False
    ms_async = getattr(mmap, "MS_ASYNC", 1)
    if libc.msync(ctypes.c_void_p(address), ctypes.c_size_t(len(mm)), ms_async) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return True


class SharedQueue:
    """The instance's queue: its mapping (made before the first fork), lock and :class:`Ring`."""

    def __init__(self, items: int, blocksize: int = DEFAULT_BLOCKSIZE, store: Optional[str] = None) -> None:
        check_geometry(items, blocksize)
        self.items = items
        self.blocksize = blocksize
        self.store = store
        size = HEADER.size + items * blocksize
        if store:
            self._file: Optional[mmap.mmap] = _open_store(store, size)
            # the lock lives in its own anonymous file: a record lock on the store file would
            # be dropped whenever the app opened and closed that file (POSIX semantics)
            self.region = Region("queue", 0)
            buf: Any = self._file
        else:
            self._file = None
            self.region = Region("queue", size)
            buf = self.region.buf
        self.lock = ShortLock(self.region, 0, "queue")
        self.ring = Ring(buf, items, blocksize)
        if store and self.ring.repair():
            gen_log.warning("queue store %s: its header was out of range; positions reset", store)
        gen_log.info("*** Queue subsystem initialized: %dMB preallocated ***", (items * blocksize) // (1024 * 1024))

    def after_fork(self) -> None:
        self.lock.after_fork()

    def sync(self, wait: bool = False) -> None:
        """Start writing the store file's dirty pages (``--queue-store-sync``: ``msync`` with
        ``MS_ASYNC``, as uWSGI, so the master's loop never waits for the disk); ``wait``
        (at exit) waits for them.  Nothing without a store."""
        if self._file is None:
            return
        try:
            if wait or not _msync_async(self._file):
                self._file.flush()
        except (OSError, ValueError) as e:
            gen_log.error("msync() of the queue store %s: %s", self.store, e)

    def close(self) -> None:
        self.ring.release()
        if self._file is not None:
            self.sync(wait=True)
            self._file.close()
            self._file = None
        self.region.close()


#: the queue of this process (set by :class:`gateway.subsystems.Subsystems` before the fork)
current: Optional[SharedQueue] = None


def _queue() -> SharedQueue:
    if current is None:  # pragma: no cover - the functions are bound only with --queue
        raise RuntimeError("no --queue configured")
    return current


def queue_push(value: Any) -> Optional[bool]:
    data = bytes_arg(value, "queue_push")
    q = _queue()
    with q.lock:
        return True if q.ring.push(data) else None


def queue_set(index: Any, value: Any) -> Optional[bool]:
    i = int_arg(index, "queue_set")
    data = bytes_arg(value, "queue_set")
    q = _queue()
    with q.lock:
        return True if q.ring.set(i, data) else None


def queue_pull() -> Optional[bytes]:
    q = _queue()
    with q.lock:
        return q.ring.pull()


def queue_pop() -> Optional[bytes]:
    q = _queue()
    with q.lock:
        return q.ring.pop()


def queue_get(index: Any) -> Optional[bytes]:
    i = int_arg(index, "queue_get")
    q = _queue()
    with q.lock:
        return q.ring.get(i)


def queue_last(num: Any = 0) -> Union[None, bytes, List[Optional[bytes]]]:
    n = int_arg(num, "queue_last")
    q = _queue()
    with q.lock:
        return q.ring.last(n)


def queue_slot() -> int:
    q = _queue()
    with q.lock:
        return q.ring.positions()[0]


def queue_pull_slot() -> int:
    q = _queue()
    with q.lock:
        return q.ring.positions()[1]


#: name -> function, bound into the ``uwsgi`` module with ``--queue`` (as uWSGI), with ``queue_size``
FUNCTIONS: Tuple[Tuple[str, Any], ...] = (
    ("queue_get", queue_get), ("queue_set", queue_set), ("queue_last", queue_last),
    ("queue_push", queue_push), ("queue_pull", queue_pull), ("queue_pop", queue_pop),
    ("queue_slot", queue_slot), ("queue_pull_slot", queue_pull_slot),
)
