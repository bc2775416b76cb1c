"""Signal routing, timers, rb-timers, crons and file monitors with a fake clock, and
uWSGI's cron matching rules."""

from __future__ import annotations

import time

import pytest

from gateway.usignals.cron import cron_matches
from gateway.usignals.router import SignalRouter
from gateway.usignals.table import CRON, FILEMON, RB_TIMER, TIMER, SignalTable, TableFull


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(workers=2):
    table = SignalTable(workers + 1)
    sent = []
    clock = Clock()
    router = SignalRouter(table, workers, lambda wid, sig: sent.append((wid, sig)) or True, clock=clock,
                          wall=lambda: 1_700_000_000.0 + clock.t)
    return table, router, sent, clock


def test_targets():
    table, router, sent, _ = make(3)
    table.register(1, "", 2)
    table.register(1, "", 3)
    for _ in range(4):
        router.route(1)
    assert sent == [(2, 1), (3, 1), (2, 1), (3, 1)]  # one registered worker at a time, round robin
    sent.clear()
    table.register(2, "workers", 1)
    router.route(2)
    assert sent == [(1, 2), (2, 2), (3, 2)]
    sent.clear()
    table.register(3, "worker2", 1)
    router.route(3)
    assert sent == [(2, 3)]
    sent.clear()
    table.register(4, "worker9", 1)
    table.register(5, "mule1", 1)
    assert router.route(4) == 0 and router.route(5) == 0 and sent == []
    router.route(300)  # like uWSGI's unsigned char: 300 is signal 44
    assert sent == [(1, 44)]
    table.forget_worker(2)
    assert table.target(1) == ("", [3])


def test_the_spooler_target_without_spoolers_is_logged_as_uwsgi(caplog):
    """No spooler took it (gateway.spooler.signals hooks the target when there are spoolers)."""
    table, router, sent, _ = make(1)
    table.register(8, "spooler", 1)
    assert router.route(8) == 0 and sent == [] and router.unrouted == 1
    assert "could not deliver signal 8 to the spooler" in caplog.text


def test_active_workers_skips_a_paused_instance():
    """uWSGI's ``active-workers`` leaves suspended workers out (``--pause``); ``workers`` does not."""
    table, router, sent, _ = make(2)
    table.register(6, "active-workers", 1)
    table.register(7, "workers", 1)
    router.route(6)
    assert sent == [(1, 6), (2, 6)]
    sent.clear()
    router.suspended = True
    assert router.route(6) == 0 and sent == [] and router.unrouted == 0
    router.route(7)
    assert sent == [(1, 7), (2, 7)]
    sent.clear()
    router.suspended = False
    router.route(6)
    assert sent == [(1, 6), (2, 6)]


def test_timers_rb_timers_and_duplicates():
    table, router, sent, clock = make(1)
    table.register(7, "", 1)
    table.register(8, "", 1)
    assert table.add_source(TIMER, 7, (2, 0, 0, 0, 0)) is True
    assert table.add_source(TIMER, 7, (2, 0, 0, 0, 0)) is False  # every worker adds the same @timer once
    table.add_source(RB_TIMER, 8, (1, 2, 0, 0, 0))  # 2 iterations
    assert router.next_timeout() == pytest.approx(1.0)
    for _ in range(6):
        clock.t += 1.0
        router.tick()
    assert sent.count((1, 7)) == 3 and sent.count((1, 8)) == 2
    clock.t += 100  # a stalled loop does not cause a burst
    router.tick()
    assert sent.count((1, 7)) == 4


def test_sixty_five_timers_are_refused():
    table, _, _, _ = make(1)
    for i in range(64):
        table.add_source(TIMER, i, (i + 1, 0, 0, 0, 0))
    with pytest.raises(TableFull, match="max 64 timers"):
        table.add_source(TIMER, 0, (99, 0, 0, 0, 0))
    table.add_source(CRON, 1, (-1, -1, -1, -1, -1))  # other kinds have their own 64


def test_cron_fires_once_per_matching_minute():
    table, router, sent, clock = make(1)
    table.register(9, "", 1)
    table.add_source(CRON, 9, (-1, -1, -1, -1, -1))
    router.tick()
    assert sent == [(1, 9)]
    clock.t += 10
    router.tick()
    assert sent == [(1, 9)]
    clock.t += router.next_timeout() or 0
    router.tick()
    assert sent == [(1, 9), (1, 9)]


def test_file_monitor(tmp_path):
    table, router, sent, clock = make(1)
    f = tmp_path / "watched"
    f.write_text("a")
    table.register(3, "", 1)
    table.add_source(FILEMON, 3, path=str(f).encode())
    router.tick()
    clock.t += 1.5
    router.tick()
    assert sent == []
    f.write_text("changed!")
    clock.t += 1.5
    router.tick()
    assert sent == [(1, 3)]


def tm(y, mo, d, h, mi):
    return time.localtime(time.mktime((y, mo, d, h, mi, 0, 0, 0, -1)))


def test_cron_rules():
    t = tm(2026, 12, 4, 10, 15)  # a Friday
    assert cron_matches((-1, -1, -1, -1, -1), t)
    assert cron_matches((15, 10, -1, -1, -1), t)
    assert not cron_matches((16, 10, -1, -1, -1), t)
    assert cron_matches((-5, -1, -1, -1, -1), t)  # */5
    assert not cron_matches((-7, -1, -1, -1, -1), t)
    assert cron_matches((15, 10, -1, 12, 5), t)  # month 1..12, Friday = 5
    assert cron_matches((15, 10, 1, -1, 5), t)  # day and weekday are ORed
    assert not cron_matches((15, 10, 1, -1, 0), t)
    assert cron_matches((15, 10, -1, -1, 7), tm(2026, 12, 6, 10, 15))  # 7 = Sunday


def test_clear_snapshot_restore_for_app_reloads():
    table, router, sent, clock = make(1)
    table.register(5, "workers", 1)
    table.add_source(TIMER, 5, (1, 0, 0, 0, 0))
    snap = table.snapshot()
    table.clear()
    router.reset()
    assert table.target(5) == ("", []) and table.source_count() == 0
    table.restore(snap)
    assert table.target(5) == ("workers", [1]) and table.source(0)[:2] == (TIMER, 5)
    router.tick()  # arms it
    clock.t += 1
    router.tick()
    assert sent == [(1, 5)]


def test_ms_timer_interval_is_seconds_plus_milliseconds():
    table, router, sent, clock = make(1)
    table.register(9, "", 1)
    table.add_source(TIMER, 9, (0, 0, 250, 0, 0))  # uwsgi.add_ms_timer(9, 250)
    router.next_timeout()  # arms it
    fired = 0
    for _ in range(8):
        clock.t += 0.125
        fired += router.tick()
    assert fired == 4 and sent == [(1, 9)] * 4  # every 250 ms, not every second
    assert router.next_timeout() == pytest.approx(0.25)


@pytest.mark.parametrize("kind,seconds", [(TIMER, 0), (TIMER, -1), (RB_TIMER, 0), (RB_TIMER, -3)])
def test_a_timer_of_no_seconds_never_fires(kind, seconds, caplog):
    """uWSGI 2.0.31: ``add_timer(n, 0)`` arms a zeroed timerfd (never fires), ``-1`` fails
    (``timerfd_settime(): Invalid argument``); its rb timer of 0 s would loop in the master.
    Never armed here either, with a line saying so (it fired every second before)."""
    table, router, sent, clock = make(1)
    table.register(9, "", 1)
    table.add_source(kind, 9, (seconds, 0, 0, 0, 0))
    assert router.next_timeout() is None  # nothing to wait for
    for _ in range(3):
        clock.t += 1
        router.tick()
    assert sent == []
    assert "for signal 9 not armed: a period of %d seconds" % seconds in caplog.text


def test_pinned_sources_survive_clear():
    """--timer/--rbtimer are added before the app loads and pinned: an app reload's clear()
    drops only what the app added after them."""
    table = SignalTable(2)
    table.add_source(TIMER, 11, (1, 0, 0, 0, 0))
    table.add_source(RB_TIMER, 12, (2, 0, 0, 0, 0))
    table.pin_sources()
    table.add_source(TIMER, 13, (3, 0, 0, 0, 0))  # the app's own timer
    table.clear()
    assert [table.source(i)[:2] for i in range(table.source_count())] == [(TIMER, 11), (RB_TIMER, 12)]
    table.add_source(TIMER, 13, (3, 0, 0, 0, 0))  # the app registers it again after the reload
    assert table.source_count() == 3
    table.close()
