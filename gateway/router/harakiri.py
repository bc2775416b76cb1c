"""``--http-harakiri SECONDS``: the master kills a router process whose event loop is stuck.

uWSGI's corerouters write a deadline into shared memory each time their event loop wakes
up and clear it while they wait; the master kills (SIGKILL) a router whose deadline passed
(``*** HARAKIRI ON GATEWAY ... ***``) and respawns it.  Here each router writes the time of
its once-a-second sweep into its slot (:class:`Heartbeats`, shared memory made before the
fork) and the master, every second, kills a router whose last beat is older than
SECONDS: the same "its loop did not come back for SECONDS" rule, with a second of
granularity.  A slot is cleared when its router is killed; a new router beats at start.
"""

from __future__ import annotations

import mmap
import os
import signal
import struct
import time
from typing import Any, Callable, List

from gateway.logs import gen_log

_SLOT = struct.Struct("d")


class Heartbeats:
    """``count`` shared time slots (0.0: no beat yet), one per router process."""

    def __init__(self, count: int) -> None:
        self._mem = mmap.mmap(-1, _SLOT.size * max(count, 1))
        self.count = count

    def beat(self, index: int, now: float = 0.0) -> None:
        _SLOT.pack_into(self._mem, index * _SLOT.size, now or time.time())

    def last(self, index: int) -> float:
        return _SLOT.unpack_from(self._mem, index * _SLOT.size)[0]

    def clear(self, index: int) -> None:
        self.beat(index, -1.0)

    def stale(self, index: int, limit: float, now: float) -> bool:
        """The router of ``index`` beat once and not for ``limit`` seconds."""
        last = self.last(index)
        return last > 0 and now - last > limit


def watch(master: Any, beats: Heartbeats, specs: List[Any], limit: float,
          clock: Callable[[], float] = time.time) -> None:
    """In the master: check the routers every second and kill the stuck ones (the master
    then respawns them, as any dead router)."""

    def check() -> None:
        now = clock()
        for index, spec in enumerate(specs):
            pid = master.child_pid(spec)
            if pid and beats.stale(index, limit, now):
                gen_log.error("*** HARAKIRI ON GATEWAY %s (pid: %d) ***", spec.name, pid)
                beats.clear(index)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        master.call_later(1.0, check)

    master.call_later(1.0, check)
