"""The ``--cheaper`` algorithms, cycle by cycle (gateway/process/cheaper.py)."""

from __future__ import annotations

import pytest

from gateway.process.cheaper import Cheaper, CheaperConfigError, Slot


def slots(busy: int, idle: int, cheaped: int):
    """``busy`` + ``idle`` running workers and ``cheaped`` spawnable ids."""
    return ([Slot(True, True, False)] * busy + [Slot(True, False, False)] * idle
            + [Slot(False, False, True)] * cheaped)


def test_spare_spawns_a_step_after_more_than_overload_cycles_of_all_busy():
    """uWSGI 2.0's count: ``overload_count > cheaper_overload``, the 4th cycle with 3."""
    c = Cheaper(2, 8, step=2, overload=3)
    assert [c.decide(slots(2, 0, 6)) for _ in range(4)] == [0, 0, 0, 2]
    # the counter starts again after a spawn
    assert [c.decide(slots(4, 0, 4)) for _ in range(4)] == [0, 0, 0, 2]


def test_spare_never_spawns_more_than_are_cheaped():
    c = Cheaper(2, 3, step=4, overload=1)
    assert [c.decide(slots(2, 0, 1)) for _ in range(2)] == [0, 1]
    assert [c.decide(slots(3, 0, 0)) for _ in range(2)] == [0, 0]


def test_spare_an_idle_cycle_undoes_one_overloaded_cycle():
    c = Cheaper(1, 4, overload=3)
    assert c.decide(slots(1, 0, 3)) == 0
    assert c.decide(slots(1, 0, 3)) == 0
    assert c.decide(slots(1, 1, 2)) == 0  # a free worker: overload 2 -> 1
    assert c.decide(slots(2, 0, 2)) == 0  # 2
    assert c.decide(slots(2, 0, 2)) == 0  # 3
    assert c.decide(slots(2, 0, 2)) == 1  # 4: spawn


def test_spare_keeps_counting_overload_while_it_may_not_spawn():
    """Over the soft rss limit uWSGI's spare keeps its count: the first cycle under it spawns."""
    c = Cheaper(1, 4, overload=1, rss_soft=100 * MB)
    assert [c.decide(slots(2, 0, 2), rss=120 * MB) for _ in range(3)] == [0, 0, 0]
    assert c.decide(slots(2, 0, 2), rss=80 * MB) == 1


def test_spare_stops_one_worker_every_overload_idle_cycles_down_to_the_minimum():
    c = Cheaper(2, 6, overload=3)
    decisions = [c.decide(slots(0, 5, 1)) for _ in range(6)]
    assert decisions == [0, 0, -1, 0, 0, -1]
    assert c.decide(slots(0, 2, 4)) == 0  # at the minimum: nothing more to stop
    assert c.decide(slots(0, 2, 4)) == 0
    assert c.decide(slots(0, 2, 4)) == 0


def test_spare_keeps_exactly_one_spare_worker_stable():
    c = Cheaper(1, 6, overload=1)
    assert [c.decide(slots(3, 1, 2)) for _ in range(5)] == [0] * 5
    assert c.decide(slots(2, 2, 2)) == -1  # two spare: one goes


def test_spare2_keeps_minimum_idle_workers():
    c = Cheaper(2, 8, algo="spare2", step=1, idle=3)
    assert c.decide(slots(3, 0, 5)) == 1  # 0 idle < 2: spawn (one step)
    assert c.decide(slots(3, 1, 4)) == 1
    assert c.decide(slots(3, 2, 3)) == 0
    assert [c.decide(slots(1, 4, 3)) for _ in range(3)] == [0, 0, -1]


def test_backlog_follows_the_listen_queue():
    c = Cheaper(1, 4, algo="backlog", step=2, overload=10)
    assert c.decide(slots(1, 0, 3), backlog=11) == 2
    assert c.decide(slots(3, 0, 1), backlog=10) == 0
    assert c.decide(slots(0, 3, 1), backlog=0) == -1
    assert c.decide(slots(0, 1, 3), backlog=0) == 0  # at the minimum


def test_manual_never_decides():
    c = Cheaper(1, 4, algo="manual", overload=1)
    assert c.decide(slots(1, 0, 3)) == 0 and c.decide(slots(0, 4, 0)) == 0


def test_bad_configurations_name_the_option():
    with pytest.raises(CheaperConfigError, match=r"--cheaper 4 must be lower than --processes 4"):
        Cheaper(4, 4)
    with pytest.raises(CheaperConfigError, match=r"--cheaper-algo lqrps: not supported \(choose from "):
        Cheaper(1, 4, algo="lqrps")


def test_initial_is_clamped_as_uwsgi_clamps_it():
    c = Cheaper(2, 6)
    assert c.initial(0) == 2 and c.initial(1) == 2 and c.initial(4) == 4 and c.initial(9) == 6


@pytest.mark.parametrize("requested, note", [
    (0, None), (4, None),
    (1, "warning: invalid cheaper-initial value (1), must be equal or higher than cheaper (2), "
        "using 2 as initial number of workers"),
    (9, "warning: invalid cheaper-initial value (9), must be lower or equal than worker count (6), "
        "using 6 as initial number of workers")])
def test_a_clamped_initial_leaves_uwsgis_warning(requested, note):
    c = Cheaper(2, 6)
    c.initial(requested)
    assert c.note == note


MB = 1 << 20


def test_rss_soft_limit_blocks_spawns_but_not_stops():
    c = Cheaper(1, 4, overload=1, rss_soft=100 * MB)
    assert c.decide(slots(2, 0, 2), rss=120 * MB) == 0 and c.note is None  # all busy, but over the soft limit
    assert c.decide(slots(2, 0, 2), rss=80 * MB) == 1  # under it: the algorithm spawns again
    assert c.decide(slots(2, 0, 2), rss=120 * MB, requested=2) == 0  # the FIFO's + is dropped too
    assert c.decide(slots(2, 0, 2), rss=120 * MB, requested=-1) == -1  # its - still applies


def test_rss_hard_limit_stops_one_worker_per_cycle_while_more_than_one_runs():
    c = Cheaper(2, 4, rss_soft=100 * MB, rss_hard=150 * MB)
    assert c.decide(slots(3, 0, 1), rss=160 * MB) == -1
    assert c.note == "cheaper hard rss memory limit exceeded, cheap one of 3 workers"
    assert c.decide(slots(2, 0, 2), rss=160 * MB) == -1  # even below --cheaper, as uWSGI
    assert c.decide(slots(1, 0, 3), rss=160 * MB) == 0  # the last worker stays


def test_rss_limits_must_make_sense():
    with pytest.raises(CheaperConfigError, match="requires setting also cheaper-rss-limit-soft"):
        Cheaper(1, 4, rss_hard=10)
    with pytest.raises(CheaperConfigError, match="must be higher than cheaper-rss-limit-soft"):
        Cheaper(1, 4, rss_soft=10, rss_hard=10)


def test_fifo_requests_replace_the_algorithm_within_bounds():
    c = Cheaper(2, 4)
    assert c.decide(slots(0, 2, 2), requested=5) == 2  # no more than are cheaped
    assert c.decide(slots(0, 3, 1), requested=-5) == -1  # never below --cheaper


def test_rss_soft_limit_still_lets_the_algorithm_stop_idle_workers():
    under = Cheaper(1, 4, algo="spare", overload=1, rss_soft=100 * MB)
    over = Cheaper(1, 4, algo="spare", overload=1, rss_soft=100 * MB)
    assert [under.decide(slots(0, 4, 0), rss=50 * MB) for _ in range(3)] == \
        [over.decide(slots(0, 4, 0), rss=150 * MB) for _ in range(3)]
    assert -1 in [over.decide(slots(0, 3, 1), rss=150 * MB) for _ in range(3)]
    assert [over.decide(slots(0, 1, 3), rss=150 * MB) for _ in range(3)] == [0, 0, 0]  # never below --cheaper
