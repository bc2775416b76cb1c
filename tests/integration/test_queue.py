"""``--queue`` through the real CLI (tests/apps/queue_app.py): one ring shared by every worker
and mule, uWSGI's orders and results, the ``--queue-store`` file across a restart, and the
startup errors."""

from __future__ import annotations

import json
import mmap
import struct
from concurrent.futures import ThreadPoolExecutor

import pytest

from server import run_cli, run_server
from support.httpclient import request
from support.stats import fetch_stats, stats_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/queue_app.py", "--tornado", "4", "--greenlet"]
MASTER = ["--master", "--processes", "2"]


def call(port: int, path: str):
    r = request(port, path)
    assert r.status == 200, (r, r.body)
    doc = json.loads(r.body)
    return doc["out"], doc["pid"]


def out(port: int, path: str):
    return call(port, path)[0]


def test_functions_exist_only_with_the_option():
    with run_server(APP) as plain:
        assert out(plain.port, "/has") == [False, None, None]
    with run_server(APP + ["--queue", "10"]) as srv:
        assert out(srv.port, "/has") == [True, 10, "10"]
        srv.wait_for_line(r"\*\*\* Queue subsystem initialized: 0MB preallocated \*\*\*")


def test_a_value_pushed_in_one_worker_is_pulled_in_the_other():
    with run_server(APP + MASTER + ["--queue", "10"]) as srv:
        assert out(srv.port, "/push?hello") is True
        ok, pid = call(srv.port, "/push?crossing")  # pushed by worker `pid`
        assert ok is True
        assert out(srv.port, "/pull") == "hello"  # FIFO: the first push first

        def pull_elsewhere():
            # several pulls may reach the other worker, in any order: one took the value, the
            # others (which may have been sent first) found the queue empty
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda _: call(srv.port, "/pull_unless?%d" % pid), range(4)))
            pulled = [(value, by) for value, by in results if value not in ("skip", None)]
            return pulled[0] if pulled else None

        value, by = wait_until(pull_elsewhere, timeout=20, what="a pull served by the other worker")
        assert value == "crossing" and by != pid
        assert out(srv.port, "/pull") is None  # taken once, by one worker


def test_uwsgi_orders_and_results():
    with run_server(APP + MASTER + ["--queue", "4", "--stats", "127.0.0.1:0"]) as srv:
        p = srv.port
        names = [next(iter(d)) for d in fetch_stats(stats_port(srv))["locks"]]
        assert names[names.index("snmp") + 1] == "queue"  # uWSGI's registration order
        for v in ("a", "b", "c"):
            assert out(p, "/push?" + v) is True
        assert out(p, "/slot") == 3 and out(p, "/pull_slot") == 0
        assert out(p, "/last") == "c"
        assert out(p, "/last?3") == ["c", "b", "a"]
        assert out(p, "/last?9") == ["c", "b", "a", None]  # at most --queue entries
        assert out(p, "/get?1") == "b" and out(p, "/get?3") is None and out(p, "/get?4") is None
        assert out(p, "/pop") == "c"  # LIFO from pos - 1
        assert out(p, "/slot") == 2
        assert out(p, "/pull") == "a"  # FIFO from pull_pos
        assert out(p, "/pull_slot") == 1
        assert out(p, "/set?3&d") is True and out(p, "/get?3") == "d"
        assert out(p, "/set?4&d") is None  # out of range
        assert out(p, "/slot") == 2  # set never moves pos
        # a value must fit the slot minus its 16-byte header (8192 - 16 bytes)
        assert out(p, "/push?big") is None
        assert out(p, "/set?0&big") is None
        assert out(p, "/slot") == 2
        assert out(p, "/push?fits") is True
        assert out(p, "/get?2") == "8176 bytes"
        # pushing wraps: slot 3 ("d") is overwritten, then pos is back at 0
        assert out(p, "/push?e") is True and out(p, "/slot") == 0
        assert out(p, "/get?3") == "e"
        assert [out(p, "/pull") for _ in range(4)] == ["b", "8176 bytes", "e", None]


def test_store_file_keeps_the_items_across_a_restart(tmp_path):
    store = tmp_path / "queue.store"
    blocksize = mmap.PAGESIZE // 4
    args = APP + MASTER + ["--queue", "4", "--queue-blocksize", str(blocksize), "--queue-store", str(store),
                           "--queue-store-sync", "1"]
    with run_server(args) as first:
        first.wait_for_line("creating a new queue store file: %s" % store)
        for v in ("one", "two", "three"):
            assert out(first.port, "/push?" + v) is True
        assert out(first.port, "/pull") == "one"
        # the file itself holds uWSGI's layout: the 16-byte header, then the slots
        data = store.read_bytes()
        assert len(data) == 16 + 4 * blocksize
        assert struct.unpack_from("=QQ", data) == (3, 1)
        assert struct.unpack_from("=Q", data, 16 + blocksize)[0] == 3 and b"two" in data
    with run_server(args) as second:
        second.wait_for_line("recovered queue from backing store file: %s" % store)
        assert out(second.port, "/slot") == 3 and out(second.port, "/pull_slot") == 1
        assert out(second.port, "/pull") == "two"
        assert out(second.port, "/last") == "three"


def test_a_store_of_another_size_is_refused(tmp_path):
    store = tmp_path / "queue.store"
    store.write_bytes(b"\0" * 100)
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + ["--queue", "4", "--queue-store", str(store)])
    assert result.returncode != 0
    assert "invalid queue store file. Please remove it or fix queue blocksize/items to match its size" \
        in result.stderr
    assert store.read_bytes() == b"\0" * 100


@pytest.mark.parametrize("args, message", [
    (["--queue", "3", "--queue-blocksize", "1000"],
     "invalid queue size/blocksize 1000: must be a multiple of memory page size (%d bytes) "
     "(--queue 3 x --queue-blocksize 1000 = 3000 bytes)" % mmap.PAGESIZE),
    (["--queue", "%d" % mmap.PAGESIZE, "--queue-blocksize", "16"],
     "--queue-blocksize 16: a block must be larger than its 16-byte item header"),
    (["--queue", "1000000", "--queue-blocksize", "1000000"], "--queue 1000000 x --queue-blocksize 1000000"),
    (["--queue", "-1"], "--queue"),
])
def test_bad_geometry_is_a_clear_startup_error(args, message):
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + args)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_mules_share_the_queue():
    args = APP + ["--queue", "10", "--mule", "tests/apps/queue_mule.py"]
    with run_server(args) as srv:
        mule = srv.wait_for_line(r"spawned uWSGI mule 1 \(pid: (\d+)\)")
        value = wait_until(lambda: out(srv.port, "/get?0"), timeout=15, what="the mule's queue_set")
        assert value.startswith("mule ") and value.endswith(" True")
        assert value.split()[1] in mule


def test_the_spooler_shares_the_queue(tmp_path):
    args = APP + ["--queue", "10", "--master", "--spooler", str(tmp_path), "--spooler-frequency", "1"]
    with run_server(args) as srv:
        out(srv.port, "/spool")
        value = wait_until(lambda: out(srv.port, "/pull"), timeout=15, what="the spooler's queue_push")
        assert value.startswith("spooler ") and value.endswith(" True")
        assert value.split()[1] != str(call(srv.port, "/slot")[1])  # not the worker
