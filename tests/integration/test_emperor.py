"""The Emperor (``--emperor DIR|GLOB``) through the real CLI: vassals spawned per file, reloaded
when touched, stopped when removed, respawned when killed, throttled when failing, all stopped
with the Emperor; and the vassal's side of the ``UWSGI_EMPEROR_FD`` channel.  Every wait is for
a log line, a port or a pid, never a fixed sleep; only the processes a test started are signalled."""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

import pytest

from server import ROOT, ServerProcess, gateway_command, run_cli, spawn
from support.httpclient import request
from support.waits import pid_alive, wait_until

pytestmark = pytest.mark.timeout(120)

APP = os.path.join(ROOT, "tests", "apps", "vassal_probe.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_vassal(directory: str, name: str, port: int, extra: str = "") -> str:
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write("[uwsgi]\nhttp-socket = 127.0.0.1:%d\nwsgi-file = %s\n%s" % (port, APP, extra))
    return path


def probe(port: int) -> dict:
    r = request(port, "/", timeout=10)
    assert r.status == 200, r
    return ast.literal_eval(r.body.decode())


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def count(srv: ServerProcess, text: str) -> int:
    return sum(1 for line in list(srv.lines) if text in line)


@contextmanager
def emperor(args: List[str], env: Optional[Dict[str, str]] = None) -> Iterator[ServerProcess]:
    """The Emperor with ``args``; stopped with SIGTERM at the end (its vassals with it)."""
    srv = ServerProcess(spawn(["--emperor-freq", "1"] + args, env=env))
    try:
        srv.wait_for_line(r"gateway ready: pid=%d emperor=" % srv.pid, timeout=20)
        yield srv
    finally:
        srv.stop(timeout=30)
    srv.check_tracebacks()


def ready(srv: ServerProcess, name: str, n: int = 1, timeout: float = 30.0) -> None:
    """Wait for the ``n``-th "vassal NAME is ready to accept requests" line."""
    text = "[emperor] vassal %s is ready to accept requests" % name
    wait_until(lambda: count(srv, text) >= n, timeout=timeout, what="%r x%d; output:\n%s" % (text, n, srv.output()))


def test_vassals_answer_reload_when_touched_stop_when_removed_and_new_files_spawn(tmp_path):
    vdir = str(tmp_path / "vassals")
    os.mkdir(vdir)
    pa, pb, pc = free_port(), free_port(), free_port()
    a = write_vassal(vdir, "a.ini", pa)
    b = write_vassal(vdir, "b.ini", pb)
    with emperor(["--emperor", vdir]) as srv:
        ready(srv, "a.ini")
        ready(srv, "b.ini")
        ra, rb = probe(pa), probe(pb)
        assert ra["masterpid"] != rb["masterpid"] and ra["masterpid"] and rb["masterpid"]
        assert ra["emperor_fd"] is None  # removed from the app's environment
        for name in ("a.ini", "b.ini"):
            assert "[emperor] vassal %s has been spawned" % name in srv.output()
        srv.wait_for_line(r"\[emperor\] vassal a.ini is now loyal", timeout=10)

        st = os.stat(a)
        os.utime(a, (st.st_atime, st.st_mtime + 5))
        srv.wait_for_line(r"\[emperor\] reload the uwsgi instance a\.ini", timeout=10)
        srv.wait_for_line(r"received message 1 from emperor", timeout=10)
        new = wait_until(lambda: (lambda r: r if r["pid"] != ra["pid"] else None)(probe(pa)), timeout=20,
                         what="a new worker in a.ini")
        assert new["masterpid"] == ra["masterpid"]  # a graceful reload: same master, new worker
        assert "binary reloading uWSGI..." not in srv.output()  # same configuration: in place
        assert probe(pb) == rb  # the other vassal is not touched
        assert "reload the uwsgi instance b.ini" not in srv.output()

        os.unlink(b)
        srv.wait_for_line(r"\[emperor\] stop the uwsgi instance b\.ini", timeout=10)
        srv.wait_for_line(r"\[emperor\] removed uwsgi instance b\.ini", timeout=30)
        assert refuses(pb)
        wait_until(lambda: not pid_alive(rb["masterpid"]) and not pid_alive(rb["pid"]), timeout=10,
                   what="b.ini's processes gone")
        assert "vassal b.ini (pid" not in srv.output()  # a stop asked for is no death

        write_vassal(vdir, "c.ini", pc)
        ready(srv, "c.ini")
        rc = probe(pc)
        masters = [new["masterpid"], rc["masterpid"]]
        workers = [new["pid"], rc["pid"]]
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(30) == 0
    out = srv.output()
    assert "[emperor] *** RAGNAROK EVOKED ***" in out
    assert out.rstrip().endswith("The Emperor is buried.")
    wait_until(lambda: not any(pid_alive(pid) for pid in masters + workers), timeout=10,
               what="every vassal process gone")
    assert refuses(pa) and refuses(pc)


def test_changed_file_binary_reloads_the_vassal_keeping_its_socket_open(tmp_path):
    vdir = str(tmp_path / "vassals")
    os.mkdir(vdir)
    port = free_port()
    path = write_vassal(vdir, "app.ini", port)
    with emperor(["--emperor", vdir]) as srv:
        ready(srv, "app.ini")
        first = probe(port)
        assert first["numproc"] == 1 and first["tag"] == ""
        results = {"ok": 0, "failed": []}
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                try:
                    r = request(port, "/", timeout=20)
                    if r.status == 200:
                        results["ok"] += 1
                    else:
                        results["failed"].append(r.status)
                except Exception as e:  # a refused or cut connection
                    results["failed"].append(repr(e))

        client = threading.Thread(target=load)
        client.start()
        try:
            wait_until(lambda: results["ok"] > 5, what="requests before the change")
            write_vassal(vdir, "app.ini", port, "processes = 2\nenv = TAG=second\n")
            st = os.stat(path)
            os.utime(path, (st.st_atime, st.st_mtime + 5))
            srv.wait_for_line(r"binary reloading uWSGI\.\.\.", timeout=10)
            ready(srv, "app.ini", n=2)
            second = wait_until(lambda: (lambda r: r if r["numproc"] == 2 else None)(probe(port)), timeout=20,
                                what="the new configuration serving")
            before = results["ok"]
            wait_until(lambda: results["ok"] > before + 5, what="requests after the change")
        finally:
            stop.set()
            client.join(30)
        assert second["tag"] == "second"
        assert second["masterpid"] == first["masterpid"]  # exec: the same process, the Emperor's child still
        assert results["failed"] == [], results  # the listening socket never closed
        assert "[emperor] vassal app.ini (pid" not in srv.output()  # no death seen by the Emperor


def test_a_new_file_that_does_not_load_only_reloads_the_workers(tmp_path):
    vdir = str(tmp_path / "vassals")
    os.mkdir(vdir)
    port = free_port()
    path = write_vassal(vdir, "app.ini", port)
    with emperor(["--emperor", vdir]) as srv:
        ready(srv, "app.ini")
        first = probe(port)
        write_vassal(vdir, "app.ini", port, "processes = many\n")
        st = os.stat(path)
        os.utime(path, (st.st_atime, st.st_mtime + 5))
        srv.wait_for_line(r"the new configuration does not load \(.*processes.*\): reloading the workers only",
                          timeout=10)
        new = wait_until(lambda: (lambda r: r if r["pid"] != first["pid"] else None)(probe(port)), timeout=20,
                         what="a new worker")
        assert new["masterpid"] == first["masterpid"]
        assert "binary reloading uWSGI..." not in srv.output()


def test_a_second_touch_during_an_in_place_reload_reloads_again_when_it_is_over(tmp_path):
    """The Emperor takes the file's new time when it sends the reload: a reload coming while
    the previous one still retires a busy worker is remembered by the vassal and runs after."""
    vdir = str(tmp_path / "vassals")
    os.mkdir(vdir)
    port, loads = free_port(), str(tmp_path / "loads")
    path = os.path.join(vdir, "app.ini")
    with open(path, "w") as f:
        f.write("[uwsgi]\nhttp-socket = 127.0.0.1:%d\nwsgi-file = %s\nenv = RELOAD_LOG=%s\n"
                % (port, os.path.join(ROOT, "tests", "apps", "reload_log.py"), loads))

    def loaded() -> int:
        with open(loads) as f:
            return len(f.read().splitlines())

    def touch(seconds: int) -> None:
        st = os.stat(path)
        os.utime(path, (st.st_atime, st.st_mtime + seconds))

    with emperor(["--emperor", vdir]) as srv:
        ready(srv, "app.ini")
        assert loaded() == 1
        slow: Dict[str, object] = {}
        client = threading.Thread(target=lambda: slow.update(r=request(port, "/?6", timeout=30)))
        client.start()
        try:
            wait_until(lambda: count(srv, "reload_log: started") >= 1, what="the slow request running")
            touch(5)
            wait_until(lambda: count(srv, "Gracefully killing worker 1") >= 1, timeout=10,
                       what="the first reload retiring the busy worker")
            assert loaded() == 2
            touch(10)  # while the old worker still serves the slow request
            wait_until(lambda: count(srv, "[emperor] reload the uwsgi instance app.ini") >= 2, timeout=10,
                       what="the second reload sent")
            assert loaded() == 2 and client.is_alive()  # not before the first reload is over
        finally:
            client.join(30)
        assert slow["r"].status == 200  # type: ignore[attr-defined]
        wait_until(lambda: loaded() == 3, timeout=20, what="the second reload loading the app again")
        assert count(srv, "reload from the Emperor while the previous one is still running: "
                          "it follows when that one is over") == 1
        wait_until(lambda: count(srv, "Gracefully killing worker 1") >= 2, timeout=10, what="a second worker retired")
        assert "still running: ignored" not in srv.output()


def test_killed_vassal_is_respawned_and_sigint_stops_the_emperor(tmp_path):
    vdir = str(tmp_path / "vassals")
    os.mkdir(vdir)
    port = free_port()
    write_vassal(vdir, "app.ini", port)
    with emperor(["--emperor", vdir]) as srv:
        ready(srv, "app.ini")
        first = probe(port)
        srv.wait_for_line(r"\[emperor\] vassal app.ini is now loyal", timeout=10)
        os.kill(first["masterpid"], signal.SIGKILL)
        srv.wait_for_line(r"\[emperor\] vassal app\.ini \(pid: %d\) died, killed by signal 9" % first["masterpid"],
                          timeout=10)
        srv.wait_for_line(r"\[emperor\] removed uwsgi instance app\.ini", timeout=10)
        ready(srv, "app.ini", n=2)
        second = probe(port)
        assert second["masterpid"] != first["masterpid"]
        srv.proc.send_signal(signal.SIGUSR1)
        srv.wait_for_line(r"vassal instance app\.ini \(last modified \d+\) status 0 loyal \d zerg 0", timeout=10)
        srv.proc.send_signal(signal.SIGHUP)  # every vassal reloads
        srv.wait_for_line(r"\[emperor\] reload the uwsgi instance app\.ini", timeout=10)
        wait_until(lambda: probe(port)["pid"] != second["pid"], timeout=20, what="a reloaded worker")
        srv.proc.send_signal(signal.SIGINT)
        assert srv.proc.wait(30) == 0
    assert "The Emperor is buried." in srv.output()
    wait_until(lambda: not pid_alive(second["masterpid"]), timeout=10, what="the vassal gone")


def test_glob_source_stats_and_failing_vassal_throttled(tmp_path):
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    port = free_port()
    write_vassal(str(vdir), "good.ini", port)
    (vdir / "bad.ini").write_text("[uwsgi]\nhttp-socket = 127.0.0.1:%d\nwsgi-file = /nonexistent/app.py\n"
                                  % free_port())
    (vdir / "skipped.yaml").write_text("uwsgi:\n  http-socket: 127.0.0.1:%d\n" % free_port())  # not in the glob
    with emperor(["--emperor", str(vdir / "*.ini"), "--emperor-stats", "127.0.0.1:0",
                  "--emperor-throttle", "100", "--emperor-max-throttle", "400"]) as srv:
        ready(srv, str(vdir / "good.ini"))
        probe(port)
        wait_until(lambda: "maximum throttle level for vassal %s reached" % (vdir / "bad.ini") in srv.output(),
                   timeout=30, what="the throttle at its maximum; output:\n" + srv.output())
        assert "[emperor] unloyal bad behaving vassal found: %s throttling it..." % (vdir / "bad.ini") in srv.output()
        line = srv.wait_for_line(r"gateway ready: pid=%d emperor=" % srv.pid)
        stats_port = int(line.rsplit(":", 1)[1])
        doc = json.loads(_read_all(stats_port))
        assert doc["emperor"] == [str(vdir / "*.ini")] and doc["pid"] == srv.pid
        good = [v for v in doc["vassals"] if v["id"] == str(vdir / "good.ini")]
        assert good and good[0]["loyal"] in (0, 1) and good[0]["accepting"] == 1 and good[0]["pid"] > 0
        blacklisted = [e for e in doc["blacklist"] if e["id"] == str(vdir / "bad.ini")]
        assert blacklisted and blacklisted[0]["attempt"] >= 3
        assert 100 <= blacklisted[0]["throttle_level"] <= 400  # ms, within --emperor-throttle/-max-throttle
        assert "skipped.yaml" not in srv.output()


def _read_all(port: int) -> bytes:
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_vassals_inherit_and_vassal_set(tmp_path):
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    template = tmp_path / "template.ini"
    template.write_text("[uwsgi]\nenv = TAG=from-template\n")
    port = free_port()
    write_vassal(str(vdir), "app.ini", port)
    with emperor(["--emperor", str(vdir), "--vassals-inherit", str(template), "--vassal-set", "processes=2"]) as srv:
        ready(srv, "app.ini")
        rep = probe(port)
        assert rep["tag"] == "from-template"
        assert rep["numproc"] == 2


def test_uwsgi_vassal_variables_are_options_of_the_vassals_only(tmp_path):
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    port = free_port()
    write_vassal(str(vdir), "app.ini", port)
    # UWSGI_VASSAL_PROCESSES is --processes for the vassals (the Emperor has no --processes)
    with emperor(["--emperor", str(vdir)], env={"UWSGI_VASSAL_PROCESSES": "3", "UWSGI_EMPEROR_FREQ": "1"}) as srv:
        ready(srv, "app.ini")
        assert probe(port)["numproc"] == 3


def _runs_as_nobody() -> bool:
    """This interpreter can run as uid 65534 (not when it lives under a 0700 /root)."""
    try:
        return subprocess.run([sys.executable, "-c", "import gateway"], user=65534, group=65534, extra_groups=[],
                              cwd="/", env={"PYTHONPATH": ROOT}, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@contextmanager
def world_readable_dir() -> Iterator[str]:
    base = tempfile.mkdtemp(prefix="gw-tyrant-")  # not under pytest's 0700 tmp: the vassal must enter it
    try:
        os.chmod(base, 0o755)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="--emperor-tyrant needs root")
def test_tyrant_refuses_files_owned_by_root():
    with world_readable_dir() as base:
        port = free_port()
        write_vassal(base, "root.ini", port)
        with emperor(["--emperor", base, "--emperor-tyrant"]) as srv:
            srv.wait_for_line(r"\[emperor-tyrant\] invalid permissions for vassal root\.ini")
            assert refuses(port)


@pytest.mark.skipif(os.geteuid() != 0, reason="--emperor-tyrant needs root")
def test_tyrant_refuses_a_symlink_whose_owner_is_not_its_targets():
    """uid 65534's symlink to uid 65533's file: 65534 could swap the link to its own config
    after the scan and run it as 65533.  Not started (with or without a wrapper)."""
    with world_readable_dir() as base:
        vdir = os.path.join(base, "vassals")
        os.mkdir(vdir)
        os.chmod(vdir, 0o755)
        port = free_port()
        theirs = write_vassal(base, "theirs.ini", port)
        os.chown(theirs, 65533, 65533)
        link = os.path.join(vdir, "swap.ini")
        os.symlink(theirs, link)
        os.chown(link, 65534, 65534, follow_symlinks=False)
        with emperor(["--emperor", vdir, "--emperor-tyrant"]) as srv:
            srv.wait_for_line(r"\[emperor-tyrant\] a symlink on the path of vassal swap\.ini is not owned by "
                              r"65533 65533 \(the file's owner\) nor root: not started", timeout=10)
            assert "dropping privileges" not in srv.output()
            assert refuses(port)


@pytest.mark.skipif(os.geteuid() != 0, reason="--emperor-tyrant needs root")
def test_tyrant_starts_each_vassal_as_its_file_owner_through_a_wrapper():
    """With --emperor-wrapper (a shell script recording who runs it, then waiting), the uid/gid
    switch is checked whatever this Python's installation allows uid 65534 to run."""
    with world_readable_dir() as base:
        vdir, out = os.path.join(base, "vassals"), os.path.join(base, "out")
        os.mkdir(vdir)
        os.mkdir(out)
        os.chmod(vdir, 0o755)
        os.chmod(out, 0o777)
        wrapper = os.path.join(base, "vassal.sh")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\necho "$(id -u) $(id -g) $(id -G) $*" > %s/"$2".id\nexec sleep 60\n' % out)
        os.chmod(wrapper, 0o755)
        path = write_vassal(vdir, "nobody.ini", free_port())
        os.chown(path, 65534, 65534)
        with emperor(["--emperor", vdir, "--emperor-tyrant", "--emperor-wrapper", wrapper, "--reload-mercy", "1"]) as srv:
            ident = os.path.join(out, "nobody.ini.id")
            wait_until(lambda: os.path.exists(ident) and open(ident).read().strip(), timeout=20,
                       what="the wrapper's record; output:\n" + srv.output())
            assert open(ident).read().split() == ["65534", "65534", "65534", "--ini", "nobody.ini"]
            srv.proc.send_signal(signal.SIGTERM)  # the script ignores the stop: killed after the mercy
            srv.wait_for_line(r"\[emperor\] NO MERCY for vassal nobody\.ini !!!", timeout=10)
            assert srv.proc.wait(15) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="--emperor-tyrant needs root")
def test_tyrant_runs_each_vassal_as_its_file_owner():
    if not _runs_as_nobody():
        pytest.skip("this Python cannot run as uid 65534 (its installation is not readable by it)")
    with world_readable_dir() as base:
        port = free_port()
        path = write_vassal(base, "nobody.ini", port)
        os.chown(path, 65534, 65534)
        with emperor(["--emperor", base, "--emperor-tyrant"]) as srv:
            ready(srv, "nobody.ini")
            rep = probe(port)
            assert (rep["uid"], rep["gid"]) == (65534, 65534)
            assert "[emperor-tyrant] dropping privileges to 65534 65534 for instance nobody.ini" in srv.output()
            os.chown(path, 65533, 65533)  # a new owner: the vassal is stopped, then started as it
            srv.wait_for_line(r"!!! permissions of file nobody\.ini changed\. stopping the instance\.\.\. !!!",
                              timeout=10)
            ready(srv, "nobody.ini", n=2)
            assert probe(port)["uid"] == 65533


@pytest.mark.parametrize("args, fragment", [
    (["--emperor", "zmq://tcp://127.0.0.1:5555"], "the 'zmq://' imperial monitor is not supported"),
    (["--emperor", "/nonexistent/vassals"], "--emperor /nonexistent/vassals: no such directory"),
    (["--emperor", "/tmp", "--http-socket", "127.0.0.1:0"], "--emperor runs the Emperor alone"),
    (["--emperor", "/tmp", "--wsgi-file", APP], "--emperor runs the Emperor alone"),
    (["--emperor", "/tmp", "--emperor-freq", "0"], "option '--emperor-freq'"),
    (["--emperor", "/tmp", "--emperor-stats", "/nonexistent/dir/stats.sock"],
     "--emperor-stats /nonexistent/dir/stats.sock: No such file or directory"),
    (["--emperor", "/tmp", "--emperor-on-demand-dir", "/run"], "'--emperor-on-demand-dir' is not supported yet"),
])
def test_emperor_refusals_are_one_clear_error(args, fragment):
    result = run_cli(args)
    assert result.returncode == 1, result
    assert fragment in result.stderr, result.stderr


# -- the vassal's side, driven by the test as its Emperor -------------------------------------------


def test_vassal_side_of_the_channel():
    ours, theirs = socket.socketpair()
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["UWSGI_EMPEROR_FD"] = str(theirs.fileno())
    proc = subprocess.Popen(gateway_command(["--http-socket", "127.0.0.1:0", "--wsgi-file", APP]), cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            errors="replace", pass_fds=(theirs.fileno(),))
    theirs.close()
    srv = ServerProcess(proc)
    ours.settimeout(20)
    try:
        srv.wait_ready(20)
        srv.wait_for_line(r"\*\*\* has_emperor mode detected \(fd: \d+\) \*\*\*")
        assert ours.recv(1) == b"\x01"   # the master is up
        assert ours.recv(1) == b"\x05"   # the workers accept
        rep = probe(srv.port)
        assert rep["masterpid"] == srv.pid  # a vassal always runs a master (uWSGI's rule)
        assert ours.recv(1) == b"\x11"   # loyal after the first request
        ours.send(b"\x01")               # reload
        srv.wait_for_line(r"received message 1 from emperor")
        wait_until(lambda: probe(srv.port)["pid"] != rep["pid"], timeout=20, what="a reloaded worker")
        ours.send(b"\x02")               # graceful stop
        assert proc.wait(30) == 0
        assert "goodbye to uWSGI." in srv.output()
    finally:
        srv.stop()
        ours.close()


def test_vassal_stops_when_its_emperor_is_gone():
    ours, theirs = socket.socketpair()
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["UWSGI_EMPEROR_FD"] = str(theirs.fileno())
    proc = subprocess.Popen(gateway_command(["--http-socket", "127.0.0.1:0", "--wsgi-file", APP]), cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            errors="replace", pass_fds=(theirs.fileno(),))
    theirs.close()
    srv = ServerProcess(proc)
    try:
        srv.wait_ready(20)
        ours.close()
        assert proc.wait(30) == 0
        assert "lost connection with my emperor !!!" in srv.output()
    finally:
        srv.stop()


def test_a_vassal_with_daemonize_stays_in_the_foreground_and_logs_to_its_file(tmp_path):
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    logfile = tmp_path / "vassal.log"
    port = free_port()
    write_vassal(str(vdir), "app.ini", port, "daemonize = %s\n" % logfile)
    with emperor(["--emperor", str(vdir), "--emperor-stats", "127.0.0.1:0"]) as srv:
        ready(srv, "app.ini")
        rep = probe(port)
        line = srv.wait_for_line(r"gateway ready: pid=%d emperor=" % srv.pid)
        doc = json.loads(_read_all(int(line.rsplit(":", 1)[1])))
        assert [v["pid"] for v in doc["vassals"]] == [rep["masterpid"]]  # the process the Emperor started
        wait_until(lambda: logfile.exists() and "spawned uWSGI master process" in logfile.read_text(), timeout=10,
                   what="the vassal's log in its --daemonize file")
        assert "died" not in srv.output()


def test_a_vassal_can_be_a_sub_emperor(tmp_path):
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    outer.mkdir()
    inner.mkdir()
    (outer / "sub.ini").write_text("[uwsgi]\nemperor = %s\nemperor-freq = 1\n" % inner)
    port = free_port()
    write_vassal(str(inner), "app.ini", port)
    with emperor(["--emperor", str(outer)]) as srv:
        srv.wait_for_line(r"\*\*\* starting uWSGI sub-Emperor \*\*\*", timeout=20)
        srv.wait_for_line(r"\[emperor\] vassal sub\.ini is now loyal", timeout=20)
        ready(srv, "app.ini")
        rep = probe(port)
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(30) == 0
    assert srv.output().count("The Emperor is buried.") == 2
    wait_until(lambda: not pid_alive(rep["masterpid"]) and not pid_alive(rep["pid"]), timeout=10,
               what="the sub-Emperor's vassal gone")



def test_a_vassal_slow_to_stop_is_killed_after_the_curse_tolerance(tmp_path):
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    path = vdir / "app.ini"
    # stuck in --exec-asap (5 s), the vassal cannot read the Emperor's stop
    write_vassal(str(vdir), "app.ini", free_port(), "exec-asap = sleep 5\n")
    pidfile = tmp_path / "emperor.pid"
    with emperor(["--emperor", str(vdir), "--emperor-curse-tolerance", "1", "--emperor-pidfile", str(pidfile),
                  "--emperor-procname", "gw-emperor"]) as srv:
        assert pidfile.read_text().strip() == str(srv.pid)
        with open("/proc/%d/comm" % srv.pid) as f:
            assert f.read().strip() == "gw-emperor"
        srv.wait_for_line(r"has_emperor mode detected", timeout=10)
        path.unlink()
        srv.wait_for_line(r"\[emperor\] stop the uwsgi instance app\.ini", timeout=10)
        line = srv.wait_for_line(r"\[emperor\] vassal app\.ini \(pid: \d+\) did not stop in 1s: killing it", timeout=10)
        srv.wait_for_line(r"\[emperor\] removed uwsgi instance app\.ini", timeout=10)
        vassal = int(line.split("(pid: ")[1].split(")")[0])
        assert not pid_alive(vassal)
        assert "goodbye to uWSGI." not in srv.output()  # it was killed, not stopped


def test_ragnarok_kills_the_vassals_still_running_after_the_mercy(tmp_path):
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    write_vassal(str(vdir), "app.ini", free_port(), "exec-asap = sleep 5\n")
    with emperor(["--emperor", str(vdir), "--reload-mercy", "1"]) as srv:
        srv.wait_for_line(r"has_emperor mode detected", timeout=10)
        srv.proc.send_signal(signal.SIGTERM)
        srv.wait_for_line(r"\[emperor\] \*\*\* RAGNAROK EVOKED \*\*\*", timeout=10)
        srv.proc.send_signal(signal.SIGTERM)
        srv.wait_for_line(r"\[emperor\] \*\*\* RAGNAROK ALREADY EVOKED \(mercyless in \d seconds\)\*\*\*", timeout=10)
        srv.wait_for_line(r"\[emperor\] NO MERCY for vassal app\.ini !!!", timeout=10)
        assert srv.proc.wait(15) == 0
    assert srv.output().rstrip().endswith("The Emperor is buried.")


def test_real_uwsgi_emperor_governs_a_gateway_vassal(tmp_path):
    """Interop: uWSGI 2.0's own Emperor (``--emperor-wrapper`` runs gateway) sees our vassal
    spawned, accepting and loyal, reloads it on touch and stops it on removal."""
    from peers import require_uwsgi

    uwsgi = require_uwsgi()
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    wrapper = tmp_path / "gateway.sh"
    wrapper.write_text('#!/bin/sh\nexec %s -m gateway "$@"\n' % sys.executable)
    wrapper.chmod(0o755)
    port = free_port()
    path = write_vassal(str(vdir), "app.ini", port)
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([uwsgi, "--emperor", str(vdir), "--emperor-wrapper", str(wrapper), "--emperor-freq", "1"],
                            cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    srv = ServerProcess(proc)
    try:
        srv.wait_for_line(r"\[emperor\] vassal app\.ini is ready to accept requests", timeout=30)
        assert "[emperor] vassal app.ini has been spawned" in srv.output()
        first = probe(port)
        srv.wait_for_line(r"\[emperor\] vassal app\.ini is now loyal", timeout=10)
        st = os.stat(path)
        os.utime(path, (st.st_atime, st.st_mtime + 5))
        srv.wait_for_line(r"received message 1 from emperor", timeout=10)
        second = wait_until(lambda: (lambda r: r if r["pid"] != first["pid"] else None)(probe(port)), timeout=20,
                            what="a reloaded worker")
        assert second["masterpid"] == first["masterpid"]
        os.unlink(path)
        srv.wait_for_line(r"received message 0 from emperor", timeout=10)
        srv.wait_for_line(r"\[emperor\] removed uwsgi instance app\.ini", timeout=20)
        assert refuses(port)
        assert not pid_alive(first["masterpid"])
    finally:
        srv.stop()


def test_files_in_the_vassal_directory_are_never_imported_as_the_servers_modules(tmp_path):
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    marker = tmp_path / "imported"
    # a module the server imports, planted where the vassal runs (its working directory)
    (vdir / "selectors.py").write_text("open(%r, 'w').write('yes')\nraise ImportError('planted')\n" % str(marker))
    port = free_port()
    write_vassal(str(vdir), "app.ini", port)
    # an empty PYTHONPATH entry (a trailing ':') would put the working directory back on sys.path
    with emperor(["--emperor", str(vdir)], env={"PYTHONPATH": ROOT + os.pathsep}) as srv:
        ready(srv, "app.ini")
        assert probe(port)  # the vassal serves...
    assert not marker.exists()  # ...and never ran the planted module
