"""``--auto-procname`` and ``--procname-*``: process names in ``ps`` (``/proc/PID/cmdline``)
and ``top`` (``/proc/PID/comm``), Linux."""

from __future__ import annotations

import os
import re
import sys

import pytest

from server import run_server
from support.waits import wait_until

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")]

APP = ["--wsgi-file", "tests/apps/hello.py", "--tornado", "4", "--greenlet", "--master", "--processes", "2"]


def _names(pid: int):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        cmdline = f.read().rstrip(b"\0").replace(b"\0", b" ").decode()
    with open("/proc/%d/comm" % pid) as f:
        comm = f.read().strip()
    return cmdline, comm


def _children(srv, want: int):
    def pids():
        found = [int(p) for p in re.findall(r"spawned uWSGI (?:worker \d+|http \d+) \(pid: (\d+)", srv.output())]
        return found if len(found) >= want else None
    return wait_until(pids, what="the children's pids")


def test_auto_procname_names_master_workers_and_router():
    with run_server(APP + ["--auto-procname", "--http", "127.0.0.1:0"]) as srv:
        kids = _children(srv, 3)
        names = {_names(pid)[0] for pid in kids}
        assert names == {"uWSGI worker 1", "uWSGI worker 2", "uWSGI http 1"}
        assert _names(srv.pid) == ("uWSGI master", "uWSGI master")
        assert _names(kids[0])[1].startswith("uWSGI ")  # comm: 15 bytes at most


def test_prefix_append_and_explicit_names():
    args = APP + ["--procname-prefix-spaced", "[shop]", "--procname-append", " (py)", "--procname-master", "shop-master"]
    with run_server(args) as srv:
        kids = _children(srv, 2)
        assert _names(srv.pid)[0] == "[shop] shop-master (py)"
        assert {_names(pid)[0] for pid in kids} == {"[shop] uWSGI worker 1 (py)", "[shop] uWSGI worker 2 (py)"}


def test_without_the_options_the_command_line_is_left_alone():
    with run_server(APP) as srv:
        kids = _children(srv, 2)
        for pid in [srv.pid] + kids:
            assert "gateway" in _names(pid)[0] and "--wsgi-file" in _names(pid)[0]
        assert os.getpid() != srv.pid
