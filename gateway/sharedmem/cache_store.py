"""The file behind a cache with ``store=FILE`` (``--cache-store``): the cache's table
mapped ``MAP_SHARED`` from a regular file, so its content survives a restart.

uWSGI accepts an existing file when its size matches the cache's; gateway also checks
the geometry recorded in the table's header (:data:`gateway.sharedmem.layout._GEOM`):
a file of the right size written for another ``keysize``/``items``/``blocksize``/
``hashsize`` split, or by another program, is refused too.  With ``store_delete`` an
invalid file is removed and a new one created instead (uWSGI's ``store_delete``).

The file is opened once, without following a symlink, created only if absent, and
checked on the open descriptor (a regular file of this process's user): a planted
symlink or a file swapped between a check and the open cannot redirect the writes.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
from typing import Callable, Optional, Tuple

from gateway.logs import gen_log


class CacheStoreError(ValueError):
    """A store file that cannot be used (the message names the cache and the file)."""


def _open(path: str, what: str) -> Tuple[int, bool]:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), True
    except FileExistsError:
        pass
    except OSError as e:
        why = "a symlink (refused)" if e.errno == errno.ELOOP else (e.strerror or str(e))
        raise CacheStoreError("%s %s: %s" % (what, path, why)) from None
    try:
        return os.open(path, os.O_RDWR | os.O_NOFOLLOW), False
    except OSError as e:
        why = "a symlink (refused)" if e.errno == errno.ELOOP else (e.strerror or str(e))
        raise CacheStoreError("%s %s: %s" % (what, path, why)) from None


def open_store(path: str, size: int, what: str, valid: Callable[[mmap.mmap], Optional[str]],
               delete_invalid: bool = False) -> Tuple[mmap.mmap, bool]:
    """Map ``path`` (``size`` bytes); returns ``(mapping, created)``.

    ``valid(mapping)`` says why an existing file's content is unusable (None: usable);
    ``what`` names the cache in errors.  A new file is zero-filled (the caller lays the
    table out)."""
    for attempt in (1, 2):
        fd, created = _open(path, what)
        try:
            why: Optional[str] = None
            if not created:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise CacheStoreError("%s %s: not a regular file" % (what, path))
                if st.st_uid != os.geteuid():
                    raise CacheStoreError("%s %s: owned by uid %d, not by this process's user (%d)"
                                          % (what, path, st.st_uid, os.geteuid()))
                if st.st_size != size:
                    why = "its size is %d bytes, the cache needs %d" % (st.st_size, size)
            else:
                os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) if why is None else None
            if mm is not None and not created:
                why = valid(mm)
                if why is not None:
                    mm.close()
                    mm = None
        finally:
            os.close(fd)  # the mapping keeps the file
        if mm is not None:
            if created:
                gen_log.info("creating a new cache store file: %s", path)
            else:
                gen_log.info("recovered cache from backing store file: %s", path)
            return mm, created
        if not delete_invalid or attempt == 2:
            raise CacheStoreError("%s %s: invalid cache store file (%s). Please remove it or fix cache "
                                  "blocksize/items/keysize/hashsize to match it (or add store_delete)"
                                  % (what, path, why))
        gen_log.warning("Removing invalid cache store file: %s (%s)", path, why)
        try:
            os.unlink(path)
        except OSError as e:
            raise CacheStoreError("%s %s: cannot remove the invalid cache store file: %s"
                                  % (what, path, e.strerror or e)) from None
    raise AssertionError("unreachable")


def msync(mm: mmap.mmap, wait: bool) -> None:
    """Start writing the mapping's dirty pages (``MS_ASYNC``: never waits for the disk),
    or write them and wait (``wait``, at exit)."""
    from gateway.sharedmem.queue import _msync_async

    if wait or not _msync_async(mm):
        mm.flush()
