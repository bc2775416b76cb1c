"""uWSGI's built-in metrics as metrics of the subsystem: the real CLI under ``--master
--processes 2 --enable-metrics``; ``uwsgi.metric_get("worker.1.requests")`` in the workers,
the stats document's ``metrics``, ``--metrics-dir`` files (gateway/subsystems/metrics_source.py).
The master collects them once a second: every check waits with a deadline."""

from __future__ import annotations

import json
import os
import signal

import pytest

from server import run_server
from support.httpclient import request
from support.stats import fetch_stats, stats_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

PROBE = ["--wsgi-file", "tests/apps/metrics_probe.py"]


def call(port: int, path: str) -> dict:
    r = request(port, path)
    assert r.status == 200, (r, r.body)
    return json.loads(r.body)


def from_worker(port: int, wid: int, path: str, tries: int = 200):
    """``path`` answered by worker ``wid`` (the kernel picks who accepts: retry)."""
    for _ in range(tries):
        doc = call(port, path)
        if doc["wid"] == wid:
            return doc["out"]
    raise AssertionError("worker %d never answered %s" % (wid, path))


def settled(port: int):
    """The stats document once its ``metrics`` agree with the scoreboard's ``workers``
    (the collector ran after the last request), else None."""
    doc = fetch_stats(port)
    metrics = doc["metrics"]
    for w in doc["workers"]:
        if metrics["worker.%d.requests" % w["id"]]["value"] != w["requests"]:
            return None
    return doc


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    mdir = tmp_path_factory.mktemp("metrics")
    args = PROBE + ["--master", "--processes", "2", "--enable-metrics", "--stats", "127.0.0.1:0",
                    "--metrics-dir", str(mdir)]
    with run_server(args) as s:
        s.metrics_dir = mdir
        yield s


def test_metric_get_of_builtin_metrics_in_every_worker(srv):
    for _ in range(10):
        assert request(srv.port, "/").status == 200
    # worker.0.requests is the instance's total, seen by both workers (shared memory)
    wait_until(lambda: call(srv.port, "/get?name=worker.0.requests")["out"] >= 10, timeout=15,
               what="metric_get('worker.0.requests') counting the 10 requests")
    assert from_worker(srv.port, 1, "/get?name=worker.0.requests") >= 10
    assert from_worker(srv.port, 2, "/get?name=worker.0.requests") >= 10
    wait_until(lambda: from_worker(srv.port, 2, "/get?name=worker.1.requests") > 0, timeout=15,
               what="worker 2 reading worker 1's request count")
    assert from_worker(srv.port, 1, "/get?name=worker.1.respawns") == 1
    assert from_worker(srv.port, 1, "/get?name=core.idle_workers") >= 1
    assert from_worker(srv.port, 1, "/get?name=rss_size") > 1 << 20  # the alias of core.total_rss


def test_builtin_metrics_cannot_be_set_by_the_app(srv):
    assert call(srv.port, "/set?name=worker.1.requests&v=1000")["out"] is None
    assert call(srv.port, "/set?name=rss_size&v=1")["out"] is None
    assert call(srv.port, "/get?name=worker.1.requests")["out"] < 1000


def test_stats_metrics_section_is_uwsgis(srv):
    for _ in range(4):
        request(srv.port, "/")
    doc = wait_until(lambda: settled(stats_port(srv)), timeout=15, what="the collected metrics to settle")
    keys = list(doc)
    assert keys.index("locks") < keys.index("metrics") < keys.index("sockets")
    metrics = doc["metrics"]
    names = list(metrics)
    # uWSGI 2.0.31, --processes 2 with 1 core and 1 socket: 54 metrics, in this order
    assert len(names) == 54
    assert names[:6] == ["core.routed_signals", "core.unrouted_signals", "core.busy_workers",
                         "core.idle_workers", "core.overloaded", "worker.0.requests"]
    assert names[-3:] == ["socket.0.listen_queue", "rss_size", "vsz_size"]
    assert metrics["worker.1.requests"]["type"] == 0 and metrics["worker.1.requests"]["oid"] == "3.1.1"
    assert metrics["worker.1.delta_requests"]["type"] == 2 and metrics["core.busy_workers"]["type"] == 1
    assert metrics["rss_size"]["type"] == 3 and metrics["rss_size"]["oid"] == "5.101"
    assert "worker.2.core.0.requests" in metrics
    total = sum(w["requests"] for w in doc["workers"])
    assert metrics["worker.0.requests"]["value"] == total >= 4
    assert metrics["core.total_tx"]["value"] == sum(w["tx"] for w in doc["workers"]) > 0
    assert metrics["rss_size"]["value"] == metrics["core.total_rss"]["value"] > 0


def test_metrics_dir_holds_the_builtin_metrics(srv):
    for _ in range(3):
        request(srv.port, "/")
    doc = wait_until(lambda: settled(stats_port(srv)), timeout=15, what="the collected metrics to settle")
    total = doc["metrics"]["worker.0.requests"]["value"]
    path = srv.metrics_dir / "worker.0.requests"
    wait_until(lambda: path.read_text() == "%d\n" % total, timeout=15,
               what="%s to hold %d" % (path, total))
    assert (srv.metrics_dir / "worker.2.core.0.requests").exists()
    assert (srv.metrics_dir / "socket.0.listen_queue").exists()


def test_enable_metrics_implies_a_master_and_no_cores_leaves_out_the_core_metrics(tmp_path):
    args = PROBE + ["--enable-metrics", "--metrics-no-cores", "--metric", "name=hits,initial_value=3",
                    "--metrics-dir", str(tmp_path)]
    with run_server(args) as srv:
        for _ in range(3):
            request(srv.port, "/")
        wait_until(lambda: call(srv.port, "/get?name=worker.1.requests")["out"] >= 3, timeout=15,
                   what="metric_get('worker.1.requests') without --master")
        assert call(srv.port, "/get?name=hits")["out"] == 3
        assert "spawned uWSGI master process" in srv.output()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "worker.1.requests" in files and "hits" in files and "core.total_tx" in files
    assert not [f for f in files if ".core." in f]


def test_a_killed_worker_respawns_and_its_metrics_carry_on(srv):
    """Last in this module: SIGKILL worker 1 (a child of the server this test started)."""
    doc = wait_until(lambda: settled(stats_port(srv)), timeout=15, what="the collected metrics to settle")
    before = doc["metrics"]["worker.1.requests"]["value"]
    victim = next(w["pid"] for w in doc["workers"] if w["id"] == 1)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: call(srv.port, "/get?name=worker.1.respawns")["out"] == 2, timeout=20,
               what="worker.1.respawns to count the respawn")
    doc = wait_until(lambda: settled(stats_port(srv)), timeout=15, what="the collected metrics to settle")
    assert doc["metrics"]["worker.1.requests"]["value"] >= before  # cumulative over respawns, as uWSGI
    assert doc["metrics"]["worker.1.delta_requests"]["value"] <= doc["metrics"]["worker.1.requests"]["value"] - before


def test_metrics_dir_restore_carries_a_counter_over_a_restart(tmp_path):
    args = PROBE + ["--enable-metrics", "--metrics-dir", str(tmp_path), "--metrics-dir-restore"]
    path = tmp_path / "worker.0.requests"
    with run_server(args) as srv:
        for _ in range(3):
            request(srv.port, "/")
        wait_until(lambda: path.exists() and int(path.read_text() or 0) >= 3, timeout=15,
                   what="%s to count the 3 requests" % path)
    before = int(path.read_text())
    with run_server(args) as srv:
        request(srv.port, "/")
        wait_until(lambda: call(srv.port, "/get?name=worker.0.requests")["out"] >= before + 1, timeout=15,
                   what="worker.0.requests to count on from %d" % before)
        # a gauge is not restored (uWSGI would add the old value: 2 idle workers out of 1)
        assert call(srv.port, "/get?name=core.idle_workers")["out"] <= 1
