"""Signals in the master: the handlers only enqueue; the master loop dispatches.

A signal handler runs between two bytecodes of whatever the master was doing, so it
does nothing but append the signal number to a queue.  ``signal.set_wakeup_fd``
makes the C-level handler also write a byte to a pipe that the master's
``selectors`` loop watches: the loop wakes up at once, drains the queue and calls
``handle_<name>()`` (gunicorn's arbiter works the same way).  Logging happens
there, never in the handler.

In a worker, right after ``fork``, :func:`reset_in_child` puts the default
dispositions back and detaches the wakeup fd, before the worker's own asyncio loop
installs its handlers with ``add_signal_handler``.
"""

from __future__ import annotations

import collections
import os
import signal
from typing import Deque, Iterable, Iterator, List, Optional, Tuple

#: The signals the master handles (SIGTSTP: ``--pause``/``--resume``, uWSGI's suspend toggle).
MASTER_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGCHLD,
                  signal.SIGUSR1, signal.SIGTSTP)

NAMES = {int(s): s.name for s in signal.Signals}


class SignalQueue:
    """Queue ``signals`` for a ``selectors`` loop; :attr:`fd` becomes readable on arrival."""

    def __init__(self, signals: Iterable[int] = MASTER_SIGNALS) -> None:
        self.signals = tuple(signals)
        self._queue: Deque[int] = collections.deque()
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._previous_wakeup: Optional[int] = None

    @property
    def fd(self) -> int:
        return self._r

    def install(self) -> None:
        for sig in self.signals:
            signal.signal(sig, self._handler)
        self._previous_wakeup = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)

    def _handler(self, signum: int, frame: object) -> None:
        self._queue.append(signum)

    def drain(self) -> List[int]:
        """The signals received since the last call, in order (the wakeup bytes are discarded)."""
        try:
            while os.read(self._r, 4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        out = []
        while self._queue:
            out.append(self._queue.popleft())
        return out

    def close_in_child(self) -> None:
        """In a forked child: forget the master's handlers and pipe."""
        reset_in_child(self.signals)
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass


def reset_in_child(signals: Iterable[int] = MASTER_SIGNALS) -> None:
    """Default dispositions and no wakeup fd: the state a fresh worker starts from.

    SIGTSTP gets a handler that does nothing instead (uWSGI's ``worker_wakeup``): the master
    forwards it to its workers (whose loop handles it once running: a worker signalled before
    must not be stopped by the kernel), and its other children shrug it off, as uWSGI's
    router, mules and spooler do (a shell's Ctrl-Z pauses the instance instead of freezing
    them).  A handler, not SIG_IGN: a command they exec gets the default back.
    """
    signal.set_wakeup_fd(-1)
    for sig in signals:
        signal.signal(sig, _shrug if sig == signal.SIGTSTP else signal.SIG_DFL)


def _shrug(signum: int, frame: object) -> None:
    """SIGTSTP in a child of the master before (or without) a handler of its own."""


def reaped() -> Iterator[Tuple[int, int]]:
    """``(pid, status)`` of every child that has ended, without waiting (``waitpid``
    with ``WNOHANG`` until there is none left): the master's and the Emperor's reaping."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            return
        yield pid, status


def describe_status(status: int) -> str:
    """``exit status 3`` / ``killed by signal 9`` for a ``waitpid`` status (uWSGI's wording)."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return "killed by signal %d (%s)" % (sig, NAMES.get(sig, "?"))
    if os.WIFEXITED(status):
        return "exit status %d" % os.WEXITSTATUS(status)
    return "status %d" % status
