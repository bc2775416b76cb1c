"""``--queue`` wired into :class:`gateway.subsystems.Subsystems`: the queue is made with the
options, bound as the process's queue, and ``--queue-store-sync N`` msyncs the store every
N seconds of the master's ticks (nothing without a store)."""

from __future__ import annotations

import mmap

import pytest

from gateway import subsystems
from gateway.config import load
from gateway.sharedmem import queue as q
from gateway.sharedmem import sharedarea


@pytest.fixture
def make(monkeypatch):
    made = []
    monkeypatch.setattr(q, "current", None)
    monkeypatch.setattr(sharedarea, "current", None)
    monkeypatch.setattr(subsystems, "current", None)

    def _make(*argv: str) -> subsystems.Subsystems:
        subs = subsystems.Subsystems(load(list(argv), {}), workers=1, master=False)
        made.append(subs)
        return subs

    yield _make
    for subs in made:
        subs.close()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_store_sync_every_n_seconds(make, monkeypatch, tmp_path):
    clock = Clock()
    monkeypatch.setattr(subsystems.time, "monotonic", clock)
    subs = make("--queue", "2", "--queue-blocksize", str(mmap.PAGESIZE), "--queue-store",
                str(tmp_path / "q"), "--queue-store-sync", "5")
    assert q.current is subs.queue and subs.queue is not None and subs.queue.items == 2
    synced = []
    monkeypatch.setattr(subs.queue, "sync", lambda wait=False: synced.append(clock.now))
    assert subs.next_timeout() <= 5
    for t in (101.0, 104.9, 105.0, 106.0, 110.0, 115.5):
        clock.now = t
        subs.master_tick()
    assert synced == [105.0, 110.0, 115.5]


def test_no_sync_without_a_store_and_no_queue_without_the_option(make, monkeypatch):
    subs = make("--queue", "2", "--queue-blocksize", str(mmap.PAGESIZE), "--queue-store-sync", "1")
    assert subs.queue is not None and subs.queue.store is None and subs.queue_sync_every == 0
    plain = make()
    assert plain.queue is None and q.current is None


def test_a_bad_geometry_is_a_subsystems_error(make):
    with pytest.raises(subsystems.SubsystemsConfigError, match="--queue-blocksize 100"):
        make("--queue", "3", "--queue-blocksize", "100")
