"""Opening a file that an app call or a request names, without ever blocking.

``open()`` of a FIFO blocks until a writer appears (forever, for a path nobody writes),
and a character device such as ``/dev/zero`` never ends: either stalls a worker and every
async core on its loop.  :func:`open_regular` opens with ``O_NONBLOCK`` (which returns at
once on a FIFO and changes nothing for a regular file), then checks what it opened with
``fstat`` (a check before the open would leave a window in which the path changes), and
refuses anything but a regular file.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any, Tuple


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a socket or a directory."""


def open_regular(path: Any) -> Tuple[int, os.stat_result]:
    """``(fd, its stat)`` of regular file ``path``, opened read-only (the caller closes it).
    Raises OSError, :class:`NotRegularFile` for another kind of file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st
