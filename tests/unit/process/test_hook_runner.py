"""The master's hook runner: one child at a time, batches in order, the next after a death."""

from __future__ import annotations

from gateway.process import hook_runner
from gateway.process.hook_runner import HookRunner


class FakeMaster:
    def __init__(self):
        self.children, self.started, self.timers = [], [], []
        self.next_pid = 100
        self.stopping = False

    def add_child(self, spec):
        self.children.append(spec)

    def start_child(self, spec):
        if self.stopping:
            return 0
        self.next_pid += 1
        self.started.append(list(hook_runner_batch(spec)))
        return self.next_pid

    def call_later(self, delay, callback):
        self.timers.append(callback)

    def run_timers(self):
        timers, self.timers = self.timers, []
        for callback in timers:
            callback()


def hook_runner_batch(spec):
    return spec.target.__self__._batch  # what the forked child would run


def test_batches_run_one_child_at_a_time_in_order():
    master = FakeMaster()
    runner = HookRunner(master)
    [spec] = master.children
    assert not spec.autostart and not spec.respawn and spec.own_group
    a, b, c = (lambda: None), (lambda: None), (lambda: None)
    runner.run(a)
    assert master.started == [[a]] and runner.pid == 101
    runner.run(b)
    runner.run(c)  # the child of a still runs: b and c wait, together
    assert master.started == [[a]]
    assert spec.on_death(101, 0) is True  # handled: no respawn, no "DAMN" line
    assert runner.pid == 0 and master.started == [[a]]  # the master clears the pid first
    master.run_timers()
    assert master.started == [[a], [b, c]] and runner.pid == 102
    spec.on_death(102, 256)
    master.run_timers()
    assert master.started == [[a], [b, c]]  # nothing pending


def test_while_stopping_nothing_starts_and_the_queue_is_bounded(monkeypatch):
    master = FakeMaster()
    master.stopping = True
    runner = HookRunner(master)
    runner.run(lambda: None)
    assert runner.pid == 0 and master.started == []
    master.stopping = False
    monkeypatch.setattr(hook_runner, "MAX_PENDING", 2)
    runner.run(lambda: None)  # the first one runs, the next two wait, the fourth is dropped
    for _ in range(3):
        runner.run(lambda: None)
    runner.child.on_death(runner.pid, 0)
    master.run_timers()
    assert [len(batch) for batch in master.started] == [1, 2]


def test_a_failed_fork_puts_the_batch_back_first_logs_one_line_and_retries(caplog):
    master = FakeMaster()
    runner = HookRunner(master)
    a, b, c = (lambda: None), (lambda: None), (lambda: None)
    failures = [OSError(11, "Resource temporarily unavailable")]
    real_start = master.start_child

    def start_child(spec):
        if failures:
            raise failures.pop()
        return real_start(spec)

    master.start_child = start_child
    with caplog.at_level("ERROR", logger="gateway.error"):
        runner.run(a)  # the fork fails: no exception for the master's touch/reload path
    assert runner.pid == 0 and master.started == []
    assert [r.getMessage() for r in caplog.records if "hooks' child" in r.getMessage()] == [
        "unable to fork the hooks' child ([Errno 11] Resource temporarily unavailable): "
        "1 batches of hooks wait, retrying in 1s"]
    failures.append(OSError(12, "Cannot allocate memory"))
    runner.run(b)  # fails again: still queued in order, a single retry timer
    assert len(master.timers) == 1
    master.run_timers()  # the retry forks, with everything in the order it came
    assert master.started == [[a, b]] and runner.pid == 101
    runner.run(c)
    assert master.started == [[a, b]] and master.timers == []  # c waits for that child, as ever
