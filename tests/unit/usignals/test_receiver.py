"""The worker side of signals (gateway.usignals.receiver): registrations and ``signal_wait``
hand-overs, without a loop."""

from __future__ import annotations

import threading

import pytest

from gateway.usignals.receiver import SignalReceiver, ThreadWaiter
from gateway.usignals.table import SignalTable


@pytest.fixture
def receiver():
    table = SignalTable(3)
    yield SignalReceiver(table)
    table.close()


def test_the_master_cannot_register_a_signal_twice(receiver, caplog):
    """uWSGI 2.0.31: ``ValueError("unable to register signal")`` and its log line, the first
    handler kept (two modules of the app using one number is a clash, not an update)."""
    first, second = [].append, [].append
    receiver.register(5, "workers", first)
    with pytest.raises(ValueError, match="unable to register signal"):
        receiver.register(5, "worker", second)
    assert receiver.handlers[5] == ("workers", first)
    assert "you cannot re-register a signal as the master !!!" in caplog.text


def test_a_worker_may_register_a_signal_again(receiver):
    receiver.wid = 1
    receiver.register(5, "workers", print)
    receiver.register(5, "worker", repr)
    assert receiver.handlers[5] == ("worker", repr)


def test_a_waiting_thread_takes_the_signal_and_runs_its_handler(receiver):
    """``signal_wait`` in a request thread: the IOLoop hands the signal over (no core runs
    the handler); the waiting thread then runs it itself."""
    ran = []
    receiver.wid = 1
    receiver.register(7, "workers", ran.append)
    waiter = ThreadWaiter()
    receiver.waiters.append((7, waiter))
    got = []
    thread = threading.Thread(target=lambda: got.append(waiter.wait()))
    thread.start()
    assert receiver.deliver(6) is False  # (not the awaited signal, and no handler)
    assert receiver.deliver(7) is True
    thread.join(5)
    assert got == [7] and receiver.waiters == [] and ran == []
    receiver.handle(7)
    assert ran == [7] and receiver.last_received == 7
