"""One shared-memory file: a ``MAP_SHARED`` mapping plus cross-process lock bytes.

A :class:`Region` is an anonymous file (``memfd_create``; an unlinked temporary
file where that does not exist) of a fixed size, mapped ``MAP_SHARED``.  It must be
created before ``fork`` so parent and children map the same pages.

Lock byte *n* of the file is locked with ``fcntl`` (POSIX record locks, via
:func:`fcntl.lockf`).  Such locks belong to a **process**: the kernel drops them
when the process dies (a worker killed with ``SIGKILL`` inside a critical section
releases it) but they do not exclude two threads or two greenlet cores of the same
process.  :class:`ShortLock` therefore puts a ``threading.Lock`` in front of the
record lock; it is meant for critical sections that never suspend (a cache or
metric operation: microseconds of memory copying).  Locks held for arbitrary
time (``uwsgi.lock()``) queue their waiters per process instead:
:mod:`gateway.sharedmem.locks`.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import tempfile
import threading
from typing import Optional


def _anonymous_file(name: str, size: int) -> int:
    try:
        # MFD_CLOEXEC (the default): an exec (a vassal's binary reload, the app's own
        # os.exec*) must not carry the mapping, which would stay allocated for nothing
        fd = os.memfd_create("gateway-" + name)
    except (AttributeError, OSError):
        fd, path = tempfile.mkstemp(prefix="gateway-%s-" % name)
        os.unlink(path)
    os.set_inheritable(fd, False)  # forked children share it; exec'ed programs never get it
    os.ftruncate(fd, max(size, 1))
    return fd


class Region:
    """``size`` bytes of shared memory, with lock bytes (``lock_count`` of them)
    living beyond the end of the data (record locks may cover bytes past EOF)."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.fd = _anonymous_file(name, size)
        self.buf = mmap.mmap(self.fd, max(size, 1), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)

    def lock_offset(self, n: int) -> int:
        """File offset of lock byte ``n`` (past the data, so locks never cover it)."""
        return self.size + 1 + n

    def close(self) -> None:
        try:
            self.buf.close()
        finally:
            os.close(self.fd)


def record_lock(fd: int, offset: int, blocking: bool) -> bool:
    """Take the exclusive record lock on byte ``offset`` of ``fd``; False if busy."""
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        return True
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return False
        if e.errno == errno.EINTR and blocking:
            return record_lock(fd, offset, True)
        raise


def record_unlock(fd: int, offset: int) -> None:
    fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)


def record_holder(fd: int, offset: int) -> int:
    """Pid of the process holding the record lock on ``offset`` (0: free or ours)."""
    import struct

    # struct flock on Linux x86-64/aarch64: short type, short whence, off_t start, off_t len, pid_t pid
    fmt = "hhqqi"
    arg = struct.pack(fmt, fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
    try:
        res = fcntl.fcntl(fd, fcntl.F_GETLK, arg + b"\0" * 4)
    except OSError:
        return 0
    ltype, _, _, _, pid = struct.unpack(fmt, res[: struct.calcsize(fmt)])
    return pid if ltype != fcntl.F_UNLCK else 0


class ShortLock:
    """Mutual exclusion across processes **and** threads for short, non-suspending
    critical sections (``with lock: ...``).

    A waiter blocks its thread in the kernel until the holder (another process, in a
    section that only copies memory) lets go; a dead holder's lock is released by
    the kernel.  ``on_acquire`` runs after every acquisition, before the section
    (the cache uses it to roll back a write its previous holder did not finish).
    """

    __slots__ = ("fd", "offset", "name", "_thread_lock", "on_acquire", "_pid")

    def __init__(self, region: Region, n: int, name: str) -> None:
        self.fd = region.fd
        self.offset = region.lock_offset(n)
        self.name = name
        self._thread_lock = threading.Lock()
        self.on_acquire: Optional[callable] = None  # type: ignore[valid-type]

    def after_fork(self) -> None:
        """A child must not inherit a thread lock some parent thread held at fork."""
        self._thread_lock = threading.Lock()

    def __enter__(self) -> "ShortLock":
        self._thread_lock.acquire()
        try:
            record_lock(self.fd, self.offset, True)
            if self.on_acquire is not None:
                self.on_acquire()
        except BaseException:
            self._release()
            raise
        return self

    def _release(self) -> None:
        try:
            record_unlock(self.fd, self.offset)
        finally:
            self._thread_lock.release()

    def __exit__(self, *exc: object) -> None:
        self._release()

    def holder(self) -> int:
        return record_holder(self.fd, self.offset)
