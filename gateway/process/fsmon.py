"""Filesystem monitors for ``--fs-reload``, ``--fs-brutal-reload`` and ``--fs-signal``.

uWSGI watches each path with inotify (``IN_ATTRIB | IN_CREATE | IN_DELETE | IN_DELETE_SELF |
IN_MODIFY | IN_MOVE_SELF | IN_MOVED_FROM | IN_MOVED_TO``), so a directory counts as modified
when one of its entries is created, deleted, renamed, written or has its metadata changed
(not deeper: inotify is not recursive).  :class:`Inotify` does the same through ``ctypes``
(Linux): its descriptor joins the master's ``selectors`` loop, so a change is seen at once
and nothing is polled.

Where inotify is missing (another OS, ``ENOSYS``, the per-user watch limit reached),
:class:`PollingWatch` compares a signature of the path every ``--check-interval`` seconds:
the path's own ``stat()`` and, for a directory, the ``stat()`` of its first
:data:`MAX_ENTRIES` entries, the bound on what one check costs.

:func:`parse_events` is the pure part: inotify's byte stream to ``(wd, mask, name)`` events.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
from typing import Dict, List, Optional, Tuple

__all__ = ["Inotify", "PollingWatch", "WATCH_MASK", "MAX_ENTRIES", "parse_events", "signature"]

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_IGNORED = 0x00008000
IN_Q_OVERFLOW = 0x00004000

#: uWSGI's mask (core/fsmon.c)
WATCH_MASK = (IN_ATTRIB | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MODIFY | IN_MOVE_SELF
              | IN_MOVED_FROM | IN_MOVED_TO)

#: Directory entries a polling check looks at (the rest of a huge directory is not watched).
MAX_ENTRIES = 1024
#: Bytes read from the inotify descriptor per wake-up (events left over wake the loop again).
READ_SIZE = 64 * 1024

_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


def parse_events(data: bytes) -> List[Tuple[int, int, bytes]]:
    """``(wd, mask, name)`` for each complete ``struct inotify_event`` in ``data`` (the
    kernel only returns whole events; a truncated tail is ignored)."""
    events = []
    pos = 0
    while pos + _EVENT.size <= len(data):
        wd, mask, _cookie, length = _EVENT.unpack_from(data, pos)
        end = pos + _EVENT.size + length
        if end > len(data):
            break
        events.append((wd, mask, data[pos + _EVENT.size:end].rstrip(b"\0")))
        pos = end
    return events


class Inotify:
    """One non-blocking inotify descriptor (``fd``) and its watches; raises OSError when the
    kernel or the C library has no inotify."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("c")
        self._libc = ctypes.CDLL(name, use_errno=True)
        if not hasattr(self._libc, "inotify_init1"):
            raise OSError(errno.ENOSYS, "no inotify in the C library")
        fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        self.fd: int = fd

    def add(self, path: str) -> int:
        """Watch ``path``; its watch descriptor (OSError when it cannot be watched)."""
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), WATCH_MASK)
        if wd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "%s: %s" % (path, os.strerror(e)))
        return int(wd)

    def read(self) -> List[Tuple[int, int, bytes]]:
        """The events waiting (empty when none)."""
        try:
            data = os.read(self.fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return []
        return parse_events(data)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _stat_key(path: str) -> Optional[Tuple[int, int, int, int, int]]:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def signature(path: str, max_entries: int = MAX_ENTRIES) -> object:
    """What a polling check compares: the path's own metadata and, for a directory, the
    names and metadata of its first ``max_entries`` entries (sorted)."""
    own = _stat_key(path)
    if own is None or not os.path.isdir(path):
        return own
    try:
        names = sorted(os.listdir(path))[:max_entries]
    except OSError:
        return own
    return own, tuple((n, _stat_key(os.path.join(path, n))) for n in names)


class PollingWatch:
    """The fallback: :meth:`changed` is True when the signature differs from the last one."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.last = signature(path)

    def changed(self) -> bool:
        now = signature(self.path)
        if now == self.last:
            return False
        self.last = now
        return True


def watch_all(paths: List[str]) -> Tuple[Optional[Inotify], Dict[int, List[str]], List[str]]:
    """An :class:`Inotify` watching ``paths`` (None when inotify is unavailable), its watch
    descriptors to paths (two spellings of one file share a descriptor), and the paths that
    must be polled instead (missing ones among them: they are seen when they appear)."""
    try:
        ino = Inotify()
    except (OSError, AttributeError):
        return None, {}, list(paths)
    by_wd: Dict[int, List[str]] = {}
    polled: List[str] = []
    for path in paths:
        try:
            paths_of = by_wd.setdefault(ino.add(path), [])
        except OSError:
            polled.append(path)
            continue
        if path not in paths_of:
            paths_of.append(path)
    return ino, by_wd, polled
