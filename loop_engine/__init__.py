"""The Tornado loop engine: N greenlet "async cores" per worker on one IOLoop.

A reusable engine with no knowledge of HTTP or WSGI (it never imports ``gateway``):

* :class:`Engine` owns the cores, the accept policy (stop accepting while every core
  is busy) and the ``schedule_fix`` hook;
* inside a core, :func:`wait` suspends until any future or awaitable completes,
  :func:`sleep` / :func:`schedule` / :func:`wait_fd_read` / :func:`wait_fd_write`
  suspend on time and fds, and :class:`Waiter` is the primitive they share;
* the seed's hand-written pattern (``me.parent.switch()`` + a callback calling
  ``me.switch()``) works unchanged, because each core's greenlet has the loop's
  greenlet as its parent.

A blocking call (``time.sleep``, a blocking socket, a CPU-bound loop) inside a core
blocks the whole worker: every core shares the one thread and the one IOLoop.
"""

from loop_engine.cores import Core, CoreGreenlet, Waiter, current_core, in_core, schedule, sleep, suspend
from loop_engine.engine import Engine, default_schedule_fix, set_schedule_fix
from loop_engine.errors import CoreTimeout, EngineStopped, NotInCore
from loop_engine.waits import wait, wait_fd_read, wait_fd_write

__all__ = [
    "Core",
    "CoreGreenlet",
    "CoreTimeout",
    "Engine",
    "EngineStopped",
    "NotInCore",
    "Waiter",
    "current_core",
    "default_schedule_fix",
    "in_core",
    "schedule",
    "set_schedule_fix",
    "sleep",
    "suspend",
    "wait",
    "wait_fd_read",
    "wait_fd_write",
]
