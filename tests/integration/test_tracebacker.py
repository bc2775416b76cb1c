"""``--py-tracebacker``: a worker's threads and suspended cores, read with ``--connect-and-read``."""

from __future__ import annotations

import http.client
import re

import pytest

from server import run_cli, run_server
from support.httpclient import request

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
