"""The daemon option parsers (``--attach-daemon2`` keyval, ``--smart-attach-daemon``) and the
pidfile check, as plain functions; the options' errors through the configuration loader."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from gateway.config import ConfigError, load
from gateway.process.daemons import (
    DaemonConfigError,
    DaemonSpec,
    parse_keyval,
    parse_plain,
    parse_smart,
    pidfile_pid,
    specs_from_config,
    split_keyval,
)


def test_keyval_defaults_are_uwsgis():
    spec = parse_keyval("cmd=memcached -p 11311")
    assert spec == DaemonSpec(command="memcached -p 11311")
    assert spec.stop_signal == signal.SIGTERM and spec.freq == 10 and not spec.smart


def test_keyval_every_key():
    spec = parse_keyval("exec=run it,pidfile=/tmp/x.pid,daemonize=1,control=yes,stopsignal=2,"
                        "reload_signal=HUP,touch=/a;/b,freq=3,stdin=1,uid=0,gid=0,chdir=/tmp,"
                        "max_throttle=5,notifypid=true")
    assert spec == DaemonSpec(command="run it", pidfile="/tmp/x.pid", daemonize=True, control=True,
                              stop_signal=2, reload_signal=int(signal.SIGHUP), touch=("/a", "/b"), freq=3,
                              honour_stdin=True, uid="0", gid="0", chdir="/tmp", max_throttle=5,
                              notifypid=True)
    assert spec.smart


@pytest.mark.parametrize("text, command", [
    ("command=a", "a"), ("cmd=a", "a"), ("exec=a", "a"),
    (r"cmd=echo a\,b", "echo a,b"),          # uWSGI's escape for a comma
    ("cmd=x=1 env", "x=1 env"),               # only the first "=" separates
])
def test_keyval_command_spellings_and_escapes(text, command):
    assert parse_keyval(text).command == command


def test_keyval_flags_take_false_words_and_an_empty_value():
    assert parse_keyval("cmd=a,control=0").control is False
    assert parse_keyval("cmd=a,control=").control is True


def test_keyval_later_key_wins():
    assert parse_keyval("cmd=a,stopsignal=2,stopsignal=9").stop_signal == 9


@pytest.mark.parametrize("text, fragment", [
    ("cmd=a,bogus=1", "unknown key 'bogus'"),
    ("pidfile=/tmp/x", "the 'cmd' key (the command to run) is missing"),
    ("cmd=a,stopsignal=NOPE", "key 'stopsignal' expects a signal number or name"),
    ("cmd=a,stopsignal=0", "key 'stopsignal' expects a signal"),
    ("cmd=a,freq=0", "key 'freq' expects an integer of at least 1"),
    ("cmd=a,control=maybe", "key 'control' expects 1/0"),
    ("cmd=a,daemonize=1", "daemonize=1 needs pidfile=FILE"),
    ("cmd=a,ns_pid=1", "PID namespaces (ns_pid) are not supported"),
    ("cmd=a,uid=no-such-user-here", "key 'uid': no such user"),
    ("cmd=a,touch=;", "key 'touch' expects FILE"),
    ("cmd=a,justaword", "expected KEY=VALUE items"),
])
def test_keyval_errors_name_the_key(text, fragment):
    with pytest.raises(DaemonConfigError) as info:
        parse_keyval(text)
    assert fragment in str(info.value)


def test_split_keyval_skips_empty_items():
    assert split_keyval("a=1,,b=2,") == [("a", "1"), ("b", "2")]


def test_smart_syntax():
    assert parse_smart("/tmp/n.pid nginx -g 'daemon on;'") == DaemonSpec(
        command="nginx -g 'daemon on;'", pidfile="/tmp/n.pid")
    assert parse_smart("/tmp/n.pid,3 cmd", daemonize=True) == DaemonSpec(
        command="cmd", pidfile="/tmp/n.pid", freq=3, daemonize=True)
    for bad in ("/tmp/only-a-pidfile", " ", "/tmp/x,zero cmd"):
        with pytest.raises(DaemonConfigError):
            parse_smart(bad)


def test_plain_needs_a_command():
    assert parse_plain("  sleep 1 ").command == "sleep 1"
    with pytest.raises(DaemonConfigError):
        parse_plain("  ")


def test_options_build_specs_in_order():
    cfg = load(["--attach-daemon", "a", "--attach-daemon2", "cmd=b,control=1", "--smart-attach-daemon",
                "/tmp/c.pid c", "--smart-attach-daemon2", "/tmp/d.pid d", "--attach-control-daemon", "e",
                "--daemons-honour-stdin"], {})
    specs = specs_from_config(cfg)
    assert [s.command for s in specs] == ["a", "e", "c", "d", "b"]
    assert [s.control for s in specs] == [False, True, False, False, True]
    assert [s.daemonize for s in specs] == [False, False, False, True, False]
    assert all(s.honour_stdin for s in specs)


@pytest.mark.parametrize("argv, fragment", [
    (["--attach-daemon2", "cmd=x,color=red"], "option '--attach-daemon2': unknown key 'color'"),
    (["--attach-daemon2", "stopsignal=9"], "option '--attach-daemon2': the 'cmd' key"),
    (["--smart-attach-daemon", "/tmp/x.pid"], "option '--smart-attach-daemon': expected PIDFILE COMMAND"),
    (["--attach-daemon", ""], "option '--attach-daemon'"),
])
def test_bad_values_are_refused_when_the_config_loads(argv, fragment):
    with pytest.raises(ConfigError) as info:
        load(argv, {})
    assert fragment in str(info.value)


def test_pidfile_pid_only_for_a_live_process(tmp_path):
    path = tmp_path / "p.pid"
    assert pidfile_pid(str(path)) == 0                      # missing
    path.write_text("garbage\n")
    assert pidfile_pid(str(path)) == 0
    path.write_text("%d\n" % os.getpid())
    assert pidfile_pid(str(path)) == os.getpid()
    child = subprocess.Popen(["true"])
    child.wait()
    path.write_text("%d\n" % child.pid)                     # reaped: gone (unless reused, unlikely)
    assert pidfile_pid(str(path)) == 0


def test_pidfile_pid_treats_a_zombie_as_gone(tmp_path):
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(0)
    try:
        path = tmp_path / "z.pid"
        path.write_text("%d\n" % pid)
        # not reaped yet: a zombie until the waitpid below
        end = time.monotonic() + 5
        while time.monotonic() < end:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        else:
            raise AssertionError("the child did not exit")
        assert pidfile_pid(str(path)) == 0
    finally:
        os.waitpid(pid, 0)
