"""Which requests are logged: ``--disable-logging`` with ``--log-4xx``, ``--log-5xx``,
``--log-slow``, ``--log-big`` (uWSGI's "log only the interesting ones"), and
``--log-x-forwarded-for``."""

from __future__ import annotations

import re

import pytest

from server import run_server
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/status_probe.py", "--tornado", "4", "--greenlet"]
REQUESTS = ["/status/200", "/status/404", "/status/503", "/slow?0.3", "/big?300000", "/status/302", "/last"]


def _logged(flags, expected):
    with run_server(APP + flags) as srv:
        for path in REQUESTS:
            request(srv.port, path, timeout=10)
        if expected:  # the harness reads the server's output in a thread: wait for the last line
            srv.wait_for_line(r"GET %s =>" % re.escape(expected[-1]), timeout=5)
        out = srv.output()
    return [m.group(1) for m in re.finditer(r"\] GET (\S+) =>", out)]


@pytest.mark.parametrize("flags,expected", [
    ([], REQUESTS),
    (["--disable-logging"], []),
    (["--disable-logging", "--log-4xx", "--log-5xx"], ["/status/404", "/status/503"]),
    (["--disable-logging", "--log-5xx", "--log-slow", "250"], ["/status/503", "/slow?0.3"]),
    (["--disable-logging", "--log-big", "100000"], ["/big?300000"]),
    (["--log-4xx"], REQUESTS),  # without --disable-logging every request is logged anyway
])
def test_which_requests_are_logged(flags, expected):
    assert _logged(flags, expected) == expected


def test_log_x_forwarded_for_shows_the_client_behind_a_proxy():
    with run_server(APP + ["--log-x-forwarded-for"]) as srv:
        request(srv.port, "/status/200", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=10)
        request(srv.port, "/last", timeout=10)
        first = srv.wait_for_line(r"GET /status/200 =>")
        last = srv.wait_for_line(r"GET /last =>")
    assert "] 203.0.113.7 () {" in first
    assert "] 127.0.0.1 () {" in last  # no header: REMOTE_ADDR


def test_memory_report_prefixes_the_request_line_with_the_workers_memory():
    with run_server(APP + ["--memory-report"]) as srv:
        request(srv.port, "/status/200", timeout=10)
        line = srv.wait_for_line(r"GET /status/200 =>")
    m = re.match(r"\{address space usage: (\d+) bytes/(\d+)MB\} \{rss usage: (\d+) bytes/(\d+)MB\} \[pid: (\d+)\|", line)
    assert m, line
    vsz, vsz_mb, rss, rss_mb, pid = (int(x) for x in m.groups())
    assert vsz >> 20 == vsz_mb and rss >> 20 == rss_mb and 0 < rss < vsz
    assert 10 < rss_mb < 1000  # a Python worker's resident size, not pages or KiB


@pytest.mark.parametrize("value,pattern", [
    # uWSGI's ctime(): the day of the month padded with a space ("Sat Dec  5 02:18:23 2026")
    ("true", r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d \d{4} - "),
    ("%Y-%m-%dT%H:%M:%S", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d - "),
])
def test_logdate_prefixes_the_servers_lines_but_not_the_request_lines(value, pattern):
    with run_server(APP + ["--logdate", value]) as srv:
        request(srv.port, "/status/200", timeout=10)
        access = srv.wait_for_line(r"GET /status/200 =>")
        ready = srv.wait_for_line(r"gateway ready: pid=")
        engine = srv.wait_for_line(r"running tornado loop engine")
    assert re.match(pattern + r"\*\*\* running", engine), engine
    assert access.startswith("[pid: "), access  # uWSGI writes request lines without the date
    assert ready.startswith("gateway ready: ")  # the machine-readable line stays bare


def test_logdate_refuses_a_value_that_is_no_format():
    from server import spawn

    proc = spawn(APP + ["--http-socket", "127.0.0.1:0", "--logdate", "sometimes"])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0 and "--logdate" in err and "strftime" in err, err
