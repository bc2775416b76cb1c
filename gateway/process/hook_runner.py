"""The master's hooks (``--hook-touch``, ``as-user-atexit`` at a reload) in a short-lived child.

A hook may take a minute (``exec:``, ``wait_for_*``, ``spinningfifo``, ``retryrpc``, a ``chown``
name lookup); run in the master's loop it would stop the reaping, the harakiri checks and the
stats server meanwhile.  So the master forks a child for them, as it does for a ``--cron``
command (an extra child of :class:`~gateway.process.master.ChildSpec`, never respawned), and
goes on; the child runs the batch in order and exits, and the master reaps it like any child.

One child at a time, in the order the batches came: a batch that arrives while a child runs
waits for its end.  When the fork fails (no memory, the process limit) the batch goes back to
the head of the queue, one line is logged and the master goes on; it is tried again
:data:`RETRY_DELAY` seconds later (or with the next batch).  The child is its own process group, so a shutdown's SIGTERM reaches the
commands it started too.  What an action changes in its own process (``cd``, ``putenv``,
``exit``) changes the child only, where uWSGI's master would change itself.
"""

from __future__ import annotations

import os
from typing import Any, Callable, List

from gateway.logs import gen_log

__all__ = ["HookRunner", "MAX_PENDING", "RETRY_DELAY"]

#: Batches that may wait for the running child; beyond that the newest is dropped (logged).
MAX_PENDING = 64
#: Seconds before a batch whose child could not be forked is tried again.
RETRY_DELAY = 1.0


class HookRunner:
    """Runs jobs (``job()``, each a batch of hooks) in a child of ``master``, one child at a time."""

    def __init__(self, master: Any) -> None:
        from gateway.process.master import ChildSpec

        self.master = master
        self.pid = 0
        self._pending: List[Callable[[], None]] = []
        self._batch: List[Callable[[], None]] = []
        self._retry_due = False
        self.child = ChildSpec("uWSGI hooks", self._target, respawn=False, autostart=False, own_group=True,
                               on_death=self._on_death,
                               spawn_line=lambda pid: "running the hooks in a child of the master (pid: %d)" % pid)
        master.add_child(self.child)

    def run(self, job: Callable[[], None]) -> None:
        """Run ``job()`` in a child as soon as no other runs; never waits for it."""
        if len(self._pending) >= MAX_PENDING:
            gen_log.warning("%d batches of hooks already wait for the running one (pid: %d): this one is dropped",
                            len(self._pending), self.pid)
            return
        self._pending.append(job)
        self._start()

    def _start(self) -> None:
        if self.pid or not self._pending:
            return
        self._batch, self._pending = self._pending, []
        try:
            self.pid = self.master.start_child(self.child)  # 0 while the instance stops: nothing runs
        except OSError as e:  # the fork failed: the batch waits at the head of the queue
            self._pending, self._batch = self._batch + self._pending, []
            gen_log.error("unable to fork the hooks' child (%s): %d batches of hooks wait, retrying in %gs",
                          e, len(self._pending), RETRY_DELAY)
            if not self._retry_due:
                self._retry_due = True
                self.master.call_later(RETRY_DELAY, self._retry)

    def _retry(self) -> None:
        self._retry_due = False
        self._start()

    def _target(self) -> int:  # pragma: no cover - runs in the forked child
        os.setsid()  # a shutdown's SIGTERM reaches the commands it started
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        for job in self._batch:
            try:
                job()
            except Exception:
                gen_log.exception("error running a hook")
        return 0

    def _on_death(self, pid: int, status: int) -> bool:
        from gateway.process.signals import describe_status

        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            gen_log.warning("the hooks' child (pid: %d) ended: %s", pid, describe_status(status))
        self.pid = 0
        # the master clears this child's pid when on_death returns: the next one starts after
        self.master.call_later(0, self._start)
        return True
