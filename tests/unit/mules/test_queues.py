"""Mule queues in one process: framing, bounds, targets, and a mule's wait."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from gateway.mules import MuleSet
from gateway.mules.process import MuleRuntime
from gateway.mules.spec import SHARED, FarmSpec


@pytest.fixture
def mules():
    ms = MuleSet(["", ""], [FarmSpec("pair", (1, 2)), FarmSpec("two", (2,))], msg_size=1024)
    yield ms
    ms.queues.close()


def test_messages_keep_their_boundaries_and_reach_the_chosen_queue(mules):
    assert mules.send(b"one") and mules.send(b"", 2) and mules.send(b"three", "two")
    q = mules.queues.messages
    assert q[SHARED].get(65536) == b"one"
    assert q[("mule", 2)].get(65536) == b""
    assert q[("farm", 1)].get(65536) == b"three"
    assert q[SHARED].get(65536) is None  # empty: no blocking


def test_a_message_bigger_than_the_limit_is_refused(mules):
    assert mules.send(b"x" * 1024, 1)
    with pytest.raises(ValueError, match="bigger than --mule-msg-size"):
        mules.send(b"x" * 1025, 1)


def test_a_full_queue_is_false_and_logged_never_blocking(mules, caplog):
    results = []
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="gateway.general"):
        for _ in range(10000):
            results.append(mules.send(b"y" * 1000, 1))
            if not results[-1]:
                break
    assert results[-1] is False and results.count(True) >= 4
    assert time.monotonic() - start < 5
    assert "MULE MSG QUEUE IS FULL" in caplog.text


def test_a_mule_waits_for_its_queues_in_uwsgis_order(mules):
    one = MuleRuntime(mules, 1)
    two = MuleRuntime(mules, 2)
    assert one.farms == [0] and two.farms == [0, 1]
    assert one.get_msg(timeout=0) == b""  # a timeout is b"", as uWSGI
    mules.send(b"shared")
    mules.send(b"mine", 1)
    assert one.get_msg(timeout=1) == b"mine"
    assert one.get_msg(timeout=1) == b"shared"
    mules.send(b"for-two", "two")
    assert one.get_msg(timeout=0) == b""  # not in farm "two"
    assert two.get_msg(farms=False, timeout=0) == b""
    assert two.get_msg(timeout=1) == b"for-two"
    mules.send(b"farm", "pair")
    assert two.farm_get_msg() == b"farm"
    mules.send(b"a" * 100, 1)
    assert one.get_msg(buffer_size=10, timeout=1) == b"a" * 10  # truncated, as a short read()


def test_signals_to_mule_targets(mules, caplog):
    one = MuleRuntime(mules, 1)
    assert mules.route_signal("workers", 5) is None
    assert mules.route_signal("mules", 5) == 2
    with caplog.at_level(logging.WARNING, logger="gateway.general"):
        assert one.get_msg(timeout=1) is None  # a signal came first: handled, then None
        assert mules.route_signal("mule9", 5) == 0
    assert "error managing signal 5 on mule 1" in caplog.text
    assert "invalid signal target: mule9" in caplog.text
    assert mules.queues.signals[("mule", 2)].get(16) == b"\x05"


def test_a_signal_raised_in_a_mule_goes_to_the_master(mules):
    routed = []

    class Router:
        def route(self, sig):
            routed.append(sig)

    class Subs:
        router = Router()

    from gateway import subsystems

    saved, subsystems.current = subsystems.current, Subs()  # type: ignore[assignment]
    try:
        mules.queues.signals[("mule", 1)].recv_end.send(b"\x07", socket.MSG_DONTWAIT)
        mules.on_raised(1)
    finally:
        subsystems.current = saved
    assert routed == [7]


def test_the_uwsgi_functions_outside_a_mule():
    from gateway import mules as mules_pkg
    from gateway.mules import api

    saved, mules_pkg.current = mules_pkg.current, None
    try:
        with pytest.raises(ValueError, match="no mule configured"):
            api.mule_msg(b"x")
    finally:
        mules_pkg.current = saved
    assert api.mule_id() == 0 and api.in_farm() is None
    # uWSGI's "s": a farm name is a str (until 2026-12-05 these were None)
    with pytest.raises(TypeError, match="^in_farm\\(\\) argument 1 must be str, not bytes$"):
        api.in_farm(b"fast")
    with pytest.raises(TypeError, match="^farm_msg\\(\\) argument 1 must be str, not int$"):
        api.farm_msg(5, b"x")
    with pytest.raises(ValueError, match="only in a mule"):
        api.mule_get_msg()
    with pytest.raises(TypeError):
        api.mule_msg(12)
