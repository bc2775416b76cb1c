"""``--pidfile``, ``--pidfile2``, ``--safe-pidfile`` and ``--daemonize`` through the real CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from server import ROOT, ServerProcess, gateway_command, spawn
from support.httpclient import request
from support.waits import pid_alive, wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/hello.py", "--tornado", "4", "--greenlet"]


def _detach(args, pid_path=None):
    """Run the CLI with a detaching option to completion (it returns once detached)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    extra = ["--pidfile", str(pid_path)] if pid_path is not None else []
    return subprocess.run(gateway_command(args + extra), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=20)


def _ready(log):
    return wait_until(lambda: re.search(r"gateway ready: pid=(\d+) http-socket=127\.0\.0\.1:(\d+)",
                                        log.read_text() if log.exists() else ""), what="the ready line")


def test_pidfiles_hold_the_master_pid_and_vacuum_removes_them(tmp_path):
    one, two, safe = tmp_path / "a.pid", tmp_path / "b.pid", tmp_path / "c.pid"
    srv = ServerProcess(spawn(APP + ["--http-socket", "127.0.0.1:0", "--master", "--processes", "2", "--vacuum",
                                     "--pidfile", str(one), "--pidfile2", str(two), "--safe-pidfile", str(safe)]))
    try:
        srv.wait_ready(20)
        for path in (one, two, safe):
            assert path.read_text() == "%d\n" % srv.proc.pid
        assert list(tmp_path.glob("*.tmp")) == []
        os.kill(srv.proc.pid, signal.SIGTERM)
        assert srv.proc.wait(20) == 0
    finally:
        srv.stop()
    assert not one.exists() and not two.exists() and not safe.exists()


def test_an_unwritable_pidfile_is_a_startup_error(tmp_path):
    proc = spawn(APP + ["--http-socket", "127.0.0.1:0", "--pidfile", str(tmp_path / "no" / "such" / "dir.pid")])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "--pidfile" in err and "No such file" in err, err


def test_daemonize_returns_at_once_and_serves_in_the_background(tmp_path):
    log, pid_path = tmp_path / "daemon.log", tmp_path / "daemon.pid"
    done = _detach(APP + ["--http-socket", "127.0.0.1:0", "--daemonize", str(log)], pid_path)
    assert done.returncode == 0 and done.stderr == b"", done.stderr  # detached: nothing on our terminal
    pid = int(wait_until(lambda: pid_path.exists() and pid_path.read_text().strip(), what="the pidfile"))
    try:
        m = _ready(log)
        assert int(m.group(1)) == pid and os.getsid(pid) != os.getsid(0)  # a session of its own: no terminal
        assert request(int(m.group(2)), "/").status == 200
    finally:
        os.kill(pid, signal.SIGTERM)  # the daemon this test started, by its pid
    assert wait_until(lambda: not pid_alive(pid), what="the daemon's exit")


def test_daemonize2_detaches_after_the_app_loaded_and_rewrites_the_pidfile(tmp_path):
    log, pid_path = tmp_path / "daemon2.log", tmp_path / "daemon2.pid"
    done = _detach(APP + ["--http-socket", "127.0.0.1:0", "--daemonize2", str(log)], pid_path)
    assert done.returncode == 0, done.stderr
    assert b"*** daemonizing uWSGI ***" in done.stderr  # before detaching: still on our terminal
    m = _ready(log)
    pid = int(m.group(1))
    try:
        assert int(pid_path.read_text().strip()) == pid  # rewritten with the detached master's pid
        assert os.getsid(pid) != os.getsid(0)
        assert request(int(m.group(2)), "/").status == 200
    finally:
        os.kill(pid, signal.SIGTERM)  # the daemon this test started, by its pid
    assert wait_until(lambda: not pid_alive(pid), what="the daemon's exit")
    # a broken app fails on the terminal, before any detaching
    broken = _detach(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/import_raises.py",
                      "--daemonize2", str(tmp_path / "never.log")])
    assert broken.returncode == 1 and b"Traceback" in broken.stderr
    assert not (tmp_path / "never.log").exists()
