"""``--cheaper``: adaptive process spawning through the real CLI (the algorithms themselves are
unit-tested in tests/unit/test_cheaper.py)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from server import run_cli, run_server
from support.fifo import say
from support.httpclient import Conn, request
from support.stats import fetch_stats, stats_port
from support.uwsgitop import uwsgitop_screen
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/park.py", "--tornado", "2", "--greenlet", "--master", "--processes", "3",
       "--stats", "127.0.0.1:0"]


def statuses(srv) -> list:
    return [w["status"] for w in fetch_stats(stats_port(srv))["workers"]]


def running(srv) -> int:
    return sum(1 for s in statuses(srv) if s not in ("cheap", "dead"))


def test_spare_spawns_under_load_and_cheaps_the_oldest_when_idle():
    args = APP + ["--cheaper", "1", "--cheaper-overload", "1", "--cheaper-step", "1"]
    with run_server(args) as srv:
        assert statuses(srv) == ["idle", "cheap", "cheap"]  # only --cheaper workers at boot
        assert request(srv.port, "/?s=0").status == 200
        # one request parked for a while: every running worker is busy -> one more worker
        parked = threading.Thread(target=request, args=(srv.port, "/?s=4"), kwargs={"timeout": 10})
        parked.start()
        srv.wait_for_line(r"spawned uWSGI worker 2 \(pid: \d+", timeout=10)
        parked.join()
        # idle again: the oldest worker (1) is stopped gracefully and not respawned
        srv.wait_for_line(r"uWSGI worker 1 cheaped\.", timeout=15)
        assert wait_until(lambda: statuses(srv)[0] == "cheap", what="worker 1 shown as cheap")
        assert running(srv) == 1
        assert request(srv.port, "/?s=0").status == 200  # the remaining worker serves
        assert "DAMN" not in srv.output()


def test_manual_algo_follows_the_master_fifo_and_a_reload_keeps_cheaped_ids(tmp_path):
    fifo = tmp_path / "fifo"
    args = APP + ["--cheaper", "1", "--cheaper-algo", "manual", "--cheaper-initial", "2",
                  "--master-fifo", str(fifo)]
    with run_server(args) as srv:
        assert statuses(srv) == ["idle", "idle", "cheap"]

        say(fifo, "+")
        srv.wait_for_line(r"spawned uWSGI worker 3 \(pid: \d+", timeout=10)
        assert wait_until(lambda: running(srv) == 3, what="3 workers")
        say(fifo, "-")
        say(fifo, "-")
        say(fifo, "-")  # a third one would go below --cheaper 1: ignored
        assert wait_until(lambda: running(srv) == 1 and srv.output().count("cheaped.") == 2,
                          timeout=15, what="back to one worker")
        before = statuses(srv)
        os.kill(srv.proc.pid, signal.SIGHUP)  # a reload replaces the running worker only
        srv.wait_for_line(r"gracefully \(RE\)spawned uWSGI master process", timeout=10)
        assert wait_until(lambda: statuses(srv) == before and request(srv.port, "/?s=0").status == 200,
                          timeout=15, what="the same worker ids cheaped after the reload")


def test_busyness_spawns_under_load_and_cheaps_when_idle():
    args = APP + ["--cheaper", "1", "--cheaper-algo", "busyness", "--cheaper-overload", "1",
                  "--cheaper-busyness-multiplier", "2", "--cheaper-busyness-verbose"]
    with run_server(args) as srv:
        srv.wait_for_line(r"\[busyness\] settings: min=25%, max=50%, overload=1, multiplier=2, respawn penalty=2")
        assert statuses(srv) == ["idle", "cheap", "cheap"]
        # one long request: worker 1 is busy all the window without finishing it -> 100%
        parked = threading.Thread(target=request, args=(srv.port, "/?s=4"), kwargs={"timeout": 10})
        parked.start()
        srv.wait_for_line(r"\[busyness\] worker 1 was busy \d+ time\(s\) in last cycle but no request was "
                          r"completed during this time, marking as 100% busy", timeout=10)
        srv.wait_for_line(r"\[busyness\] 1s average busyness is at 100%, will spawn 1 new worker\(s\)", timeout=10)
        srv.wait_for_line(r"spawned uWSGI worker 2 \(pid: \d+", timeout=10)
        assert wait_until(lambda: statuses(srv)[:2] == ["busy", "idle"], what="worker 2 running beside 1")
        parked.join()
        # idle again: once the cheaper timer (1 s x 2) has run out, the oldest idle worker goes
        srv.wait_for_line(r"\[busyness\] 1s average busyness is at 0%, cheap one of 2 running workers", timeout=20)
        srv.wait_for_line(r"uWSGI worker 1 cheaped\.", timeout=15)
        assert wait_until(lambda: statuses(srv) == ["cheap", "idle", "cheap"], what="worker 1 shown as cheap")
        assert request(srv.port, "/?s=0").status == 200  # the remaining worker serves
        # uwsgitop shows the cheaped ids, as with the other algorithms
        screen = uwsgitop_screen(stats_port(srv), lambda t: "WID" in t and t.count("cheap") >= 2)
        assert screen.count("cheap") >= 2, screen[-2000:]
        assert "need to wait" in srv.output() and "DAMN" not in srv.output()


def test_busyness_spawns_an_emergency_worker_for_the_listen_queue():
    # a worker blocked in time.sleep accepts nothing: connections wait in the listen queue; the
    # 30 s windows leave the queue check (every cycle) alone to decide
    args = ["--wsgi-file", "tests/apps/blocking.py", "--master", "--processes", "2", "--stats", "127.0.0.1:0",
            "--cheaper", "1", "--cheaper-algo", "busyness", "--cheaper-overload", "30",
            "--cheaper-busyness-backlog-alert", "2"]
    with run_server(args) as srv:
        srv.wait_for_line(r"\[busyness\] backlog alert is set to 2 request\(s\), step is 1")
        blocked = threading.Thread(target=request, args=(srv.port, "/sleep?3"), kwargs={"timeout": 15})
        blocked.start()
        assert wait_until(lambda: statuses(srv)[0] == "busy", what="worker 1 blocked in a request")
        waiting = [Conn(srv.port, timeout=15) for _ in range(4)]
        try:
            for conn in waiting:
                conn.send(b"GET /?queued HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            srv.wait_for_line(r"\[busyness\] [3-4] requests in listen queue, spawning 1 emergency worker\(s\) "
                              r"\(1\)!", timeout=10)
            srv.wait_for_line(r"spawned uWSGI worker 2 \(pid: \d+", timeout=10)
            # worker 2 serves the queued ones while worker 1 still sleeps
            assert [conn.read_response().status for conn in waiting] == [200] * 4
            assert statuses(srv)[0] == "busy"
        finally:
            for conn in waiting:
                conn.close()
        blocked.join()


@pytest.mark.parametrize("extra, message", [
    (["--processes", "2", "--cheaper", "2"], "invalid cheaper value: --cheaper 2 must be lower than --processes 2"),
    (["--processes", "3", "--cheaper", "1", "--cheaper-algo", "lqrps"],
     "--cheaper-algo lqrps: not supported (choose from backlog, busyness, manual, spare, spare2)"),
    (["--processes", "3", "--cheaper", "1", "--cheaper-algo", "busyness", "--cheaper-busyness-min", "60"],
     "--cheaper-busyness-min 60 must be lower than --cheaper-busyness-max 50"),
    (["--processes", "3", "--cheaper", "1", "--cheaper-rss-limit-hard", "100"],
     "enabling cheaper-rss-limit-hard requires setting also cheaper-rss-limit-soft"),
])
def test_bad_cheaper_values_are_one_clear_error(extra, message):
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py"] + extra)
    assert result.returncode == 1
    assert message in result.stderr


def test_the_hard_rss_limit_cheaps_workers_down_to_one():
    # 1 byte soft, 2 bytes hard: any worker is over both
    args = APP + ["--cheaper", "2", "--cheaper-initial", "3", "--cheaper-rss-limit-soft", "1",
                  "--cheaper-rss-limit-hard", "2"]
    with run_server(args) as srv:
        srv.wait_for_line(r"cheaper hard rss memory limit exceeded, cheap one of 3 workers", timeout=15)
        srv.wait_for_line(r"cheaper hard rss memory limit exceeded, cheap one of 2 workers", timeout=15)
        wait_until(lambda: statuses(srv).count("cheap") == 2, timeout=15, what="two workers cheaped")
        assert request(srv.port, "/?s=0").status == 200  # the last one serves on
