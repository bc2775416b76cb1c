"""``--py-tracebacker``: a worker's threads and suspended cores, read with ``--connect-and-read``."""

from __future__ import annotations

import http.client
import os
import re
import signal
import threading

import pytest

from server import run_cli, run_server
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)


def test_the_report_shows_threads_and_the_cores_of_requests_in_flight(tmp_path):
    prefix = str(tmp_path / "tb")
    args = ["--wsgi-file", "tests/apps/uwsgi_probe.py", "--tornado", "4", "--greenlet", "--py-tracebacker", prefix]
    with run_server(args) as srv:
        srv.wait_for_line(r"python tracebacker for worker 1 available on %s1" % re.escape(prefix))
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        c.request("GET", "/stream")
        r = c.getresponse()
        assert r.readline() == b"first\n"  # the request's core now waits in loop_engine.wait
        out = run_cli(["--connect-and-read", prefix + "1"])
        assert request(srv.port, "/release").body == b"released 1"
        assert r.read() == b"second\n"
        c.close()
    assert out.returncode == 0, out.stderr
    report = out.stdout
    assert report.startswith("*** uWSGI Python tracebacker output ***\n\n")
    assert re.search(r"^thread_id = MainThread filename = \S+ lineno = \d+ function = \S+", report, re.M)
    assert re.search(r"^thread_id = uWSGITraceBacker filename = \S+tracebacker\.py lineno = \d+ function = _serve", report, re.M)
    assert re.search(r"^thread_id = (core \d|parked) filename = \S+uwsgi_probe\.py lineno = \d+ function = gen "
                     r"line = loop_engine\.wait\(fut, timeout=20\)$", report, re.M), report


def test_connect_and_read_a_socket_that_is_not_there(tmp_path):
    out = run_cli(["--connect-and-read", str(tmp_path / "nothing")])
    assert out.returncode == 1 and "--connect-and-read" in out.stderr and "No such file" in out.stderr


def test_a_reload_keeps_the_socket_of_the_new_worker_when_the_old_one_exits(tmp_path):
    """After a graceful reload the new worker 1 binds PATH1 while the old one finishes its
    request; the old one, exiting, must not remove the new one's socket file."""
    prefix = str(tmp_path / "tb")
    available = "python tracebacker for worker 1 available on %s1" % re.escape(prefix)
    args = ["--wsgi-file", "tests/apps/slow.py", "--master", "--py-tracebacker", prefix, "--worker-reload-mercy", "20"]
    with run_server(args) as srv:
        old_pid = int(re.search(r"pid: (\d+)", srv.wait_for_line(r"spawned uWSGI worker 1 \(pid: \d+")).group(1))
        srv.wait_for_line(available)
        answer = []
        slow = threading.Thread(target=lambda: answer.append(request(srv.port, "/held?3").body))
        slow.start()
        srv.wait_for_line(r"slow: started /held")
        os.kill(srv.pid, signal.SIGHUP)
        wait_until(lambda: sum(1 for line in list(srv.lines) if re.search(available, line)) == 2,
                   what="the new worker's tracebacker")
        srv.wait_for_line(r"worker 1 buried after .*pid: %d" % old_pid, timeout=15)
        slow.join(10)
        assert answer == [b"slow done"]  # the old worker finished its request, then exited
        assert os.path.exists(prefix + "1")
        out = run_cli(["--connect-and-read", prefix + "1"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("*** uWSGI Python tracebacker output ***")
