"""Caches, locks, metrics and signals across workers: the real CLI under
``--master --processes 2 --tornado 10 --greenlet`` (tests/apps/subsystems_app.py),
one server for the module; the stats JSON and real ``uwsgitop``."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from server import run_server
from support.httpclient import request
from support.stats import fetch_stats, stats_port
from support.uwsgitop import uwsgitop_screen
from support.waits import wait_for

pytestmark = pytest.mark.timeout(120)

ARGS = ["--wsgi-file", "tests/apps/subsystems_app.py", "--master", "--processes", "2", "--tornado", "10",
        "--greenlet", "--cache2", "name=c,items=100,blocksize=64", "--metric", "name=m1,type=gauge",
        "--metric", "name=hits", "--locks", "2", "--stats", "127.0.0.1:0"]


def call(port: int, path: str):
    r = request(port, path)
    assert r.status == 200, (r, r.body)
    return json.loads(r.body)


def get(port: int, path: str):
    return call(port, path)["out"]


def from_worker(port: int, wid: int, path: str, timeout: float = 15.0):
    """``path`` answered by worker ``wid`` (the kernel picks who accepts, and a worker just
    respawned by a reload may still be starting: retry until ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = call(port, path)
        if doc["wid"] == wid:
            return doc["out"]
    raise AssertionError("worker %d never answered %s in %ss" % (wid, path, timeout))


def stats(srv) -> dict:
    return fetch_stats(stats_port(srv))


@pytest.fixture(scope="module")
def srv():
    with run_server(ARGS) as s:
        yield s


def test_a_value_set_in_one_worker_is_read_in_the_other(srv):
    assert from_worker(srv.port, 1, "/update?k=shared&v=from-1") is True
    assert from_worker(srv.port, 2, "/get?k=shared") == "from-1"
    assert from_worker(srv.port, 2, "/set?k=shared&v=nope") is None  # set keeps the old value
    assert from_worker(srv.port, 2, "/update?k=shared&v=from-2") is True
    assert from_worker(srv.port, 1, "/get?k=shared") == "from-2"


def test_two_hundred_lock_protected_increments_across_both_workers(srv):
    before = get(srv.port, "/num?k=counter")
    with ThreadPoolExecutor(40) as pool:
        wids = list(pool.map(lambda _: call(srv.port, "/incr?lock=2")["wid"], range(200)))
    assert set(wids) == {1, 2}, "both workers must take part"
    assert get(srv.port, "/num?k=counter") == before + 200


def test_timer_runs_about_once_a_second_in_its_target_only(srv):
    first = get(srv.port, "/num?k=ticks-1")
    t0 = time.monotonic()
    assert wait_for(lambda: get(srv.port, "/num?k=ticks-1") >= first + 3, timeout=15)
    assert 1.5 < time.monotonic() - t0 < 8
    assert get(srv.port, "/num?k=ticks-2") == 0  # @timer(1, target="worker1")


def test_a_signal_for_all_workers_runs_in_both(srv):
    get(srv.port, "/signal?n=17")
    assert wait_for(lambda: get(srv.port, "/num?k=sig17-1") >= 1 and get(srv.port, "/num?k=sig17-2") >= 1, timeout=15)
    srv.expect_traceback("handler failure on purpose")
    get(srv.port, "/signal?n=18")  # its handler raises: logged, the worker serves on
    srv.wait_for_line("error in the handler of uWSGI signal 18", timeout=10)
    assert get(srv.port, "/get?k=shared")


def test_metrics_caches_locks_and_signals_in_the_stats_json(srv):
    assert get(srv.port, "/metric?name=m1&op=set&v=40") is True
    assert get(srv.port, "/metric?name=m1&op=inc&v=2") is True  # whichever worker: one shared value
    assert from_worker(srv.port, 1, "/metric?name=m1&op=get") == 42
    assert from_worker(srv.port, 2, "/metric?name=m1&op=get") == 42
    doc = stats(srv)
    # the --metric ones follow uWSGI's built-in ones (tests/integration/test_builtin_metrics.py)
    user = list(doc["metrics"].items())[-2:]
    assert user == [("m1", {"type": 1, "oid": "", "value": 42}), ("hits", {"type": 0, "oid": "", "value": 0})]
    assert list(doc["metrics"])[0] == "core.routed_signals" and "worker.2.core.9.requests" in doc["metrics"]
    (cache,) = doc["caches"]
    assert cache["name"] == "c" and cache["max_items"] == 100 and cache["blocksize"] == 64
    assert cache["items"] >= 2
    names = [next(iter(d)) for d in doc["locks"]]
    assert names[:4] == ["user 0", "user 1", "user 2", "signal"] and "cache_c" in names
    keys = list(doc)
    assert keys.index("locks") < keys.index("caches") < keys.index("metrics") < keys.index("workers")
    by_wid = {w["id"]: w for w in doc["workers"]}
    assert by_wid[1]["signals"] >= 3  # the timer's ticks


def test_uwsgitop_shows_the_workers_signals(srv):
    port = stats_port(srv)
    workers = stats(srv)["workers"]
    sigs = {w["id"]: w["signals"] for w in workers}
    pids = [str(w["pid"]) for w in workers]
    # done once the header and every worker's row are drawn (curses moves the cursor: no newlines to count)
    text = uwsgitop_screen(port, lambda t: "SIG" in t and "WID" in t and all(p in t for p in pids))
    assert "SIG" in text and "Traceback" not in text, text[-2000:]
    assert sigs[1] >= 3


def test_zz_caches_survive_a_graceful_reload_and_timers_are_not_doubled(srv):
    # last in the module: it replaces the workers
    assert get(srv.port, "/update?k=persist&v=kept") is True
    old_pids = {from_worker(srv.port, 1, "/pid"), from_worker(srv.port, 2, "/pid")}
    os.kill(srv.pid, signal.SIGHUP)
    assert wait_for(lambda: {from_worker(srv.port, 1, "/pid"), from_worker(srv.port, 2, "/pid")}.isdisjoint(old_pids), timeout=15)
    assert get(srv.port, "/get?k=persist") == "kept"
    first = get(srv.port, "/num?k=ticks-1")
    t0 = time.monotonic()
    assert wait_for(lambda: get(srv.port, "/num?k=ticks-1") >= first + 3, timeout=15)
    # the re-imported app's @timer(1) replaced the old one instead of adding a second
    assert time.monotonic() - t0 > 1.8
