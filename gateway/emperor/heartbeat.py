"""Emperor heartbeats (uWSGI's ``--heartbeat`` and ``--emperor-required-heartbeat``).

A vassal started with ``--heartbeat N`` sends :data:`~gateway.emperor.protocol.HEARTBEAT`
(byte 26, uWSGI's) over its Emperor channel every ``N`` seconds from its master's loop
(:class:`Pulse`), so a master that hangs (blocked, stopped, swapping to death) falls silent.
The Emperor remembers each vassal's last beat (:class:`Beats`) and, once a vassal that has
beaten at least once stays silent more than ``--emperor-required-heartbeat`` seconds (default
30, as uWSGI), logs "sent no heartbeat in last N seconds, brutally respawning it..." and
kills it with SIGKILL: the death is then handled as any other (respawned, throttled if it was
never loyal).  A vassal that never beats is never checked (uWSGI's rule: heartbeats are opt-in
per vassal, the tolerance is the Emperor's).

Pure bookkeeping here (times are given, nothing is sent or killed), so it is unit-tested
without processes; :mod:`gateway.emperor.vassal` and :mod:`gateway.emperor.emperor` do the IO.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

#: uWSGI's default ``--emperor-required-heartbeat``.
DEFAULT_TOLERANCE = 30


class Pulse:
    """The vassal's side: ``send()`` once now, then every ``interval`` seconds on ``schedule``
    (the master's ``call_later``).  ``send`` returning False (the Emperor cannot take the byte
    now, or is gone) is not retried: the next beat comes at its time."""

    def __init__(self, interval: float, send: Callable[[], Any],
                 schedule: Callable[[float, Callable[[], None]], None]) -> None:
        if interval <= 0:
            raise ValueError("a heartbeat interval must be positive")
        self.interval = interval
        self.send = send
        self.schedule = schedule
        self.stopped = False
        self.sent = 0

    def start(self) -> None:
        self._beat()

    def stop(self) -> None:
        self.stopped = True

    def _beat(self) -> None:
        if self.stopped:
            return
        if self.send():
            self.sent += 1
        self.schedule(self.interval, self._beat)


class Beats:
    """The Emperor's side: the last beat of each vassal (by key, monotonic seconds) and the
    ones silent for longer than ``tolerance``."""

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE) -> None:
        if tolerance <= 0:
            raise ValueError("a heartbeat tolerance must be positive")
        self.tolerance = tolerance
        self.last: Dict[str, float] = {}

    def beat(self, key: str, now: float) -> None:
        """``key`` sent a heartbeat at ``now``."""
        self.last[key] = now

    def forget(self, key: str) -> None:
        """``key`` is gone (dead, respawned as a new instance): it is checked again only after
        its next beat."""
        self.last.pop(key, None)

    def overdue(self, now: float) -> List[str]:
        """The vassals silent for more than the tolerance, forgotten at once (as uWSGI resets
        ``last_heartbeat``: one kill per silence, never one per look)."""
        late = [key for key, at in self.last.items() if now - at > self.tolerance]
        for key in late:
            del self.last[key]
        return late
