"""``--master-fifo``: commands written to a named pipe reach the master."""

from __future__ import annotations

import os
import stat

import pytest

from server import ServerProcess, run_server, spawn
from support.fifo import say
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/process_probe.py", "--tornado", "4", "--greenlet", "--master", "--processes", "1"]




def _pid(port: int) -> int:
    import ast
    return ast.literal_eval(request(port, "/").body.decode())["pid"]


def test_reload_stats_pidfile_and_graceful_stop(tmp_path):
    fifo, pidfile = tmp_path / "ctl.fifo", tmp_path / "app.pid"
    srv = ServerProcess(spawn(APP + ["--http-socket", "127.0.0.1:0", "--master-fifo", str(fifo), "--vacuum",
                                     "--stats", "127.0.0.1:0", "--pidfile", str(pidfile)]))
    try:
        srv.wait_ready(20)
        assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_IMODE(os.stat(fifo).st_mode) == 0o600
        first = _pid(srv.port)
        say(fifo, "r\n")
        srv.wait_for_line(r"\.\.\.gracefully killing workers\.\.\.")
        assert wait_until(lambda: _pid(srv.port) != first, what="the reloaded worker")
        say(fifo, "s")
        srv.wait_for_line(r"^\tworker 1 app 0 \[\] requests: \d+ exceptions: 0$")  # uWSGI's statistics, in the log
        pidfile.unlink()
        say(fifo, "Px")
        assert wait_until(lambda: pidfile.exists() and pidfile.read_text() == "%d\n" % srv.proc.pid, what="the pidfile")
        srv.wait_for_line(r"\[master-fifo\] unknown command 'x'")
        say(fifo, "q")
        assert srv.proc.wait(20) == 0
        assert "\ngraceful shutdown triggered...\n" in srv.output()  # uWSGI's line
    finally:
        srv.stop()
    assert not fifo.exists()  # --vacuum: it was created here


def test_slots_select_which_fifo_is_read(tmp_path):
    a, b = tmp_path / "a.fifo", tmp_path / "b.fifo"
    with run_server(APP + ["--master-fifo", str(a), "--master-fifo", str(b)]) as srv:
        say(b, "r")  # slot 0 (a) is the active one: ignored
        say(b, "1")
        srv.wait_for_line(r"^active master fifo is now %s$" % b)
        say(a, "r")  # now a is ignored...
        say(b, "r")  # ...and b reloads
        srv.wait_for_line(r"\.\.\.gracefully killing workers\.\.\.")
        assert srv.output().count("...gracefully killing workers...") == 1


def test_a_file_in_the_way_is_a_startup_error(tmp_path):
    path = tmp_path / "not-a-fifo"
    path.write_text("x")
    proc = spawn(APP + ["--http-socket", "127.0.0.1:0", "--master-fifo", str(path)])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "--master-fifo %s: a file that is not a FIFO is in the way" % path in err, err


def test_log_rotate_and_reopen_commands(tmp_path):
    import re

    fifo, log = tmp_path / "ctl.fifo", tmp_path / "app.log"
    srv = ServerProcess(spawn(APP + ["--http-socket", "127.0.0.1:0", "--master-fifo", str(fifo), "--log-master",
                                     "--logto", str(log)]))
    try:
        port = int(wait_until(lambda: log.exists() and re.search(r"http-socket=127\.0\.0\.1:(\d+)", log.read_text()),
                              what="the ready line").group(1))
        say(fifo, "L")
        rotated = wait_until(lambda: list(tmp_path.glob("app.log.*")), what="the rotated log")
        assert "triggering rotation to %s" % rotated[0] in rotated[0].read_text()
        moved = tmp_path / "moved.log"
        os.rename(log, moved)
        say(fifo, "l")
        assert wait_until(lambda: log.exists() and "reopened." in log.read_text(), what="the reopened log")
        # uWSGI's lines: the last one of the old file, the first one of the new
        assert re.search(r"^\[\d+\] logsize: \d+, triggering log-reopen\.\.\.$", moved.read_text(), re.M)
        assert re.match(r"\[\d+\] %s reopened\.\n" % re.escape(str(log)), log.read_text()), log.read_text()
        request(port, "/")
        assert wait_until(lambda: "GET / =>" in log.read_text(), what="a request line in the reopened log")
    finally:
        srv.stop()


def test_s_blocks_and_unblocks_the_subscription_announces(tmp_path):
    """``--start-unsubscribed``: nothing is announced until the FIFO's ``S`` (uWSGI's
    ``subscriptions re-enabled``); blocked again, not even the shutdown's unsubscribe is sent."""
    import socket

    from gateway.router.subscription import SUBSCRIBE, parse_subscription

    fifo = tmp_path / "ctl.fifo"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(1.5)  # past the first announce round (--subscribe-freq 1)
        server = "127.0.0.1:%d" % sink.getsockname()[1]
        srv = ServerProcess(spawn(APP + ["--http-socket", "127.0.0.1:0", "--master-fifo", str(fifo),
                                         "--subscribe-to", server + ":app.example", "--subscribe-freq", "1",
                                         "--start-unsubscribed"]))
        try:
            srv.wait_ready(20)
            with pytest.raises(socket.timeout):
                sink.recv(4096)
            say(fifo, "S")
            srv.wait_for_line(r"^subscriptions re-enabled$")
            sink.settimeout(5)
            announce = parse_subscription(sink.recv(4096))
            assert (announce.command, announce.key) == (SUBSCRIBE, "app.example")
            say(fifo, "S")
            srv.wait_for_line(r"^subscriptions blocked$")
            say(fifo, "q")
            assert srv.proc.wait(20) == 0
            sink.settimeout(0)
            while True:  # what was sent before the block: announces only, no unsubscribe
                try:
                    assert parse_subscription(sink.recv(4096)).command == SUBSCRIBE
                except BlockingIOError:
                    break
        finally:
            srv.stop()
