"""The master side of uWSGI signals: routing, timers, crons, file monitors.

:class:`SignalRouter` is driven by whoever owns it — the master's ``selectors`` loop
(``next_timeout()`` bounds the loop's wait, ``tick()`` runs after every wake-up), or,
without a master, the single worker's IOLoop — and delivers through a callable
``deliver(wid, sig) -> bool``.  It does no I/O of its own except ``stat()`` for the
file monitors.

Routing (uWSGI's ``uwsgi_route_signal``): target ``""``, ``"worker"`` or
``"worker0"`` → one worker that registered a handler (round robin); ``"workers"`` →
every worker; ``"active-workers"`` → every worker unless the instance is paused
(:attr:`SignalRouter.suspended`, uWSGI skips its suspended workers); ``"workerN"`` → worker N.  Other
targets go to the ``extra_targets`` hooks (the mules add ``mule``, ``mules``,
``muleN``, ``farm_NAME``, ``farmN``: :mod:`gateway.mules`; ``spooler``:
:mod:`gateway.spooler.signals`, or dropped with uWSGI's log line without spoolers); subscription
targets do not exist in gateway: the signal is dropped with uWSGI's log line.

Timers fire every ``secs`` seconds (first after ``secs``; never, logged, when ``secs`` ≤ 0); an
rb-timer with ``iterations`` > 0 stops after that many; crons are checked at every minute
boundary; file monitors poll ``stat()`` once a second and fire when a file's or a
directory's metadata changes.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Dict, List, Optional, Tuple

from gateway.logs import gen_log
from gateway.usignals.cron import cron_matches
from gateway.usignals.table import CRON, FILEMON, KIND_NAMES, RB_TIMER, TIMER, SignalTable

FILEMON_INTERVAL = 1.0


def _stat_key(path: str) -> Optional[Tuple[int, int, int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class _Armed:
    __slots__ = ("kind", "sig", "fields", "path", "deadline", "done", "last", "interval")

    def __init__(self, kind: int, sig: int, fields: Tuple[int, ...], path: str) -> None:
        self.kind = kind
        self.sig = sig
        self.fields = fields
        self.path = path
        self.done = 0
        self.last: object = None
        self.interval = 0.0
        self.deadline = 0.0


class SignalRouter:
    """See the module docstring.  ``workers`` = number of worker slots (ids 1..workers)."""

    def __init__(self, table: SignalTable, workers: int, deliver: Callable[[int, int], bool],
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.table = table
        self.workers = workers
        self.deliver = deliver
        self.clock = clock
        self.wall = wall
        self.armed: List[_Armed] = []
        self._rr: Dict[int, int] = {}
        self.routed = 0
        self.unrouted = 0
        #: ``hook(target, sig)`` for targets other than workers (the mules): how many got
        #: the signal, or None when the target is not the hook's
        self.extra_targets: List[Callable[[str, int], Optional[int]]] = []
        #: the master paused the workers (SIGTSTP): ``active-workers`` reaches none of them
        self.suspended = False

    def reset(self) -> None:
        """Disarm every event source (after :meth:`SignalTable.clear`)."""
        self.armed = []
        self._rr = {}

    # -- routing ------------------------------------------------------------------------

    def route(self, sig: int) -> int:
        """Send ``sig`` to its target workers; returns how many got it."""
        sig &= 0xFF
        target, registered = self.table.target(sig)
        if target in ("", "worker", "worker0"):
            candidates = [w for w in registered if 1 <= w <= self.workers] or list(range(1, self.workers + 1))
            n = self._rr.get(sig, 0)
            self._rr[sig] = n + 1
            wids = [candidates[n % len(candidates)]]
        elif target == "workers" or (target == "active-workers" and not self.suspended):
            wids = list(range(1, self.workers + 1))
        elif target == "active-workers":
            return 0  # every worker is paused: none is active (not a delivery failure)
        elif target.startswith("worker") and target[6:].isdigit():
            wid = int(target[6:])
            if wid > self.workers:
                gen_log.warning("invalid signal target: %s", target)
                self.unrouted += 1
                return 0
            wids = [wid]
        else:
            for extra in self.extra_targets:
                got = extra(target, sig)
                if got is not None:
                    self.routed += got
                    self.unrouted += 0 if got else 1
                    return got
            if target == "spooler":  # (no spooler: no hook took it)
                gen_log.warning("could not deliver signal %d to the spooler", sig)
            else:
                gen_log.warning("^^^ UNSUPPORTED SIGNAL TARGET: %s ^^^", target)
            self.unrouted += 1
            return 0
        sent = 0
        for wid in wids:
            if self.deliver(wid, sig):
                sent += 1
                self.routed += 1
            else:
                self.unrouted += 1
                gen_log.warning("could not deliver signal %d to worker %d", sig, wid)
        return sent

    # -- event sources ------------------------------------------------------------------

    def _arm_new(self, now: float) -> None:
        count = self.table.source_count()
        while len(self.armed) < count:
            kind, sig, fields, path = self.table.source(len(self.armed))
            a = _Armed(kind, sig, fields, path.decode(errors="surrogateescape"))
            if kind in (TIMER, RB_TIMER):
                a.interval = fields[0] + (fields[2] / 1000.0 if kind == TIMER else 0.0)  # (add_ms_timer's ms)
                a.deadline = now + a.interval
                if a.interval <= 0:
                    self._never(a)
                    continue
            elif kind == CRON:
                a.deadline = now  # checked at once, then at every minute boundary
            elif kind == FILEMON:
                a.last = _stat_key(a.path)
                a.deadline = now + FILEMON_INTERVAL
            self.armed.append(a)
            gen_log.info("[uwsgi-signal] %s for signal %d armed", {TIMER: "timer", RB_TIMER: "rb_timer",
                                                                    CRON: "cron", FILEMON: "file monitor"}.get(kind, "?"), sig)

    def _never(self, a: _Armed) -> None:
        """A timer of 0 or fewer seconds is never armed (uWSGI's timerfd of 0 s is a disarmed
        one, a negative one fails; its rb timer of 0 s would route the signal in a busy loop)."""
        a.deadline = -1
        self.armed.append(a)
        gen_log.warning("[uwsgi-signal] %s for signal %d not armed: a period of %g seconds", KIND_NAMES[a.kind],
                        a.sig, a.interval)

    def next_timeout(self) -> Optional[float]:
        """Seconds until the next event source needs attention; None if there is none."""
        now = self.clock()
        self._arm_new(now)
        deadlines = [a.deadline for a in self.armed if a.deadline >= 0]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    def tick(self) -> int:
        """Fire what is due; returns how many signals were raised."""
        now = self.clock()
        self._arm_new(now)
        fired = 0
        for a in self.armed:
            if a.deadline < 0 or a.deadline > now:
                continue
            if a.kind in (TIMER, RB_TIMER):
                self.route(a.sig)
                fired += 1
                a.done += 1
                iterations = a.fields[1] if a.kind == RB_TIMER else 0
                if iterations and a.done >= iterations:
                    a.deadline = -1
                    continue
                a.deadline += a.interval
                if a.deadline <= now:  # fell behind (a stopped master): no burst of catch-up signals
                    a.deadline = now + a.interval
            elif a.kind == CRON:
                wall = self.wall()
                fields = (a.fields[0], a.fields[1], a.fields[2], a.fields[3], a.fields[4])
                last = a.last
                if cron_matches(fields, time.localtime(wall)) and (not isinstance(last, float) or wall - last >= 60):
                    gen_log.info("[uwsgi-cron] routing signal %d", a.sig)
                    self.route(a.sig)
                    fired += 1
                    a.last = wall
                a.deadline = now + (60.0 - wall % 60.0) + 0.01
            elif a.kind == FILEMON:
                key = _stat_key(a.path)
                if key != a.last:
                    a.last = key
                    gen_log.info("[uwsgi-fsmon] %s has been modified", a.path)
                    self.route(a.sig)
                    fired += 1
                a.deadline = now + FILEMON_INTERVAL
        return fired
