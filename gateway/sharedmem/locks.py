"""``uwsgi.lock([n])`` / ``uwsgi.unlock([n])``: user locks shared by every process.

Lock *n* is a POSIX record lock on byte *n* of a shared file (released by the kernel
if its holder dies), with an **in-process queue** in front of it: record locks
belong to a process, so two cores (or threads) of one worker would otherwise both
"hold" the lock.  The first local caller takes the record lock; later local callers
queue and are handed the lock one by one on ``unlock``.  A core that waits (for a
local holder, or for another process) is suspended with a
:class:`loop_engine.Waiter`: its IOLoop keeps serving.  Waiting for another process
happens in a daemon helper thread blocked in ``fcntl(F_SETLKW)`` (no polling, no spinning);
the kernel wakes it when the holder unlocks or dies.

As in uWSGI, lock 0 always exists, ``--locks N`` adds locks 1..N, ``unlock`` of a
lock nobody holds is a no-op, and any caller may unlock.  Called outside a core on a
worker's loop thread (import time, a postfork hook, a loop callback) while a core
of the same worker holds the lock, ``lock()`` raises ``RuntimeError`` instead of
deadlocking the worker.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections import deque
from typing import Any, Deque, List, Tuple

import loop_engine
from gateway.sharedmem.region import Region, record_holder, record_lock, record_unlock


def _wait_in_thread(fd: int, offset: int) -> "concurrent.futures.Future[bool]":
    """Block in F_SETLKW on a daemon thread (a worker exiting while a core still waits
    must not hang in the interpreter's exit join, as an executor's threads would)."""
    fut: "concurrent.futures.Future[bool]" = concurrent.futures.Future()

    def run() -> None:
        try:
            fut.set_result(record_lock(fd, offset, True))
        except BaseException as e:  # pragma: no cover - fcntl errors (EDEADLK)
            fut.set_exception(e)

    threading.Thread(target=run, name="gateway-lock-wait", daemon=True).start()
    return fut


class UserLock:
    """One user lock (see the module docstring)."""

    def __init__(self, region: Region, n: int, total: int = 1) -> None:
        self.n = n
        self.total = total
        self.name = "user %d" % n
        self.fd = region.fd
        self.offset = region.lock_offset(n)
        self._mutex = threading.Lock()
        self._owner: Any = None
        self._waiters: Deque[Tuple[Any, Any]] = deque()

    def after_fork(self) -> None:
        self._mutex = threading.Lock()
        self._owner = None
        self._waiters = deque()

    # -- acquire ------------------------------------------------------------------------

    def acquire(self) -> None:
        core = loop_engine.current_core()
        if core is not None:
            self._acquire_in_core()
        else:
            self._acquire_blocking()

    def _acquire_in_core(self) -> None:
        import greenlet

        me = greenlet.getcurrent()
        with self._mutex:
            if self._owner is None and not self._waiters:
                self._owner = me
                waiter = None
            else:
                waiter = loop_engine.Waiter()
                self._waiters.append((me, waiter))
        if waiter is not None:
            try:
                waiter.wait()
            except BaseException:
                self._abandon(me, waiter)
                raise
        # we own the local gate: now the process-wide record lock
        if record_lock(self.fd, self.offset, False):
            return
        fut = _wait_in_thread(self.fd, self.offset)
        try:
            loop_engine.wait(fut)
        except BaseException:
            # the core was killed while waiting: release whatever the thread gets
            fut.add_done_callback(self._release_if_acquired)
            raise

    def _release_if_acquired(self, fut: Any) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self._release_record_and_pass()

    def _abandon(self, me: Any, waiter: Any) -> None:
        with self._mutex:
            try:
                self._waiters.remove((me, waiter))
                return
            except ValueError:
                pass
        # we were handed the lock at the same moment we died: pass it on
        if self._owner is me:
            self._pass_on()

    def _acquire_blocking(self) -> None:
        me = ("thread", threading.get_ident())
        event = None
        with self._mutex:
            if self._owner is None and not self._waiters:
                self._owner = me
            else:
                if threading.current_thread() is threading.main_thread():
                    raise RuntimeError(
                        "uwsgi.lock(%d): held by a request of this worker; waiting for it outside "
                        "a request (on the worker's loop) would deadlock the worker" % self.n
                    )
                event = threading.Event()
                self._waiters.append((me, event))
        if event is not None:
            event.wait()
        record_lock(self.fd, self.offset, True)

    # -- release ------------------------------------------------------------------------

    def release(self) -> None:
        """Unlock (a no-op when nobody in this process holds it, as uWSGI)."""
        with self._mutex:
            if self._owner is None:
                return
        self._release_record_and_pass()

    def _release_record_and_pass(self) -> None:
        record_unlock(self.fd, self.offset)
        self._pass_on()

    def _pass_on(self) -> None:
        with self._mutex:
            if not self._waiters:
                self._owner = None
                return
            who, wake = self._waiters.popleft()
            self._owner = who
        if isinstance(wake, threading.Event):
            wake.set()
        else:
            loop = wake._g.core.engine.asyncio_loop
            if threading.current_thread() is threading.main_thread():
                wake.fire()
            else:
                loop.call_soon_threadsafe(wake.fire)

    # -- inspection ---------------------------------------------------------------------

    def locked(self) -> bool:
        if self._owner is not None:
            return True
        return record_holder(self.fd, self.offset) != 0

    def holder(self) -> int:
        """Pid holding it as seen from another process (the stats server)."""
        return record_holder(self.fd, self.offset)


class UserLocks:
    """Locks 0..count (``--locks count``), one shared file."""

    def __init__(self, count: int = 0) -> None:
        self.count = max(0, count)
        self.region = Region("locks", 8)
        self.locks: List[UserLock] = [UserLock(self.region, i, self.count + 1) for i in range(self.count + 1)]

    def get(self, n: int) -> UserLock:
        if n < 0 or n > self.count:
            raise ValueError("Invalid lock number")
        return self.locks[n]

    def after_fork(self) -> None:
        for lk in self.locks:
            lk.after_fork()

    def close(self) -> None:
        self.region.close()
