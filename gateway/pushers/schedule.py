"""When a pusher runs, and how much it may log: uWSGI's stats-pusher loop rules, sans-IO.

uWSGI's pusher thread wakes once a second and runs every pusher whose period has
elapsed (``last_run + freq <= now``), or whose retry is due.  A pusher that failed
(only carbon reports failures) is retried ``max_retries`` times, ``retry_delay``
seconds apart; a retry round only contacts the servers that failed.  These rules live
in :class:`Schedule`; the caller passes the clock in.

:class:`FailureLog` rate-limits what a dead target costs: its first failure is logged,
then at most one line every :data:`LOG_EVERY` seconds (with the count of failures in
between), and one line when it works again.
"""

from __future__ import annotations

from typing import Optional

#: seconds between two log lines about the same failing target
LOG_EVERY = 60.0


class Schedule:
    """One pusher's timetable: ``freq`` seconds apart, retries after a failed round.

    ::

        s = Schedule(60, max_retries=2, retry_delay=7)
        if s.due(now):
            retry = s.start(now)     # True: only the failed servers are tried
            ...                      # push (possibly asynchronously), then
            line = s.finish(now, failed=False)   # a line to log, or None
    """

    def __init__(self, freq: float, max_retries: int = 0, retry_delay: float = 0.0) -> None:
        self.freq = freq
        self.max_retries = max(0, max_retries)
        self.retry_delay = retry_delay
        self.last_run: Optional[float] = None
        self.needs_retry = False
        self.retries = 0
        self.next_retry = 0.0
        self.running = False

    def due(self, now: float) -> bool:
        if self.running:
            return False
        if self.last_run is None or now >= self.last_run + self.freq:
            return True
        return self.needs_retry and now >= self.next_retry

    def next_due(self) -> float:
        """The clock value at which :meth:`due` becomes true (when not running)."""
        if self.last_run is None:
            return 0.0
        at = self.last_run + self.freq
        return min(at, self.next_retry) if self.needs_retry else at

    def start(self, now: float) -> bool:
        """A round begins; True when it is a retry round."""
        self.running = True
        if self.needs_retry:
            self.retries += 1
        self.last_run = now
        return self.retries > 0

    def finish(self, now: float, failed: bool) -> Optional[str]:
        """The round ended: schedule a retry if ``failed``; the line uWSGI logs, if any.

        With ``max_retries`` 0 a failure is simply left to the next period (uWSGI logs
        "maximum number of retries was reached (0)" every time: noise, left out).
        """
        self.running = False
        self.needs_retry = failed
        if failed and self.retries < self.max_retries:
            self.next_retry = now + self.retry_delay
            return "failed (%d), retry in %ds" % (self.retries, int(self.retry_delay))
        if failed:
            self.needs_retry = False
            retries, self.retries = self.retries, 0
            if self.max_retries:
                return "failed and maximum number of retries was reached (%d)" % retries
            return None
        if self.retries:
            self.retries = 0
            return "retry succeeded"
        return None


class FailureLog:
    """Decides which failures of one target are worth a log line (see the module docstring)."""

    def __init__(self, every: float = LOG_EVERY) -> None:
        self.every = every
        self.failing = False
        self.suppressed = 0
        self.last_logged = 0.0

    def failure(self, now: float) -> Optional[int]:
        """A failure: None to stay quiet, else how many were not logged since the last line."""
        if self.failing and now < self.last_logged + self.every:
            self.suppressed += 1
            return None
        self.failing = True
        self.last_logged = now
        n, self.suppressed = self.suppressed, 0
        return n

    def success(self) -> bool:
        """A success: True when it ends a failing streak (worth one line)."""
        was, self.failing, self.suppressed = self.failing, False, 0
        return was
