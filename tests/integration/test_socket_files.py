"""UNIX socket files through the real CLI: ``--chmod-socket``, ``--chown-socket``, ``--umask``
and ``--vacuum`` (nginx connects to ``uwsgi_pass unix:/run/app.sock`` as another user, so the
file's owner and permissions decide whether it can)."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import stat

import pytest

from server import ServerProcess, spawn

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/hello.py", "--tornado", "4", "--greenlet"]
PING = b"\x64\x00\x00\x00"  # uwsgi ping: modifier1 100, empty


def _serve(args):
    srv = ServerProcess(spawn(APP + args))
    srv.wait_for_line(r"gateway ready: pid=\d+ socket=", timeout=20)
    return srv


def _ping(path: str) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(PING)
        return s.recv(16)


def _stop(srv) -> int:
    os.kill(srv.proc.pid, signal.SIGTERM)
    return srv.proc.wait(20)


def test_chmod_socket_and_vacuum(tmp_path):
    path = str(tmp_path / "app.sock")
    srv = _serve(["--socket", path, "--chmod-socket", "660", "--vacuum"])
    try:
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
        assert _ping(path) == b"\x64\x00\x00\x01"  # served through the file
        assert _stop(srv) == 0
    finally:
        srv.stop()
    assert not os.path.exists(path)  # --vacuum removed it at exit


def test_without_vacuum_the_file_stays_and_umask_sets_its_bits(tmp_path):
    path = str(tmp_path / "app.sock")
    srv = _serve(["--socket", path, "--umask", "077", "--master", "--processes", "2"])
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700  # 0777 & ~077 at bind time
        assert _ping(path) == b"\x64\x00\x00\x01"
        assert _stop(srv) == 0
    finally:
        srv.stop()
    assert stat.S_ISSOCK(os.stat(path).st_mode)  # left for the next start, which replaces it
    srv = _serve(["--socket", path])
    try:
        assert _ping(path) == b"\x64\x00\x00\x01"
    finally:
        srv.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_chown_socket_gives_the_file_to_a_user_and_group(tmp_path):
    nobody = pwd.getpwnam("nobody")
    path = str(tmp_path / "app.sock")
    srv = _serve(["--socket", path, "--chown-socket", "nobody:%d" % nobody.pw_gid, "--chmod-socket", "0600"])
    try:
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, nobody.pw_gid, 0o600)
    finally:
        srv.stop()


@pytest.mark.parametrize("args,message", [
    (["--chmod-socket", "999"], "--chmod-socket"),
    (["--umask", "rwx"], "--umask"),
    (["--chown-socket", "no-such-user-here"], "--chown-socket no-such-user-here: no such user"),
    (["--chown-socket", "root:no-such-group-here"], "--chown-socket no-such-group-here: no such group"),
])
def test_bad_values_are_refused_naming_the_option(tmp_path, args, message):
    proc = spawn(APP + ["--socket", str(tmp_path / "app.sock")] + args)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0
    assert message in err, err


@pytest.mark.parametrize("router", ["--http", "--fastrouter"])
def test_the_routers_unix_sockets_get_chmod_and_vacuum_and_subscription_sockets_keep_the_umask(tmp_path, router):
    # the router's own socket as uWSGI's bind_to_unix does; the datagram subscription socket
    # is vacuumed too but keeps the umask, as uWSGI: --chmod-socket 666 opens the app's
    # socket to nginx, and must not let every local user subscribe nodes
    # (the HTTP router listens on TCP only)
    sub = str(tmp_path / "sub.sock")
    front_file = [str(tmp_path / "front.sock")] if router == "--fastrouter" else []
    subscription = "--http-subscription-server" if router == "--http" else "--fastrouter-subscription-server"
    front = front_file[0] if front_file else "127.0.0.1:0"
    srv = ServerProcess(spawn(APP + ["--socket", str(tmp_path / "app.sock"), router, front, subscription, sub,
                                     "--chmod-socket", "666", "--umask", "022", "--vacuum", "--master"]))
    try:
        srv.wait_for_line(r"gateway ready: pid=\d+", timeout=20)
        for path in front_file:
            st = os.stat(path)
            assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666, path
        st = os.stat(sub)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o755, oct(st.st_mode)
        assert _stop(srv) == 0
    finally:
        srv.stop()
    assert not any(os.path.exists(path) for path in front_file + [sub])  # --vacuum
