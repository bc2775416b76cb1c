"""The pushers' sockets against real local peers, driven by a tiny selectors loop standing in
for the master (gateway/pushers/statsd.py, gateway/pushers/carbon.py)."""

from __future__ import annotations

import logging
import os
import selectors
import socket
import time

import pytest

from gateway.pushers.carbon import CarbonPusher, CarbonReport, CarbonServer, CarbonSettings
from gateway.pushers.schedule import Schedule
from gateway.pushers.statsd import StatsdPusher
from gateway.sharedmem.metrics import COUNTER, GAUGE
from gateway.subsystems.builtin_metrics import Metric

pytestmark = pytest.mark.timeout(30)


class Loop:
    """The part of the master a pusher uses: add_writer / remove_reader / call_later."""

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.timers = []

    def add_writer(self, sock, callback):
        self.sel.register(sock, selectors.EVENT_WRITE, callback)

    def remove_reader(self, sock):
        self.sel.unregister(sock)

    def call_later(self, delay, callback):
        self.timers.append((time.monotonic() + delay, callback))

    def run_until(self, predicate, timeout=5.0):
        end = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < end, "timed out"
            for key, _ in self.sel.select(0.02):
                key.data()
            now = time.monotonic()
            due = [t for t in self.timers if t[0] <= now]
            self.timers = [t for t in self.timers if t[0] > now]
            for _, callback in due:
                callback()


def worker(**kw):
    w = {"requests": 2, "avg_rt": 10, "tx": 5, "running_time": 0, "cores": []}
    w.update(kw)
    return w


def carbon(servers, loop, *, timeout=3.0, max_retries=0, report=None):
    schedule = Schedule(60, max_retries, 1)
    report = report or CarbonReport(CarbonSettings(root="r.", hostname="h", id="i"))
    return CarbonPusher(servers, report, schedule, timeout, loop), schedule


def tcp_server(addr):
    return CarbonServer("%s:%d" % addr, socket.AF_INET, addr)


def test_statsd_datagrams_reach_a_udp_socket():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    pusher = StatsdPusher("x", socket.AF_INET, rx.getsockname(), "app", no_workers=True)
    try:
        assert pusher.push([Metric("worker.1.requests", COUNTER, 1), Metric("core.total_rss", GAUGE, 9),
                            Metric("hits", COUNTER, 3)], 0.0)
        assert rx.recv(100) == b"app.core.total_rss:9|g"
        assert rx.recv(100) == b"app.hits:3|c"
        assert pusher.sent == 2
    finally:
        pusher.close()
        rx.close()


def test_statsd_to_a_dead_unix_socket_logs_once_per_minute(tmp_path, caplog):
    path = str(tmp_path / "statsd.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.close()  # the path exists, nobody reads: ECONNREFUSED
    pusher = StatsdPusher(path, socket.AF_UNIX, path, "app")
    caplog.set_level(logging.INFO, "gateway")
    try:
        for now in (0.0, 1.0, 2.0):
            assert not pusher.push([Metric("a", GAUGE, 1)], now)
        assert pusher.push([], 3.0)  # nothing to send works again
        failures = [r for r in caplog.records if "sendto()" in r.getMessage()]
        assert len(failures) == 1 and "Connection refused" in failures[0].getMessage()
        assert [r for r in caplog.records if "works again" in r.getMessage()]
    finally:
        pusher.close()
        os.unlink(path)


def test_carbon_delivers_the_lines_and_closes():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    loop = Loop()
    pusher, schedule = carbon([tcp_server(listener.getsockname())], loop)
    ends = []
    pusher.on_round_end = lambda: ends.append(1)
    schedule.start(time.monotonic())
    pusher.push([worker()], [], time.monotonic(), False)
    conn, _ = listener.accept()
    conn.settimeout(5)
    loop.run_until(lambda: ends)
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    listener.close()
    lines = data.decode().splitlines()
    assert lines[0].startswith("r.h.i.requests 2 ") and abs(int(lines[0].split()[2]) - time.time()) < 5
    assert "r.h.i.worker1.avg_rt 10" in [line.rsplit(" ", 1)[0] for line in lines]
    assert not schedule.running and not schedule.needs_retry
    assert pusher.report.last_requests == 2  # delivered: the idle-avg reference


def test_carbon_refused_is_retried_and_logged_once(caplog):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    addr = probe.getsockname()
    probe.close()  # nobody listens there now
    loop = Loop()
    pusher, schedule = carbon([tcp_server(addr)], loop, max_retries=1)
    caplog.set_level(logging.INFO, "gateway")
    ends = []
    pusher.on_round_end = lambda: ends.append(1)
    schedule.start(time.monotonic())
    pusher.push([worker()], [], time.monotonic(), False)
    loop.run_until(lambda: len(ends) == 1)
    assert schedule.needs_retry and pusher.servers[0].errors == 1
    retry = schedule.start(time.monotonic())
    assert retry
    pusher.push([worker()], [], time.monotonic(), retry)
    loop.run_until(lambda: len(ends) == 2)
    assert not schedule.needs_retry  # max retries reached
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "Could not connect to carbon server" in m]) == 1
    assert "[carbon] Retrying failed server at %s:%d (1)" % addr in messages
    assert "[uwsgi-stats-pusher] carbon failed and maximum number of retries was reached (1)" in messages


class BigReport(CarbonReport):
    def lines(self, workers, metrics, now):
        return b"x" * (32 << 20)


def test_carbon_stalled_reader_is_abandoned_after_the_timeout(caplog):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # accepts in the kernel, never reads
    loop = Loop()
    pusher, schedule = carbon([tcp_server(listener.getsockname())], loop, timeout=1.0,
                              report=BigReport(CarbonSettings()))
    caplog.set_level(logging.INFO, "gateway")
    ends = []
    pusher.on_round_end = lambda: ends.append(1)
    started = time.monotonic()
    schedule.start(started)
    pusher.push([worker()], [], started, False)
    loop.run_until(lambda: ends, timeout=10)
    assert 0.9 <= time.monotonic() - started < 5
    assert pusher.servers[0].sock is None and schedule.needs_retry is False and not schedule.running
    assert any("write to carbon server at" in r.getMessage() and "timed out" in r.getMessage()
               for r in caplog.records)
    listener.close()


def test_statsd_to_a_unix_datagram_socket(tmp_path):
    path = str(tmp_path / "statsd.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(5)
    pusher = StatsdPusher(path, socket.AF_UNIX, path, "p", all_gauges=True)
    try:
        assert pusher.push([Metric("worker.1.requests", COUNTER, 4)], 0.0)
        assert rx.recv(100) == b"p.worker.1.requests:4|g"
    finally:
        pusher.close()
        rx.close()
