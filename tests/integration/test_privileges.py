"""``--uid``/``--gid``: started as root, bound as root, serving as ``nobody`` (workers,
threads and a reload included); the root warning; unknown users."""

from __future__ import annotations

import os
import signal

import pytest

from server import run_cli, run_server
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/whoami.py"]


def needs_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (the CI container runs as root)")


def test_master_and_workers_drop_to_nobody_after_binding():
    needs_root()
    with run_server(APP + ["--master", "--processes", "2", "--threads", "2", "--uid", "nobody",
                           "--stats", "127.0.0.1:0"]) as srv:
        for _ in range(4):
            assert request(srv.port, "/").body.startswith(b"uid=65534 gid=65534 euid=65534 groups=[65534]")
        with open("/proc/%d/status" % srv.pid) as f:
            uids = [line for line in f if line.startswith("Uid:")][0].split()[1:]
        assert uids == ["65534"] * 4  # the master too: no way back to root
        os.kill(srv.pid, signal.SIGHUP)  # the reload imports the app again, as nobody
        srv.wait_for_line(r"gracefully \(RE\)spawned uWSGI master process")
        srv.wait_for_line(r"worker 2 buried after")
        assert request(srv.port, "/").body.startswith(b"uid=65534")
        out = srv.output()
    assert "setuid() to 65534" in out and "running gateway as root" not in out


def test_single_worker_with_a_numeric_uid_and_a_group_name():
    needs_root()
    with run_server(APP + ["--uid", "65534", "--gid", "nogroup"]) as srv:
        assert request(srv.port, "/").body.startswith(b"uid=65534 gid=65534")


def test_shared_socket_bound_as_root_served_by_nobody_workers():
    needs_root()
    with run_server(APP + ["--shared-socket", "127.0.0.1:0", "--http-socket", "=0", "--master",
                           "--processes", "2", "--uid", "nobody"]) as srv:
        assert request(srv.port, "/").body.startswith(b"uid=65534")
        assert srv.addresses == ["127.0.0.1:%d" % srv.port]


def test_a_reference_to_a_missing_shared_socket_is_one_clear_error():
    result = run_cli(APP + ["--shared-socket", "127.0.0.1:0", "--http-socket", "=1"])
    assert result.returncode == 1
    assert "gateway: =1: there is no shared socket 1 (1 --shared-socket given)" in result.stderr


def test_serving_as_root_warns():
    needs_root()
    with run_server(APP) as srv:
        assert "*** WARNING: you are running gateway as root !!! (use the --uid flag) ***" in srv.output()


def test_unknown_user_is_one_clear_error():
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + ["--uid", "no-such-user-here"])
    assert result.returncode == 1
    assert "gateway: --uid no-such-user-here: no such user" in result.stderr
