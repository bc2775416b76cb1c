"""``--cheaper-algo busyness``: uWSGI's busyness algorithm, decided without I/O.

The algorithm watches how much of each ``--cheaper-overload`` seconds window the running
workers spent in requests (the delta of each worker's ``running_time``, the microseconds
the scoreboard accounts when a request ends), averaged over the running workers:

* above ``--cheaper-busyness-max`` percent (50) it spawns up to ``--cheaper-step`` workers;
* below ``--cheaper-busyness-min`` percent (25) it stops one, but only once the *cheaper
  timer* has run out: ``--cheaper-overload`` × the multiplier seconds
  (``--cheaper-busyness-multiplier``, 10) after the last spawn or stop.  Workers spawned back
  within that time after a stop were stopped too early: the multiplier grows by
  ``--cheaper-busyness-penalty`` (2); later spawns, and stops in a row, lower it again, never
  under its initial value;
* in between, the window is not idle: the timer is pushed back by one window (reset after
  three such windows in a row), so a few busy windows in a long idle stretch delay the stop.

A worker that was seen busy during a window but finished no request in it (one long request)
counts as 100% busy.  Between windows (every cycle) the listen queue is watched too: more
than ``--cheaper-busyness-backlog-alert`` (33) waiting connections, or a non-empty queue for
``--cheaper-busyness-backlog-nonzero`` (60) seconds, spawn ``--cheaper-busyness-backlog-step``
(1) "emergency" workers at once; while those run, the timer uses
``--cheaper-busyness-backlog-multiplier`` (3) instead, so a short spike is undone quickly.

:class:`Busyness` is fed one observation per master cycle (the worker slots with their
cumulative ``running_time``, the listen queue, the clock) and answers like the other
algorithms of :mod:`gateway.process.cheaper`; its log lines are uWSGI's, collected in
:attr:`Busyness.lines` for the master to log.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from gateway.process.cheaper import CheaperConfigError, Slot

__all__ = ["Busyness", "busyness_options"]

#: uWSGI's defaults; a 0 given to the options means these, as in uWSGI
DEFAULTS: Dict[str, int] = {
    "busy_max": 50, "busy_min": 25, "multiplier": 10, "penalty": 2,
    "backlog_alert": 33, "backlog_multiplier": 3, "backlog_step": 1, "backlog_nonzero": 60,
}

_SPAWN, _CHEAP = 1, 2


def busyness_options(config: Any) -> Dict[str, Any]:
    """The ``--cheaper-busyness-*`` values of a loaded config, as :class:`Busyness` keywords."""
    return {
        "busy_max": int(config.cheaper_busyness_max or 0),
        "busy_min": int(config.cheaper_busyness_min or 0),
        "multiplier": int(config.cheaper_busyness_multiplier or 0),
        "penalty": int(config.cheaper_busyness_penalty or 0),
        "backlog_alert": int(config.cheaper_busyness_backlog_alert or 0),
        "backlog_multiplier": int(config.cheaper_busyness_backlog_multiplier or 0),
        "backlog_step": int(config.cheaper_busyness_backlog_step or 0),
        "backlog_nonzero": int(config.cheaper_busyness_backlog_nonzero or 0),
        "verbose": bool(config.cheaper_busyness_verbose),
    }


class Busyness:
    """The busyness algorithm's state; :meth:`decide` once per master cycle.

    ::

        b = Busyness(1, 4, overload=1)
        b.decide(slots, backlog=0, now=time.monotonic())   # > 0 spawn, -1 stop one, 0
        for line in b.lines: log(line)
    """

    def __init__(self, minimum: int, processes: int, *, overload: int = 3, step: int = 1,
                 busy_max: int = 0, busy_min: int = 0, multiplier: int = 0, penalty: int = 0,
                 backlog_alert: int = 0, backlog_multiplier: int = 0, backlog_step: int = 0,
                 backlog_nonzero: int = 0, verbose: bool = False) -> None:
        self.minimum = minimum
        self.processes = processes
        self.overload = max(overload, 1)
        self.step = max(step, 1)
        self.busy_max = busy_max or DEFAULTS["busy_max"]
        self.busy_min = busy_min or DEFAULTS["busy_min"]
        if self.busy_min >= self.busy_max:
            raise CheaperConfigError("--cheaper-busyness-min %d must be lower than --cheaper-busyness-max %d"
                                     % (self.busy_min, self.busy_max))
        #: the multiplier now (it grows with the penalty) and its initial, lowest value
        self.multiplier = self.min_multiplier = multiplier or DEFAULTS["multiplier"]
        self.penalty = penalty or DEFAULTS["penalty"]
        self.backlog_alert = backlog_alert or DEFAULTS["backlog_alert"]
        self.backlog_multiplier = backlog_multiplier or DEFAULTS["backlog_multiplier"]
        self.backlog_step = backlog_step or DEFAULTS["backlog_step"]
        self.backlog_nonzero = backlog_nonzero or DEFAULTS["backlog_nonzero"]
        self.verbose = verbose
        #: the log lines of the last :meth:`decide` (uWSGI's, ``[busyness] ...``)
        self.lines: List[str] = []
        #: the last window's busyness in percent per worker id (None: not running) and on average
        self.busyness: List[Optional[int]] = [None] * processes
        self.average = 0
        #: emergency workers (spawned for the listen queue) still counted as running
        self.emergency = 0
        #: the clock (seconds) from which a worker may be stopped
        self.next_cheap = 0.0
        self._window_start: Optional[float] = None
        self._last_running: List[int] = []
        self._was_busy: List[int] = []
        self._last_cheaped: Optional[float] = None
        self._last_action = 0
        self._tolerance = 0
        self._backlog_since: Optional[float] = None

    def settings(self) -> List[str]:
        """uWSGI's startup lines: the values in use."""
        return ["[busyness] settings: min=%d%%, max=%d%%, overload=%d, multiplier=%d, respawn penalty=%d"
                % (self.busy_min, self.busy_max, self.overload, self.multiplier, self.penalty),
                "[busyness] backlog alert is set to %d request(s), step is %d" % (self.backlog_alert, self.backlog_step),
                "[busyness] backlog non-zero alert is set to %d second(s)" % self.backlog_nonzero]

    # -- the decision ----------------------------------------------------------------------

    def decide(self, slots: Sequence[Slot], backlog: int = 0, now: float = 0.0, can_spawn: bool = True) -> int:
        """Workers to spawn (> 0, at most the spawnable ones), -1 to stop one, or 0.

        ``slots``: one per worker id, with its cumulative ``running_time`` in µs;
        ``backlog``: connections in the listen queues; ``now``: a monotonic clock in seconds;
        ``can_spawn``: False while a memory limit forbids spawning.
        """
        self.lines = []
        if self._window_start is None:  # the first cycle opens the first window
            self._window_start = now
            self._last_running = [s.running_time for s in slots]
            self._was_busy = [0] * len(slots)
            self._set_next_cheap(now)
        active = 0
        for i, slot in enumerate(slots):
            if slot.running:
                active += 1
                self._was_busy[i] += 1 if slot.busy else 0
            else:
                self._was_busy[i] = 0
        if now - self._window_start >= self.overload:
            self._window_start = now
            return self._window(slots, active, backlog, now, can_spawn)
        # between windows: the listen queue, every cycle
        if can_spawn and backlog > self.backlog_alert and active < len(slots):
            return self._emergency(slots, backlog, now)
        if backlog > 0:
            if self._backlog_since is None:
                self._verbose("[busyness] backlog is starting to fill (%d)" % backlog)
                self._backlog_since = now
            elif can_spawn and now - self._backlog_since >= self.backlog_nonzero:
                self._log("[busyness] backlog was non-zero for %d second(s), spawning new worker(s)"
                          % int(now - self._backlog_since))
                self._backlog_since = now
                return self._emergency(slots, backlog, now)
        elif self._backlog_since is not None:
            self._verbose("[busyness] backlog is now empty")
            self._backlog_since = None
        return 0

    def _window(self, slots: Sequence[Slot], active: int, backlog: int, now: float, can_spawn: bool) -> int:
        """The end of a ``--cheaper-overload`` window: measure it, then spawn, stop or wait."""
        window_us = self.overload * 1_000_000
        total = 0
        for i, slot in enumerate(slots):
            if slot.running:
                delta = max(slot.running_time - self._last_running[i], 0)  # a reset slot counts 0
                percent = min(delta * 100 // window_us, 100)
                if delta == 0 and self._was_busy[i] > 0:
                    # busy when looked at, yet no request ended: requests longer than the window
                    self._verbose("[busyness] worker %d was busy %d time(s) in last cycle but no request was "
                                  "completed during this time, marking as 100%% busy" % (i + 1, self._was_busy[i]))
                    percent = 100
                self._was_busy[i] = 0
                total += percent
                if active > 1:
                    self._verbose("[busyness] worker nr %d %ds average busyness is at %d%%"
                                  % (i + 1, self.overload, percent))
                self.busyness[i] = percent
            else:
                self.busyness[i] = None
            self._last_running[i] = slot.running_time
        average = self.average = total // active if active else 0
        self._verbose("[busyness] %ds average busyness of %d worker(s) is at %d%%" % (self.overload, active, average))

        if average > self.busy_max:
            self._tolerance = 0
            spawn = min(sum(1 for s in slots if s.spawnable), self.step) if can_spawn else 0
            if not spawn:
                self._log("[busyness] %ds average busyness is at %d%% but we already started maximum number of "
                          "workers available with current limits (%d)" % (self.overload, average, active))
                return 0
            self._last_action = _SPAWN
            if self._last_cheaped is not None and int((now - self._last_cheaped) / self.overload) <= self.multiplier:
                # stopped, then needed again within the timer: wait longer before the next stop
                self.multiplier += self.penalty
                self._log("[busyness] worker(s) respawned to fast, increasing cheaper multiplier to %d (+%d)"
                          % (self.multiplier, self.penalty))
            else:
                self._decrease_multiplier()
            self._set_next_cheap(now)
            self._log("[busyness] %ds average busyness is at %d%%, will spawn %d new worker(s)"
                      % (self.overload, average, spawn))
            return spawn

        if can_spawn and backlog > self.backlog_alert and active < len(slots):
            return self._emergency(slots, backlog, now)

        if active == 1:
            return 0  # one worker: nothing to balance
        if average < self.busy_min:
            self._tolerance = 0
            if active > self.minimum:
                if now >= self.next_cheap:
                    if self._last_action == _CHEAP:
                        self._decrease_multiplier()
                    self._set_next_cheap(now)
                    self._log("[busyness] %ds average busyness is at %d%%, cheap one of %d running workers"
                              % (self.overload, average, active))
                    self._last_cheaped = now
                    self._last_action = _CHEAP
                    if self.emergency > 0:
                        self.emergency -= 1
                    return -1
                self._verbose("[busyness] need to wait %d more second(s) to cheap worker" % int(self.next_cheap - now))
            return 0

        # min <= average <= max: not an idle window
        if self.emergency > 0:
            self.emergency -= 1
        self._tolerance += 1
        if self._tolerance >= 3:
            self._verbose("[busyness] %ds average busyness is at %d%%, %d non-idle cycle(s), resetting cheaper timer"
                          % (self.overload, average, self._tolerance))
            self._set_next_cheap(now)
        else:
            self._verbose("[busyness] %ds average busyness is at %d%%, %d non-idle cycle(s), adjusting cheaper timer"
                          % (self.overload, average, self._tolerance))
            self.next_cheap += self.overload
        return 0

    # -- helpers ---------------------------------------------------------------------------

    def _emergency(self, slots: Sequence[Slot], backlog: int, now: float) -> int:
        """The listen queue is too long: spawn ``--cheaper-busyness-backlog-step`` workers now."""
        self.multiplier = self.min_multiplier  # maybe a short spike: stop them soon after
        self._last_action = _SPAWN
        spawn = min(sum(1 for s in slots if s.spawnable), self.backlog_step)
        self._set_next_cheap(now)
        if spawn:
            self.emergency += spawn
            self._log("[busyness] %d requests in listen queue, spawning %d emergency worker(s) (%d)!"
                      % (backlog, spawn, self.emergency))
        else:
            self._log("[busyness] %d requests in listen queue but we are already started maximum number of "
                      "workers (%d)" % (backlog, self.processes))
        return spawn

    def _set_next_cheap(self, now: float) -> None:
        if self.emergency > 0:
            # emergency workers go at the shorter pace, so a spike is undone quickly
            self._verbose("[busyness] %d emergency worker(s) running, using %d seconds cheaper timer"
                          % (self.emergency, self.overload * self.backlog_multiplier))
            self.next_cheap = now + self.overload * self.backlog_multiplier
        else:
            self.next_cheap = now + self.overload * self.multiplier

    def _decrease_multiplier(self) -> None:
        if self.multiplier > self.min_multiplier:
            self.multiplier -= 1
            self._log("[busyness] decreasing cheaper multiplier to %d" % self.multiplier)

    def _log(self, line: str) -> None:
        self.lines.append(line)

    def _verbose(self, line: str) -> None:
        if self.verbose:
            self.lines.append(line)
