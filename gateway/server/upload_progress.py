"""``--upload-progress DIR``: a JSON file per buffered upload telling how much has arrived.

uWSGI's upload progress: while ``--post-buffering`` reads a request body too large for
memory (more than ``--post-buffering`` bytes, so it goes to a temporary file), a request
whose URI carries ``X-Progress-ID=<UUID>`` has ``DIR/<UUID>.js`` rewritten after each
block::

    { "state" : "uploading", "received" : 65536, "size" : 1048576 }

and removed once the body is in (or the reading failed).  A page polls it (through the web
server, or an app that reads it) to draw a progress bar.  The id must be a UUID
(``8-4-4-4-12`` hex digits), so it never names anything outside DIR; the file is created
with ``O_EXCL`` (a second upload with the same id gets no progress file, as in uWSGI).  A
file left by a worker killed mid-upload (harakiri, SIGKILL) is replaced once it has not
changed for ``stale_after`` seconds (twice ``--socket-timeout``, at least
:data:`MIN_STALE`) and no upload holds it: the live upload keeps an ``flock`` on its file
(the kernel releases it when the process dies), since a slow one may not rewrite it for
minutes (once per block read, 64 KiB by default).  uWSGI leaves such a file, and its id
never gets a progress file again.

:func:`progress_id` and :func:`progress_line` are pure; :class:`UploadProgress` owns one file.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from typing import Optional

from gateway.logs import gen_log

__all__ = ["UploadProgress", "progress_id", "progress_line"]

#: Seconds without a change after which a progress file is taken for a dead upload's, at least.
MIN_STALE = 60.0

_MARK = "X-Progress-ID="
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def progress_id(uri: str) -> Optional[str]:
    """The UUID after the first ``X-Progress-ID=`` in ``uri`` (the request's ``REQUEST_URI``),
    or None when there is none or it is not a UUID (uWSGI reads the 36 characters that follow,
    wherever the mark is, and refuses them unless they are a UUID)."""
    at = uri.find(_MARK)
    if at < 0:
        return None
    candidate = uri[at + len(_MARK):at + len(_MARK) + 36]
    return candidate if _UUID.fullmatch(candidate) else None


def progress_line(received: int, size: int) -> bytes:
    """The file's content, uWSGI's exact line."""
    return b'{ "state" : "uploading", "received" : %d, "size" : %d }\r\n' % (received, size)


class UploadProgress:
    """The progress file of one upload: :meth:`open` it, :meth:`update` it per block,
    :meth:`close` removes it.  Failures are logged once and end the tracking, never the
    upload."""

    def __init__(self, path: str, fd: int, size: int) -> None:
        self.path = path
        self._fd: Optional[int] = fd
        self.size = size

    @classmethod
    def open(cls, directory: str, uri: str, size: int, stale_after: float = MIN_STALE) -> Optional["UploadProgress"]:
        """The tracker for an upload of ``size`` bytes to ``uri``, or None (no valid
        ``X-Progress-ID``, an upload with that id in progress, or the file cannot be
        created: logged)."""
        ident = progress_id(uri)
        if ident is None:
            if _MARK in uri:
                gen_log.warning("--upload-progress: invalid X-Progress-ID value: must be a UUID")
            return None
        path = os.path.join(directory, ident + ".js")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:
            if not _replace_stale(path, max(stale_after, MIN_STALE)):
                return None  # an upload with this id is in progress (uWSGI: no file either)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            except OSError:
                return None  # another worker took it meanwhile
        except OSError as e:
            gen_log.error("--upload-progress: cannot create %s: %s", path, e)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # "this upload is alive" (see _replace_stale)
        except OSError:
            pass  # a file system without flock: the age alone then decides
        return cls(path, fd, size)

    def update(self, received: int) -> None:
        """Rewrite the file with ``received`` bytes in so far (the line only grows)."""
        if self._fd is None:
            return
        try:
            os.pwrite(self._fd, progress_line(received, self.size), 0)
        except OSError as e:
            gen_log.error("--upload-progress: cannot write %s: %s", self.path, e)
            self.close()

    def close(self) -> None:
        """Close and remove the file (once), unless another upload's file took its place."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            ours = os.fstat(fd)
            there = os.lstat(self.path)
            if (there.st_dev, there.st_ino) == (ours.st_dev, ours.st_ino):
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as e:
            gen_log.error("--upload-progress: cannot remove %s: %s", self.path, e)
        finally:
            os.close(fd)


def _held(path: str) -> bool:
    """Whether a live upload holds ``path`` (its ``flock``); a symlink is nobody's."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def _replace_stale(path: str, stale_after: float) -> bool:
    """Remove ``path`` (never following a symlink) when it has not changed for
    ``stale_after`` seconds and no live upload holds it: a dead upload's file; True when
    it is gone."""
    try:
        age = time.time() - os.lstat(path).st_mtime
        if age < stale_after or _held(path):
            return False
        os.unlink(path)
    except FileNotFoundError:
        return True
    except OSError as e:
        gen_log.error("--upload-progress: cannot replace the stale %s: %s", path, e)
        return False
    gen_log.info("--upload-progress: replaced %s, unchanged for %ds (its upload died)", path, int(age))
    return True
