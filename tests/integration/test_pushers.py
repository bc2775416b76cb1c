"""``--stats-push statsd:...`` and ``--carbon``: a real server pushes to a UDP socket and to a TCP
listener owned by the test, after real requests (gateway/pushers)."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from server import run_cli, run_server
from support.httpclient import request
from support.push_sinks import CarbonSink, StatsdSink
from support.stats import fetch_stats, stats_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

PROBE = ["--wsgi-file", "tests/apps/process_probe.py", "--processes", "2"]


@pytest.fixture
def statsd():
    sink = StatsdSink()
    yield sink
    sink.close()


@pytest.fixture
def carbon():
    sink = CarbonSink()
    yield sink
    sink.close()


def test_statsd_receives_uwsgis_metrics_after_requests(statsd):
    args = PROBE + ["--stats-push", "statsd:127.0.0.1:%d,myapp" % statsd.port, "--stats-pusher-default-freq", "1",
                    "--metric", "name=hits,type=gauge,initial_value=7"]
    with run_server(args) as srv:
        for _ in range(5):
            assert request(srv.port, "/").status == 200
        wait_until(lambda: statsd.latest.get("myapp.worker.0.requests", (0,))[0] >= 5, timeout=15,
                   what="a statsd push counting the 5 requests")
    got = statsd.latest
    assert got["myapp.worker.0.requests"] == (5, "c")
    assert got["myapp.worker.1.requests"][0] + got["myapp.worker.2.requests"][0] == 5
    assert got["myapp.core.total_tx"][0] > 0 and got["myapp.core.total_tx"][1] == "c"
    assert got["myapp.worker.1.rss_size"][0] > 1 << 20 and got["myapp.worker.1.rss_size"][1] == "g"
    assert got["myapp.core.idle_workers"] == (2, "g")
    assert got["myapp.worker.1.respawns"] == (1, "c")
    assert "myapp.worker.1.core.0.requests" in got and "myapp.socket.0.listen_queue" in got
    assert got["myapp.hits"] == (7, "g")  # the --metric ones follow the built-in ones
    assert all(d.startswith(b"myapp.") for d in statsd.datagrams)


def test_statsd_all_gauges_no_workers_and_the_default_prefix(statsd):
    args = PROBE + ["--stats-push", "statsd:127.0.0.1:%d" % statsd.port, "--stats-pusher-default-freq", "1",
                    "--statsd-all-gauges", "--statsd-no-workers", "--metrics-no-cores"]
    with run_server(args) as srv:
        for _ in range(3):
            request(srv.port, "/")
        wait_until(lambda: statsd.latest.get("uwsgi.core.total_tx", (0,))[0] > 0, timeout=15,
                   what="a statsd push with the response bytes")
    assert statsd.latest["uwsgi.core.total_tx"][1] == "g"
    assert not [n for n in statsd.latest if n.startswith("uwsgi.worker.")]
    assert {t for _, t in statsd.latest.values()} == {"g"}


def test_carbon_receives_uwsgis_lines(carbon):
    args = PROBE + ["--carbon", "127.0.0.1:%d" % carbon.port, "--carbon-freq", "1", "--carbon-id", "probe",
                    "--carbon-root", "graphite", "--carbon-hostname-dots", "_", "--memory-report"]
    with run_server(args) as srv:
        for _ in range(4):
            request(srv.port, "/")
        p = "graphite.%s.probe." % socket.gethostname().replace(".", "_")
        wait_until(lambda: (carbon.value(p + "requests") or (0,))[0] >= 4, timeout=15,
                   what="a carbon push counting the 4 requests")
    assert all(line.startswith(p) for line in carbon.lines), carbon.lines[:3]
    value, stamp = carbon.value(p + "requests")
    assert value == 4 and abs(stamp - time.time()) < 30
    assert carbon.value(p + "worker1.requests")[0] + carbon.value(p + "worker2.requests")[0] == 4
    assert carbon.value(p + "worker1.rss_size")[0] > 1 << 20 and carbon.value(p + "rss_size")[0] > 1 << 20
    assert carbon.value(p + "tx")[0] > 0 and carbon.value(p + "active_workers")[0] == 2
    assert carbon.value(p + "avg_rt") is not None and carbon.value(p + "busyness") is not None


def test_carbon_use_metrics_and_the_default_names(carbon):
    args = PROBE + ["--carbon", "127.0.0.1:%d" % carbon.port, "--carbon-freq", "1", "--carbon-use-metrics",
                    "--carbon-no-workers"]
    with run_server(args) as srv:
        # uwsgi.HOST.ID.NAME with ID the first socket, dots as underscores
        p = "uwsgi.%s.127_0_0_1:%d." % (socket.gethostname(), srv.port)
        request(srv.port, "/")
        wait_until(lambda: (carbon.value(p + "worker.0.requests") or (0,))[0] >= 1, timeout=15,
                   what="a carbon push of the metrics")
    assert carbon.value(p + "core.total_tx")[0] > 0
    assert carbon.value(p + "requests") is None  # not carbon's own lines


def test_a_dead_carbon_server_costs_a_log_line_and_never_blocks(carbon):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    dead = probe.getsockname()[1]
    probe.close()
    args = PROBE + ["--carbon", "127.0.0.1:%d" % dead, "--carbon", "127.0.0.1:%d" % carbon.port,
                    "--carbon-freq", "1", "--carbon-max-retry", "1", "--carbon-retry-delay", "1",
                    "--stats", "127.0.0.1:0"]
    with run_server(args) as srv:
        srv.wait_for_line(r"carbon failed and maximum number of retries was reached \(1\)", timeout=15)
        seen = carbon.connections
        # later rounds go on; the live server keeps getting every push
        wait_until(lambda: carbon.connections >= seen + 2, timeout=15, what="two more pushes")
        started = time.monotonic()
        assert request(srv.port, "/").status == 200
        assert time.monotonic() - started < 2
        out = srv.output()
    assert len(re.findall(r"Could not connect to carbon server at 127\.0\.0\.1:%d" % dead, out)) == 1, out
    assert "[carbon] Retrying failed server at 127.0.0.1:%d (1)" % dead in out


@pytest.mark.parametrize("args, message", [
    (["--stats-push", "zabbix:127.0.0.1:10051"],
     "option '--stats-push': unknown stats pusher 'zabbix' (gateway has: statsd, socket, file)"),
    (["--stats-push", "file:/tmp/stats"], "option '--stats-push': '/tmp/stats': expected path=FILE,separator=TEXT,freq=SECONDS"),
    (["--stats-push", "statsd:127.0.0.1:http"], "option '--stats-push': '127.0.0.1:http': the port must be a number"),
    (["--carbon", "carbon.invalid:2003"], "--carbon carbon.invalid:2003: carbon.invalid is not an IP address "
                                          "(add --carbon-name-resolve to use host names)"),
    (["--carbon", "nonexistent.invalid:2003", "--carbon-name-resolve"], "cannot resolve nonexistent.invalid"),
    (["--carbon-idle-avg", "max"], "option '--carbon-idle-avg'"),
])
def test_bad_pusher_options_are_startup_errors(args, message):
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/process_probe.py"] + args)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr, result.stderr


def test_carbon_pushes_once_more_at_shutdown(carbon):
    args = PROBE + ["--carbon", "127.0.0.1:%d" % carbon.port, "--carbon-id", "probe",  # every 60 s
                    "--stats", "127.0.0.1:0"]
    with run_server(args) as srv:
        wait_until(lambda: carbon.connections == 1, timeout=15, what="the first push, at startup")
        request(srv.port, "/")
        # the worker counts a request just after its response went out
        port = stats_port(srv)
        wait_until(lambda: sum(w["requests"] for w in fetch_stats(port)["workers"]) == 1)
    # uWSGI's master_cleanup: a last round while the workers stop
    wait_until(lambda: carbon.connections == 2, timeout=5, what="the push at shutdown")
    p = "uwsgi.%s.probe." % socket.gethostname()
    assert carbon.value(p + "requests")[0] == 1


def test_statsd_counts_busy_workers_and_overload(statsd):
    args = ["--wsgi-file", "tests/apps/process_probe.py", "--master", "--processes", "1",
            "--stats-push", "statsd:127.0.0.1:%d" % statsd.port, "--stats-pusher-default-freq", "1"]
    with run_server(args) as srv:
        t = threading.Thread(target=lambda: request(srv.port, "/park?4", timeout=10))
        t.start()
        # the only worker's only core is in a request: busy, and every second of that is an overload
        wait_until(lambda: statsd.latest.get("uwsgi.core.overloaded", (0,))[0] >= 1, timeout=15,
                   what="core.overloaded")
        assert statsd.latest["uwsgi.core.busy_workers"] == (1, "g")
        t.join(10)
