"""uWSGI's built-in metrics: their computation from scoreboard values
(gateway/subsystems/builtin_metrics.py), their registration and collection in the metrics
subsystem (gateway/sharedmem/metrics.py) and the master's reader
(gateway/subsystems/metrics_source.py) over a real scoreboard."""

from __future__ import annotations

import os
import socket

import pytest

from gateway.process.master import Proc
from gateway.process.scoreboard import C_IN_REQUEST, C_REQUESTS, W_AVG_RT, W_REQUESTS, W_TX, Scoreboard
from gateway.sharedmem.metrics import ABSOLUTE, ALIAS, COUNTER, GAUGE, Metrics, MetricSpec
from gateway.subsystems.builtin_metrics import (
    CoreCounters,
    Metric,
    builtin_metrics,
    builtin_specs,
    builtin_values,
    user_metrics,
)
from gateway.subsystems.metrics_source import MetricsSource


def worker(**kw):
    w = {"requests": 0, "delta_requests": 0, "respawn_count": 1, "avg_rt": 0, "tx": 0, "rss": 0, "vsz": 0,
         "running_time": 0, "exceptions": 0, "harakiri_count": 0, "cheaped": False, "busy": False,
         "cores": []}
    w.update(kw)
    return w


def values(metrics):
    return {m.name: (m.type, m.value) for m in metrics}


def collect(m: Metrics, **by_name):
    """``m.collect`` with these values by name (``worker__1__requests`` for worker.1.requests), 0 elsewhere."""
    out = [0] * m.collected_count
    for name, v in by_name.items():
        out[m.index[name.replace("__", ".")]] = v
    m.collect(out)


# -- the computation -----------------------------------------------------------------------------

def test_builtin_metrics_have_uwsgis_names_types_and_order():
    cores = [{"requests": 3, "write_errors": 1, "offloaded_requests": 2, "exceptions": 4, "read_errors": 5}]
    workers = [worker(requests=3, delta_requests=3, avg_rt=100, tx=50, rss=1000, vsz=2000, running_time=7,
                      cores=cores),
               worker(requests=2, respawn_count=2, avg_rt=301, tx=20, rss=10, vsz=20, running_time=1,
                      cores=[{}])]
    got = builtin_metrics(workers, CoreCounters(1, 2, 1, 1, 9), [4])
    names = [m.name for m in got]
    assert names[:5] == ["core.routed_signals", "core.unrouted_signals", "core.busy_workers",
                         "core.idle_workers", "core.overloaded"]
    assert names[5:14] == ["worker.0.%s" % n for n in ("requests", "delta_requests", "failed_requests", "respawns",
                                                       "avg_response_time", "total_tx", "rss_size", "vsz_size",
                                                       "running_time")]
    assert names[14:23] == [n.replace("worker.0.", "worker.1.") for n in names[5:14]]
    assert names[23:30] == ["worker.1.core.0.%s" % n for n in ("requests", "write_errors", "routed_requests",
                                                               "static_requests", "offloaded_requests",
                                                               "exceptions", "read_errors")]
    assert names[-8:] == ["core.total_tx", "core.total_rss", "core.total_vsz", "core.avg_response_time",
                          "core.total_running_time", "socket.0.listen_queue", "rss_size", "vsz_size"]
    by = values(got)
    assert by["worker.0.requests"] == (COUNTER, 5)  # the instance's total
    assert by["worker.0.respawns"][1] == 0 and by["worker.0.avg_response_time"][1] == 0
    assert by["worker.1.delta_requests"][0] == ABSOLUTE
    assert by["worker.2.respawns"][1] == 2 and by["worker.2.avg_response_time"][0] == GAUGE
    assert by["worker.1.core.0.exceptions"][1] == 4 and by["worker.2.core.0.requests"][1] == 0
    assert by["core.total_tx"][1] == 70 and by["core.total_rss"] == (GAUGE, 1010)
    assert by["core.avg_response_time"][1] == 200 and by["core.total_running_time"][1] == 8
    assert by["rss_size"] == (ALIAS, 1010) and by["vsz_size"][1] == 2020
    assert by["core.overloaded"][1] == 9 and by["socket.0.listen_queue"] == (GAUGE, 4)


def test_oids_are_uwsgis():
    """As uWSGI 2.0.31's stats document lists them (captured with --enable-metrics), its
    duplicate 3.N.13 included; the aliases carry their total's OID."""
    oids = {m.name: m.oid for m in builtin_metrics([worker(cores=[{}])], socket_queues=[0, 0])}
    assert oids["core.routed_signals"] == "5.1" and oids["core.overloaded"] == "5.5"
    assert oids["worker.0.requests"] == "3.0.1" and oids["worker.1.delta_requests"] == "3.1.2"
    assert oids["worker.1.failed_requests"] == oids["worker.1.running_time"] == "3.1.13"
    assert oids["worker.1.respawns"] == "3.1.14" and oids["worker.1.avg_response_time"] == "3.1.8"
    assert oids["worker.1.core.0.requests"] == "3.1.2.0.1" and oids["worker.1.core.0.read_errors"] == "3.1.2.0.8"
    assert oids["core.total_tx"] == "5.100" and oids["core.total_running_time"] == "5.104"
    assert oids["socket.1.listen_queue"] == "7.1.1"
    assert oids["rss_size"] == oids["core.total_rss"] == "5.101" and oids["vsz_size"] == "5.102"


def test_a_fixed_number_of_cores_covers_workers_not_spawned_yet():
    got = builtin_metrics([worker(cores=[{"requests": 2}]), {"cores": []}], cores=2)
    by = values(got)
    assert by["worker.1.core.0.requests"] == (COUNTER, 2) and by["worker.1.core.1.requests"] == (COUNTER, 0)
    assert by["worker.2.core.1.read_errors"] == (COUNTER, 0)
    assert len([n for n in by if ".core." in n]) == 2 * 2 * 7


def test_metrics_no_cores_and_no_workers():
    got = builtin_metrics([worker(cores=[{}, {}])], no_cores=True)
    assert not [m for m in got if ".core." in m.name]
    assert len(builtin_metrics([worker(cores=[{}, {}])])) == len(got) + 14
    assert [(m.name, m.type, m.value) for m in builtin_metrics([])[-3:]] == [
        ("core.total_running_time", COUNTER, 0), ("rss_size", ALIAS, 0), ("vsz_size", ALIAS, 0)]


def test_builtin_values_are_the_metrics_values_in_order():
    workers = [worker(requests=3, tx=9, cores=[{"requests": 3, "exceptions": 1}]), {"cores": []}]
    for kw in ({}, {"cores": 2}, {"no_cores": True}):
        assert builtin_values(workers, CoreCounters(1, 2, 3, 4, 5), [7], **kw) == [
            m.value for m in builtin_metrics(workers, CoreCounters(1, 2, 3, 4, 5), [7], **kw)]


def test_user_metrics_follow_the_stats_shape():
    assert list(user_metrics({"hits": {"type": 0, "oid": "", "value": 3},
                              "temp": {"type": 1, "oid": "1.2", "value": -2}})) == [
        Metric("hits", COUNTER, 3), Metric("temp", GAUGE, -2, "1.2")]


# -- registration and collection -----------------------------------------------------------------

def test_builtin_specs_are_the_computed_list_and_count_as_uwsgi():
    specs = builtin_specs(2, 1, 2)
    # uWSGI 2.0.31, --processes 2 (1 core each), two sockets: "initialized 55 metrics"
    assert len(specs) == 55
    assert [(s.name, s.type, s.oid) for s in specs] == [
        (m.name, m.type, m.oid) for m in builtin_metrics([{}, {}], socket_queues=[0, 0], cores=1)]
    assert all(s.collected and s.initial_value == 0 for s in specs)
    assert len(builtin_specs(2, 1, 2, no_cores=True)) == 55 - 2 * 7


def test_collected_metrics_are_set_by_the_master_only_and_shared_across_fork(tmp_path):
    specs = builtin_specs(1, 1, 0) + [MetricSpec.parse("name=hits")]
    m = Metrics(specs, str(tmp_path / "mdir"))
    try:
        assert m.has_collected
        assert m.get("worker.1.requests") == 0
        # applications cannot change a built-in metric (uWSGI: it has a collector), nor an alias
        assert m.op("worker.1.requests", "set", 5) is False and m.op("rss_size", "inc", 1) is False
        pid = os.fork()
        if pid == 0:
            collect(m, worker__1__requests=7, rss_size=4096)
            os._exit(0)
        os.waitpid(pid, 0)
        assert m.get("worker.1.requests") == 7 and m.get("rss_size") == 4096
        with pytest.raises(ValueError):
            m.collect([1, 2])  # not the registered layout
        assert m.get("hits") == 0 and m.op("hits", "inc", 2) and m.get("hits") == 2
        stats = m.stats()
        assert list(stats)[:2] == ["core.routed_signals", "core.unrouted_signals"] and list(stats)[-1] == "hits"
        assert stats["worker.1.requests"] == {"type": COUNTER, "oid": "3.1.1", "value": 7}
        assert stats["rss_size"] == {"type": ALIAS, "oid": "5.101", "value": 4096}
        m.write_dir()
        assert (tmp_path / "mdir" / "worker.1.requests").read_text() == "7\n"
        assert (tmp_path / "mdir" / "worker.1.core.0.exceptions").read_text() == "0\n"
    finally:
        m.close()


def test_a_user_metric_named_like_a_builtin_replaces_it_in_place():
    specs = builtin_specs(1, 1, 0) + [MetricSpec.parse("name=worker.1.requests,type=gauge,initial_value=3")]
    m = Metrics(specs)
    try:
        names = [s.name for s in m.specs]
        assert names.count("worker.1.requests") == 1
        assert names.index("worker.1.requests") == names.index("worker.0.running_time") + 1
        collect(m, worker__1__requests=50, worker__1__respawns=1)
        assert m.get("worker.1.respawns") == 1 and m.get("worker.1.requests") == 3 and m.op("worker.1.requests", "inc", 1)
        assert m.stats()["worker.1.requests"] == {"type": GAUGE, "oid": "", "value": 4}
    finally:
        m.close()


def test_collected_metrics_come_first():
    with pytest.raises(ValueError):
        Metrics([MetricSpec("hits"), MetricSpec("worker.1.requests", collected=True)])


def test_collected_values_add_the_initial_value_and_wrap():
    m = Metrics([MetricSpec("big", COUNTER, initial_value=2, collected=True)])
    try:
        m.collect([(1 << 63) - 1])
        assert m.get("big") == -(1 << 63) + 1
    finally:
        m.close()


# -- the master's reader, over a real scoreboard ---------------------------------------------------

class FakeRouter:
    routed, unrouted = 3, 1


class FakeSubsystems:
    def __init__(self, metrics):
        self.metrics = metrics
        self.router = FakeRouter()


class FakeMaster:
    """What MetricsSource reads of a Master: the scoreboard, the workers, the sockets."""

    def __init__(self, numproc, cores, metrics):
        self.numproc = numproc
        self.board = Scoreboard(2 * numproc, cores)
        self.workers = {}
        for wid in range(1, numproc + 1):
            proc = Proc("worker", wid, 0)
            proc.pid = 1000 + wid
            self.workers[wid] = proc
            self.board.spawned(wid, proc.pid, 0)
        self.sockets = [socket.socket()]
        self.subsystems = FakeSubsystems(metrics)

    def slot(self, worker_id, generation):
        return worker_id + self.numproc * (generation % 2)


def test_source_collects_the_scoreboard_into_the_subsystem_and_pushes_the_same_values():
    metrics = Metrics(builtin_specs(2, 2, 1) + [MetricSpec.parse("name=hits,initial_value=5")])
    master = FakeMaster(2, 2, metrics)
    try:
        board = master.board
        board.set(1, W_REQUESTS, 4)
        board.set(1, W_TX, 100)
        board.set(1, W_AVG_RT, 300)
        board.set(2, W_REQUESTS, 2)
        board.ints[board.cbase(1, 1) + C_REQUESTS] = 4
        board.ints[board.cbase(2, 0) + C_IN_REQUEST] = 1
        source = MetricsSource(master)
        assert source.collect()
        assert metrics.get("worker.1.requests") == 4 and metrics.get("worker.2.requests") == 2
        assert metrics.get("worker.0.requests") == 6 and metrics.get("worker.1.core.1.requests") == 4
        assert metrics.get("core.total_tx") == 100 and metrics.get("core.avg_response_time") == 150
        assert metrics.get("worker.1.respawns") == 1
        assert metrics.get("core.busy_workers") == 1 and metrics.get("core.idle_workers") == 1
        assert metrics.get("core.routed_signals") == 3 and metrics.get("core.unrouted_signals") == 1
        board.set(1, W_REQUESTS, 9)
        pushed = {m.name: m for m in source.metrics(source.workers())}
        # the pushers read what was just collected: the subsystem holds the same values
        assert pushed["worker.1.requests"] == Metric("worker.1.requests", COUNTER, 9, "3.1.1")
        assert metrics.get("worker.1.requests") == 9
        assert list(pushed)[-1] == "hits" and pushed["hits"].value == 5
        assert [m.name for m in source.metrics(source.workers())] == list(metrics.stats())
    finally:
        master.sockets[0].close()
        metrics.close()


def test_source_without_collected_metrics_computes_for_the_pushers_only():
    metrics = Metrics([MetricSpec.parse("name=hits")])
    master = FakeMaster(1, 1, metrics)
    try:
        master.board.set(1, W_REQUESTS, 3)
        source = MetricsSource(master, no_cores=True)
        assert source.collect() is False
        got = source.metrics(source.workers())
        assert values(got)["worker.1.requests"] == (COUNTER, 3) and got[-1].name == "hits"
        assert not [m for m in got if ".core." in m.name]
    finally:
        master.sockets[0].close()
        metrics.close()


def test_overloaded_counts_at_most_once_a_second_whoever_ticks():
    metrics = Metrics([])
    master = FakeMaster(1, 1, metrics)
    try:
        board = master.board
        source = MetricsSource(master)
        board.ints[board.cbase(1, 0) + C_IN_REQUEST] = 1  # the only worker is busy
        for now in (10.0, 10.2, 10.9, 11.0, 11.5, 12.3):  # the collector and a pusher, interleaved
            source.tick(now)
        assert source.overloaded == 3
        board.ints[board.cbase(1, 0) + C_IN_REQUEST] = 0
        source.tick(20.0)
        assert source.overloaded == 3
    finally:
        master.sockets[0].close()
        metrics.close()


def test_metrics_dir_restore_counts_on_from_the_files(tmp_path):
    (tmp_path / "worker.1.requests").write_text("3\n")
    (tmp_path / "core.idle_workers").write_text("1\n")
    (tmp_path / "hits").write_bytes(b"42\n" + b"\0" * 100)  # uWSGI's files: a page, NUL-padded
    (tmp_path / "temp").write_text("not a number")
    specs = builtin_specs(1, 1, 0) + [MetricSpec.parse("name=hits"), MetricSpec.parse("name=temp,initial_value=7")]
    m = Metrics(specs, str(tmp_path), restore=True)
    try:
        assert m.get("worker.1.requests") == 3 and m.get("hits") == 42 and m.get("temp") == 7
        collect(m, worker__1__requests=2, core__idle_workers=1)
        assert m.get("worker.1.requests") == 5  # the restored value plus what was collected
        assert m.get("core.idle_workers") == 1  # a gauge describes the present: not restored
        m.write_dir()
        assert (tmp_path / "worker.1.requests").read_text() == "5\n"
    finally:
        m.close()
    m = Metrics(specs, str(tmp_path))  # without restore the files are rewritten from the initial values
    try:
        assert m.get("worker.1.requests") == 0 and (tmp_path / "worker.1.requests").read_text() == "0\n"
    finally:
        m.close()
