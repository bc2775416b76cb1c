"""External daemons (``--attach-daemon`` and co) through the real CLI: they run, are respawned,
are restarted when touched or when their pidfile's pid vanishes, and stop (or, smart ones,
survive) with the instance.  Each daemon is a small shell command that writes its pid to a
file the test watches; every wait is for such a file or a log line, never a fixed sleep."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import List

import pytest

from server import ServerProcess, run_cli, run_server, spawn
from support.httpclient import request
from support.waits import pid_alive as alive
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/hello.py", "--tornado", "2", "--greenlet"]


def pids(path: Path) -> List[int]:
    try:
        return [int(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return []


def wait_pids(path: Path, count: int, timeout: float = 15.0) -> List[int]:
    return wait_until(lambda: pids(path) if len(pids(path)) >= count else None, timeout,
                      what="%d pid(s) in %s" % (count, path.name))


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    wait_until(lambda: not alive(pid), timeout, what="pid %d to be gone" % pid)


def kill_if_alive(pid: int) -> None:
    if pid and alive(pid):
        os.kill(pid, signal.SIGKILL)


def test_attach_daemon_runs_isolated_is_respawned_and_stops_with_its_group(tmp_path):
    log, child = tmp_path / "pids", tmp_path / "child"
    # the daemon's shell starts a background grandchild: stopping the daemon must end both
    cmd = "echo $$ >> %s; sleep 300 & echo $! > %s; wait" % (log, child)
    with run_server(APP + ["--attach-daemon", cmd]) as srv:
        [first] = wait_pids(log, 1)
        assert first != srv.pid
        assert os.getpgid(first) == first and os.getsid(first) == first    # its own session
        fds = sorted(int(n) for n in os.listdir("/proc/%d/fd" % first))
        assert fds == [0, 1, 2], fds                                          # no socket, no channel
        assert os.readlink("/proc/%d/fd/0" % first) == "/dev/null"
        with open("/proc/%d/status" % first) as f:
            assert "PPid:\t%d" % srv.pid in f.read()
        srv.wait_for_line(r'\[uwsgi-daemons\] spawning "echo .*" \(uid: %d gid: %d\)' % (os.getuid(), os.getgid()))
        assert request(srv.port, "/").status == 200

        orphan = wait_until(lambda: pids(child) and pids(child)[0], what="the first grandchild's pid")
        os.kill(first, signal.SIGKILL)
        srv.wait_for_line(r'DAMN ! daemon "echo .*" \(pid: %d\) died, killed by signal 9' % first)
        kill_if_alive(orphan)  # the shell alone was killed: its background sleep is the test's to end
        wait_until(lambda: pids(child) and pids(child)[0] != orphan, what="the new grandchild's pid")
        second = wait_pids(log, 2)[1]
        assert second != first and alive(second)
        srv.wait_for_line(r'\[uwsgi-daemons\] respawning "echo .*"')
        grandchild = wait_until(lambda: pids(child) and pids(child)[0], what="the grandchild's pid")
        wait_until(lambda: alive(grandchild) and os.getpgid(grandchild) == second, what="grandchild in group")
        started = time.monotonic()
        code = srv.stop()
    assert code == 0
    assert time.monotonic() - started < 5, "the daemon kept the instance alive"
    assert not alive(second) and not alive(grandchild)
    assert "[uwsgi-daemons] stopping daemon (pid: %d)" % second in srv.output()


def test_daemon_output_goes_through_the_log_master(tmp_path):
    logfile = tmp_path / "inst.log"
    cmd = "echo daemon-out-$((40+2)); echo daemon-err-$((40+3)) >&2; exec sleep 300"
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0"] + APP + ["--log-master", "--logto", str(logfile),
                                                                          "--attach-daemon", cmd]))
    try:
        wait_until(lambda: logfile.exists() and "daemon-err-43" in logfile.read_text(), timeout=20,
                   what="the daemon's lines in the log file")
        text = logfile.read_text()
        assert "daemon-out-42\n" in text and "daemon-err-43\n" in text                       # whole lines, through the log master
    finally:
        assert srv.stop() == 0


def test_stopsignal_is_used_and_a_stubborn_daemon_is_killed(tmp_path):
    got, polite, stubborn = tmp_path / "got", tmp_path / "polite", tmp_path / "stubborn"
    polite_cmd = (r"cmd=trap 'echo INT > %s; exit 0' INT; trap '' TERM; echo $$ > %s; "
                  r"while :; do sleep 0.1; done,stopsignal=2" % (got, polite))
    stubborn_cmd = "trap '' TERM; echo $$ > %s; while :; do sleep 0.1; done" % stubborn
    with run_server(APP + ["--attach-daemon2", polite_cmd, "--attach-daemon", stubborn_cmd]) as srv:
        [p1] = wait_pids(polite, 1)
        [p2] = wait_pids(stubborn, 1)
        started = time.monotonic()
        os.kill(srv.pid, signal.SIGTERM)
        assert srv.proc.wait(20) == 0
        took = time.monotonic() - started
        srv.stop()
    assert got.read_text().strip() == "INT"                  # stopsignal=2: SIGINT, not SIGTERM
    assert not alive(p1) and not alive(p2)
    assert 2.5 <= took < 10, took                           # the stubborn one got SIGKILL after 3 s
    assert 'daemon "trap \'\' TERM' in srv.wait_for_line(r"did not die in time: killing it")


def test_control_daemon_death_stops_the_instance(tmp_path):
    pidfile = tmp_path / "ctl"
    with run_server(APP + ["--attach-daemon2", "cmd=echo $$ > %s; exec sleep 300,control=1" % pidfile]) as srv:
        [pid] = wait_pids(pidfile, 1)
        os.kill(pid, signal.SIGTERM)
        assert srv.proc.wait(20) == 0
        srv.wait_for_line(r'control daemon "echo .*" \(pid: %d\) died, killed by signal 15' % pid)


def test_touch_restarts_the_daemon(tmp_path):
    log, touch = tmp_path / "pids", tmp_path / "restart"
    touch.write_text("")
    with run_server(APP + ["--attach-daemon2", "cmd=echo $$ >> %s; exec sleep 300,touch=%s" % (log, touch)]) as srv:
        [first] = wait_pids(log, 1)
        os.utime(touch, (time.time() + 10, time.time() + 10))
        srv.wait_for_line(r"\*\*\* %s has been touched\.\.\. reloading daemon .* \(pid: %d\)" % (touch, first))
        second = wait_pids(log, 2)[1]
        assert second != first
        wait_gone(first)
        assert alive(second)


def test_plain_daemon_survives_a_reload_and_gets_its_reload_signal(tmp_path):
    log, usr1 = tmp_path / "pids", tmp_path / "usr1"
    cmd = r"cmd=trap 'echo USR1 >> %s' USR1; echo $$ >> %s; while :; do sleep 0.1; done,reloadsignal=10" % (usr1, log)
    with run_server(APP + ["--master", "--attach-daemon2", cmd]) as srv:
        [first] = wait_pids(log, 1)
        os.kill(srv.pid, signal.SIGHUP)
        srv.wait_for_line(r"gracefully \(RE\)spawned uWSGI master process")
        wait_until(lambda: usr1.exists() and usr1.read_text().strip() == "USR1", what="the reload signal")
        assert pids(log) == [first] and alive(first)        # the same process, not a new one
        assert request(srv.port, "/").status == 200


def test_a_command_that_cannot_run_backs_off_and_the_instance_serves(tmp_path):
    with run_server(APP + ["--attach-daemon", "/nonexistent/program",
                           "--attach-daemon2", "cmd=true,chdir=%s" % (tmp_path / "missing")]) as srv:
        srv.wait_for_line(r'DAMN ! daemon "/nonexistent/program" \(pid: \d+\) died, exit status 127')
        srv.wait_for_line(r'\[uwsgi-daemons\] unable to spawn "true": .*No such file or directory')
        srv.wait_for_line(r'daemon "true" respawning too fast !!! i have to sleep a bit')
        srv.wait_for_line(r'daemon "/nonexistent/program" respawning too fast !!! i have to sleep a bit')
        assert request(srv.port, "/").status == 200
        spawned = srv.output().count('respawned daemon "true"')
    assert spawned < 15, "no back-off: %d respawns" % spawned


def test_smart_daemon_is_restarted_when_its_pid_vanishes_and_outlives_the_instance(tmp_path):
    pidfile, runs = tmp_path / "d.pid", tmp_path / "runs"
    # a command that daemonizes: starts sleep in the background, writes its pid, returns
    cmd = "%s sh -c 'echo run >> %s; sleep 300 > /dev/null 2>&1 & echo $! > %s'" % (pidfile, runs, pidfile)
    daemons: List[int] = []
    try:
        with run_server(APP + ["--smart-attach-daemon", cmd]) as srv:
            [first] = wait_pids(pidfile, 1)
            daemons.append(first)
            assert alive(first)
            srv.wait_for_line(r'found changed pid for "sh -c .*" \(old_pid: \d+ new_pid: %d\)' % first)
            os.kill(first, signal.SIGKILL)
            srv.wait_for_line(r'\[uwsgi-daemons\] daemon "sh -c .*" \(pid: %d\) is gone: respawning' % first)
            second = wait_until(lambda: pids(pidfile) and pids(pidfile)[0] != first and pids(pidfile)[0],
                                what="a new pid in the pidfile")
            daemons.append(second)
            assert alive(second)
            assert runs.read_text().split() == ["run", "run"]
            assert srv.stop() == 0
        assert alive(second), "a smart daemon outlives the instance, as in uWSGI"
    finally:
        for pid in daemons:
            kill_if_alive(pid)


def test_smart_daemon_with_a_live_pidfile_is_adopted_not_started(tmp_path):
    pidfile, runs = tmp_path / "d.pid", tmp_path / "runs"
    existing = subprocess.Popen(["sleep", "300"])
    try:
        pidfile.write_text("%d\n" % existing.pid)
        cmd = "%s,2 sh -c 'echo run >> %s'" % (pidfile, runs)
        with run_server(APP + ["--smart-attach-daemon", cmd]) as srv:
            srv.wait_for_line(r'found valid/active pidfile for "sh -c .*" \(pid: %d\)' % existing.pid)
            existing.kill()
            existing.wait()
            srv.wait_for_line(r"\(pid: %d\) is gone: respawning" % existing.pid)
            wait_until(runs.exists, what="the command to run once the adopted pid is gone")
    finally:
        if existing.poll() is None:
            existing.kill()
            existing.wait()


def test_smart_attach_daemon2_daemonizes_a_foreground_command(tmp_path):
    pidfile = tmp_path / "fg.pid"
    daemons: List[int] = []
    try:
        with run_server(APP + ["--smart-attach-daemon2", "%s exec sleep 301" % pidfile]) as srv:
            [first] = wait_pids(pidfile, 1)
            daemons.append(first)
            wait_until(lambda: b"301" in Path("/proc/%d/cmdline" % first).read_bytes(), what="exec of sleep")
            assert os.getsid(first) == first                  # daemonized: a session of its own
            srv.wait_for_line(r'found changed pid for "exec sleep 301" .* new_pid: %d' % first)  # monitored
            os.kill(first, signal.SIGTERM)
            second = wait_until(lambda: pids(pidfile) and pids(pidfile)[0] != first and pids(pidfile)[0],
                                what="the respawned daemon's pid")
            daemons.append(second)
            assert srv.stop() == 0
        assert alive(second)                                 # not stopped with the instance
    finally:
        for pid in daemons:
            kill_if_alive(pid)


def test_attach_daemon2_notifypid_stops_a_smart_daemon_with_the_instance(tmp_path):
    pidfile = tmp_path / "n.pid"
    spec = "cmd=exec sleep 302,pidfile=%s,daemonize=1,notifypid=1,stopsignal=9" % pidfile
    daemons: List[int] = []
    try:
        with run_server(APP + ["--attach-daemon2", spec]) as srv:
            [pid] = wait_pids(pidfile, 1)
            daemons.append(pid)
            srv.wait_for_line(r'found changed pid for "exec sleep 302" .* new_pid: %d' % pid)
            assert srv.stop() == 0
        wait_gone(pid)
    finally:
        for pid in daemons:
            kill_if_alive(pid)


@pytest.mark.parametrize("args, fragment", [
    (["--attach-daemon2", "cmd=sleep 1,colour=red"], "option '--attach-daemon2': unknown key 'colour'"),
    (["--attach-daemon2", "pidfile=/tmp/x.pid"], "option '--attach-daemon2': the 'cmd' key"),
    (["--attach-daemon2", "cmd=x,stopsignal=SIGNOPE"], "option '--attach-daemon2': key 'stopsignal'"),
    (["--smart-attach-daemon", "/tmp/x.pid"], "option '--smart-attach-daemon': expected PIDFILE COMMAND"),
])
def test_bad_daemon_options_are_one_clear_error(args, fragment):
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + args)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gateway: ") and fragment in lines[0], result.stderr
