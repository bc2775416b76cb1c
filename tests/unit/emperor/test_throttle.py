"""The blacklist of unloyal vassals: a doubling delay, capped, cleared by loyalty."""

from __future__ import annotations

from gateway.emperor.throttle import Blacklist


def test_first_unloyal_death_waits_the_throttle_then_doubles_up_to_the_max():
    bl = Blacklist(1000, 3500)
    assert bl.wait("a", 0.0) == 0.0
    assert bl.died_unloyal("a", "a.ini", 100.0) == []
    assert bl.wait("a", 100.0) == 1.0
    assert abs(bl.wait("a", 100.6) - 0.4) < 1e-9
    assert bl.wait("a", 101.0) == 0.0
    assert bl.died_unloyal("a", "a.ini", 102.0) == ["[emperor] unloyal bad behaving vassal found: a.ini throttling it..."]
    assert bl.wait("a", 102.0) == 2.0
    bl.died_unloyal("a", "a.ini", 105.0)
    assert bl.wait("a", 105.0) == 3.5  # 4 s capped to the max
    assert bl.died_unloyal("a", "a.ini", 110.0) == ["[emperor] maximum throttle level for vassal a.ini reached !!!"]
    assert bl.wait("a", 110.0) == 3.5
    assert bl.next_release(110.0) == 113.5


def test_loyalty_and_clear_forget_the_vassal():
    bl = Blacklist(1000, 180000)
    bl.died_unloyal("a", "a.ini", 0.0)
    bl.died_unloyal("b", "b.ini", 0.0)
    bl.loyal("a")
    assert bl.wait("a", 0.0) == 0.0 and bl.wait("b", 0.0) == 1.0
    bl.clear()
    assert bl.wait("b", 0.0) == 0.0 and bl.next_release(0.0) is None
