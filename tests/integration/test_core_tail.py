"""uWSGI's long tail of core options through the real CLI: the configuration ones
(``--inject-before``/``--inject-after``, ``--blacklist``/``--whitelist``, ``--resolve``,
``--ienv``, ``--exit``) and the master's (``--reload-on-fd``, ``--check-mountpoint``,
``--notify-socket``, ``--worker-exec``, ``--safe-fd``).  Waits have deadlines, never fixed sleeps."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from server import ROOT, ServerProcess, gateway_command, run_cli, run_server
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

HELLO = "tests/apps/hello.py"


def _spawn_with_fds(args, fds, env=None) -> ServerProcess:
    """The CLI with ``fds`` inherited (``spawn`` passes none)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, full_env.get("PYTHONPATH")) if p)
    full_env.update(env or {})
    proc = subprocess.Popen(gateway_command(args), cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
                            pass_fds=tuple(fds))
    return ServerProcess(proc)


# -- configuration -------------------------------------------------------------------------------

def test_inject_files_and_exit_shape_the_configuration(tmp_path):
    (tmp_path / "head.txt").write_text("[uwsgi]\nprint = from %n\n")
    (tmp_path / "tail.txt").write_text("if-not-env = GO\nprint = no GO\nexit = 4\nendif =\n")
    app = tmp_path / "app.ini"
    app.write_text("[uwsgi]\nprocesses = 2\n")
    args = ["--inject-before", str(tmp_path / "head.txt"), "--inject-after", str(tmp_path / "tail.txt"), str(app)]
    done = run_cli(args)
    assert done.returncode == 4, done.stderr
    assert done.stdout.splitlines() == ["from app", "no GO"]


def test_a_blacklisted_option_stops_the_start_with_its_name(tmp_path):
    user = tmp_path / "user.ini"
    user.write_text("[uwsgi]\nhttp-socket = 127.0.0.1:0\nuid = 0\n")
    done = run_cli(["--wsgi-file", HELLO, "--blacklist", "uid gid chroot", "--ini", str(user)])
    assert done.returncode == 1
    assert "forbidden option 'uid' (by blacklist)" in done.stderr and "user.ini line 3" in done.stderr
    done = run_cli(["--whitelist", "wsgi-file", "--wsgi-file", HELLO, "--master"])
    assert done.returncode == 1 and "forbidden option '--master' (by whitelist)" in done.stderr


def test_resolve_and_ienv_feed_the_options_after_them(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\nresolve = lo=localhost\nienv = GW_PORT_HINT=ok\nprint = %(lo) $(GW_PORT_HINT)\n"
                   "exit = 0\n")
    done = run_cli([str(ini)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "127.0.0.1 ok"
    ini.write_text("[uwsgi]\nresolve = lo=name.that.does.not.resolve.invalid\n")
    done = run_cli([str(ini)])
    assert done.returncode == 1 and "unable to resolve name name.that.does.not.resolve.invalid" in done.stderr


# -- the master's watchers --------------------------------------------------------------------------

def test_reload_on_fd_reloads_when_the_descriptor_is_readable(tmp_path):
    r, w = os.pipe()
    brutal_r, brutal_w = os.pipe()
    try:
        srv = _spawn_with_fds(["--http-socket", "127.0.0.1:0", "--wsgi-file", HELLO,
                               "--reload-on-fd", "%d:2 config changed" % r,
                               "--brutal-reload-on-fd", str(brutal_r)], (r, brutal_r))
        try:
            srv.wait_ready(20)
            srv.wait_for_line(r"added graceful reload monitor for fd %d \(read size: 2\)" % r)
            os.write(w, b"go")
            srv.wait_for_line(r"\*\*\* fd %d ready: config changed \*\*\*" % r, 10)
            srv.wait_for_line(r"gracefully \(RE\)spawned uWSGI master", 10)
            assert request(srv.port, "/x").body == b"hello /x"
            os.write(brutal_w, b"!")
            srv.wait_for_line(r"\*\*\* fd %d ready !!! \*\*\*" % brutal_r, 10)
            srv.wait_for_line(r"brutally killing worker 1", 10)
            os.close(w)
            w = -1
            srv.wait_for_line(r"fd %d is at its end: no longer watched" % r, 10)
            assert wait_until(lambda: request(srv.port, "/y").body == b"hello /y", 10, "serving after reloads")
        finally:
            srv.stop()
    finally:
        for fd in (r, w, brutal_r, brutal_w):
            if fd >= 0:
                os.close(fd)


def test_reload_on_fd_refuses_a_descriptor_that_is_not_open():
    done = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", HELLO, "--reload-on-fd", "97"])
    assert done.returncode == 1 and "--reload-on-fd 97: the descriptor is not open" in done.stderr


def test_a_mountpoint_that_stops_answering_destroys_the_instance(tmp_path):
    mount = tmp_path / "mnt"
    mount.mkdir()
    with run_server(["--wsgi-file", HELLO, "--check-mountpoint", str(mount), "--processes", "2"]) as srv:
        assert request(srv.port, "/").status == 200
        mount.rmdir()  # statfs now fails (ENOENT), as on a FUSE mount whose daemon died (ENOTCONN)
        srv.proc.wait(15)
        assert srv.proc.returncode == 1
        srv.wait_for_line(r"mountpoint %s failed \(No such file or directory\), triggering detonation" % mount)


def test_the_notification_socket_logs_what_it_receives(tmp_path):
    path = str(tmp_path / "notify.sock")
    with run_server(["--wsgi-file", HELLO, "--notify-socket", path]) as srv:
        srv.wait_for_line(r"notification socket enabled on %s" % path)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
            client.sendto(b"node 10.0.0.1:3031 joined", path)
        srv.wait_for_line(r"\[notify-socket\] node 10\.0\.0\.1:3031 joined", 10)


# -- worker-exec -------------------------------------------------------------------------------

PROGRAM = """#!PYTHON
import os, socket
listener = socket.socket(fileno=0)
while True:
    conn, _ = listener.accept()
    conn.recv(65536)
    try:
        safe = "open" if os.fstat(SAFE_FD).st_ino == SAFE_INO else "another"
    except OSError:
        safe = "closed"
    marker = os.path.exists(MARKER)
    body = ("exec pid=%d ppid=%d marker=%s safe=%s" % (os.getpid(), os.getppid(), marker, safe)).encode()
    conn.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body)
    conn.close()
"""


def _program(tmp_path, marker: str, safe_fd: int) -> str:
    path = tmp_path / "program.py"
    path.write_text(PROGRAM.replace("PYTHON", sys.executable).replace("MARKER", repr(marker))
                    .replace("SAFE_FD", str(safe_fd)).replace("SAFE_INO", str(os.fstat(safe_fd).st_ino)))
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("option", ["--worker-exec", "--worker-exec2"])
def test_a_worker_becomes_the_program_with_the_socket_on_stdin(tmp_path, option):
    marker = str(tmp_path / "post-fork-ran")
    r, w = os.pipe()
    try:
        program = _program(tmp_path, marker, r)
        srv = _spawn_with_fds(["--http-socket", "127.0.0.1:0", "--master", "--wsgi-file", HELLO,
                               "--hook-post-fork", "write:%s 1" % marker, "--safe-fd", str(r),
                               option, program], (r,))
        try:
            srv.wait_ready(20)
            line = srv.wait_for_line(r"worker 1 \(pid: \d+\) runs %s \(%s\)" % (program, option))
            worker_pid = int(line.split("pid: ")[1].split(")")[0])
            body = request(srv.port, "/").body.decode()
            assert body.startswith("exec pid=%d ppid=%d" % (worker_pid, srv.pid))
            # worker-exec runs before the post-fork hooks, worker-exec2 after them
            assert ("marker=True" in body) == (option == "--worker-exec2")
            assert body.endswith("safe=open")
        finally:
            srv.stop()
    finally:
        os.close(r)
        os.close(w)


FD_PROBE = '''import os


def application(environ, start_response):
    fd, inode = os.environ["PROBE_FD"].split(":")
    try:
        body = b"open" if os.fstat(int(fd)).st_ino == int(inode) else b"closed"  # the same pipe
    except OSError:
        body = b"closed"
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
'''


def test_the_emperor_passes_its_safe_fds_to_the_vassals(tmp_path):
    app = tmp_path / "fd_probe.py"
    app.write_text(FD_PROBE)
    vassals = tmp_path / "vassals"
    vassals.mkdir()
    ports = []
    r, w = os.pipe()
    try:
        for _ in range(2):  # kept.ini, closed.ini
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        args = ["--emperor-freq", "1", "--emperor", str(vassals)]
        srv = _spawn_with_fds(args + ["--safe-fd", str(r)], (r,))
        try:
            srv.wait_for_line(r"gateway ready: pid=%d emperor=" % srv.pid, timeout=20)
            (vassals / "kept.ini").write_text("[uwsgi]\nhttp-socket = 127.0.0.1:%d\nwsgi-file = %s\nenv = PROBE_FD=%d:%d\n"
                                              % (ports[0], app, r, os.fstat(r).st_ino))
            srv.wait_for_line(r"vassal kept.ini is ready to accept requests", 30)
            assert request(ports[0], "/").body == b"open"
        finally:
            srv.stop(timeout=30)
        srv = _spawn_with_fds(args, (r,))  # the same descriptor inherited, no --safe-fd
        try:
            srv.wait_for_line(r"gateway ready: pid=%d emperor=" % srv.pid, timeout=20)
            os.unlink(str(vassals / "kept.ini"))
            (vassals / "closed.ini").write_text("[uwsgi]\nhttp-socket = 127.0.0.1:%d\nwsgi-file = %s\n"
                                                "env = PROBE_FD=%d:%d\n" % (ports[1], app, r, os.fstat(r).st_ino))
            srv.wait_for_line(r"vassal closed.ini is ready to accept requests", 30)
            assert request(ports[1], "/").body == b"closed"
        finally:
            srv.stop(timeout=30)
    finally:
        os.close(r)
        os.close(w)
