"""The blacklist: a vassal that dies before it was loyal waits before its respawn.

A vassal is *loyal* once it served a request (uWSGI's meaning).  One that dies before
(a broken config, an app that does not import, a port taken) is blacklisted: its next
start waits ``--emperor-throttle`` ms, and each further unloyal death doubles the wait up to
``--emperor-max-throttle``.  Loyalty removes it from the list.  Pure: the clock is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional


@dataclass
class Entry:
    id: str
    throttle: float       # seconds to wait after last_attempt
    attempt: int
    first_attempt: float
    last_attempt: float


class Blacklist:
    """Unloyal vassals by key, with their current delay (seconds)."""

    def __init__(self, throttle_ms: int, max_throttle_ms: int) -> None:
        self.base = throttle_ms / 1000.0
        self.max = max(max_throttle_ms, throttle_ms) / 1000.0
        self.entries: Dict[str, Entry] = {}

    def died_unloyal(self, key: str, name: str, now: float) -> List[str]:
        """Record an unloyal death; the log lines it deserves (uWSGI's wording)."""
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = Entry(name, self.base, 1, now, now)
            return []
        lines = []
        entry.last_attempt = now
        if entry.throttle < self.max:
            entry.throttle = min(entry.throttle * 2, self.max)
        else:
            lines.append("[emperor] maximum throttle level for vassal %s reached !!!" % name)
        entry.attempt += 1
        if entry.attempt == 2:
            lines.append("[emperor] unloyal bad behaving vassal found: %s throttling it..." % name)
        return lines

    def loyal(self, key: str) -> None:
        self.entries.pop(key, None)

    def wait(self, key: str, now: float) -> float:
        """Seconds before vassal ``key`` may start (0: now)."""
        entry = self.entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.last_attempt + entry.throttle - now)

    def next_release(self, now: float) -> Optional[float]:
        """The soonest moment a blacklisted vassal may start, None if none waits."""
        waits = [e.last_attempt + e.throttle for e in self.entries.values() if e.last_attempt + e.throttle > now]
        return min(waits) if waits else None

    def clear(self) -> None:
        self.entries.clear()
