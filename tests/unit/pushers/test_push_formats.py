"""Sans-IO parts of the metrics pushers: argument parsing, statsd datagrams, carbon lines, the
pusher schedule (gateway/pushers).  The built-in metrics: tests/unit/subsystems/test_builtin_metrics.py."""

from __future__ import annotations

import pytest

from gateway.pushers.carbon import CarbonReport, CarbonSettings, carbon_hostname, carbon_id, carbon_root
from gateway.pushers.schedule import FailureLog, Schedule
from gateway.pushers.specs import Endpoint, PushSpecError, StatsdSpec, parse_carbon, parse_stats_push
from gateway.pushers.statsd import datagrams, format_metric
from gateway.sharedmem.metrics import ABSOLUTE, ALIAS, COUNTER, GAUGE
from gateway.subsystems.builtin_metrics import Metric


def worker(**kw):
    w = {"requests": 0, "delta_requests": 0, "respawn_count": 1, "avg_rt": 0, "tx": 0, "rss": 0, "vsz": 0,
         "running_time": 0, "exceptions": 0, "harakiri_count": 0, "cheaped": False, "busy": False,
         "cores": []}
    w.update(kw)
    return w


# -- arguments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, spec", [
    ("statsd:127.0.0.1:8125", StatsdSpec(Endpoint("inet", "127.0.0.1", 8125), "uwsgi")),
    ("statsd:127.0.0.1:8125,myinstance", StatsdSpec(Endpoint("inet", "127.0.0.1", 8125), "myinstance")),
    ("statsd:stats.example.com:8125,a.b", StatsdSpec(Endpoint("inet", "stats.example.com", 8125), "a.b")),
    ("statsd:[::1]:8125,p", StatsdSpec(Endpoint("inet", "::1", 8125), "p")),
    ("statsd:/run/statsd.sock", StatsdSpec(Endpoint("unix", "/run/statsd.sock", 0), "uwsgi")),
])
def test_stats_push_arguments(text, spec):
    assert parse_stats_push(text) == spec


@pytest.mark.parametrize("text, fragment", [
    ("zabbix:127.0.0.1:10051", "unknown stats pusher 'zabbix'"),
    ("file:/tmp/x", "expected path=FILE,separator=TEXT,freq=SECONDS"),
    ("file:freq=0", "freq=0: a number of seconds"),
    ("statsd", "the address is missing"),
    ("statsd:", "the address is missing"),
    ("statsd:127.0.0.1:99999", "port must be a number"),
    ("statsd:127.0.0.1:0", "port must be a number"),
    ("statsd::8125", "the host is missing"),
    ("statsd:127.0.0.1:8125,", "prefix after the comma is empty"),
    ("statsd:::1:8125", r"\[addr\]:port"),
])
def test_bad_stats_push_arguments(text, fragment):
    with pytest.raises(PushSpecError, match=fragment):
        parse_stats_push(text)


def test_carbon_arguments():
    assert parse_carbon("127.0.0.1:2003") == Endpoint("inet", "127.0.0.1", 2003)
    assert str(parse_carbon("[::1]:2003")) == "[::1]:2003"
    for bad in ("/run/carbon.sock", "carbon", "127.0.0.1:x"):
        with pytest.raises(PushSpecError):
            parse_carbon(bad)


# -- statsd --------------------------------------------------------------------------------------

def test_statsd_lines_gauges_and_counters():
    assert format_metric("uwsgi", Metric("core.total_rss", GAUGE, 1024)) == b"uwsgi.core.total_rss:1024|g"
    assert format_metric("app", Metric("worker.1.requests", COUNTER, 7)) == b"app.worker.1.requests:7|c"
    assert format_metric("app", Metric("worker.1.delta_requests", ABSOLUTE, 7)) == b"app.worker.1.delta_requests:7|c"
    assert format_metric("app", Metric("rss_size", ALIAS, 5)) == b"app.rss_size:5|c"  # uWSGI: an alias is no gauge
    assert format_metric("app", Metric("t", GAUGE, -3)) == b"app.t:-3|g"
    assert format_metric("app", Metric("n", COUNTER, 2), all_gauges=True) == b"app.n:2|g"


def test_statsd_no_workers_drops_only_the_worker_metrics():
    metrics = [Metric("core.busy_workers", GAUGE, 1), Metric("worker.1.requests", COUNTER, 2),
               Metric("workers_total", COUNTER, 3)]
    assert list(datagrams("p", metrics, no_workers=True)) == [b"p.core.busy_workers:1|g", b"p.workers_total:3|c"]
    assert len(list(datagrams("p", metrics))) == 3


# -- carbon --------------------------------------------------------------------------------------

def test_carbon_names():
    assert carbon_root(None) == "uwsgi." and carbon_root("graphite") == "graphite."
    assert carbon_root("a.b.") == "a.b." and carbon_root("") == ""
    assert carbon_hostname("web1.example.com", "_") == "web1_example_com"
    assert carbon_hostname("web1.example.com", "-x") == "web1-example-com"  # the first character
    assert carbon_hostname("web1.example.com", None) == "web1.example.com"
    assert carbon_id("127.0.0.1:3031") == "127_0_0_1:3031"


def test_carbon_lines_are_uwsgis():
    report = CarbonReport(CarbonSettings(root="uwsgi.", hostname="web1", id="app", freq=10))
    workers = [worker(requests=5, avg_rt=1000, tx=300, running_time=2_000_000, harakiri_count=1, exceptions=2),
               worker(requests=1, avg_rt=3000, tx=100, running_time=0, respawn_count=3, busy=True)]
    report.observe(workers)
    text = report.lines(workers, [], 1700000000).decode()
    p = "uwsgi.web1.app."
    assert text == "".join("%s%s 1700000000\n" % (p, kv) for kv in [
        "requests 6",
        "worker1.requests 5", "worker1.avg_rt 1000", "worker1.tx 300", "worker1.busyness 20",
        "worker1.harakiri 1", "worker1.respawns 1", "worker1.exceptions 2",
        "worker2.requests 1", "worker2.avg_rt 3000", "worker2.tx 100",
        "worker2.busyness 100",  # busy now, no request finished in the period: stuck, 100%
        "worker2.harakiri 0", "worker2.respawns 3", "worker2.exceptions 0",
        "avg_rt 2000", "tx 400", "busyness 60", "active_workers 2", "busy_workers 1", "idle_workers 1",
        "harakiri 1", "respawns 4", "exceptions 2"])


def test_carbon_memory_cheaper_and_no_workers():
    report = CarbonReport(CarbonSettings(hostname="h", id="i", memory=True, cheaper=True, no_workers=True))
    workers = [worker(rss=100, vsz=200, avg_rt=10), worker(rss=7, vsz=8, avg_rt=99, cheaped=True)]
    report.observe(workers)
    lines = dict(line.rsplit(" ", 1)[0].split(" ") for line in report.lines(workers, [], 1).decode().splitlines())
    assert not [k for k in lines if ".worker" in k]
    # a cheaped worker counts in no total but the tx/harakiri/respawns ones, as in uWSGI
    assert lines["uwsgi.h.i.rss_size"] == "100" and lines["uwsgi.h.i.vsz_size"] == "200"
    assert lines["uwsgi.h.i.avg_rt"] == "10" and lines["uwsgi.h.i.active_workers"] == "1"
    assert lines["uwsgi.h.i.cheaped_workers"] == "1" and lines["uwsgi.h.i.respawns"] == "2"
    report = CarbonReport(CarbonSettings(hostname="h", id="i", memory=True))
    lines2 = report.lines([worker(rss=100, vsz=200)], [], 1).decode()
    assert "uwsgi.h.i.worker1.rss_size 100 1\nuwsgi.h.i.worker1.vsz_size 200 1\n" in lines2
    assert "cheaped_workers" not in lines2


@pytest.mark.parametrize("mode, first, idle", [("last", "50", "50"), ("zero", "50", "0"), ("none", "50", None)])
def test_carbon_idle_avg(mode, first, idle):
    report = CarbonReport(CarbonSettings(hostname="h", id="i", idle_avg=mode))

    def avg(workers):
        for line in report.lines(workers, [], 1).decode().splitlines():
            if line.startswith("uwsgi.h.i.avg_rt "):
                return line.split()[1]
        return None

    busy = [worker(requests=3, avg_rt=50)]
    # uWSGI: before anything was delivered the period counts as idle too ("none" pushes nothing)
    assert avg(busy) == (None if mode == "none" else ("0" if mode == "zero" else "50"))
    report.delivered(busy)
    assert avg([worker(requests=4, avg_rt=50)]) == first  # requests arrived since: the real value
    assert avg(busy) == idle  # none arrived


def test_carbon_use_metrics_sends_every_metric_instead():
    report = CarbonReport(CarbonSettings(root="", hostname="h", id="i", use_metrics=True))
    metrics = [Metric("worker.1.requests", COUNTER, 4), Metric("hits", COUNTER, -1)]
    assert report.lines([worker()], metrics, 9) == b"h.i.worker.1.requests 4 9\nh.i.hits -1 9\n"


def test_carbon_busyness_is_the_share_of_the_period_in_requests():
    report = CarbonReport(CarbonSettings(freq=2))
    report.observe([worker(running_time=1_000_000)])
    assert report.busyness[1] == 50
    report.observe([worker(running_time=1_500_000)])
    assert report.busyness[1] == 25
    report.observe([worker(running_time=9_000_000)])
    assert report.busyness[1] == 100  # capped
    report.observe([worker(running_time=9_000_000)])
    assert report.busyness[1] == 0


# -- schedule ------------------------------------------------------------------------------------

def test_schedule_runs_every_period_and_at_once_first():
    s = Schedule(3)
    assert s.due(100.0)
    assert s.start(100.0) is False
    assert not s.due(100.5)  # running
    assert s.finish(100.0, failed=False) is None
    assert not s.due(102.9) and s.due(103.0) and s.next_due() == 103.0


def test_schedule_retries_then_gives_up():
    s = Schedule(60, max_retries=2, retry_delay=7)
    s.start(0.0)
    assert s.finish(0.0, failed=True) == "failed (0), retry in 7s"
    assert not s.due(6.9) and s.due(7.0) and s.next_due() == 7.0
    assert s.start(7.0) is True  # a retry round: only failed servers
    assert s.finish(7.0, failed=True) == "failed (1), retry in 7s"
    assert s.start(14.0) is True
    assert s.finish(14.0, failed=True) == "failed and maximum number of retries was reached (2)"
    assert not s.due(20.0) and s.due(74.0)  # back to the period, from the last run
    assert s.start(74.0) is False


def test_schedule_retry_success_and_no_retries():
    s = Schedule(60, max_retries=1, retry_delay=5)
    s.start(0.0)
    s.finish(0.0, True)
    s.start(5.0)
    assert s.finish(5.0, False) == "retry succeeded" and s.retries == 0
    quiet = Schedule(60)
    quiet.start(0.0)
    assert quiet.finish(0.0, True) is None and not quiet.due(59.0)


def test_failure_log_is_rate_limited():
    log = FailureLog(every=60)
    assert log.failure(0.0) == 0
    assert log.failure(1.0) is None and log.failure(59.0) is None
    assert log.failure(60.0) == 2  # one line, naming what was not logged
    assert log.success() is True and log.success() is False
    assert log.failure(61.0) == 0  # a new streak logs at once
