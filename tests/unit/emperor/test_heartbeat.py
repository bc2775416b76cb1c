"""gateway/emperor/heartbeat.py: the vassal's beats on a fake clock and the Emperor's
bookkeeping of silent vassals (no process, no socket)."""

from __future__ import annotations

from typing import Callable, List, Tuple

import pytest

from gateway.emperor.heartbeat import DEFAULT_TOLERANCE, Beats, Pulse


class FakeLoop:
    """``call_later`` on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: List[Tuple[float, Callable[[], None]]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.timers.append((self.now + delay, callback))

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = sorted((t for t in self.timers if t[0] <= end), key=lambda t: t[0])
            if not due:
                break
            at, callback = due[0]
            self.timers.remove(due[0])
            self.now = at
            callback()
        self.now = end


def test_pulse_beats_at_once_then_every_interval():
    loop = FakeLoop()
    sent: List[float] = []
    pulse = Pulse(5, lambda: sent.append(loop.now) or True, loop.call_later)
    pulse.start()
    assert sent == [0.0]
    loop.advance(4.9)
    assert sent == [0.0]
    loop.advance(0.1)
    assert sent == [0.0, 5.0]
    loop.advance(10)
    assert sent == [0.0, 5.0, 10.0, 15.0]
    assert pulse.sent == 4


def test_pulse_keeps_its_rhythm_when_a_beat_cannot_be_sent_and_stops_when_told():
    loop = FakeLoop()
    answers = [False, True, True]
    pulse = Pulse(1, lambda: answers.pop(0), loop.call_later)
    pulse.start()
    loop.advance(1)
    assert pulse.sent == 1  # the refused beat is not retried, the next one comes at its time
    pulse.stop()
    loop.advance(5)
    assert pulse.sent == 1 and answers == [True]


@pytest.mark.parametrize("bad", [0, -1])
def test_non_positive_interval_or_tolerance_is_refused(bad):
    with pytest.raises(ValueError):
        Pulse(bad, lambda: True, lambda d, c: None)
    with pytest.raises(ValueError):
        Beats(bad)


def test_a_vassal_that_never_beat_is_never_overdue():
    beats = Beats(3)
    assert beats.overdue(1e9) == []
    assert Beats().tolerance == DEFAULT_TOLERANCE == 30


def test_silence_longer_than_the_tolerance_is_overdue_once():
    beats = Beats(3)
    beats.beat("a.ini", 10.0)
    beats.beat("b.ini", 10.0)
    assert beats.overdue(13.0) == []          # exactly the tolerance: still fine (uWSGI: last + N < now)
    beats.beat("b.ini", 12.0)
    assert beats.overdue(13.5) == ["a.ini"]
    assert beats.overdue(14.0) == []          # reported once: forgotten until its next beat
    assert beats.overdue(15.5) == ["b.ini"]
    beats.beat("a.ini", 20.0)                 # a respawned vassal that beats again is watched again
    assert beats.overdue(23.5) == ["a.ini"]


def test_forgotten_vassal_is_not_checked_until_it_beats_again():
    beats = Beats(1)
    beats.beat("a.ini", 0.0)
    beats.forget("a.ini")
    beats.forget("never.ini")  # unknown: no error
    assert beats.overdue(100.0) == []
