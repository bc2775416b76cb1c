"""``--cheaper-algo busyness``, cycle by cycle with made-up observations
(gateway/process/cheaper_busyness.py, and its place in gateway/process/cheaper.py)."""

from __future__ import annotations

from typing import List, Optional, Sequence

import pytest

from gateway.process.cheaper import ALGORITHMS, Cheaper, CheaperConfigError, Slot
from gateway.process.cheaper_busyness import Busyness, busyness_options

MS = 1000  # µs


class Sim:
    """Worker ids with a cumulative running time, and a clock that moves one second a cycle
    (the master's pace).  ``running`` workers are ids 1..running, the others are cheaped."""

    def __init__(self, algo: Busyness, processes: int, running: int) -> None:
        self.algo = algo
        self.now = 100.0
        self.running = running
        self.times = [0] * processes
        self.lines: List[str] = []

    def slots(self, busy: Sequence[int] = ()) -> List[Slot]:
        return [Slot(i < self.running, i < self.running and (i + 1) in busy, i >= self.running, t)
                for i, t in enumerate(self.times)]

    def cycle(self, work_ms: Sequence[int] = (), busy: Sequence[int] = (), backlog: int = 0,
              can_spawn: bool = True, seconds: float = 1.0) -> int:
        """One master cycle: worker i+1 ended requests worth ``work_ms[i]`` ms since the last
        one; ``busy``: ids seen in a request now.  Applies the decision to ``running``."""
        self.now += seconds
        for i, ms in enumerate(work_ms):
            self.times[i] += ms * MS
        decision = self.algo.decide(self.slots(busy), backlog, self.now, can_spawn)
        self.lines += self.algo.lines
        if decision > 0:
            self.running += decision
        elif decision < 0:
            self.running -= 1
        return decision

    def first(self) -> None:
        """The first cycle opens the first window."""
        assert self.cycle() == 0

    def logged(self, text: str) -> bool:
        return any(text in line for line in self.lines)


def test_an_average_above_max_spawns_a_step_with_uwsgis_line():
    sim = Sim(Busyness(1, 4, overload=1, step=2), 4, running=1)
    sim.first()
    assert sim.cycle([800]) == 2  # 80% > 50%
    assert sim.lines == ["[busyness] 1s average busyness is at 80%, will spawn 2 new worker(s)"]
    assert sim.algo.busyness == [80, None, None, None] and sim.algo.average == 80


def test_the_average_is_over_the_running_workers_and_the_whole_window():
    sim = Sim(Busyness(1, 4, overload=3), 4, running=2)
    sim.first()
    assert sim.cycle([1000, 0]) == 0 and sim.cycle([1000, 0]) == 0  # inside the 3 s window: no decision
    # worker 1 busy 2.4 s of 3 s (80%), worker 2 idle (0%): 40% on average, between min and max
    assert sim.cycle([400, 0]) == 0
    assert sim.algo.busyness[:2] == [80, 0] and sim.algo.average == 40
    # the next window: both at 60%
    sim.cycle([600, 600]), sim.cycle([600, 600])
    assert sim.cycle([600, 600]) == 1
    assert sim.logged("3s average busyness is at 60%, will spawn 1 new worker(s)")


def test_a_worker_busy_without_finishing_a_request_counts_100_percent():
    sim = Sim(Busyness(1, 3, overload=1, verbose=True), 3, running=1)
    sim.first()
    assert sim.cycle(busy=[1]) == 1  # no running_time yet, but seen in a request
    assert sim.logged("[busyness] worker 1 was busy 1 time(s) in last cycle but no request was completed "
                      "during this time, marking as 100% busy")
    assert sim.logged("[busyness] 1s average busyness of 1 worker(s) is at 100%")


def test_a_window_with_a_long_request_ending_counts_at_most_100_percent():
    sim = Sim(Busyness(1, 3, overload=1), 3, running=2)
    sim.first()
    sim.cycle([5000, 0])  # 5 s ended in a 1 s window: 100%, the other one 0%: 50% is not above max
    assert sim.algo.busyness[:2] == [100, 0] and sim.algo.average == 50


def test_no_spawnable_worker_is_logged_not_spawned():
    sim = Sim(Busyness(1, 2, overload=1), 2, running=2)
    sim.first()
    assert sim.cycle([900, 900]) == 0
    assert sim.lines == ["[busyness] 1s average busyness is at 90% but we already started maximum number of "
                         "workers available with current limits (2)"]


def test_a_memory_limit_forbids_spawning():
    sim = Sim(Busyness(1, 3, overload=1), 3, running=1)
    sim.first()
    assert sim.cycle([900], can_spawn=False) == 0
    assert sim.logged("but we already started maximum number of workers available with current limits (1)")


def test_idle_workers_stop_one_at_a_time_after_overload_times_multiplier_seconds():
    sim = Sim(Busyness(1, 4, overload=1, multiplier=3, verbose=True), 4, running=1)
    sim.first()
    assert sim.cycle([900]) == 1  # spawn at t: the cheaper timer runs until t + 1 x 3
    assert sim.cycle() == 0
    assert sim.logged("[busyness] need to wait 2 more second(s) to cheap worker")
    assert sim.cycle() == 0
    sim.lines = []
    assert sim.cycle() == -1
    assert "[busyness] 1s average busyness is at 0%, cheap one of 2 running workers" in sim.lines
    # one worker left, the minimum: nothing more, ever
    assert [sim.cycle() for _ in range(10)] == [0] * 10


def test_never_below_the_cheaper_minimum():
    sim = Sim(Busyness(2, 4, overload=1, multiplier=1), 4, running=2)
    sim.first()
    assert [sim.cycle() for _ in range(5)] == [0] * 5
    assert sim.running == 2


def test_stops_in_a_row_lower_a_raised_multiplier_back_to_its_initial_value():
    busy = Busyness(1, 6, overload=1, multiplier=2, penalty=3)
    sim = Sim(busy, 6, running=3)
    sim.first()  # the timer: 1 x 2 s
    assert sim.cycle() == 0
    assert sim.cycle() == -1 and busy.multiplier == 2  # the first stop: nothing to lower
    assert sim.cycle([900, 900]) == 1  # back within 1 s: penalty
    assert busy.multiplier == 5
    assert sim.logged("[busyness] worker(s) respawned to fast, increasing cheaper multiplier to 5 (+3)")
    # idle: the timer is 5 s now
    assert [sim.cycle() for _ in range(5)] == [0, 0, 0, 0, -1]
    sim.lines = []
    assert [sim.cycle() for _ in range(5)] == [0, 0, 0, 0, -1]  # a stop after a stop: 5 -> 4
    assert busy.multiplier == 4 and sim.lines == [
        "[busyness] decreasing cheaper multiplier to 4",
        "[busyness] 1s average busyness is at 0%, cheap one of 2 running workers"]
    assert sim.running == 1


def test_a_spawn_long_after_the_last_stop_lowers_the_multiplier():
    busy = Busyness(1, 4, overload=1, multiplier=2, penalty=2)
    sim = Sim(busy, 4, running=2)
    sim.first()
    sim.cycle()
    assert sim.cycle() == -1
    assert sim.cycle([900]) == 1 and busy.multiplier == 4  # too fast
    assert [sim.cycle([300, 300]) for _ in range(3)] == [0, 0, 0]  # not idle, not loaded
    sim.now += 10  # long after the stop
    assert sim.cycle([900, 900]) == 1
    assert busy.multiplier == 3 and sim.logged("[busyness] decreasing cheaper multiplier to 3")


def test_windows_between_min_and_max_push_the_timer_back_then_reset_it():
    busy = Busyness(1, 4, overload=1, multiplier=4, verbose=True)
    sim = Sim(busy, 4, running=2)
    sim.first()  # the timer: now + 4
    start = busy.next_cheap
    sim.cycle([300, 300])  # 30%: not idle
    assert busy.next_cheap == start + 1
    assert sim.logged("[busyness] 1s average busyness is at 30%, 1 non-idle cycle(s), adjusting cheaper timer")
    sim.cycle([300, 300])
    assert busy.next_cheap == start + 2
    sim.cycle([300, 300])
    assert busy.next_cheap == sim.now + 4  # three in a row: a whole new timer
    assert sim.logged("[busyness] 1s average busyness is at 30%, 3 non-idle cycle(s), resetting cheaper timer")
    assert [sim.cycle() for _ in range(4)] == [0, 0, 0, -1]


def test_an_idle_window_resets_the_tolerance_count():
    busy = Busyness(1, 4, overload=1, multiplier=10)
    sim = Sim(busy, 4, running=2)
    sim.first()
    start = busy.next_cheap
    sim.cycle([300, 300]), sim.cycle([300, 300]), sim.cycle()  # 2 non-idle, then an idle one
    sim.cycle([300, 300])  # counted from 1 again: adjusted, not reset
    assert busy.next_cheap == start + 3


def test_a_long_listen_queue_spawns_emergency_workers_between_windows():
    busy = Busyness(1, 6, overload=3, multiplier=2, backlog_alert=5, backlog_step=2, backlog_multiplier=1,
                    verbose=True)
    sim = Sim(busy, 6, running=2)
    sim.first()
    busy.multiplier = 6  # raised by earlier penalties: an emergency resets it
    assert sim.cycle(backlog=5) == 0  # not more than the alert
    assert sim.cycle(backlog=6) == 2  # not a window's end: the queue is watched every cycle
    assert sim.logged("[busyness] 6 requests in listen queue, spawning 2 emergency worker(s) (2)!")
    assert busy.multiplier == 2 and busy.emergency == 2
    # the timer set with that spawn is the normal one (uWSGI counts the new workers after it)
    assert busy.next_cheap == sim.now + 3 * 2
    assert [sim.cycle() for _ in range(7)] == [0, 0, 0, 0, 0, 0, -1]
    assert sim.logged("cheap one of 4 running workers") and busy.emergency == 1
    # while emergency workers run, the next stops come at overload x backlog multiplier (3 s, not 6)
    assert sim.logged("[busyness] 2 emergency worker(s) running, using 3 seconds cheaper timer")
    assert [sim.cycle() for _ in range(3)] == [0, 0, -1] and busy.emergency == 0
    assert [sim.cycle() for _ in range(3)] == [0, 0, -1]
    assert sim.running == 1


def test_the_listen_queue_at_a_window_spawns_emergency_workers_too():
    sim = Sim(Busyness(1, 3, overload=1, backlog_alert=2), 3, running=1)
    sim.first()
    assert sim.cycle([100], backlog=3) == 1  # 10% busy, but 3 waiting
    assert sim.logged("[busyness] 3 requests in listen queue, spawning 1 emergency worker(s) (1)!")


def test_the_listen_queue_alert_with_every_worker_running_spawns_nothing():
    sim = Sim(Busyness(1, 2, overload=3, backlog_alert=2), 2, running=2)
    sim.first()
    assert sim.cycle(backlog=50) == 0
    assert not sim.lines  # every worker is running: not even tried (uWSGI's condition)


def test_a_listen_queue_never_empty_for_backlog_nonzero_seconds_spawns():
    busy = Busyness(1, 4, overload=100, backlog_nonzero=3, verbose=True)
    sim = Sim(busy, 4, running=1)
    sim.first()
    assert sim.cycle(backlog=1) == 0
    assert sim.logged("[busyness] backlog is starting to fill (1)")
    assert sim.cycle(backlog=2) == 0 and sim.cycle(backlog=1) == 0
    assert sim.cycle(backlog=1) == 1
    assert sim.logged("[busyness] backlog was non-zero for 3 second(s), spawning new worker(s)")
    # the count starts again from that spawn; an empty queue resets it
    assert sim.cycle(backlog=1) == 0
    assert sim.cycle(backlog=0) == 0 and sim.logged("[busyness] backlog is now empty")
    assert sim.cycle(backlog=1) == 0 and sim.cycle(backlog=1) == 0 and sim.cycle(backlog=1) == 0
    assert sim.cycle(backlog=1) == 1


def test_without_verbose_only_the_decisions_are_logged():
    sim = Sim(Busyness(1, 3, overload=1, multiplier=1), 3, running=2)
    sim.first()
    sim.cycle([300, 300], busy=[1])
    assert sim.lines == []
    assert sim.cycle() == -1  # the timer (1 s) pushed back by one window
    assert sim.lines == ["[busyness] 1s average busyness is at 0%, cheap one of 2 running workers"]


def test_a_slot_whose_running_time_went_back_counts_zero():
    sim = Sim(Busyness(1, 3, overload=1), 3, running=2)
    sim.first()
    sim.times[0] = 5_000_000
    sim.cycle()
    sim.times[0] = 0  # e.g. a fresh scoreboard slot
    sim.cycle()
    assert sim.algo.busyness[0] == 0


def test_defaults_and_settings_lines_are_uwsgis():
    busy = Busyness(1, 4)
    assert busy.settings() == [
        "[busyness] settings: min=25%, max=50%, overload=3, multiplier=10, respawn penalty=2",
        "[busyness] backlog alert is set to 33 request(s), step is 1",
        "[busyness] backlog non-zero alert is set to 60 second(s)"]
    zero = Busyness(1, 4, busy_max=0, busy_min=0, multiplier=0, penalty=0)  # 0 means the default
    assert (zero.busy_max, zero.busy_min, zero.multiplier, zero.penalty) == (50, 25, 10, 2)


def test_min_not_below_max_is_an_error_naming_both():
    with pytest.raises(CheaperConfigError, match=r"--cheaper-busyness-min 60 must be lower than "
                                                 r"--cheaper-busyness-max 50"):
        Busyness(1, 4, busy_min=60)


class _Config:
    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Optional[object]:
        return None


def test_through_cheaper_the_fifo_and_the_memory_limit_still_come_first():
    options = busyness_options(_Config(cheaper_busyness_multiplier=1, cheaper_busyness_verbose=True))
    assert options["multiplier"] == 1 and options["verbose"] is True and options["busy_max"] == 0
    c = Cheaper(1, 3, algo="busyness", overload=1, step=1, rss_soft=100, busyness=options)
    assert "busyness" in ALGORITHMS and c.settings()[0].startswith("[busyness] settings: min=25%, max=50%")
    running = [Slot(True, True, False, 0), Slot(False, False, True), Slot(False, False, True)]
    assert c.decide(running, now=1.0) == 0
    loaded = [Slot(True, True, False, 900_000), Slot(False, False, True), Slot(False, False, True)]
    assert c.decide(loaded, rss=100, now=2.0) == 0  # over the soft limit: the algorithm may not spawn
    assert any("already started maximum" in line for line in c.lines)
    more = [Slot(True, True, False, 1_800_000), Slot(False, False, True), Slot(False, False, True)]
    assert c.decide(more, rss=0, now=3.0) == 1
    assert c.lines[-1] == "[busyness] 1s average busyness is at 90%, will spawn 1 new worker(s)"
    assert c.decide(more, requested=-1, now=4.0) == 0 and c.lines == []  # the FIFO replaces it


def test_a_production_ini_file_loads_every_busyness_option(tmp_path):
    from gateway.config import load

    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\nprocesses = 8\ncheaper = 2\ncheaper-algo = busyness\ncheaper-overload = 5\n"
                   "cheaper-step = 2\ncheaper-busyness-multiplier = 30\ncheaper-busyness-min = 20\n"
                   "cheaper-busyness-max = 70\ncheaper-busyness-backlog-alert = 16\n"
                   "cheaper-busyness-backlog-step = 2\ncheaper-busyness-backlog-multiplier = 4\n"
                   "cheaper-busyness-backlog-nonzero = 30\ncheaper-busyness-penalty = 3\n"
                   "cheaper-busyness-verbose = true\n")
    config = load([str(ini)], {})
    c = Cheaper(int(config.cheaper), int(config.processes), algo=config.cheaper_algo, step=int(config.cheaper_step),
                overload=int(config.cheaper_overload), busyness=busyness_options(config))
    assert c.settings() == [
        "[busyness] settings: min=20%, max=70%, overload=5, multiplier=30, respawn penalty=3",
        "[busyness] backlog alert is set to 16 request(s), step is 2",
        "[busyness] backlog non-zero alert is set to 30 second(s)"]
    assert c.busyness.backlog_multiplier == 4 and c.busyness.verbose is True and c.busyness.step == 2


def test_out_of_range_percents_are_refused_naming_the_option(tmp_path):
    from gateway.config import ConfigError, load

    with pytest.raises(ConfigError, match="cheaper-busyness-max"):
        load(["--cheaper-busyness-max", "150"], {})
