"""PushRunner: which pusher runs on which pass of the master's loop (gateway/pushers/__init__.py)."""

from __future__ import annotations

import pytest

from gateway.pushers import PushRunner
from gateway.pushers.schedule import Schedule
from gateway.sharedmem.metrics import GAUGE
from gateway.subsystems.builtin_metrics import Metric


class Source:
    def __init__(self):
        self.reads = 0
        self.ticks = 0

    def tick(self, now):
        self.ticks += 1

    def workers(self):
        self.reads += 1
        return [{"requests": 1}]

    def metrics(self, workers):
        return [Metric("core.busy_workers", GAUGE, 0)]


class Statsd:
    def __init__(self):
        self.pushes = []

    def push(self, metrics, now):
        self.pushes.append(now)
        return True


class Carbon:
    def __init__(self, freq):
        self.schedule = Schedule(freq)
        self.rounds = []

    def push(self, workers, metrics, now, retry):
        self.rounds.append((now, retry))
        self.schedule.finish(now, False)  # a round that ends at once


def test_each_pusher_keeps_its_own_period_and_metrics_are_read_once_per_pass():
    source, statsd, carbon = Source(), Statsd(), Carbon(10)
    runner = PushRunner(object(), source, [statsd], 3, carbon)  # type: ignore[arg-type]
    for now in (0.0, 1.0, 2.0, 3.0, 6.0, 9.5, 10.0):
        runner.run_due(now)
    assert statsd.pushes == [0.0, 3.0, 6.0, 9.5]
    assert carbon.rounds == [(0.0, False), (10.0, False)]
    assert source.reads == 5  # only on passes where something was due
    assert source.ticks == 6  # core.overloaded: at most once a second (not at 10.0, after 9.5)
    assert runner._sleep(10.0) == 0.5  # the next overload check (10.5); statsd at 12.5, carbon at 20
    assert runner._sleep(10.4) == pytest.approx(0.1) and runner._sleep(11.0) == 0.0
