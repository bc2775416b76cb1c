"""``--log-master`` through the real CLI: the master writes every process's output to the log
target as whole lines; a log target that does not read never blocks a worker."""

from __future__ import annotations

import os
import re
import signal
import stat
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from server import ServerProcess, spawn
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/log_lines.py", "--tornado", "8", "--greenlet"]
MARK = re.compile(r"^MARK pid=(\d+) n=(\d+) x{1000} END$")
ERR = re.compile(r"^ERR pid=(\d+) n=(\d+)$")


def ready_port(read):
    m = re.search(r"gateway ready: pid=\d+ http-socket=127.0.0.1:(\d+)", read())
    return int(m.group(1)) if m else None


def test_lines_of_both_workers_land_whole_in_the_logto_file(tmp_path):
    log = tmp_path / "gateway.log"
    proc = spawn(["--http-socket", "127.0.0.1:0"] + APP + [
        "--master", "--processes", "2", "--log-master", "--logto", str(log)])
    srv = ServerProcess(proc)
    try:
        port = wait_until(lambda: ready_port(lambda: log.read_text() if log.exists() else ""),
                          what="the ready line in the log file", timeout=20)
        n = 400
        with ThreadPoolExecutor(16) as pool:
            pids = set(pool.map(lambda i: request(port, "/?%d" % i, timeout=20).body, range(n)))
        assert len(pids) == 2, "both workers served"
        request(port, "/long?20000", timeout=20)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        srv.stop()
    lines = log.read_text().split("\n")
    assert lines[-1] == ""  # ends with a whole line
    lines = lines[:-1]
    marks = [m for m in map(MARK.match, lines) if m]
    errs = [m for m in map(ERR.match, lines) if m]
    # every marker and every wsgi.errors line is there once, whole, from both workers
    assert sorted(int(m.group(2)) for m in marks) == list(range(n))
    assert sorted(int(m.group(2)) for m in errs) == list(range(n))
    assert {m.group(1) for m in marks} == {p.decode() for p in pids}
    # no line holds pieces of two (a marker cut or glued shows up as an unmatched line)
    strays = [ln[:80] for ln in lines if ("MARK" in ln and not MARK.match(ln)) or ("ERR pid" in ln and not ERR.match(ln))]
    assert strays == []
    # a 20000-byte line comes out split at --log-master-bufsize (8192), not dropped
    longs = [ln for ln in lines if ln and set(ln) == {"y"}]
    assert [len(ln) for ln in longs] == [8192, 8192, 3616]
    text = "\n".join(lines)
    for pattern in (r"spawned uWSGI master process", r"spawned uWSGI worker 1 \(pid", r"spawned uWSGI worker 2 \(pid",
                    r"SIGTERM received\.\.\.gracefully killing workers", r"worker 1 buried", r"worker 2 buried",
                    r"\[pid: \d+\|app: 0\|req: \d+/\d+\] 127\.0\.0\.1 .* GET /\?\d+ "):
        assert re.search(pattern, text), pattern
    assert lines[-1] == "goodbye to uWSGI."  # the master's last line, flushed at exit
    assert srv.output() == ""  # nothing on the original stderr


def test_log_master_implies_a_master(tmp_path):
    log = tmp_path / "gateway.log"
    proc = spawn(["--http-socket", "127.0.0.1:0"] + APP + ["--log-master", "--logto", str(log)])
    srv = ServerProcess(proc)
    try:
        port = wait_until(lambda: ready_port(lambda: log.read_text() if log.exists() else ""),
                          what="the ready line in the log file", timeout=20)
        worker_pid = int(request(port, "/?1").body)
        assert worker_pid != proc.pid  # the app runs in a worker forked by a master
        assert "spawned uWSGI master process (pid: %d)" % proc.pid in log.read_text()
    finally:
        srv.stop()
    assert proc.returncode == 0


def test_a_log_target_that_does_not_read_never_blocks_the_workers(tmp_path):
    fifo = str(tmp_path / "log.fifo")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the target exists but is not read
    got = bytearray()

    def read_some() -> str:
        try:
            while True:
                chunk = os.read(reader, 1 << 16)
                if not chunk:
                    break
                got.extend(chunk)
        except BlockingIOError:
            pass
        return got.decode("utf-8", "replace")

    proc = spawn(["--http-socket", "127.0.0.1:0"] + APP + [
        "--master", "--processes", "2", "--log-master", "--logto", fifo, "--log-master-backlog", "65536",
        "--worker-reload-mercy", "5"])
    srv = ServerProcess(proc)
    try:
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        port = wait_until(lambda: ready_port(read_some), what="the ready line in the fifo", timeout=20)
        # ~2.3 KB of log per request, 300 requests: far more than the fifo (64 KiB) and the
        # backlog hold, while nobody reads; every request is answered all the same.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: request(port, "/?%d" % i, timeout=10).status, range(300)))
        assert answers == [200] * 300
        # the target reads again: the master writes its backlog, then says what it dropped
        text = wait_until(lambda: re.search(r"--log-master dropped \d+ lines", read_some() if request(
            port, "/?9999", timeout=10) else "") and got.decode("utf-8", "replace"),
            what="the dropped-lines notice", timeout=20)
        dropped = int(re.search(r"--log-master dropped (\d+) lines", text).group(1))
        assert dropped > 0
        lines = text.split("\n")
        strays = [ln[:80] for ln in lines[:-1] if "MARK" in ln and not MARK.match(ln)]
        assert strays == []
        os.kill(proc.pid, signal.SIGTERM)
        deadline = time.time() + 20
        while proc.poll() is None and time.time() < deadline:
            read_some()
            time.sleep(0.02)
        assert proc.poll() == 0
        assert "goodbye to uWSGI." in read_some()
    finally:
        srv.stop()
        os.close(reader)


def test_to_stderr_without_logto():
    """The log target is the master's stderr (a pipe here, as under systemd or a supervisor)."""
    from server import run_server

    with run_server(APP + ["--master", "--processes", "2", "--log-master"]) as srv:
        for i in range(20):
            request(srv.port, "/?%d" % i)
        srv.wait_for_line(r"^ERR pid=\d+ n=19$")
        srv.wait_for_line(r"^MARK pid=\d+ n=19 x{1000} END$")
    marks = [ln for ln in srv.lines if MARK.match(ln)]
    assert len(marks) == 20
    assert [ln for ln in srv.lines if "MARK" in ln and not MARK.match(ln)] == []
    assert srv.lines[-1] == "goodbye to uWSGI."


# -- rotation: --log-maxsize, --log-backupname, --touch-logrotate, --touch-logreopen -----------------

def _start_logging(tmp_path, extra):
    log = tmp_path / "gateway.log"
    proc = spawn(["--http-socket", "127.0.0.1:0"] + APP + ["--master", "--processes", "2", "--logto", str(log)] + extra)
    srv = ServerProcess(proc)
    port = wait_until(lambda: ready_port(lambda: log.read_text() if log.exists() else ""),
                      what="the ready line in the log file", timeout=20)
    return log, proc, srv, port


def _marks(paths):
    """n of every MARK line in the files, and the files' texts."""
    found = []
    for path in paths:
        for line in path.read_text().split("\n"):
            m = MARK.match(line)
            if m:
                found.append(int(m.group(2)))
    return found


def test_log_maxsize_rotates_the_file_and_loses_no_line(tmp_path):
    log, proc, srv, port = _start_logging(tmp_path, ["--log-maxsize", "20000"])  # implies --log-master
    try:
        n = 120  # ~2.3 KB of log each: about a dozen rotations
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: request(port, "/?%d" % i, timeout=20), range(n)))
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        srv.stop()
    rotated = sorted(tmp_path.glob("gateway.log.*"))
    # each file holds at most the limit plus one batch of the log master (64 KiB; batches grow
    # when the machine is busy), so the bytes written set how few rotations there can be
    total = sum(path.stat().st_size for path in rotated + [log])
    assert len(rotated) >= 2 and len(rotated) + 1 >= -(-total // (20000 + 64 * 1024)), rotated
    for path in rotated:
        text = path.read_text()
        name = re.escape(str(path))
        # each rotated file ends with uWSGI's dated notice, naming itself, after whole lines
        assert re.search(r"\n\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} - logsize: (\d+), triggering rotation to %s\.\.\.\n$"
                         % name, text), text[-200:]
        size = int(re.search(r"logsize: (\d+), triggering", text).group(1))
        assert 20000 < size < 20000 + 64 * 1024  # rotated at the first batch past the limit
        assert re.fullmatch(r"gateway\.log\.\d{10}(\.\d+)?", path.name)
    assert sorted(_marks(rotated + [log])) == list(range(n))  # every line once, none lost or cut
    assert log.read_text().endswith("goodbye to uWSGI.\n")
    assert srv.output() == ""


def test_log_backupname_keeps_one_backup(tmp_path):
    backup = tmp_path / "old.log"
    log, proc, srv, port = _start_logging(tmp_path, ["--log-maxsize", "8000", "--log-backupname", str(backup)])
    try:
        for i in range(20):
            request(port, "/?%d" % i, timeout=20)
        assert wait_until(lambda: backup.exists() and "triggering rotation to %s" % backup in backup.read_text(),
                          what="the backup")
    finally:
        srv.stop()
    assert list(tmp_path.glob("gateway.log.*")) == []
    assert backup.stat().st_size < 8000 + 64 * 1024


def test_touch_logrotate_and_touch_logreopen(tmp_path):
    rot, reo = tmp_path / "rotate.trigger", tmp_path / "reopen.trigger"
    rot.write_text("")
    reo.write_text("")
    log, proc, srv, port = _start_logging(tmp_path, ["--touch-logrotate", str(rot), "--touch-logreopen", str(reo)])
    try:
        request(port, "/?1", timeout=20)
        assert wait_until(lambda: 1 in _marks([log]), what="the first line")
        os.utime(rot, (time.time() + 5, time.time() + 5))
        rotated = wait_until(lambda: list(tmp_path.glob("gateway.log.*")), what="the rotation")
        assert len(rotated) == 1 and 1 in _marks(rotated)
        request(port, "/?2", timeout=20)
        assert wait_until(lambda: 2 in _marks([log]), what="a line in the new file")
        # logrotate's way: the file is moved, then the server is told to reopen its path
        moved = tmp_path / "moved.log"
        os.rename(log, moved)
        request(port, "/?3", timeout=20)
        assert wait_until(lambda: 3 in _marks([moved]), what="a line in the moved file")
        os.utime(reo, (time.time() + 5, time.time() + 5))
        assert wait_until(lambda: log.exists() and "%s reopened." % log in log.read_text(),
                          what="the reopened file")
        request(port, "/?4", timeout=20)
        assert wait_until(lambda: 4 in _marks([log]), what="a line in the reopened file")
    finally:
        srv.stop()
    assert sorted(_marks(rotated + [moved, log])) == [1, 2, 3, 4]


@pytest.mark.parametrize("option", [["--log-maxsize", "1000"], ["--touch-logrotate", "/tmp/x"], ["--log-reopen"]])
def test_log_rotation_options_need_a_logto_file(option):
    proc = spawn(["--http-socket", "127.0.0.1:0"] + APP + option)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0
    assert "%s needs --logto FILE" % option[0] in err, err


def test_log_reopen_reopens_the_file_at_each_reload(tmp_path):
    log, proc, srv, port = _start_logging(tmp_path, ["--log-reopen"])
    try:
        moved = tmp_path / "moved.log"
        os.rename(log, moved)
        os.kill(proc.pid, signal.SIGHUP)
        assert wait_until(lambda: log.exists() and "gracefully killing workers" in log.read_text(),
                          what="the reopened file")
        request(port, "/?7", timeout=20)
        assert wait_until(lambda: 7 in _marks([log]), what="a line in the reopened file")
    finally:
        srv.stop()
    assert "spawned uWSGI master process" in moved.read_text()


def test_a_relative_logto_rotates_in_its_own_directory_after_chdir(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = spawn(["--http-socket", "127.0.0.1:0", "--wsgi-file", os.path.abspath("tests/apps/log_lines.py"),
                  "--logto", "gateway.log", "--log-maxsize", "4000", "--chdir", str(elsewhere)], cwd=str(logs))
    srv = ServerProcess(proc)
    log = logs / "gateway.log"
    try:
        port = wait_until(lambda: ready_port(lambda: log.read_text() if log.exists() else ""),
                          what="the ready line in the log file", timeout=20)
        for i in range(6):
            request(port, "/?%d" % i, timeout=20)
        assert wait_until(lambda: list(logs.glob("gateway.log.*")), what="a rotation next to the log")
    finally:
        srv.stop()
    assert list(elsewhere.iterdir()) == []


def test_threaded_logger_is_the_log_master(tmp_path):
    log, proc, srv, port = _start_logging(tmp_path, ["--threaded-logger"])
    try:
        request(port, "/long?20000", timeout=20)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        srv.stop()
    # the master relays the workers' output: a long line is cut at --log-master-bufsize
    lines = log.read_text().split("\n")
    assert [len(ln) for ln in lines if ln and set(ln) == {"y"}] == [8192, 8192, 3616]
