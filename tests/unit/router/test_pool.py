"""The router's pool of idle worker connections: bounded, most recent first, closed ones skipped, swept."""

from __future__ import annotations

from gateway.router.pool import UpstreamPool


class FakeLoop:
    now = 100.0

    def time(self) -> float:
        return self.now


class FakeUpstream:
    def __init__(self) -> None:
        self.closed = False
        self.owner = object()
        self.idle_since = 0.0
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        self.closed = True


def test_put_get_bound_and_order():
    loop = FakeLoop()
    pool = UpstreamPool(loop, max_idle=2, idle_timeout=1.0)
    a, b, c = FakeUpstream(), FakeUpstream(), FakeUpstream()
    assert pool.put(a, "w") and pool.put(b, "w")
    assert a.owner is None and a.reading  # idle: no owner, still watched for the worker's close
    assert not pool.put(c, "w") and c.closed  # over the bound: closed, not kept
    assert pool.get("other") is None
    assert pool.get("w") is b and pool.get("w") is a and pool.get("w") is None
    assert pool.reused == 2 and pool.count == 0


def test_closed_connections_are_skipped_and_idle_ones_expire():
    loop = FakeLoop()
    pool = UpstreamPool(loop, max_idle=8, idle_timeout=1.0)
    old, dead, fresh = FakeUpstream(), FakeUpstream(), FakeUpstream()
    pool.put(old, "w")
    loop.now += 0.9
    pool.put(dead, "w")
    pool.put(fresh, "w")
    dead.closed = True  # the worker closed it while idle
    loop.now += 0.5
    pool.sweep(loop.now)
    assert old.closed and not fresh.closed and pool.count == 1
    assert pool.get("w") is fresh and pool.get("w") is None
    pool.put(fresh, "w")
    pool.close_all()
    assert fresh.closed and pool.count == 0
