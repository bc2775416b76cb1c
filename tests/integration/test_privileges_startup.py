"""The privilege, OS and startup options through the real CLI: ``--master-as-root``,
``--chroot``, ``--add-gid``, ``--no-initgroups``, ``--immediate-uid/gid``, ``--prio``,
``--never-swap``, ``--limit-nproc``, ``--binsh``, ``--flock*``, ``--file-write``, the
``--wait-for-*`` family, ``--envdir``/``--early-envdir``, ``--if-hostname-match``,
``--safe-pidfile2``, the documented no-ops and the refused namespace/jail/cgroup options.

Tests that switch users need root (the CI container runs as root): they skip elsewhere,
and fail under ``CI=true``, where a skipped privilege test would hide a regression.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import shutil
import signal
import socket
import tempfile
import textwrap

import pytest

from peers import in_ci
from server import ServerProcess, run_cli, run_server, spawn
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

PROBE = ["--wsgi-file", "tests/apps/os_probe.py"]
NOBODY = 65534


def needs_root() -> None:
    if os.geteuid() != 0:
        message = "needs root (the CI container runs as root)"
        if in_ci():
            pytest.fail(message + " and CI=true: privilege tests must run", pytrace=False)
        pytest.skip(message)


def _probe(srv, path: str = "/") -> dict:
    r = request(srv.port, path, timeout=10)
    assert r.status == 200, r.body
    return json.loads(r.body)


def _uids(pid: int) -> list:
    with open("/proc/%d/status" % pid) as f:
        return [line for line in f if line.startswith("Uid:")][0].split()[1:]


def _refusal(result) -> str:
    assert result.returncode == 1, result.stderr
    return result.stderr


# -- --master-as-root, groups, --chroot, --immediate-* ------------------------------------------


def test_master_as_root_keeps_the_master_root_and_drops_every_worker():
    needs_root()
    args = PROBE + ["--master", "--processes", "2", "--uid", "nobody", "--master-as-root", "--add-gid", "users"]
    with run_server(args) as srv:
        seen = {}
        for _ in range(20):
            rep = _probe(srv)
            seen[rep["pid"]] = rep
            if len(seen) == 2:
                break
        assert _uids(srv.pid) == ["0"] * 4  # the master stays root
        for rep in seen.values():
            assert (rep["uid"], rep["gid"], rep["groups"]) == (NOBODY, NOBODY, [100])
        os.kill(srv.pid, signal.SIGHUP)  # the respawned workers drop again
        srv.wait_for_line(r"gracefully \(RE\)spawned uWSGI master process")
        srv.wait_for_line(r"worker 2 buried after")
        assert _probe(srv)["uid"] == NOBODY
    out = srv.output()
    assert "the master keeps its privileges (--master-as-root)" in out
    assert out.count("setuid() to 65534") >= 2  # in each worker (not in the master)
    assert "set additional group 100 (users)" in out


def test_master_as_root_drops_daemons_unless_they_name_their_own_user():
    needs_root()
    with tempfile.TemporaryDirectory(dir="/tmp") as shared:  # written by nobody and by daemon
        os.chmod(shared, 0o777)
        plain, own = os.path.join(shared, "plain"), os.path.join(shared, "own")
        args = PROBE + ["--master", "--uid", "nobody", "--master-as-root",
                        "--attach-daemon", "id -u > %s; exec sleep 30" % plain,
                        "--attach-daemon2", "cmd=id -u > %s; exec sleep 30,uid=daemon" % own]
        with run_server(args) as srv:
            from support.waits import wait_until

            wait_until(lambda: os.path.getsize(plain) if os.path.exists(plain) else 0, what="the plain daemon")
            wait_until(lambda: os.path.getsize(own) if os.path.exists(own) else 0, what="the daemon with uid=")
            assert _uids(srv.pid)[0] == "0"
        with open(plain) as f, open(own) as g:
            assert (f.read().strip(), g.read().strip()) == (str(NOBODY), "1")


def test_supplementary_groups_follow_initgroups_no_initgroups_and_add_gid():
    needs_root()
    with run_server(PROBE + ["--uid", "nobody"]) as srv:
        assert _probe(srv)["groups"] == sorted(set(os.getgrouplist("nobody", NOBODY)))
    with run_server(PROBE + ["--uid", "nobody", "--no-initgroups"]) as srv:
        assert _probe(srv)["groups"] == []
    with run_server(PROBE + ["--uid", "nobody", "--add-gid", "users", "--add-gid", "1"]) as srv:
        rep = _probe(srv)
    assert (rep["gid"], rep["groups"]) == (NOBODY, [1, 100])
    result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--uid", "nobody", "--add-gid", "no-such-group-x"])
    assert "gateway: --add-gid no-such-group-x: no such group" in _refusal(result)


def test_chroot_loads_the_app_inside_it_and_chdir_is_inside_too(tmp_path):
    needs_root()
    jail = tmp_path / "jail"
    (jail / "srv").mkdir(parents=True)
    shutil.copy("tests/apps/os_probe.py", jail / "srv" / "probe.py")
    jail.chmod(0o755)
    tmp_path.chmod(0o755)
    args = ["--chroot", str(jail), "--chdir", "/srv", "--wsgi-file", "probe.py", "--uid", "nobody",
            "--master", "--processes", "2"]
    with run_server(args) as srv:
        rep = _probe(srv)
        assert (rep["uid"], rep["cwd"]) == (NOBODY, "/srv")
        assert os.readlink("/proc/%d/root" % srv.pid) == str(jail)
        os.kill(srv.pid, signal.SIGHUP)  # the reload imports the app again, inside the chroot
        srv.wait_for_line(r"gracefully \(RE\)spawned uWSGI master process")
        srv.wait_for_line(r"worker 2 buried after")
        assert _probe(srv)["cwd"] == "/srv"
        assert "chroot() to %s" % jail in srv.output()
    # --master-as-root: the master stays outside, each worker enters the chroot (at /) after its fork
    args = PROBE + ["--chroot", str(jail), "--uid", "nobody", "--master", "--processes", "2", "--master-as-root"]
    with run_server(args) as srv:
        rep = _probe(srv)
        assert (rep["uid"], rep["cwd"]) == (NOBODY, "/")
        assert os.readlink("/proc/%d/root" % srv.pid) == "/"
        assert os.readlink("/proc/%d/root" % rep["pid"]) == str(jail)


def test_chroot_needs_root_and_immediate_uid_refuses_root():
    needs_root()
    # --immediate-uid drops first: the chroot at the drop is then refused, by name
    result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--immediate-uid", "nobody", "--chroot", "/tmp"])
    assert "gateway: --chroot /tmp: cannot chroot() as non-root user" in _refusal(result)
    assert "gateway: --immediate-uid root: invalid uid 0 (never root)" in _refusal(
        run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--immediate-uid", "root"]))


def test_immediate_gid_and_uid_switch_before_anything_else():
    needs_root()
    with tempfile.TemporaryDirectory(dir="/tmp") as shared:  # pytest's tmp_path is root's alone
        os.chmod(shared, 0o777)
        pidfile = os.path.join(shared, "pid")
        args = PROBE + ["--immediate-gid", "nogroup", "--immediate-uid", "nobody", "--pidfile", pidfile]
        with run_server(args) as srv:
            rep = _probe(srv)
            assert (rep["uid"], rep["gid"], rep["groups"]) == (NOBODY, NOBODY, [])
            assert os.stat(pidfile).st_uid == NOBODY  # already nobody when the pidfile was written
            out = srv.output()
    assert "immediate gid: 65534" in out and "immediate uid: 65534" in out


# -- --prio, --never-swap, --limit-nproc --------------------------------------------------------


def test_prio_sets_the_nice_value_of_the_workers():
    with run_server(PROBE + ["--master", "--processes", "2", "--prio", "7"]) as srv:
        assert _probe(srv)["nice"] == 7
        assert "scheduler priority set to 7" in srv.output()
    result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--prio", "40"])
    assert "--prio" in _refusal(result) and "from -20 to 19" in result.stderr


def test_never_swap_locks_the_memory_of_every_process():
    needs_root()
    with run_server(PROBE + ["--master", "--processes", "2", "--never-swap"]) as srv:
        assert _probe(srv)["vmlck"] > 1024  # kB: the worker's pages are locked (the fork lost them)
        assert _status_kb(srv.pid, "VmLck") > 1024  # the master's too
    hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    if hard != resource.RLIM_INFINITY:  # gateway cannot lift the limit: the drop would starve the workers
        result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--never-swap", "--uid", "nobody"])
        assert "--never-swap with --uid/--gid needs an unlimited RLIMIT_MEMLOCK" in _refusal(result)
    else:
        with run_server(PROBE + ["--never-swap", "--uid", "nobody"]) as srv:
            assert _probe(srv)["vmlck"] > 1024


def _status_kb(pid: int, key: str) -> int:
    with open("/proc/%d/status" % pid) as f:
        return int([line for line in f if line.startswith(key + ":")][0].split()[1])


def test_limit_nproc_sets_the_limit_and_adjusts_the_workers():
    needs_root()  # root is exempt from the limit: the test cannot starve the machine's user
    with run_server(PROBE + ["--master", "--processes", "3", "--limit-nproc", "2"]) as srv:
        assert _probe(srv)["nproc"] == "2"
        srv.wait_for_line(r"!!! number of workers adjusted to 1 due to system limits !!!")
        assert "spawned uWSGI worker 2" not in srv.output()


# -- --binsh, --file-write, --safe-pidfile2, --force-cwd ---------------------------------------


def test_binsh_runs_exec_hooks_and_daemons_with_the_first_executable_shell(tmp_path):
    marks = tmp_path / "marks"
    shell = tmp_path / "myshell"
    shell.write_text('#!/bin/sh\necho "$2" >> %s\nexec /bin/sh "$@"\n' % marks)
    shell.chmod(0o755)
    done = tmp_path / "daemon-ran"
    args = PROBE + ["--binsh", str(tmp_path / "missing-shell"), "--binsh", str(shell), "--exec-asap", "true hook",
                    "--attach-daemon", "touch %s; exec sleep 30" % done]
    with run_server(args) as srv:
        srv.wait_for_line(r"\[uwsgi-daemons\] spawning")
        from support.waits import wait_until

        wait_until(done.exists, what="the daemon's command")
    lines = marks.read_text().splitlines()
    assert lines[0] == "true hook" and lines[1].startswith("touch ")


def test_file_write_and_safe_pidfile2(tmp_path):
    target = tmp_path / "tunable"
    pidfile = tmp_path / "pid2"
    with run_server(PROBE + ["--file-write", "%s=42" % target, "--safe-pidfile2", str(pidfile), "--master"]) as srv:
        assert target.read_text() == "42\n"
        assert pidfile.read_text() == "%d\n" % srv.pid
        assert 'writing "42" to "%s" ...' % target in srv.output()
    result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--file-write", "no-equal-sign"])
    assert "--file-write" in _refusal(result) and "FILE=VALUE" in result.stderr
    result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--file-write", "%s/no/dir=1" % tmp_path])
    assert "gateway: --file-write %s/no/dir: No such file or directory" % tmp_path in _refusal(result)


# -- --flock family ----------------------------------------------------------------------------


def test_flock_refuses_to_start_while_another_process_holds_the_lock(tmp_path):
    lock = tmp_path / "instance.lock"
    lock.write_text("")
    with run_server(PROBE + ["--flock", str(lock)]) as first:
        result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--flock", str(lock)])
        assert "gateway: uWSGI ERROR: %s is locked by another instance" % lock in _refusal(result)
        result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--flock2", str(lock)])
        assert "locked by another instance" in _refusal(result)
        assert _probe(first)["pid"]
    missing = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--flock", str(tmp_path / "nope")])
    assert "gateway: --flock %s/nope: No such file or directory" % tmp_path in _refusal(missing)


@pytest.mark.parametrize("option", ["--flock-wait", "--flock-wait2"])
def test_flock_wait_starts_once_the_holder_lets_go(tmp_path, option):
    lock = tmp_path / "instance.lock"
    lock.write_text("")
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0"] + PROBE + [option, str(lock)]))
        try:
            srv.wait_for_line(r"waiting for the lock on %s" % lock, timeout=10)
            assert srv.proc.poll() is None and not srv.port
            fcntl.lockf(fd, fcntl.LOCK_UN)
            srv.wait_ready(20)
            assert _probe(srv)["pid"]
        finally:
            srv.stop()
    finally:
        os.close(fd)


# -- --wait-for-* ------------------------------------------------------------------------------


def test_wait_for_file_starts_when_the_file_appears(tmp_path):
    wanted = tmp_path / "ready.flag"
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0"] + PROBE
                              + ["--wait-for-file", str(wanted), "--wait-for-fs-timeout", "20"]))
    try:
        srv.wait_for_line(r"waiting for %s \(max 20 seconds\) \.\.\." % wanted, timeout=10)
        (tmp_path / "ready.flag").mkdir()  # a directory is not what --wait-for-file waits for
        srv.wait_for_line(r"waiting for", timeout=1)
        assert srv.proc.poll() is None and not srv.port
        (tmp_path / "ready.flag").rmdir()
        wanted.write_text("")
        srv.wait_ready(20)
        assert "%s found" % wanted in srv.output()
    finally:
        srv.stop()


def test_waits_that_never_succeed_fail_with_a_clear_message(tmp_path):
    base = ["--http-socket", "127.0.0.1:0"] + PROBE
    result = run_cli(base + ["--wait-for-dir", str(tmp_path / "never"), "--wait-for-fs-timeout", "1"])
    assert "gateway: %s unavailable after 1 seconds" % (tmp_path / "never") in _refusal(result)
    result = run_cli(base + ["--wait-for-mountpoint", str(tmp_path), "--wait-for-fs-timeout", "1"])
    assert "gateway: %s unavailable after 1 seconds" % tmp_path in _refusal(result)
    result = run_cli(base + ["--wait-iface", "gwnosuch0", "--wait-iface-timeout", "1"])
    assert "gateway: interface gwnosuch0 unavailable after 1 seconds" in _refusal(result)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]  # bound, never listening: connections are refused
        result = run_cli(base + ["--wait-for-socket", "127.0.0.1:%d" % free, "--wait-for-socket-timeout", "1"])
    assert "gateway: 127.0.0.1:%d unavailable after 1 seconds" % free in _refusal(result)


def test_waits_that_are_met_at_once(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        address = "127.0.0.1:%d" % listener.getsockname()[1]
        args = PROBE + ["--wait-for-mountpoint", "/proc", "--wait-for-interface", "lo", "--wait-for-socket", address,
                        "--wait-for-fs", str(tmp_path), "--wait-for-dir", str(tmp_path)]
        with run_server(args) as srv:
            out = srv.output()
    assert "/proc mounted" in out and "interface lo found" in out and "%s ready" % address in out


# -- --envdir, --early-envdir, --if-hostname-match ---------------------------------------------


def _envdir(path, **values):
    path.mkdir()
    for name, data in values.items():
        (path / name).write_bytes(data)
    return path


def test_envdir_sets_and_unsets_variables(tmp_path):
    env = _envdir(tmp_path / "env", GW_DB=b"postgres://db/app \nignored second line\n", GW_NUL=b"a\0b",
                  GW_GONE=b"", **{".GW_HIDDEN": b"x"})
    (env / "GW_SUBDIR").mkdir()
    with run_server(PROBE + ["--envdir", str(env)], env={"GW_GONE": "set before"}) as srv:
        got = _probe(srv)["env"]
    assert got == {"GW_DB": "postgres://db/app", "GW_NUL": "a\nb"}
    result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--envdir", str(tmp_path / "missing")])
    assert "gateway: --envdir %s: No such file or directory" % (tmp_path / "missing") in _refusal(result)


def test_early_envdir_is_seen_by_the_options_after_it(tmp_path):
    env = _envdir(tmp_path / "env", GW_EARLY=b"from-envdir\n")
    ini = tmp_path / "app.ini"
    ini.write_text(textwrap.dedent("""\
        [uwsgi]
        early-envdir = %s
        env = GW_COPY=$(GW_EARLY)
        if-env = GW_EARLY
        env = GW_IF=%%(_)
        endif =
        http-socket = 127.0.0.1:0
        wsgi-file = tests/apps/os_probe.py
        """ % env))
    with run_server([str(ini)]) as srv:
        got = _probe(srv)["env"]
    assert got == {"GW_EARLY": "from-envdir", "GW_COPY": "from-envdir", "GW_IF": "from-envdir"}


def test_if_hostname_match_in_an_ini_file(tmp_path):
    host = socket.gethostname()
    ini = tmp_path / "app.ini"
    ini.write_text(textwrap.dedent("""\
        [uwsgi]
        if-hostname-match = ^%s$
        print = matched %%(_)
        endif =
        if-not-hostname-match = ^%s$
        print = not matched
        endif =
        if-hostname-match = ^no-such-host-\\d+$
        print = wrong
        else =
        print = else branch
        endif =
        """ % (host[:3] + ".*", host)))
    result = run_cli([str(ini)])
    assert result.stdout.splitlines() == ["matched ^%s.*$" % host[:3], "else branch"]
    bad = tmp_path / "bad.ini"
    bad.write_text("[uwsgi]\nif-hostname-match = (\nprint = x\nendif =\n")
    assert "'if-hostname-match (': not a valid regular expression" in _refusal(run_cli([str(bad)]))


# -- documented no-ops, refusals ---------------------------------------------------------------


def test_close_on_exec_no_ops_are_true_a_child_inherits_no_socket():
    args = PROBE + ["--close-on-exec", "--close-on-exec2", "--skip-zero", "--use-abort", "--master"]
    with run_server(args) as srv:
        listing = _probe(srv, "/spawn")["fds"]
    assert "socket:" not in listing and "pipe:" in listing  # its own stdout pipe is listed


@pytest.mark.parametrize("argv, hint", [
    (["--unshare", "net"], "Linux namespaces"),
    (["--ns", "/srv/root"], "Linux namespaces"),
    (["--setns-preopen"], "Linux namespaces"),
    (["--pivot_root", "/a /b"], "--chroot DIR is supported"),
    (["--jail", "/usr/jail"], "no jails"),
    (["--cgroup", "/sys/fs/cgroup/app"], "cgroups"),
    (["--cap", "setuid"], "capabilities"),
    (["--ksm"], "KSM"),
    (["--re-fork"], "forks no extra process"),
    (["--forkbomb-delay", "5"], "back-off"),
])
def test_namespace_jail_and_cgroup_options_are_refused_by_name(argv, hint):
    result = run_cli(argv + ["--http-socket", "127.0.0.1:0"] + PROBE)
    assert "gateway: option '%s' is not supported yet by gateway" % argv[0] in _refusal(result)
    assert hint in result.stderr


def test_master_as_root_without_uid_changes_nothing():
    with run_server(PROBE + ["--master-as-root", "--master", "--processes", "2"]) as srv:
        assert _probe(srv)["uid"] == os.getuid()
        assert "setuid()" not in srv.output()


def test_master_as_root_started_by_another_user_fails_at_startup_not_in_every_worker():
    needs_root()
    # --immediate-uid: not root from the start; the children could not switch to daemon either,
    # and each would die of it and be respawned: the drop is tried (and refused) once, up front
    result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE
                     + ["--immediate-uid", "nobody", "--master", "--master-as-root", "--uid", "daemon"], timeout=15)
    assert "cannot drop privileges to uid daemon" in _refusal(result)
    assert "worker 1 failed" not in result.stderr and "spawned uWSGI worker" not in result.stderr


@pytest.mark.parametrize("extra, message", [
    (["--uid", "no-such-user-x"], "--uid no-such-user-x: no such user"),
    (["--uid", "nobody", "--gid", "no-such-group-x"], "--gid no-such-group-x: no such group"),
    (["--uid", "nobody", "--add-gid", "no-such-group-x"], "--add-gid no-such-group-x: no such group"),
    (["--uid", "nobody", "--chroot", "/no/such/dir"], "--chroot /no/such/dir: no such directory"),
])
def test_master_as_root_refuses_a_drop_that_cannot_work_at_startup(extra, message):
    needs_root()
    # checked in the master, once: each child would otherwise die of it and be respawned
    result = run_cli(["--http-socket", "127.0.0.1:0"] + PROBE + ["--master", "--master-as-root"] + extra, timeout=15)
    assert message in _refusal(result)
    assert "spawned uWSGI worker" not in result.stderr
