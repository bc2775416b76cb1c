"""The master's long-tail watchers without a master: the mount checker's verdicts (a failing
statfs, one that hangs), the reload-on-fd spec, and the options that map onto gateway's knobs."""

from __future__ import annotations

import os
import select
import socket
import threading

import pytest

from gateway.config import ConfigError, load
from gateway.process.master_watch import MountChecker, needs_master
from support.waits import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_round_of_good_paths_gives_no_verdict_and_another_round_starts():
    seen = []
    checker = MountChecker(["/a", "/b"], timeout=10, statfs=seen.append)
    try:
        checker.start_round()
        wait_until(lambda: seen == ["/a", "/b"], 5, "one round")
        wait_until(lambda: not checker._busy, 5, "the round's end")
        assert checker.verdict() is None
        checker.start_round()
        wait_until(lambda: seen == ["/a", "/b", "/a", "/b"], 5, "a second round")
    finally:
        checker.stop()


def test_a_failing_statfs_names_the_path_and_the_error():
    def statfs(path):
        if path == "/fuse":
            raise OSError(107, "Transport endpoint is not connected")

    checker = MountChecker(["/ok", "/fuse"], timeout=10, statfs=statfs)
    checker.start_round()
    assert wait_until(checker.verdict, 5, "a verdict") == ("/fuse", "Transport endpoint is not connected")


def test_a_statfs_that_hangs_fails_after_the_timeout_without_blocking_the_caller():
    release = threading.Event()
    clock = FakeClock()
    checker = MountChecker(["/nfs"], timeout=10, statfs=lambda path: release.wait(10), clock=clock)
    try:
        checker.start_round()
        wait_until(lambda: checker._current is not None, 5, "the check to start")
        assert checker.verdict() is None
        checker.start_round()  # still busy: no second check piles up behind the hung one
        assert checker._todo.qsize() == 0
        clock.now += 10.5
        assert checker.verdict() == ("/nfs", "no answer in 10 seconds")
    finally:
        release.set()
        checker.stop()


def test_the_watch_options_imply_a_master_and_parse_their_specs():
    cfg = load(["--reload-on-fd", "3", "--brutal-reload-on-fd", "4:16 new config here"], {})
    assert cfg.reload_on_fd == [(3, 1, "")]
    assert cfg.brutal_reload_on_fd == [(4, 16, "new config here")]
    assert needs_master(cfg)
    assert needs_master(load(["--mount-check", "/srv"], {})) and load(["--check-mount", "/x"], {}).check_mountpoint == ["/x"]
    assert not needs_master(load([], {}))
    for bad in ("x", "3:y", "3:999999", "99999999999"):
        with pytest.raises(ConfigError, match="reload-on-fd"):
            load(["--reload-on-fd", bad], {})


def test_descriptor_numbers_beyond_a_c_int_are_refused_by_name():
    """--reload-on-fd 99999999999 made the master's os.fstat() raise OverflowError (a traceback
    at startup) and --safe-fd 99999999999 made every --worker-exec worker die of it."""
    assert load(["--reload-on-fd", "2147483647"], {}).reload_on_fd == [(2147483647, 1, "")]
    with pytest.raises(ConfigError, match="reload-on-fd.*up to 2147483647"):
        load(["--reload-on-fd", "2147483648 m"], {})
    with pytest.raises(ConfigError, match="safe-fd"):
        load(["--safe-fd", "99999999999"], {})


def test_signal_bufsize_sizes_the_signal_socketpairs():
    from gateway.subsystems import Subsystems

    cfg = load(["--signal-bufsize", "65536", "--processes", "2"], {})
    subs = Subsystems(cfg, workers=2, master=True)
    try:
        a, b = subs.pairs[1]
        # Linux doubles what it is given (bookkeeping), and never goes below what was asked
        assert a.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536
        assert b.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= 65536
    finally:
        subs.close()


@pytest.mark.parametrize("argv, attr, value", [
    (["--clock", "unix"], "clock", "unix"),
    (["--lock-engine", "ipcsem"], "lock_engine", "ipcsem"),
    (["--no-harakiri-after-req-hook"], "harakiri_no_arh", True),
    (["--signals-bufsize", "8192"], "signal_bufsize", 8192),
    (["--fd-safe", "5", "--safe-fd", "6"], "safe_fd", [5, 6]),
    (["--mem-collector-freq", "3"], "mem_collector_freq", 3),
])
def test_the_accepted_spellings(argv, attr, value):
    assert getattr(load(argv, {}), attr) == value


def test_clock_and_lock_engine_refuse_what_gateway_does_not_have():
    with pytest.raises(ConfigError, match="unix clock only"):
        load(["--clock", "monotonic"], {})
    with pytest.raises(ConfigError, match="lock engine only"):
        load(["--lock-engine", "pthread"], {})


def test_the_notify_socket_replaces_a_socket_but_never_another_file(tmp_path):
    """A stale socket at PATH is replaced; a regular file (a typo naming a config file) is
    refused, not deleted: the same rule as gateway's own UNIX sockets."""
    from gateway.process.master_watch import bind_notify_socket
    from gateway.server.listeners import ListenError

    stale = tmp_path / "notify"
    old = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    old.bind(str(stale))
    old.close()
    bind_notify_socket(str(stale)).close()
    precious = tmp_path / "app.ini"
    precious.write_text("[uwsgi]\n")
    with pytest.raises(ListenError, match="--notify-socket .*app.ini: .*not a socket"):
        bind_notify_socket(str(precious))
    assert precious.read_text() == "[uwsgi]\n"



def test_a_notification_is_one_log_line(caplog):
    """A datagram was logged as it came: its newlines wrote lines of the sender's choosing into
    the master's log (a forged mountpoint failure for a --log-alarm), escapes reached terminals."""
    from gateway.process.master_watch import _read_notifications

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        ours.setblocking(False)
        for datagram in (b"ready\n", b"a\tb \xc3\xa9", b"hi\nmountpoint /data failed\r\n\x1b[2Jx\x00\n"):
            theirs.send(datagram)
        with caplog.at_level("INFO"):
            _read_notifications(ours)
    finally:
        ours.close()
        theirs.close()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[notify-socket]")]
    assert lines == ["[notify-socket] ready", "[notify-socket] a\tb \u00e9",
                     "[notify-socket] hi\\x0amountpoint /data failed\\x0d\\x0a\\x1b[2Jx\\x00"]


def test_a_path_with_a_nul_byte_is_refused_by_name(tmp_path):
    """A NUL (possible in a config file) passed: --check-mountpoint's statfs then raised
    ValueError in the checker's thread, which died busy, and 10 s later the master destroyed the
    instance for a mount that 'did not answer'; --notify-socket raised at the bind."""
    ini = tmp_path / "app.ini"
    for option in ("check-mountpoint", "notify-socket", "upload-progress"):
        ini.write_text("[uwsgi]\n%s = /srv/a\0b\n" % option)
        with pytest.raises(ConfigError, match="%s.*NUL" % option):
            load(["--ini", str(ini)], {})


class _Master:
    """The hooks _watch_fd uses: the reader callbacks and the reloads asked for."""

    def __init__(self):
        self.readers, self.reloads, self.in_children = {}, [], []

    def on_fork_child(self, callback):
        self.in_children.append(callback)

    def add_reader(self, fd, callback):
        self.readers[fd] = callback

    def remove_reader(self, fd):
        self.readers.pop(fd)

    def reload(self):
        self.reloads.append("graceful")

    def brutal_reload(self):
        self.reloads.append("brutal")


def _in_time(call, seconds=3.0):
    """Run ``call`` in a thread; False when it is still running after ``seconds`` (blocked)."""
    done = threading.Event()
    threading.Thread(target=lambda: (call(), done.set()), daemon=True).start()
    return done.wait(seconds)


@pytest.mark.parametrize("kind", ["socket", "pipe"])
def test_reload_on_fd_never_blocks_the_master_when_the_data_is_gone(kind):
    """The master read the descriptor with a blocking read once the loop saw it ready: when the
    data was gone meanwhile (another reader, a UDP datagram dropped) the master hung there."""
    from gateway.process.master_watch import _watch_fd

    if kind == "socket":
        ours, theirs = socket.socketpair()
        fd, writer = ours.fileno(), theirs.send
    else:
        r, w = os.pipe()
        fd, writer = r, lambda data: os.write(w, data)
    master = _Master()
    try:
        _watch_fd(master, "reload-on-fd", fd, 1, "", False)
        assert os.get_blocking(fd)  # left as it was given
        (readable,) = master.readers.values()
        assert _in_time(readable)  # ready no more: nothing read, no hang
        assert master.reloads == [] and len(master.readers) == 1
        writer(b"x")
        readable()
        assert master.reloads == ["graceful"]
    finally:
        for close in master.in_children:  # (what a forked child does)
            close()
        if kind == "socket":
            ours.close()
            theirs.close()
        else:
            os.close(r)
            os.close(w)


def test_a_pipe_drained_by_another_reader_between_poll_and_read_never_blocks_the_master(monkeypatch):
    """The window of "poll, then read": another reader of the same pipe takes the data in
    between (made certain here by a poll that reports data that is not there)."""
    from gateway.process import master_watch

    class Liar:
        def register(self, fd, events):
            pass

        def poll(self, timeout):
            return [(0, select.POLLIN)]

    monkeypatch.setattr(master_watch.select, "poll", Liar)
    r, w = os.pipe()
    master = _Master()
    try:
        master_watch._watch_fd(master, "reload-on-fd", r, 1, "", False)
        (readable,) = master.readers.values()
        assert _in_time(readable)
        assert master.reloads == []
        os.write(w, b"x")
        readable()
        assert master.reloads == ["graceful"]
    finally:
        for close in master.in_children:
            close()
        os.write(w, b"x")  # lets go a reader blocked by the defect
        os.close(r)
        os.close(w)
