"""The alarm instances (gateway.alarms.core): anti-flood, the rate bound, the size bound, the
plugins, failures logged once; and the command runner's bounds (gateway.alarms.runner)."""

from __future__ import annotations

import logging
import os

import pytest

from gateway.alarms import core, runner
from gateway.alarms.core import AlarmSet
from gateway.alarms.spec import parse_alarm


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRunner:
    def __init__(self) -> None:
        self.started = []

    def start(self, argv, stdin, done, env=None):
        self.started.append((argv, stdin, done))
        self.env = env


def make(*specs, **kw):
    clock = Clock()
    fake = FakeRunner()
    alarms = AlarmSet([parse_alarm(s) for s in specs], runner=fake, clock=clock, **kw)
    return alarms, clock, fake


def test_the_same_message_within_alarm_freq_is_skipped_a_new_one_runs():
    alarms, clock, fake = make("a cmd:cat", freq=3)
    assert alarms.raise_alarm("a", b"disk full\n")
    assert not alarms.raise_alarm("a", b"disk full\n")  # anti-flood
    assert alarms.raise_alarm("a", b"other\n")
    clock.now += 2
    assert alarms.raise_alarm("a", b"disk full\n")  # not the last message: runs
    clock.now += 1
    assert not alarms.raise_alarm("a", b"disk full\n")
    clock.now += 3
    assert alarms.raise_alarm("a", b"disk full\n")
    assert [s[1] for s in fake.started] == [b"disk full\n", b"other\n", b"disk full\n", b"disk full\n"]
    assert fake.started[0][0] == ["/bin/sh", "-c", "cat"]
    st = alarms.stats()[0]
    assert (st["raised"], st["ran"], st["flood_skipped"]) == (6, 4, 2)


def test_rate_bound_per_instance_and_one_line_for_it(caplog):
    alarms, clock, fake = make("a cmd:cat", "b cmd:cat", freq=0)
    with caplog.at_level(logging.WARNING, "gateway.error"):
        ran = sum(alarms.raise_alarm("a", b"msg %d" % i) for i in range(core.MAX_RUNS_PER_MINUTE + 10))
    assert ran == core.MAX_RUNS_PER_MINUTE
    assert sum("raised more than" in r.getMessage() for r in caplog.records) == 1
    assert alarms.raise_alarm("b", b"x")  # another alarm is not affected
    clock.now += 61
    assert alarms.raise_alarm("a", b"again")


def test_messages_are_cut_to_alarm_msg_size():
    alarms, clock, fake = make("a cmd:cat", msg_size=16)
    alarms.raise_alarm("a", b"x" * 100)
    assert fake.started[0][1] == b"x" * 16


def test_unknown_alarm_is_logged_once(caplog):
    alarms, clock, fake = make("a cmd:cat")
    with caplog.at_level(logging.WARNING, "gateway.error"):
        assert not alarms.raise_alarm("nope", b"x")
        assert not alarms.raise_alarm("nope", b"y")
    assert sum("no alarm named 'nope'" in r.getMessage() for r in caplog.records) == 1


def test_log_plugin_writes_an_alarm_line(caplog):
    alarms, clock, fake = make("l log:", "m log:DISK")
    with caplog.at_level(logging.INFO, "gateway.error"):
        alarms.raise_alarm("l", b"full\n")
        alarms.raise_alarm("m", b"full\n")
    assert [r.getMessage() for r in caplog.records] == ["ALARM: full", "ALARM: DISK full"]


def test_signal_and_mule_plugins():
    routed, queued = [], []
    alarms, clock, fake = make("s signal:17", "m mule:2", "any mule:0",
                               route_signal=lambda n: routed.append(n) or 1,
                               mule_send=lambda msg, target: queued.append((msg, target)) or True)
    alarms.raise_alarm("s", b"x")
    alarms.raise_alarm("m", b"hello")
    alarms.raise_alarm("any", b"hi")
    assert routed == [17] and queued == [(b"hello", 2), (b"hi", None)]


def test_failures_are_logged_once_until_the_alarm_works_again(caplog):
    alarms, clock, fake = make("s signal:3", freq=0, route_signal=lambda n: 0)
    with caplog.at_level(logging.INFO, "gateway.error"):
        for i in range(5):
            alarms.raise_alarm("s", b"m%d" % i)
        alarms.route_signal = lambda n: 1
        alarms.raise_alarm("s", b"ok")
    lines = [r.getMessage() for r in caplog.records]
    assert sum("failed" in line for line in lines) == 1
    assert any("works again (after 5 failures)" in line for line in lines)


def test_a_plugin_that_raises_costs_only_its_alarm(caplog):
    def boom(n):
        raise RuntimeError("router broken")

    alarms, clock, fake = make("s signal:3", "c cmd:true", route_signal=boom)
    with caplog.at_level(logging.WARNING, "gateway.error"):
        assert alarms.raise_alarm("s", b"x")
    assert "RuntimeError: router broken" in caplog.text
    assert alarms.raise_alarm("c", b"x") and fake.started
    assert not alarms.running


def test_curl_alarm_runs_the_sender_with_the_spec_on_stdin_not_in_argv():
    alarms, clock, fake = make("c curl:http://127.0.0.1:9/x;auth_user=u;auth_pass=secret")
    alarms.raise_alarm("c", b"down")
    argv, stdin, _ = fake.started[0]
    assert argv[1:] == ["-m", "gateway.alarms.curl"] and "secret" not in " ".join(argv)
    head, _, body = stdin.partition(b"\n")
    assert b"auth_pass=secret" in head and body == b"down"
    import gateway

    root = os.path.dirname(os.path.dirname(os.path.abspath(gateway.__file__)))
    assert fake.env["PYTHONPATH"].split(os.pathsep)[0] == root  # importable after --chdir


def test_curl_alarm_runs_gateways_interpreter_not_the_apps_sys_executable(monkeypatch):
    from gateway.self_command import INTERPRETER

    # --py-sys-executable changes the app's sys.executable (maybe to a Python without gateway)
    monkeypatch.setattr("sys.executable", "/nonexistent/app-python")
    alarms, clock, fake = make("c curl:http://127.0.0.1:9/x")
    alarms.raise_alarm("c", b"down")
    assert fake.started[0][0][0] == INTERPRETER != "/nonexistent/app-python"


# -- the runner ------------------------------------------------------------------------


class Reaper:
    """Stands in for the master: reaps the watched pids by waitpid."""

    def __init__(self) -> None:
        self.watched = {}

    def watch(self, pid, callback):
        self.watched[pid] = callback

    def reap_all(self):
        while self.watched:
            pid, callback = next(iter(self.watched.items()))
            del self.watched[pid]
            _, status = os.waitpid(pid, 0)
            callback(status)


def test_runner_gives_the_message_on_stdin_and_reports_the_exit_status(tmp_path):
    reaper = Reaper()
    r = runner.CommandRunner(reaper.watch)
    out = tmp_path / "out"
    results = []
    r.start(["/bin/sh", "-c", "cat > %s" % out], b"the message\n", lambda ok, why: results.append((ok, why)))
    r.start(["/bin/sh", "-c", "exit 3"], b"", lambda ok, why: results.append((ok, why)))
    r.start(["/nonexistent/cmd"], b"", lambda ok, why: results.append((ok, why)))
    reaper.reap_all()
    assert out.read_bytes() == b"the message\n"
    assert (True, "exit status 0") in results and (False, "exit status 3") in results
    assert any(not ok and "cannot start /nonexistent/cmd" in why for ok, why in results)


def test_runner_bounds_running_and_pending_commands(monkeypatch):
    monkeypatch.setattr(runner, "MAX_RUNNING", 2)
    monkeypatch.setattr(runner, "MAX_PENDING", 1)
    reaper = Reaper()
    r = runner.CommandRunner(reaper.watch)
    results = []
    for i in range(5):
        r.start(["/bin/sh", "-c", "exit 0"], b"", lambda ok, why, i=i: results.append((i, ok, why)))
    assert len(r.running) == 2 and len(r.pending) == 1
    assert [(i, ok) for i, ok, _ in results] == [(3, False), (4, False)]  # dropped, each a failure
    assert "already running" in results[0][2]
    reaper.reap_all()  # each end starts a pending one
    assert sorted(i for i, ok, _ in results if ok) == [0, 1, 2]


def test_runner_kills_a_command_past_its_timeout():
    reaper = Reaper()
    clock = Clock()
    r = runner.CommandRunner(reaper.watch, clock=clock, timeout=5)
    results = []
    r.start(["/bin/sh", "-c", "exec sleep 30"], b"", lambda ok, why: results.append((ok, why)))
    r.tick()
    assert r.running
    clock.now += 6
    r.tick()
    reaper.reap_all()
    assert results == [(False, "killed by signal 9")]


@pytest.mark.parametrize("status,expected", [(0, (True, "exit status 0")), (2 << 8, (False, "exit status 2"))])
def test_describe(status, expected):
    assert runner.describe(status) == expected


def test_a_failing_curl_alarm_does_not_log_its_credentials(caplog):
    alarms, clock, fake = make("m curl:smtp://bob:urlsecret@mail.example:25;mail_to=ops@example;"
                               "auth_user=bob;auth_pass=s3cret;subject=x", freq=0)
    with caplog.at_level(logging.INFO, "gateway.error"):
        alarms.raise_alarm("m", b"disk full")
        fake.started[0][2](False, "exit status 1")
    assert "failed" in caplog.text and "auth_user=bob" in caplog.text
    assert "s3cr" not in caplog.text and "urlsecret" not in caplog.text
    assert "auth_pass=***" in caplog.text and "bob:***@mail.example" in caplog.text
