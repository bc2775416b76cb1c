"""``--cheaper``: uWSGI's adaptive process spawning, decided without I/O.

With ``--processes N --cheaper M`` the master starts ``--cheaper-initial`` workers (M by
default) and keeps between M and N running: once a second it shows the algorithm the
worker slots (:class:`Slot`: running or cheaped, busy or idle) and the listen queue,
and the algorithm answers how many workers to add (``> 0``), or ``-1`` to stop one, or
``0``.  The master does the forking and the graceful stopping
(:mod:`gateway.process.master`); everything here is plain state, so each algorithm is
unit-tested cycle by cycle.

The algorithms are uWSGI's, with its defaults (``--cheaper-step 1``,
``--cheaper-overload 3``, ``--cheaper-idle 10``):

* ``spare`` (the default): every cycle in which all running workers are busy counts as
  overload; more than ``--cheaper-overload`` such cycles (uWSGI 2.0's count: the 4th with
  the default 3) spawn up to ``--cheaper-step`` workers.
  Once no cycle is overloaded, a worker is stopped every ``--cheaper-overload`` idle
  cycles while more than M run, except in the "stable" state of exactly one idle worker.
* ``spare2`` (from uWSGI's development branch: 2.0 has neither it nor ``--cheaper-idle``):
  keeps M *idle* workers: fewer idle ones spawn up to ``--cheaper-step``;
  more than M idle for ``--cheaper-idle`` cycles stop one.
* ``backlog``: spawns while more than ``--cheaper-overload`` connections wait in the
  listen queue, stops one while fewer do.
* ``manual``: never decides; only the master FIFO's ``+`` and ``-`` change the count.
* ``busyness``: follows the share of time the workers spend in requests, with the
  listen queue as an emergency brake (:mod:`gateway.process.cheaper_busyness`).

Memory limits come first, as in uWSGI: with ``--cheaper-rss-limit-soft BYTES`` no worker is
added while the running workers' resident memory adds up to that much or more (the
algorithm's spawns and the FIFO's ``+`` are dropped); with ``--cheaper-rss-limit-hard BYTES``
as well (it must be higher), reaching it stops one worker per cycle while more than one run
(``cheaper hard rss memory limit exceeded, cheap one of N workers``).

A worker is busy when any of its cores is in a request (a ``--tornado 100`` worker with
one request running counts as busy, as in uWSGI).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

__all__ = ["ALGORITHMS", "Cheaper", "CheaperConfigError", "Slot"]


class CheaperConfigError(ValueError):
    """A ``--cheaper*`` value that cannot work; ``str()`` names the option."""


class Slot(NamedTuple):
    """One worker id as the algorithm sees it."""

    #: a process is running for it (not cheaped, not dead)
    running: bool
    #: one of its cores is in a request
    busy: bool
    #: cheaped and without a process: the master may spawn it
    spawnable: bool
    #: µs it spent in requests, cumulative (its scoreboard ``running_time``; busyness reads it)
    running_time: int = 0


class Cheaper:
    """The chosen algorithm and its counters; :meth:`decide` once per master cycle."""

    def __init__(self, minimum: int, processes: int, *, algo: str = "spare", step: int = 1,
                 overload: int = 3, idle: int = 10, rss_soft: int = 0, rss_hard: int = 0,
                 busyness: Optional[Mapping[str, Any]] = None) -> None:
        if algo not in ALGORITHMS:
            raise CheaperConfigError("--cheaper-algo %s: not supported (choose from %s)"
                                     % (algo, ", ".join(sorted(ALGORITHMS))))
        if minimum >= processes:
            raise CheaperConfigError("invalid cheaper value: --cheaper %d must be lower than --processes %d"
                                     % (minimum, processes))
        if rss_hard and not rss_soft:
            raise CheaperConfigError("enabling cheaper-rss-limit-hard requires setting also cheaper-rss-limit-soft")
        if rss_hard and rss_hard <= rss_soft:
            raise CheaperConfigError("cheaper-rss-limit-hard value must be higher than cheaper-rss-limit-soft value")
        #: --cheaper-rss-limit-soft/-hard: bytes of resident memory of the running workers
        self.rss_soft = rss_soft
        self.rss_hard = rss_hard
        #: why the last :meth:`decide` overrode the algorithm (a log line), or None
        self.note: "str | None" = None
        self.minimum = minimum
        self.processes = processes
        self.algo = algo
        self.step = max(step, 1)
        self.overload = max(overload, 1)
        self.idle = max(idle, 1)
        self._decide: Callable[[Sequence[Slot], int], int] = getattr(self, "_" + algo)
        self._overload_count = 0
        self._idle_count = 0
        self._now = 0.0
        self._can_spawn = True
        #: ``busyness``: its state (the ``--cheaper-busyness-*`` keywords of ``busyness``)
        self.busyness: Any = None
        if algo == "busyness":
            from gateway.process.cheaper_busyness import Busyness

            self.busyness = Busyness(minimum, processes, overload=self.overload, step=self.step,
                                     **dict(busyness or {}))

    @property
    def lines(self) -> List[str]:
        """The algorithm's own log lines from the last :meth:`decide` (busyness's)."""
        return self.busyness.lines if self.busyness is not None else []

    def settings(self) -> List[str]:
        """Lines to log at startup about the algorithm's settings (busyness's, as uWSGI)."""
        return self.busyness.settings() if self.busyness is not None else []

    def initial(self, requested: int) -> int:
        """``--cheaper-initial``: how many workers to start with, clamped as uWSGI clamps it.

        A value out of ``--cheaper``..``--processes`` leaves uWSGI's warning in :attr:`note`
        (the master logs it at startup, as uWSGI does).
        """
        self.note = None
        if not requested:
            return self.minimum
        if requested < self.minimum:
            self.note = ("warning: invalid cheaper-initial value (%d), must be equal or higher than cheaper (%d), "
                         "using %d as initial number of workers" % (requested, self.minimum, self.minimum))
            return self.minimum
        if requested > self.processes:
            self.note = ("warning: invalid cheaper-initial value (%d), must be lower or equal than worker count (%d), "
                         "using %d as initial number of workers" % (requested, self.processes, self.processes))
            return self.processes
        return requested

    def decide(self, slots: Sequence[Slot], backlog: int = 0, rss: int = 0, requested: int = 0,
               now: float = 0.0) -> int:
        """Workers to add (> 0, never more than are spawnable), -1 to stop one, or 0.

        ``rss``: the running workers' resident memory in bytes (read only with the rss
        limits); ``requested``: the master FIFO's ``+``/``-`` since the last cycle, which
        replace the algorithm's decision for this cycle; ``now``: a monotonic clock in
        seconds (busyness measures its windows with it).
        """
        self.note = None
        self._now = now
        self._can_spawn = True
        if self.busyness is not None:
            self.busyness.lines = []
        running = sum(1 for s in slots if s.running)
        if self.rss_soft:
            if self.rss_hard and running > 1 and rss >= self.rss_hard:
                self.note = "cheaper hard rss memory limit exceeded, cheap one of %d workers" % running
                return -1
            if rss >= self.rss_soft:
                if requested < 0:
                    return max(requested, self.minimum - running)
                self._can_spawn = False
                want = self._decide(slots, backlog)  # its stops still apply; its spawns cannot
                if want < 0 and running <= self.minimum:
                    return 0
                return min(want, 0)
        if requested:
            return max(min(requested, sum(1 for s in slots if s.spawnable)), self.minimum - running)
        want = self._decide(slots, backlog)
        if want > 0:
            return min(want, sum(1 for s in slots if s.spawnable))
        if want < 0 and sum(1 for s in slots if s.running) <= self.minimum:
            return 0
        return want

    # -- the algorithms (uWSGI's semantics; see the module docstring) --------------------

    def _spare(self, slots: Sequence[Slot], backlog: int) -> int:
        running = [s for s in slots if s.running]
        if all(s.busy for s in running):  # (none running counts as overloaded, as in uWSGI)
            self._overload_count += 1
            self._idle_count = 0
        elif self._overload_count > 0:
            self._overload_count -= 1
        if self._can_spawn and self._overload_count > self.overload:  # uWSGI 2.0's ">", not ">="
            self._overload_count = 0
            return self.step
        if self._overload_count == 0:
            if sum(1 for s in running if not s.busy) == 1:
                return 0  # stable: exactly one spare worker
            self._idle_count += 1
            if len(running) > self.minimum and self._idle_count % self.overload == 0:
                return -1
        return 0

    def _spare2(self, slots: Sequence[Slot], backlog: int) -> int:
        idle = sum(1 for s in slots if s.running and not s.busy)
        if idle < self.minimum:
            self._idle_count = 0
            return min(self.minimum - idle, self.step)
        if idle == self.minimum:
            self._idle_count = 0
            return 0
        self._idle_count += 1
        if self._idle_count < self.idle:
            return 0
        self._idle_count = 0
        return -1

    def _backlog(self, slots: Sequence[Slot], backlog: int) -> int:
        if backlog > self.overload:
            return self.step
        if backlog < self.overload:
            return -1
        return 0

    def _manual(self, slots: Sequence[Slot], backlog: int) -> int:
        return 0

    def _busyness(self, slots: Sequence[Slot], backlog: int) -> int:
        return int(self.busyness.decide(slots, backlog, self._now, self._can_spawn))


#: ``--cheaper-algo`` names
ALGORITHMS: Dict[str, str] = {
    "spare": "spawn when every worker is busy, stop the idle ones slowly (default)",
    "spare2": "keep --cheaper idle workers",
    "backlog": "follow the listen queue",
    "manual": "only the master FIFO's + and -",
    "busyness": "follow the share of time the workers spend in requests, and the listen queue",
}
