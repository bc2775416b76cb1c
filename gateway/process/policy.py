"""Pure decisions of the master: respawn back-off and harakiri, from numbers to verdicts.

No I/O, no clock of its own: the master passes ``now`` and what the scoreboard says,
so these rules are tested as plain functions.
"""

from __future__ import annotations

from typing import Collection, List, Mapping, Optional, Sequence, Tuple

#: The exit status of a worker that retires without a word from the master (uWSGI's
#: ``UWSGI_QUIET_CODE``): one past ``--max-worker-lifetime``, which the master announced.
QUIET_EXIT = 29

#: A worker that dies sooner than this after its spawn counts as dying "at start".
FAST_DEATH = 2.0
#: Back-off for workers that keep dying at start: 0.1 s doubling up to this.
MAX_RESPAWN_DELAY = 8.0


def respawn_delay(fast_deaths: int) -> float:
    """Seconds to wait before respawning a worker that died ``fast_deaths`` times in a row
    right after its spawn (0 for the first death: a crash in service is respawned at once)."""
    if fast_deaths <= 1:
        return 0.0
    return min(0.1 * (2 ** (fast_deaths - 1)), MAX_RESPAWN_DELAY)


def next_fast_deaths(previous: int, lifetime: float) -> int:
    """Count of consecutive deaths at start, after a death ``lifetime`` seconds after spawn."""
    return previous + 1 if lifetime < FAST_DEATH else 0


#: How long past its harakiri deadline a core may stay in its request before the master
#: kills the worker: the worker cancels a core suspended on its loop itself within
#: about one heartbeat; a core still busy after this grace is stuck in blocking code
#: (or in an OS thread, or it swallowed the cancellation).
HARAKIRI_GRACE = 1.5
#: A worker's loop beats every 0.25 s: one silent this long is blocked (by the request that
#: passed its ``uwsgi.set_user_harakiri`` deadline, when the beat stopped before it).
STALLED = 0.5


def harakiri_verdict(
    harakiri: float,
    now_us: int,
    heartbeat_us: int,
    core_starts_us: Sequence[Tuple[int, int]],
    user_deadlines_us: Optional[Mapping[int, int]] = None,
    uncancellable: Collection[int] = (),
) -> Optional[List[int]]:
    """Should the master kill this worker?  ``core_starts_us``: ``(core, request start)``
    of its cores in a request; ``user_deadlines_us``: core -> the deadline its request set
    with ``uwsgi.set_user_harakiri`` (absent or 0: none); ``uncancellable``: cores whose request
    an app thread holds, which the worker cannot cancel (no grace for them).  Returns the cores
    to blame (non-empty) or None.

    For ``--harakiri``, two cases: the worker's loop has not turned for more than
    ``harakiri`` seconds while requests are in flight (blamed: the cores busy since before
    the loop stopped, else those whose request has run ``harakiri`` seconds, the one that
    started just after the last beat and blocked the loop), or a core is still in its
    request ``HARAKIRI_GRACE`` seconds after its deadline.  For a user deadline: the loop has
    not turned since before the deadline passed (``STALLED``), or the core is still in its
    request ``HARAKIRI_GRACE`` seconds after it (the worker itself cancels a suspended
    request at its deadline, so only one still there after the grace is stuck).
    """
    if not core_starts_us:
        return None
    blamed: List[int] = []
    stalled_us = now_us - heartbeat_us
    if harakiri > 0:
        limit = int(harakiri * 1_000_000)
        if stalled_us > limit:
            blamed = ([core for core, start in core_starts_us if start <= heartbeat_us]
                      or [core for core, start in core_starts_us if now_us - start > limit])
        if not blamed:
            grace = int((harakiri + HARAKIRI_GRACE) * 1_000_000)
            blamed = [core for core, start in core_starts_us
                      if now_us - start > (limit if core in uncancellable else grace)]
    if user_deadlines_us:
        grace_us = int(HARAKIRI_GRACE * 1_000_000)
        blocked = stalled_us > int(STALLED * 1_000_000)
        for core, _start in core_starts_us:
            deadline = user_deadlines_us.get(core, 0)
            if not deadline or now_us <= deadline or core in blamed:
                continue
            if now_us > deadline + grace_us or (blocked and heartbeat_us < deadline) or core in uncancellable:
                blamed.append(core)
    return blamed or None


def expired_cores(harakiri: float, now_us: int, core_starts_us: Sequence[Tuple[int, int]],
                  user_deadlines_us: Optional[Mapping[int, int]] = None) -> List[int]:
    """Cores whose request has run longer than ``harakiri`` seconds, or past the deadline it
    set with ``uwsgi.set_user_harakiri`` (the worker cancels them)."""
    expired = []
    limit = int(harakiri * 1_000_000)
    for core, start in core_starts_us:
        deadline = user_deadlines_us.get(core, 0) if user_deadlines_us else 0
        if (limit and now_us - start > limit) or (deadline and now_us > deadline):
            expired.append(core)
    return expired
