"""gateway/router/harakiri.py: the shared heartbeat slots and the master's check (a fake master
and clock; the kill itself is exercised through the CLI in tests/integration/test_router_options.py)."""

from __future__ import annotations

import os

from gateway.router.harakiri import Heartbeats, watch


def test_slots_survive_a_fork_and_go_stale():
    beats = Heartbeats(2)
    assert not beats.stale(0, 5, 1000.0)  # never beat: left alone
    pid = os.fork()
    if pid == 0:  # the router side writes, the master side reads
        beats.beat(1, 990.0)
        os._exit(0)
    os.waitpid(pid, 0)
    assert beats.last(1) == 990.0
    assert not beats.stale(1, 15, 1000.0) and beats.stale(1, 5, 1000.0)
    beats.clear(1)
    assert not beats.stale(1, 5, 2000.0)


class FakeMaster:
    def __init__(self):
        self.timers = []
        self.pids = {}

    def call_later(self, delay, callback):
        self.timers.append(callback)

    def child_pid(self, spec):
        return self.pids.get(spec.name, 0)


class Spec:
    def __init__(self, name):
        self.name = name


def test_watch_clears_the_stale_slot_of_a_running_router(monkeypatch):
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(pid))
    beats = Heartbeats(2)
    specs = [Spec("uWSGI http 1"), Spec("uWSGI http 2")]
    master = FakeMaster()
    master.pids = {"uWSGI http 1": 101, "uWSGI http 2": 102}
    now = [100.0]
    watch(master, beats, specs, 3, clock=lambda: now[0])
    beats.beat(0, 99.0)
    beats.beat(1, 95.0)
    master.timers.pop(0)()
    assert killed == [102] and not beats.stale(1, 3, now[0])
    now[0] = 200.0
    master.pids = {"uWSGI http 2": 102}  # router 1 is not running (respawning): not killed
    master.timers.pop(0)()
    assert killed == [102]
