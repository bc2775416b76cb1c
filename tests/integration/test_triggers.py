"""The master's triggers and the process options around them, through the real CLI
(tests/apps/triggers_app.py): touch files, filesystem monitors, config timers, cheap mode,
die-on-no-workers, exit-on-reload, the reload-on-exception rules, the reaper...

Each uWSGI signal handler of the app appends its pid to ``$TRIGGERS_DIR/sig-N``; the tests
wait for files and log lines with deadlines, never a fixed sleep."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

from server import run_cli, run_server
from support.httpclient import request
from support.stats import fetch_stats, stats_port
from support.waits import pid_alive, wait_until

pytestmark = pytest.mark.timeout(120)

APP = "tests/apps/triggers_app.py"


def marks(directory, sig: int) -> list:
    """The pids that ran the handler of signal ``sig`` (one per run)."""
    try:
        with open(os.path.join(str(directory), "sig-%d" % sig)) as f:
            return [int(line) for line in f.read().split()]
    except FileNotFoundError:
        return []


def touch(path) -> None:
    """Change the modification time for sure (a same-second touch may keep it on coarse clocks)."""
    if not os.path.exists(str(path)):
        open(str(path), "w").close()
    st = os.stat(str(path))
    os.utime(str(path), (st.st_atime, st.st_mtime + 10))


def get(port: int, path: str) -> str:
    r = request(port, path)
    assert r.status == 200, (r.status, r.body)
    return r.body.decode()


def server(tmp_path, *args, env=None):
    marks_dir = tmp_path / "marks"
    marks_dir.mkdir(exist_ok=True)
    full_env = {"TRIGGERS_DIR": str(marks_dir)}
    full_env.update(env or {})
    return run_server(["--wsgi-file", APP, "--master", *args], env=full_env), marks_dir


def test_touch_signal_and_config_timers_reach_the_handlers_and_survive_a_reload(tmp_path):
    trigger = tmp_path / "trigger"
    trigger.write_text("")
    ctx, mdir = server(tmp_path, "--touch-signal", "%s 10" % trigger, "--timer", "11 1",
                       "--rbtimer", "12 1", "--signal-timer", "14 1")
    with ctx as srv:
        worker = int(get(srv.port, "/pid"))
        for sig in (11, 12, 14):  # the timers, --signal-timer being --timer's other name
            wait_until(lambda sig=sig: marks(mdir, sig), 10, "timer signal %d" % sig)
        assert marks(mdir, 10) == []
        touch(trigger)
        assert wait_until(lambda: marks(mdir, 10), 10, "the touch signal") == [worker]
        srv.wait_for_line(r"\[uwsgi-touch-signal\] raising 10")
        # a reload imports the app again (its handlers register again): the config's timers stay
        os.kill(srv.pid, signal.SIGHUP)
        srv.wait_for_line(r"Respawned|spawned uWSGI worker 1", 10)
        new = wait_until(lambda: (lambda p: p if p != worker else 0)(int(get(srv.port, "/pid"))), 15, "a new worker")
        wait_until(lambda: new in marks(mdir, 11), 10, "the timer after the reload")


def test_touch_exec_runs_its_command_in_a_child_of_the_master(tmp_path):
    trigger = tmp_path / "trigger"
    trigger.write_text("")
    out = tmp_path / "executed"
    ctx, _ = server(tmp_path, "--touch-exec", "%s echo $$ $PPID > %s" % (trigger, out))
    with ctx as srv:
        touch(trigger)
        wait_until(lambda: out.exists() and out.read_text().strip(), 10, "the command's output")
        sh, parent = (int(x) for x in out.read_text().split())
        assert sh != srv.pid and parent != srv.pid  # the shell ran in the hook child, not the master
        srv.wait_for_line(r"\[uwsgi-touch-exec\] running echo")


def test_fs_reload_fires_on_a_directory_entry_change(tmp_path):
    watched = tmp_path / "watched"
    watched.mkdir()
    entry = watched / "settings.txt"
    entry.write_text("one")
    ctx, _ = server(tmp_path, "--fs-reload", str(watched))
    with ctx as srv:
        first = int(get(srv.port, "/pid"))
        srv.wait_for_line(r'\[uwsgi-fsmon\] registered monitor for ".*watched"')
        entry.write_text("two")  # an entry's content: inotify's IN_MODIFY on the directory
        srv.wait_for_line(r'\[uwsgi-fsmon\] detected event on ".*watched"', 10)
        second = wait_until(lambda: (lambda p: p if p != first else 0)(int(get(srv.port, "/pid"))), 15,
                            "a reloaded worker")
        assert not pid_alive(first) or wait_until(lambda: not pid_alive(first), 15, "the old worker gone")
        (watched / "new-entry").write_text("")  # a created entry reloads again
        wait_until(lambda: (lambda p: p not in (first, second) and p)(int(get(srv.port, "/pid"))), 15,
                   "a second reload")


def test_fs_signal_and_fs_brutal_reload(tmp_path):
    signalled = tmp_path / "signalled"
    signalled.write_text("")
    brutal = tmp_path / "brutal"
    brutal.mkdir()
    ctx, mdir = server(tmp_path, "--fs-signal", "%s 13" % signalled, "--fs-brutal-reload", str(brutal))
    with ctx as srv:
        worker = int(get(srv.port, "/pid"))
        # one write(2), one inotify event: write_text's open(O_TRUNC) is an event of its own,
        # and a master woken between the two raises the signal twice (as uWSGI would)
        with open(str(signalled), "a") as f:
            f.write("changed")
        assert wait_until(lambda: marks(mdir, 13), 10, "the fs signal") == [worker]
        slow = threading.Thread(target=lambda: results.append(_try(srv.port, "/sleep?s=60")))
        results: list = []
        slow.start()
        wait_until(lambda: (mdir / ("sleeping-%d" % worker)).exists(), 10, "the slow request in flight")
        (brutal / "x").write_text("")  # a graceful reload would wait 60s for it: this one kills
        srv.wait_for_line(r"brutally killing worker 1 \(pid: %d\)" % worker, 10)
        srv.wait_for_line(r"worker 1 buried after \d+ seconds \(pid: %d, killed by signal 9" % worker, 10)
        slow.join(20)
        assert results and results[0] != 200
        wait_until(lambda: int(get(srv.port, "/pid")) != worker, 15, "the new worker")


def _try(port: int, path: str) -> object:
    try:
        return request(port, path, timeout=30).status
    except Exception as e:  # the worker died with the request: no response
        return repr(e)


def test_die_on_no_workers_ends_the_master_when_every_worker_crash_loops(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('broken on purpose')\n")
    base = ["--http-socket", "127.0.0.1:0", "--wsgi-file", str(broken), "--lazy-apps", "--master"]
    done = run_cli(base + ["--die-on-no-workers"], timeout=60)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "no more processes running, auto-killing ..." in done.stderr
    # without the option, the master keeps respawning (it is still there after a few respawns)
    from server import spawn

    proc = spawn(base)
    try:
        lines = []
        end = time.monotonic() + 20
        while time.monotonic() < end and sum("respawning too fast" in ln for ln in lines) < 3:
            lines.append(proc.stderr.readline())
        assert sum("respawning too fast" in ln for ln in lines) >= 3
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_cheap_spawns_the_workers_at_the_first_connection(tmp_path):
    ctx, _ = server(tmp_path, "--cheap", "--processes", "2")
    with ctx as srv:
        srv.wait_for_line(r"cheap mode enabled: waiting for socket connection")
        assert not any("spawned uWSGI worker" in ln for ln in srv.lines)
        pid = int(get(srv.port, "/pid"))  # waits in the backlog for the worker started for it
        assert pid != srv.pid
        srv.wait_for_line(r"spawned uWSGI worker 2 ")


def test_exit_on_reload_stops_the_instance(tmp_path):
    ctx, _ = server(tmp_path, "--exit-on-reload")
    with ctx as srv:
        os.kill(srv.pid, signal.SIGHUP)
        assert srv.proc.wait(30) == 0
        srv.wait_for_line(r"uWSGI: GAME OVER \(insert coin\)")


def test_reload_on_exception_type_value_and_repr(tmp_path):
    ctx, _ = server(tmp_path, "--reload-on-exception-type", "ZeroDivisionError",
                    "--reload-on-exception-value", "recycle me", "--reload-on-exception-repr", "KeyError: 'k'",
                    "--min-worker-lifetime", "0")
    with ctx as srv:
        srv.expect_traceback(r"Error")
        pid = int(get(srv.port, "/pid"))
        assert request(srv.port, "/raise?exc=ValueError&msg=other").status == 500
        assert int(get(srv.port, "/pid")) == pid  # no rule matches: the same worker
        for query in ("exc=ZeroDivisionError&msg=x", "exc=ValueError&msg=recycle%20me", "exc=KeyError&msg=k"):
            assert request(srv.port, "/raise?" + query).status == 500
            pid = wait_until(lambda old=pid: (lambda p: p if p != old else 0)(int(get(srv.port, "/pid"))), 15,
                             "a recycled worker after %s" % query)
        srv.wait_for_line(r"reload-on-exception-repr: the app raised KeyError")


def test_reaper_collects_the_apps_exited_children(tmp_path):
    ctx, _ = server(tmp_path, "--reaper")
    with ctx as srv:
        child = int(get(srv.port, "/fork"))
        wait_until(lambda: not pid_alive(child), 10, "the child to exit")
        get(srv.port, "/pid")  # the request after which the worker reaps
        wait_until(lambda: not os.path.exists("/proc/%d" % child), 10, "the zombie reaped")


def test_without_reaper_the_zombie_stays(tmp_path):
    ctx, _ = server(tmp_path)
    with ctx as srv:
        child = int(get(srv.port, "/fork"))
        wait_until(lambda: not pid_alive(child), 10, "the child to exit")
        get(srv.port, "/pid")
        assert os.path.exists("/proc/%d" % child)  # a zombie nobody reaped


def test_thread_stacksize_and_its_aliases(tmp_path):
    for spelling in ("--thread-stacksize", "--threads-stack-size"):
        ctx, _ = server(tmp_path, spelling, "512")
        with ctx as srv:
            assert get(srv.port, "/stack") == str(512 * 1024)
    assert run_cli(["--thread-stacksize", "x", "--wsgi-file", APP]).returncode != 0


def test_stats_no_cores_leaves_the_cores_out(tmp_path):
    for extra, has_cores in (([], True), (["--stats-no-cores"], False)):
        ctx, _ = server(tmp_path, "--stats", "127.0.0.1:0", *extra)
        with ctx as srv:
            doc = fetch_stats(stats_port(srv))
            assert ("cores" in doc["workers"][0]) is has_cores


def test_harakiri_queue_threshold_spares_a_slow_request_while_the_queue_is_short(tmp_path):
    ctx, _ = server(tmp_path, "--harakiri", "1", "--harakiri-queue-threshold", "1000")
    with ctx as srv:
        pid = int(get(srv.port, "/pid"))
        r = request(srv.port, "/sleep?s=4", timeout=15)  # past harakiri + its grace (policy.py)
        assert r.status == 200 and r.body == b"slept"
        srv.wait_for_line(r"HARAKIRI: Skipping harakiri on worker 1\. Listen queue is smaller than the "
                          r"threshold \(0 < 1000\)")
        assert int(get(srv.port, "/pid")) == pid


def test_check_interval_is_validated_and_drives_the_touch_checks(tmp_path):
    assert "check-interval" in run_cli(["--check-interval", "0", "--wsgi-file", APP]).stderr
    trigger = tmp_path / "trigger"
    trigger.write_text("")
    ctx, mdir = server(tmp_path, "--check-interval", "2", "--touch-signal", "%s 15" % trigger)
    with ctx as srv:
        touch(trigger)
        wait_until(lambda: marks(mdir, 15), 10, "the touch signal")
        assert srv.proc.poll() is None


# -- mules --------------------------------------------------------------------------------


def test_mule_harakiri_kills_a_stuck_signal_handler_and_the_mule_is_respawned(tmp_path):
    ctx, mdir = server(tmp_path, "--mules", "1", "--mule-harakiri", "1", env={"TRIGGERS_MULE_SIGNAL": "1"})
    with ctx as srv:
        line = srv.wait_for_line(r"spawned uWSGI mule 1 \(pid: \d+\)")
        mule = int(line.rsplit("pid: ", 1)[1].rstrip(")"))
        get(srv.port, "/signal?n=30")
        assert wait_until(lambda: marks(mdir, 30), 10, "the mule's handler") == [mule]
        srv.wait_for_line(r"\*\*\* HARAKIRI ON MULE 1 HANDLING SIGNAL 30 \(pid: %d\) \*\*\*" % mule, 10)
        srv.wait_for_line(r"OOOPS mule 1 \(pid: %d\) crippled\.\.\.trying respawn\.\.\.$" % mule, 10)  # (uWSGI's lines)
        srv.wait_for_line(r"spawned uWSGI mule 1 \(pid: (?!%d\))\d+\)" % mule, 10)
        wait_until(lambda: not pid_alive(mule), 10, "the stuck mule gone")


def test_touch_mules_reload_and_mule_reload_mercy(tmp_path):
    trigger = tmp_path / "trigger"
    trigger.write_text("")
    stubborn = tmp_path / "stubborn.py"
    stubborn.write_text("import signal, time\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
                        "while True:\n    time.sleep(60)\n")
    ctx, _ = server(tmp_path, "--mule=%s" % stubborn, "--touch-mules-reload", str(trigger),
                    "--mule-reload-mercy", "1")
    with ctx as srv:
        line = srv.wait_for_line(r"spawned uWSGI mule 1 \(pid: \d+\)")
        mule = int(line.rsplit("pid: ", 1)[1].rstrip(")"))
        touch(trigger)
        srv.wait_for_line(r"has been touched\.\.\. mules reload !!!", 10)
        srv.wait_for_line(r"mule 1 \(pid: %d\) still running 1s after its reload: killing it" % mule, 10)
        wait_until(lambda: not pid_alive(mule), 10, "the stubborn mule gone")
        wait_until(lambda: sum("spawned uWSGI mule 1 (pid:" in ln for ln in srv.lines) >= 2, 10,
                   "the mule spawned again")


def test_mule_msg_recv_size_truncates_what_the_message_loop_reads(tmp_path):
    mdir = tmp_path / "mules"
    mdir.mkdir()
    with run_server(["--wsgi-file", "tests/apps/mules_app.py", "--master", "--mules", "1",
                     "--mule-msg-recv-size", "8"], env={"MULES_DIR": str(mdir)}) as srv:
        srv.wait_for_line(r"spawned uWSGI mule 1 \(pid: \d+\)")
        assert request(srv.port, "/send?data=abcdefghij").status == 200  # b"raw:abcdefghij"
        wait_until(lambda: (mdir / "raw-abcd").exists(), 10, "the truncated message")
        assert not (mdir / "raw-abcdefghij").exists()


@pytest.mark.parametrize("option", ["--reload-on-uss", "--reload-on-pss"])
def test_reload_on_uss_and_pss_recycle_a_worker_over_the_limit(tmp_path, option):
    ctx, _ = server(tmp_path, option, "1", "--min-worker-lifetime", "0", "--no-threads-wait")
    with ctx as srv:
        pid = int(get(srv.port, "/pid"))  # any Python worker holds more than 1 MB of its own
        srv.wait_for_line(r"%s limit reached \(\d+ >= 1048576\)" % option[2:], 10)
        wait_until(lambda: (lambda p: p != pid and p)(int(get(srv.port, "/pid"))), 15, "a recycled worker")


def test_a_big_limit_keeps_the_worker(tmp_path):
    ctx, _ = server(tmp_path, "--reload-on-uss", "100000", "--reload-on-pss", "100000", "--min-worker-lifetime", "0")
    with ctx as srv:
        pid = int(get(srv.port, "/pid"))
        assert [int(get(srv.port, "/pid")) for _ in range(3)] == [pid] * 3


def test_a_monitored_path_missing_at_startup_is_polled_until_it_appears(tmp_path):
    later = tmp_path / "later"
    ctx, mdir = server(tmp_path, "--fs-signal", "%s 16" % later, "--check-interval", "1")
    with ctx as srv:
        srv.wait_for_line(r'\[uwsgi-fsmon\] polling ".*later" every 1s \(inotify could not watch it\)')
        worker = int(get(srv.port, "/pid"))
        later.mkdir()
        assert wait_until(lambda: marks(mdir, 16), 10, "the signal of the new path") == [worker]
