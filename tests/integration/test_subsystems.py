"""Caches, user locks, metrics and uWSGI signals/timers through the real CLI
(tests/apps/subsystems_app.py).  Single worker here; the master/worker versions
live in test_subsystems_master.py."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from server import run_server
from support.httpclient import request
from support.waits import wait_for

pytestmark = pytest.mark.timeout(90)

ARGS = ["--wsgi-file", "tests/apps/subsystems_app.py", "--tornado", "10", "--greenlet",
        "--cache2", "name=c,items=100,blocksize=64", "--metric", "name=m1,type=gauge", "--locks", "2"]


def get(port: int, path: str):
    r = request(port, path)
    assert r.status == 200, (r, r.body)
    return json.loads(r.body)["out"]


@pytest.fixture(scope="module")
def srv():
    with run_server(ARGS) as s:
        yield s


def test_cache_api_semantics(srv):
    assert get(srv.port, "/set?k=a&v=1") is True
    assert get(srv.port, "/set?k=a&v=2") is None  # set keeps the old value, returns None
    assert get(srv.port, "/get?k=a") == "1"
    assert get(srv.port, "/update?k=a&v=3") is True
    assert get(srv.port, "/get?k=a") == "3"
    assert get(srv.port, "/get?k=nope") is None


def test_two_hundred_concurrent_lock_protected_increments_count_exactly(srv):
    before = get(srv.port, "/num?k=counter")
    with ThreadPoolExecutor(40) as pool:
        list(pool.map(lambda _: get(srv.port, "/incr?lock=1"), range(200)))
    assert get(srv.port, "/num?k=counter") == before + 200
    assert get(srv.port, "/double?x=21") == 42  # @lock


def test_metrics(srv):
    assert get(srv.port, "/metric?name=m1&op=set&v=5") is True
    assert get(srv.port, "/metric?name=m1&op=inc&v=2") is True
    assert get(srv.port, "/metric?name=m1&op=get") == 7
    assert get(srv.port, "/metric?name=nope&op=inc") is None


def test_timer_runs_about_once_a_second(srv):
    t0 = time.monotonic()
    first = get(srv.port, "/ticks")
    assert wait_for(lambda: get(srv.port, "/ticks") >= first + 3, timeout=15)
    elapsed = time.monotonic() - t0
    assert 1.5 < elapsed < 8, elapsed  # 3 ticks of a 1 s timer (generous: shared CI machine)


def test_signals_run_in_a_core_and_a_failing_handler_is_logged(srv):
    assert get(srv.port, "/signal?n=17") is None
    assert wait_for(lambda: 17 in get(srv.port, "/signals"))
    srv.expect_traceback("handler failure on purpose")
    get(srv.port, "/signal?n=18")  # its handler raises
    srv.wait_for_line("error in the handler of uWSGI signal 18", timeout=10)
    assert get(srv.port, "/get?k=a") == "3"  # and the worker serves on


def test_sharedarea_is_shared_by_the_workers_and_absent_without_the_option():
    app = ["--wsgi-file", "tests/apps/sharedarea_app.py", "--tornado", "4", "--greenlet"]
    with run_server(app) as plain:
        assert request(plain.port, "/has").body == b"False"
    with run_server(app + ["--master", "--processes", "2", "--sharedarea", "1"]) as srv:
        assert request(srv.port, "/has").body == b"True"
        pids, sent = set(), 0
        with ThreadPoolExecutor(8) as pool:
            while len(pids) < 2 and sent < 2000:  # until both workers have added to the area
                pids.update(pool.map(lambda _: request(srv.port, "/inc").body, range(50)))
                sent += 50
        assert len(pids) == 2
        value, _ = request(srv.port, "/get").body.split()
        assert int(value) == sent  # every increment of both workers, none lost
