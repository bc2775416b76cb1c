"""gateway.commands: the pure parts (pidfiles, ``--signal``'s argument, ``--get``,
``--show-config``, the lists) and the uwsgi-protocol clients against a scripted peer."""

from __future__ import annotations

import io
import signal
import socket
import threading

import pytest

from gateway import commands
from gateway.commands import CommandError
from gateway.config import load
from gateway.process.scoreboard import Scoreboard, WorkerBoard

# -- pidfiles --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, pid", [("1234\n", 1234), ("  77  ", 77), ("4194304", 4194304)])
def test_a_pidfile_holds_one_pid(text, pid):
    assert commands.parse_pid(text) == pid


@pytest.mark.parametrize("text", ["", "\n", "abc", "12 34", "-5", "0", "99999999", "1.5"])
def test_garbled_pidfiles_are_refused(text):
    with pytest.raises(ValueError, match="no pid"):
        commands.parse_pid(text)


def test_each_option_sends_uwsgis_signal(tmp_path):
    pidfile = tmp_path / "m.pid"
    pidfile.write_text("4321\n")
    sent = []
    for option in ("reload", "stop", "pause", "suspend", "resume"):
        assert commands.signal_pidfile(option, str(pidfile), kill=lambda pid, sig: sent.append((pid, sig))) == 4321
    assert sent == [(4321, signal.SIGHUP), (4321, signal.SIGINT)] + [(4321, signal.SIGTSTP)] * 3


def test_pidfile_problems_name_the_option(tmp_path):
    missing = tmp_path / "none.pid"
    with pytest.raises(CommandError, match=r"^--reload .*none\.pid: invalid pidfile: cannot read it: No such file"):
        commands.signal_pidfile("reload", str(missing))
    big = tmp_path / "big.pid"
    big.write_text("1" * 100)
    with pytest.raises(CommandError, match="not a pidfile"):
        commands.signal_pidfile("stop", str(big))
    good = tmp_path / "m.pid"
    good.write_text("4321")

    def gone(pid, sig):
        raise ProcessLookupError(3, "No such process")

    def foreign(pid, sig):
        raise PermissionError(1, "Operation not permitted")

    with pytest.raises(CommandError, match="--stop .*: no process 4321 .*stale") as e:
        commands.signal_pidfile("stop", str(good), kill=gone)
    assert e.value.status == 1
    with pytest.raises(CommandError, match="not allowed to signal process 4321"):
        commands.signal_pidfile("pause", str(good), kill=foreign)


# -- --signal ADDR,NUM -----------------------------------------------------------------------------------


def test_signal_target_is_addr_comma_num():
    assert commands.parse_signal_target("127.0.0.1:3031,17") == ("127.0.0.1:3031", 17)
    assert commands.parse_signal_target("/tmp/s.sock,0") == ("/tmp/s.sock", 0)
    assert commands.parse_signal_target("[::1]:3031,255") == ("[::1]:3031", 255)


@pytest.mark.parametrize("value, status", [("127.0.0.1:3031", 1), (",17", 1), ("127.0.0.1:3031,256", 3),
                                           ("127.0.0.1:3031,-1", 3), ("127.0.0.1:3031,x", 3)])
def test_bad_signal_targets_get_uwsgis_status(value, status):
    with pytest.raises(CommandError) as e:
        commands.parse_signal_target(value)
    assert e.value.status == status and str(e.value).startswith("--signal %s" % value)


class _Peer:
    """A one-connection TCP peer: records what it reads (up to ``expect`` bytes), then
    writes ``answer`` (None: says nothing, keeps the connection open until the test ends)."""

    def __init__(self, answer, expect: int = 4) -> None:
        self.answer = answer
        self.expect = expect
        self.got = b""
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(5)
            while len(self.got) < self.expect:
                chunk = conn.recv(self.expect - len(self.got))
                if not chunk:
                    break
                self.got += chunk
            if self.answer is not None:
                conn.sendall(self.answer)
            else:
                self.done.wait(5)

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        self.sock.close()


@pytest.mark.parametrize("answer, status, line", [
    (b"\xff\x00\x00\x01", 0, "signal 17 delivered to node"),
    (b"\xff\x00\x00\x00", 2, None),
])
def test_remote_signal_sends_modifier1_110_and_reads_the_verdict(answer, status, line):
    peer = _Peer(answer)
    log = io.StringIO()
    try:
        if status:
            with pytest.raises(CommandError, match="node %s rejected signal 17" % peer.addr) as e:
                commands.remote_signal(peer.addr + ",17", 2.0, log)
            assert e.value.status == 2
        else:
            assert commands.remote_signal(peer.addr + ",17", 2.0, log) == 0
            assert line in log.getvalue()
    finally:
        peer.close()
    assert peer.got == b"\x6e\x00\x00\x11"  # uWSGI's uwsgi_remote_signal_send: the number is modifier2


def test_remote_signal_without_an_answer_is_not_delivered():
    peer = _Peer(b"")  # reads the request, closes
    try:
        with pytest.raises(CommandError, match="unable to deliver signal 3 to node .*: no answer") as e:
            commands.remote_signal(peer.addr + ",3", 2.0, io.StringIO())
        assert e.value.status == 1
    finally:
        peer.close()


# -- --ping ------------------------------------------------------------------------------------------------


def test_ping_answers():
    for answer, status, warning in ((b"\x64\x00\x00\x01", 0, ""),
                                    (b"\x64\x04\x00\x01full", 2, "message: full")):
        peer = _Peer(answer)
        log = io.StringIO()
        try:
            assert commands.ping(peer.addr, 0, log) == status
        finally:
            peer.close()
        assert peer.got == b"\x64\x00\x00\x00"
        assert "PING uwsgi host %s (timeout: 3)" % peer.addr in log.getvalue()
        assert warning in log.getvalue()


def test_ping_refuses_what_is_no_ping_answer_and_times_out():
    peer = _Peer(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    try:
        with pytest.raises(CommandError, match="not a uwsgi ping answer"):
            commands.ping(peer.addr, 2, io.StringIO())
    finally:
        peer.close()
    peer = _Peer(None)
    try:
        with pytest.raises(CommandError, match="no answer: timed out"):
            commands.ping(peer.addr, 1, io.StringIO())
    finally:
        peer.close()


# -- the configuration -------------------------------------------------------------------------------------


def _config(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\nbase = /srv\nworkers = 4\nsocket = %(base)/app.sock\nmaster = true\n"
                   "socket = 127.0.0.1:3031\n")
    return load(["--ini", str(ini), "--harakiri", "30", "--vacuum"], {})


def test_get_prints_the_first_value_given_under_that_spelling(tmp_path):
    cfg = _config(tmp_path)
    assert commands.option_value(cfg, "socket") == "/srv/app.sock"  # placeholders expanded, the first one
    assert commands.option_value(cfg, "workers") == "4"
    assert commands.option_value(cfg, "processes") == "4"  # another spelling of the same option
    assert commands.option_value(cfg, "--harakiri") == "30"
    assert commands.option_value(cfg, "vacuum") == "true"  # a bare flag
    assert commands.option_value(cfg, "base") == "/srv"  # a placeholder, as uWSGI's exported options
    assert commands.option_value(cfg, "chdir") is None


def test_show_config_is_an_ini_file_of_every_option_given(tmp_path):
    from gateway.config.ini import parse_ini

    cfg = _config(tmp_path)
    text = commands.format_config(cfg)
    assert text.startswith("\n;uWSGI instance configuration\n[uwsgi]\n")
    assert text.endswith(";end of configuration\n\n")
    assert "socket = /srv/app.sock\n" in text and "socket = 127.0.0.1:3031\n" in text
    entries, _ = parse_ini(text)  # it reads back as the same options, in the same order
    again = [(e.key, e.value) for e in entries]
    assert again == [(e.key, e.value if e.value is not True else "true") for e in cfg.sources if e.exported]


def test_dump_options_lists_every_accepted_spelling_and_no_refused_one():
    from gateway.config.options import find

    names = commands.option_names()
    assert {"socket", "uwsgi-socket", "processes", "workers", "reload", "plugin-list", "get"} <= set(names)
    assert all(find(name) is not None and find(name).supported for name in names)
    assert "cflags" not in names and "emperor-broodlord" not in names


# -- the lists come from the registries ------------------------------------------------------------------


def _names(text: str):
    lines = text.split("\n")
    return [line for line in lines if line and not line.startswith(("***", "---"))]


def test_lists_are_the_registries():
    from gateway.config.converters import LOOPS, loop_name
    from gateway.emperor.monitor import MONITORS, Source
    from gateway.log_plugins import PLUGINS
    from gateway.process.cheaper import ALGORITHMS
    from gateway.routing.actions import ACTIONS

    assert _names(commands.listing("loggers-list")) == list(PLUGINS)
    assert _names(commands.listing("cheaper-algo-list")) == list(ALGORITHMS)
    assert _names(commands.listing("router-list")) == list(ACTIONS)
    assert _names(commands.listing("imperial-monitor-list")) == list(MONITORS)
    loops = _names(commands.listing("loop-list"))
    assert loops[0] == "tornado" and loops[1:] == list(LOOPS)
    for name in loops:
        loop_name(name)  # each one is a --loop value
    for scheme in MONITORS:
        assert Source.parse("%s:///tmp/v" % scheme, "/").kind == scheme
    from gateway.alarms.spec import PLUGINS

    assert _names(commands.listing("alarm-list")) == list(PLUGINS) and "cmd" in PLUGINS
    text = commands.listing("loggers-list")
    assert text.startswith("\n*** uWSGI loaded loggers ***\n") and text.endswith("--- end of loggers list ---\n\n")


def test_plugins_list_has_the_request_plugins_by_modifier1():
    text = commands.listing("plugins-list")
    generic, _, request = text.partition("*** uWSGI loaded request plugins ***")
    assert "python" in generic and "tornado" in generic and "greenlet" in generic
    assert ["0: python", "17: spooler", "30: python", "100: ping", "110: signal", "111: cache", "173: rpc"] == \
        _names(request)


def test_inspection_prints_then_goes_on_only_when_something_is_served(capsys):
    assert commands.after_load(load(["--loggers-list"], {})) == 0
    assert "*** uWSGI loaded loggers ***" in capsys.readouterr().out
    assert commands.after_load(load(["--loggers-list", "--socket", ":0"], {})) is None
    assert commands.after_load(load(["--socket", ":0"], {})) is None  # nothing asked: nothing printed
    assert capsys.readouterr().out.count("*** uWSGI loaded loggers ***") == 1


def test_immediate_commands_act_alone_and_the_first_one_wins(tmp_path):
    cfg = load(["--extract", str(tmp_path / "a"), "--stop", "/x.pid", "--ini", "/nonexistent.ini"], {})
    assert commands._first_given(cfg, commands.IMMEDIATE) == ("extract", str(tmp_path / "a"))
    assert cfg.stop == "/x.pid" and not cfg.ini  # the ini file was never read


def test_extract_copies_a_file_and_refuses_uwsgi_addresses(tmp_path):
    data = bytes(range(256)) * 1000
    path = tmp_path / "blob"
    path.write_bytes(data)
    out = io.BytesIO()
    assert commands.extract(str(path), out) == 0 and out.getvalue() == data
    with pytest.raises(CommandError, match=r"--extract sym://x: only a file .*sym://"):
        commands.extract("sym://x", io.BytesIO())
    with pytest.raises(CommandError, match="--extract .*missing: No such file"):
        commands.extract(str(tmp_path / "missing"), io.BytesIO())


# -- the pause flag in the scoreboard ----------------------------------------------------------------------


def test_the_pause_flag_reaches_every_slot_and_shows_as_pause():
    from gateway.process.scoreboard import ST_IDLE, ST_PAUSE

    board = Scoreboard(4, 2)
    slots = [WorkerBoard(board, wid) for wid in range(1, 5)]
    assert not any(s.suspended for s in slots)
    board.set_suspended(True)
    assert all(s.suspended for s in slots)
    board.spawned(2, 99, 1)  # a respawn keeps the flag: the new worker starts paused
    assert slots[1].suspended
    slots[0].set_status(ST_PAUSE)
    assert board.snapshot(1)["status"] == "pause"
    slots[0].begin(0, {}, 1.0)
    assert board.snapshot(1)["status"] == "busy"  # uWSGI: a paused worker still busy shows busy
    board.set_suspended(False)
    slots[0].set_status(ST_IDLE)
    assert not any(s.suspended for s in slots)


def test_children_of_the_master_shrug_sigtstp_off_and_exec_with_the_default():
    """reset_in_child: SIGTSTP neither stops the child (a worker not yet armed, a router) nor
    stays ignored in a command it execs (a handler, not SIG_IGN)."""
    import subprocess
    import sys

    code = ("import os, signal\n"
            "from gateway.process.signals import reset_in_child\n"
            "reset_in_child()\n"
            "os.kill(os.getpid(), signal.SIGTSTP)\n"
            "print('alive', flush=True)\n"
            "os.execv('/bin/grep', ['grep', '^SigIgn', '/proc/self/status'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    alive, ignored = done.stdout.split("\n")[:2]
    assert alive == "alive"
    mask = int(ignored.split()[1], 16)
    assert not mask & (1 << (signal.SIGTSTP - 1))
