"""uWSGI's hooks through the real CLI: each phase runs in the process and at the point uWSGI
runs it (asap to post-app in the master, post-fork and accepting in each worker), the
``-once`` phases only on a worker's first spawn, fatal failures end the instance (even from
a worker), ``--hook-touch`` and ``as-user-atexit`` in the master, ``as-mule`` and
``as-gateway`` in each mule and router process."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from server import ROOT, ServerProcess, gateway_command, run_cli, run_server, spawn
from support.httpclient import request
from support.router import RouterProcess
from support.stats import fetch_stats, stats_port
from support.waits import pid_alive, wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/hello.py"]


def mark(out, phase):
    """A hook appending "PHASE PID UID" to ``out``: the pid is the gateway process running it
    (the shell's parent).  The file is created writable by anyone (hooks after --uid write too)."""
    if not out.exists():
        out.write_text("")
        os.chmod(out, 0o666)
    return "exec:echo %s $PPID `id -u` >> %s" % (phase, out)


def records(out):
    """The lines of ``out`` as (phase, pid, uid), in the order they were written."""
    return [(p, int(pid), int(uid)) for p, pid, uid in (line.split() for line in out.read_text().splitlines())]


def worker_pids(srv, count):
    """worker id -> pid of its first process, from the master's spawn lines."""
    pids = {}
    for wid in range(1, count + 1):
        line = srv.wait_for_line(r"spawned uWSGI worker %d \(pid: (\d+)" % wid)
        pids[wid] = int(re.search(r"pid: (\d+)", line).group(1))
    return pids


@pytest.fixture
def open_dir():
    """A directory the hooks still reach after --uid nobody (pytest's tmp_path is root's only)."""
    path = tempfile.mkdtemp(prefix="gw-hooks-")
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_every_phase_runs_in_its_process_in_uwsgis_order(open_dir):
    out = open_dir / "phases"
    as_root = os.geteuid() == 0
    args = APP + ["--master", "--processes", "2"] + (["--uid", "nobody"] if as_root else [])
    for phase in ("asap", "pre-jail", "in-jail", "as-root", "as-user", "pre-app", "post-app", "master-start",
                  "post-fork", "accepting", "accepting-once", "accepting1", "accepting1-once"):
        args += ["--hook-" + phase, mark(out, phase)]
    args += ["--exec-asap", "echo exec-asap $PPID `id -u` >> %s" % out, "--hook-post-jail", mark(out, "post-jail")]
    with run_server(args) as srv:
        srv.wait_for_line(r"--hook-post-jail/--exec-post-jail never run: gateway has no jail")
        workers = worker_pids(srv, 2)
        wait_until(lambda: len([r for r in records(out) if r[0] == "accepting"]) == 2, what="both workers")
        got = records(out)
        srv.wait_for_line(r'running "%s" \(accepting1-once\)\.\.\.' % re.escape(mark(out, "accepting1-once")))
    master = srv.pid
    in_master = [r for r in got if r[1] == master]
    expected = ["asap", "exec-asap", "pre-jail", "in-jail"] + (["as-root", "as-user"] if as_root else []) \
        + ["pre-app", "post-app", "master-start"]
    assert [r[0] for r in in_master] == expected
    if as_root:
        assert dict((p, uid) for p, _, uid in in_master)["as-root"] == 0
        assert all(uid == 65534 for p, _, uid in in_master if p in ("as-user", "pre-app", "post-app", "master-start"))
    for wid, pid in workers.items():
        mine = [r[0] for r in got if r[1] == pid]
        want = ["post-fork", "accepting", "accepting-once"] + (["accepting1", "accepting1-once"] if wid == 1 else [])
        assert mine == want, (wid, got)
    assert {r[1] for r in got} == {master, *workers.values()}


def test_once_phases_do_not_run_again_for_a_respawned_worker_or_a_reload(tmp_path):
    out = tmp_path / "accepting"
    args = APP + ["--master", "--processes", "2"]
    for phase in ("accepting", "accepting-once", "accepting1", "accepting1-once", "post-fork"):
        args += ["--hook-" + phase, mark(out, phase)]
    with run_server(args) as srv:
        first = worker_pids(srv, 2)
        wait_until(lambda: len([r for r in records(out) if r[0] == "accepting"]) == 2, what="both workers")
        os.kill(first[1], signal.SIGKILL)
        line = srv.wait_for_line(r"Respawned uWSGI worker 1 \(new pid: (\d+)\)")
        respawned = int(re.search(r"new pid: (\d+)", line).group(1))
        wait_until(lambda: any(r[0] == "accepting1" and r[1] == respawned for r in records(out)),
                   what="the respawned worker 1 accepting")
        mine = [r[0] for r in records(out) if r[1] == respawned]
        assert mine == ["post-fork", "accepting", "accepting1"]  # no -once forms on a respawn
        os.kill(srv.pid, signal.SIGHUP)  # a graceful reload replaces both workers in place
        srv.wait_for_line(r"gracefully \(RE\)spawned uWSGI master process")
        wait_until(lambda: len([r for r in records(out) if r[0] == "accepting"]) == 5, what="the reloaded workers")
    got = records(out)
    assert [r[0] for r in got].count("accepting-once") == 2
    assert [r[0] for r in got].count("accepting1-once") == 1
    assert [r[0] for r in got].count("post-fork") == 5  # every process, first spawn or not


def test_pre_app_runs_in_each_worker_with_lazy_apps(tmp_path):
    out = tmp_path / "app"
    args = APP + ["--master", "--processes", "2", "--lazy-apps", "--hook-pre-app", mark(out, "pre-app"),
                  "--exec-post-app", "echo post-app $PPID 0 >> %s" % out]
    with run_server(args) as srv:
        workers = worker_pids(srv, 2)
        wait_until(lambda: len(records(out)) == 4, what="both workers' app loads")
    for pid in workers.values():
        assert [r[0] for r in records(out) if r[1] == pid] == ["pre-app", "post-app"]
    assert srv.pid not in {r[1] for r in records(out)}


def test_a_failed_hook_in_a_worker_destroys_the_instance(tmp_path):
    result = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--master", "--processes", "2",
                            "--hook-accepting1", "exec:exit 7"], timeout=30)
    assert result.returncode == 1, result.stderr
    assert '--hook-accepting1 "exec:exit 7" failed: command "exit 7" exited with non-zero code: 7' in result.stderr
    assert "FATAL hook failed in worker 1, destroying instance" in result.stderr
    assert "Respawned uWSGI worker 1" not in result.stderr
    lazy = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--master", "--lazy-apps",
                          "--hook-pre-app", "exec:exit 2"], timeout=30)
    assert lazy.returncode == 1 and "FATAL hook failed in worker 1, destroying instance" in lazy.stderr


def test_failed_startup_hooks_stop_with_one_message_naming_the_option(tmp_path):
    after = tmp_path / "after"
    asap = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--hook-asap", "exec:exit 3",
                          "--hook-asap", "create:%s" % after])
    assert asap.returncode == 1
    assert 'gateway: --hook-asap "exec:exit 3" failed: command "exit 3" exited with non-zero code: 3' in asap.stderr
    assert not after.exists()
    mkdir = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--hook-pre-app", "mkdir:%s" % tmp_path])
    assert mkdir.returncode == 1 and "mkdir %s: File exists" % tmp_path in mkdir.stderr
    master = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--hook-master-start", "unlink:%s" % after], timeout=30)
    assert master.returncode == 1 and "FATAL hook failed, destroying instance" in master.stderr
    single = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--hook-post-fork", "exec:false"])
    assert single.returncode == 1 and 'gateway: --hook-post-fork "exec:false" failed' in single.stderr


def test_unknown_and_c_symbol_actions_are_refused_before_anything_runs(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\nhttp-socket = 127.0.0.1:0\nwsgi-file = tests/apps/hello.py\n"
                   "hook-asap = create:%s\nhook-post-fork = frobnicate:x\n" % (tmp_path / "ran"))
    result = run_cli([str(ini)])
    assert result.returncode == 1
    assert "option 'hook-post-fork': unknown hook action 'frobnicate'" in result.stderr
    assert str(ini) in result.stderr and not (tmp_path / "ran").exists()
    call = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--hook-as-root", "callret:uwsgi_foo"])
    assert call.returncode == 1 and "the hook action 'callret' is not supported" in call.stderr
    shortcut = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--call-asap", "uwsgi_foo"])
    assert shortcut.returncode == 1 and "option '--call-asap' is not supported" in shortcut.stderr


def hook_children(srv):
    """The pids of the children the master forked to run its hooks, from its log."""
    return {int(m.group(1)) for m in (re.search(r"running the hooks in a child of the master \(pid: (\d+)\)", line)
                                      for line in list(srv.lines)) if m}


def test_hook_touch_runs_in_a_child_of_the_master_each_time_the_file_is_touched(tmp_path):
    trigger = tmp_path / "trigger"
    trigger.write_text("")
    out = tmp_path / "touched"
    with run_server(APP + ["--hook-touch", "%s %s" % (trigger, mark(out, "touch"))]) as srv:
        assert records(out) == []
        os.utime(trigger, (1, 1))
        wait_until(lambda: len(records(out)) == 1, what="the touch hook")
        os.utime(trigger, (2, 2))
        wait_until(lambda: len(records(out)) == 2, what="the second touch")
        children = hook_children(srv)
    # it implied a master, which forked a child for each touch (its loop never runs a hook)
    assert {r[1] for r in records(out)} == children and len(children) == 2 and srv.pid not in children


def test_a_slow_touch_hook_does_not_stop_the_master(tmp_path):
    """exec:sleep in --hook-touch: the master still answers --stats at once, and a failing
    rpc hook later is only logged (the master lives on)."""
    trigger, out = tmp_path / "trigger", tmp_path / "started"
    trigger.write_text("")
    args = APP + ["--stats", "127.0.0.1:0", "--hook-touch", "%s exec:echo started >> %s; sleep 8" % (trigger, out),
                  "--hook-touch", "%s rpc:gw_nothing@127.0.0.1:1" % trigger]
    with run_server(args) as srv:
        port = stats_port(srv)
        os.utime(trigger, (1, 1))
        wait_until(lambda: out.exists() and out.read_text() == "started\n", what="the slow hook")
        begin = time.monotonic()
        doc = fetch_stats(port)
        assert time.monotonic() - begin < 2.0
        assert doc["pid"] == srv.pid
        assert request(srv.port, "/").status == 200
    assert srv.proc.returncode == 0  # the hook's child was stopped with the instance


def test_rpc_hook_with_a_bad_node_address_is_refused_at_startup(tmp_path):
    result = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--hook-touch", "%s rpc:f@127.0.0.1:notaport" % tmp_path])
    assert result.returncode == 1
    assert "the hook action 'rpc': bad node address '127.0.0.1:notaport'" in result.stderr


def test_as_user_atexit_runs_in_the_master_on_reload_and_exit(tmp_path):
    out = tmp_path / "atexit"
    args = APP + ["--master", "--hook-as-user-atexit", mark(out, "atexit"),
                  "--exec-as-user-atexit", "echo exec-atexit $PPID 0 >> %s; exit 1" % out]
    with run_server(args) as srv:
        assert records(out) == []
        os.kill(srv.pid, signal.SIGHUP)
        wait_until(lambda: len(records(out)) == 2, what="the hooks of the reload")
        [child] = hook_children(srv)  # at a reload, in a child: the master's loop goes on
    assert [(r[0], r[1]) for r in records(out)] == [("atexit", child), ("exec-atexit", child),
                                                    ("atexit", srv.pid), ("exec-atexit", srv.pid)]
    assert srv.proc.returncode == 0  # a failure there is only logged
    single = ServerProcess(spawn(APP + ["--http-socket", "127.0.0.1:0", "--hook-as-user-atexit",
                                        mark(tmp_path / "single", "atexit")]))
    single.wait_ready(20)
    single.stop()
    assert [(r[0], r[1]) for r in records(tmp_path / "single")] == [("atexit", single.pid)]


def test_as_user_atexit_runs_in_the_detached_master_after_daemonize2(tmp_path):
    log, out = tmp_path / "daemon.log", tmp_path / "atexit"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(gateway_command(APP + ["--http-socket", "127.0.0.1:0", "--daemonize2", str(log),
                                                 "--hook-as-user-atexit", mark(out, "atexit")]),
                          cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert records(out) == []  # not in the process that returned to the shell
    ready = wait_until(lambda: re.search(r"gateway ready: pid=(\d+)", log.read_text() if log.exists() else ""),
                       what="the ready line")
    pid = int(ready.group(1))
    os.kill(pid, signal.SIGTERM)  # the daemon this test started, by its pid
    wait_until(lambda: not pid_alive(pid), what="the daemon's exit")
    assert [(r[0], r[1]) for r in records(out)] == [("atexit", pid)]


def test_as_mule_and_as_gateway_run_in_each_mule_and_router_process(tmp_path):
    out = tmp_path / "children"
    args = APP + ["--http", "127.0.0.1:0", "--http-processes", "2", "--mules", "2",
                  "--hook-as-mule", mark(out, "as-mule"), "--hook-as-gateway", mark(out, "as-gateway")]
    srv = RouterProcess(spawn(args))
    try:
        srv.wait_ready(20, routers=2)
        mules = [int(srv.wait_for_line(r"spawned uWSGI mule %d \(pid: (\d+)" % n).rsplit("pid: ", 1)[1].rstrip(")"))
                 for n in (1, 2)]
        wait_until(lambda: len(records(out)) == 4, what="both mules and both routers")
    finally:
        srv.stop()
    got = sorted((r[0], r[1]) for r in records(out))
    assert got == sorted([("as-mule", pid) for pid in mules] + [("as-gateway", pid) for pid in srv.router_pids])
    failing = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--mules", "1", "--hook-as-mule", "exec:exit 4"],
                      timeout=30)
    assert failing.returncode == 1, failing.stderr
    assert "FATAL hook failed in uWSGI mule 1, destroying instance" in failing.stderr
