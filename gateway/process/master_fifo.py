"""``--master-fifo FILE``: control the master by writing characters to a named pipe.

uWSGI's Master FIFO (1.9.17+), without PIDs or signals: ``echo r > /run/app.fifo``.  Each
byte is a command, several may come at once (``echo sq``); the master reads them in its
``selectors`` loop.  Implemented:

* ``r`` graceful reload (as SIGHUP), ``R`` brutal reload (the old workers are killed);
* ``w`` every worker replaced gracefully (the app not loaded again in the master), ``W`` the
  same with the old workers killed at once;
* ``q`` graceful shutdown (as SIGTERM), ``Q`` immediate shutdown (as SIGQUIT);
* ``s`` uWSGI's statistics in the log (as SIGUSR1);
* ``l`` reopen the log file, ``L`` rotate it (``--log-master``-backed logging, ``--logto``);
* ``P`` write the pidfiles again;
* ``c`` chain reload, ``+``/``-`` one worker more/fewer (``--cheaper``), ``p`` pause/resume;
* ``C`` cheap mode now (every worker killed until the next connection), ``S`` block/unblock
  the subscription announces, ``B`` ask the Emperor for reinforcements, ``E`` nothing (an
  Emperor here never runs inside an instance's master);
* ``0`` to ``9``: with several ``--master-fifo``, the chosen one (in the order given) is read
  from after this write (``active master fifo is now PATH``, uWSGI's line; a slot past the
  last one is the first, as in uWSGI).  Every FIFO stays open and reads ``0``-``9``: uWSGI
  reads only the active one, a write to another blocking for want of a reader.

Anything else is logged once per byte as an unknown command and ignored (uWSGI ignores it
silently: ``f``, its re-fork of the master, is one here).  The FIFO is created (mode 0600: it
controls the instance) when missing; an existing file that is not a FIFO is a startup error
(uWSGI removes whatever is there); ``--vacuum`` removes the ones created here at exit (uWSGI
leaves them).
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Callable, Dict, List, Optional

from gateway.logs import gen_log

__all__ = ["MasterFifo", "FifoError"]


class FifoError(Exception):
    """The FIFO cannot be made or opened; ``str()`` names it and says why."""


class MasterFifo:
    """``MasterFifo(paths, commands)``; :meth:`fds` to watch, :meth:`on_readable` when one is."""

    def __init__(self, paths: List[str], commands: Dict[str, Callable[[], None]]) -> None:
        self.paths = list(paths)
        self.commands = commands
        self.active = 0
        self.created: List[str] = []
        self._fds: List[int] = []
        self._keep: List[int] = []  # a writer of our own, so a writer closing is no EOF
        for path in self.paths:
            self._open(path)

    def _open(self, path: str) -> None:
        try:
            st: Optional[os.stat_result] = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise FifoError("--master-fifo %s: %s" % (path, e.strerror or e)) from None
        if st is not None and not stat.S_ISFIFO(st.st_mode):
            raise FifoError("--master-fifo %s: a file that is not a FIFO is in the way" % path)
        try:
            if st is None:
                os.mkfifo(path, 0o600)
                self.created.append(path)
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            self._keep.append(os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC))
        except OSError as e:
            raise FifoError("--master-fifo %s: %s" % (path, e.strerror or e)) from None
        self._fds.append(fd)

    def fds(self) -> List[int]:
        return list(self._fds)

    def on_readable(self, fd: int) -> None:
        """Read what is there and run each command byte (from the active FIFO only, but ``0``-``9``)."""
        try:
            data = os.read(fd, 4096)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EINTR):
                gen_log.warning("--master-fifo: read error: %s", e.strerror or e)
            return
        index = self._fds.index(fd) if fd in self._fds else -1
        active = self.active  # a switch applies after this write, as uWSGI's after the writer's
        for ch in data.decode("latin-1"):
            if ch in "0123456789":
                slot = int(ch)
                self.active = slot if slot < len(self._fds) else 0
                gen_log.info("active master fifo is now %s", self.paths[self.active])
                continue
            if index != active or ch in "\r\n \t":
                continue
            command = self.commands.get(ch)
            if command is None:
                gen_log.warning("[master-fifo] unknown command %r", ch)
                continue
            command()

    def close(self, vacuum: bool = False) -> None:
        for fd in self._fds + self._keep:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds, self._keep = [], []
        if vacuum:
            for path in self.created:
                try:
                    os.unlink(path)
                except OSError:
                    pass
