"""The startup actions as functions: the bounded waits (a fake clock, no sleeping), the
checks they poll, the ``--flock`` locks between two processes, ``--binsh``'s choice, the
``--limit-nproc`` adjustment, ``--file-write``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from gateway.process import startup
from gateway.process.startup_waits import (
    DEFAULT_TIMEOUT,
    POLL_INTERVAL,
    WaitFailed,
    interface_exists,
    is_mountpoint,
    path_ready,
    socket_accepts,
    wait_for,
)


class Log:
    def __init__(self):
        self.lines = []

    def info(self, message, *args):
        self.lines.append(message % args)

    warning = info


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_for_checks_until_true_and_sleeps_between_checks():
    answers = iter([False, False, True])
    t, log = FakeTime(), Log()
    wait_for("/data", lambda: next(answers), 5, log, found="mounted", clock=t.clock, sleep=t.sleep)
    assert t.sleeps == [POLL_INTERVAL, POLL_INTERVAL]
    assert log.lines == ["waiting for /data (max 5 seconds) ...", "/data mounted"]


def test_wait_for_gives_up_at_the_timeout_without_oversleeping():
    t, log = FakeTime(), Log()
    with pytest.raises(WaitFailed, match=r"^/data unavailable after 2 seconds$"):
        wait_for("/data", lambda: False, 2, log, clock=t.clock, sleep=t.sleep)
    assert t.now == pytest.approx(102.0) and all(s <= POLL_INTERVAL for s in t.sleeps)


def test_wait_for_zero_means_uwsgi_default():
    t, log = FakeTime(), Log()
    with pytest.raises(WaitFailed, match="after %d seconds" % DEFAULT_TIMEOUT):
        wait_for("x", lambda: False, 0, log, clock=t.clock, sleep=t.sleep)


def test_path_ready_kinds(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    assert path_ready(str(f)) and path_ready(str(f), "file") and not path_ready(str(f), "dir")
    assert path_ready(str(tmp_path), "dir") and not path_ready(str(tmp_path), "file")
    assert not path_ready(str(tmp_path / "missing"))


def test_is_mountpoint():
    assert is_mountpoint("/proc") and is_mountpoint("/")
    assert not is_mountpoint("/proc/self/fd/0") and not is_mountpoint("/no/such/dir")


def test_interface_and_socket_checks(tmp_path):
    assert interface_exists("lo") and not interface_exists("gwnosuch0")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        assert socket_accepts("127.0.0.1:%d" % listener.getsockname()[1])
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX) as unix:
        unix.bind(path)
        assert not socket_accepts(path)  # bound, not listening
        unix.listen(1)
        assert socket_accepts(path)
    assert not socket_accepts("127.0.0.1:notaport")


def _hold_lock_in_child(path):
    """Another process holding the fcntl lock (a lock never conflicts with its own process)."""
    code = "import fcntl,os,sys; fd=os.open(%r, os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()" % path
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_lock_file_refuses_a_held_lock_and_keeps_its_own(tmp_path):
    path = str(tmp_path / "lock")
    open(path, "w").close()
    child = _hold_lock_in_child(path)
    try:
        with pytest.raises(startup.StartupError, match="uWSGI ERROR: %s is locked by another instance" % path):
            startup.lock_file(path, False, "flock", Log())
    finally:
        child.communicate("")
    startup.lock_file(path, False, "flock", Log())
    try:
        probe = ("import fcntl,os\ntry:\n    fcntl.lockf(os.open(%r, os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                 "except OSError:\n    print('held elsewhere')\nelse:\n    print('free')") % path
        seen = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        assert seen.stdout.strip() == "held elsewhere"
    finally:
        os.close(startup._held.pop(path))


def test_lock_file_errors_name_the_option(tmp_path):
    with pytest.raises(startup.StartupError, match=r"^--flock-wait2 .*missing: No such file or directory$"):
        startup.lock_file(str(tmp_path / "missing"), True, "flock-wait2", Log())


def test_binsh_takes_the_first_executable_shell(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    runnable = tmp_path / "runnable"
    runnable.write_text("#!/bin/sh\n")
    runnable.chmod(0o755)
    assert startup.binsh([str(tmp_path / "missing"), str(tmp_path), str(runnable)]) == str(runnable)
    assert startup.binsh([str(plain)]) == "/bin/sh"  # not executable
    assert startup.binsh([]) == "/bin/sh"


def test_adjusted_workers_leaves_room_for_the_master(monkeypatch):
    import resource

    log = Log()
    monkeypatch.setattr(resource, "getrlimit", lambda which: (3, 3))
    assert startup.adjusted_workers(2, True, log) == 2
    assert startup.adjusted_workers(4, True, log) == 2
    assert log.lines[-1] == "!!! number of workers adjusted to 2 due to system limits !!!"
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1, 1))
    assert startup.adjusted_workers(4, True, log) == 1  # never none
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY,) * 2)
    assert startup.adjusted_workers(64, True, log) == 64


def test_file_write(tmp_path):
    target = tmp_path / "t"
    log = Log()
    startup.file_write("%s=a=b" % target, log)
    assert target.read_text() == "a=b\n" and log.lines == ['writing "a=b" to "%s" ...' % target]
    startup.file_write("%s=" % target, log)
    assert target.read_text() == "\n"


def test_early_lock_is_fcntl_so_uwsgi_sees_it(tmp_path):
    """uWSGI locks with fcntl(F_SETLK): lockf is the same lock family (flock(2) would not conflict)."""
    path = str(tmp_path / "lock")
    open(path, "w").close()
    startup.lock_file(path, False, "flock", Log())
    try:
        out = subprocess.run([sys.executable, "-c", (
            "import fcntl,os,struct\n"
            "fd=os.open(%r, os.O_RDWR)\n"
            "lk=struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0)\n"
            "got=fcntl.fcntl(fd, fcntl.F_GETLK, lk)\n"
            "print(struct.unpack('hhqqi', got)[4])") % path], capture_output=True, text=True, check=True)
        assert int(out.stdout) == os.getpid()  # F_GETLK names this process as the holder
    finally:
        os.close(startup._held.pop(path))
