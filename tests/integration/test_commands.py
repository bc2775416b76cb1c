"""uWSGI's one-shot commands run by the real CLI against a real running gateway master
(``--reload``, ``--stop``, ``--pause``/``--resume``, ``--signal``, ``--ping``), and against
real uWSGI for the two uwsgi-protocol commands."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess

import pytest

from peers import require_uwsgi, stop_uwsgi
from server import ServerProcess, run_cli, spawn
from support.fifo import say
from support.httpclient import request
from support.stats import fetch_stats
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/process_probe.py", "--tornado", "4", "--greenlet", "--master", "--processes", "2"]


def _start(args, tmp_path) -> ServerProcess:
    pidfile = tmp_path / "master.pid"
    srv = ServerProcess(spawn(APP + ["--pidfile", str(pidfile)] + args))
    srv.wait_ready(30)
    assert wait_until(lambda: pidfile.exists() and pidfile.read_text().strip() == str(srv.pid), what="the pidfile")
    srv.pidfile = pidfile  # type: ignore[attr-defined]
    return srv


def _stats(addr: str) -> dict:
    host, port = addr.rsplit(":", 1)
    return fetch_stats(int(port), host)


def _pid(port: int) -> int:
    return ast.literal_eval(request(port, "/").body.decode())["pid"]


def test_reload_then_stop_through_the_pidfile(tmp_path):
    srv = _start(["--http-socket", "127.0.0.1:0"], tmp_path)
    try:
        first = {_pid(srv.port) for _ in range(6)}
        done = run_cli(["--reload", str(srv.pidfile)])
        assert done.returncode == 0, done.stderr
        srv.wait_for_line(r"\.\.\.gracefully killing workers\.\.\.")
        assert wait_until(lambda: _pid(srv.port) not in first, what="a reloaded worker")
        done = run_cli(["--stop", str(srv.pidfile)])
        assert done.returncode == 0, done.stderr
        assert srv.proc.wait(30) == 0
        assert "SIGINT received...gracefully killing workers" in srv.output()
    finally:
        srv.stop()
    # the instance is gone: its pidfile (still there, no --vacuum) names no process now
    done = run_cli(["--reload", str(srv.pidfile)])
    assert done.returncode == 1
    assert "gateway: --reload %s: no process %d" % (srv.pidfile, srv.pid) in done.stderr


def test_pause_holds_new_connections_until_resume(tmp_path):
    srv = _start(["--http-socket", "127.0.0.1:0", "--stats", "127.0.0.1:0"], tmp_path)
    stats_addr = re.search(r"Stats server enabled on (\S+)", srv.wait_for_line(r"Stats server enabled on")).group(1)
    try:
        assert request(srv.port, "/").status == 200
        assert run_cli(["--pause", str(srv.pidfile)]).returncode == 0
        srv.wait_for_line(r"\*\*\* PAUSE \(press start to resume")
        srv.wait_for_line(r"\*\*\* worker 2 suspended \*\*\*")
        srv.wait_for_line(r"\*\*\* worker 1 suspended \*\*\*")
        workers = _stats(stats_addr)["workers"]
        assert [(w["status"], w["accepting"]) for w in workers] == [("pause", 0), ("pause", 0)]
        # the connection is accepted by the kernel (listen queue) but no worker takes it
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            sock.settimeout(1.0)
            with pytest.raises(socket.timeout):
                sock.recv(1)
            assert run_cli(["--resume", str(srv.pidfile)]).returncode == 0
            srv.wait_for_line(r"\*\*\* \(SIGTSTP received\) resuming workers \*\*\*")
            sock.settimeout(10)
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.0 200"), data
        assert wait_until(lambda: [w["status"] for w in _stats(stats_addr)["workers"]] == ["idle", "idle"],
                          what="the workers idle again")
    finally:
        srv.stop()
    assert "worker 1 resumed" in srv.output()


def test_a_worker_respawned_while_paused_starts_paused(tmp_path):
    srv = _start(["--http-socket", "127.0.0.1:0", "--stats", "127.0.0.1:0"], tmp_path)
    stats_addr = re.search(r"Stats server enabled on (\S+)", srv.wait_for_line(r"Stats server enabled on")).group(1)
    try:
        assert run_cli(["--suspend", str(srv.pidfile)]).returncode == 0
        srv.wait_for_line(r"\*\*\* worker 1 suspended \*\*\*")
        old = _stats(stats_addr)["workers"][0]["pid"]
        os.kill(old, 9)
        assert wait_until(lambda: (lambda w: w["pid"] not in (0, old) and w["status"] == "pause")(
            _stats(stats_addr)["workers"][0]), what="the respawned worker, paused")
        # SIGTSTP to the master also reaches a new worker: both resume
        assert run_cli(["--resume", str(srv.pidfile)]).returncode == 0
        assert wait_until(lambda: [w["accepting"] for w in _stats(stats_addr)["workers"]] == [1, 1],
                          what="both workers accepting")
        assert request(srv.port, "/").status == 200
    finally:
        srv.stop()


def test_pidfile_errors_are_named():
    done = run_cli(["--stop", "/nonexistent/x.pid"])
    assert done.returncode == 1
    assert "gateway: --stop /nonexistent/x.pid: invalid pidfile: cannot read it: No such file" in done.stderr


def test_remote_signal_and_ping_against_our_socket(tmp_path):
    log = tmp_path / "signal.log"
    app = tmp_path / "sigapp.py"
    app.write_text(
        "import uwsgi\n"
        "def handler(num):\n"
        "    with open(%r, 'a') as f:\n"
        "        f.write('got %%d\\n' %% num)\n"
        "uwsgi.register_signal(17, 'worker', handler)\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'ok']\n" % str(log))
    pidfile = tmp_path / "m.pid"
    srv = ServerProcess(spawn(["--socket", "127.0.0.1:0", "--wsgi-file", str(app), "--master", "--processes", "1",
                               "--pidfile", str(pidfile)]))
    try:
        srv.wait_ready(30)
        addr = "127.0.0.1:%d" % srv.uwsgi_port
        done = run_cli(["--signal", "%s,17" % addr])
        assert done.returncode == 0, done.stderr
        assert "signal 17 delivered to node %s" % addr in done.stderr
        assert wait_until(lambda: log.exists() and "got 17" in log.read_text(), what="the handler's line")
        done = run_cli(["--ping", addr])
        assert done.returncode == 0, done.stderr
        assert "PING uwsgi host %s (timeout: 3)" % addr in done.stderr
    finally:
        srv.stop()
    done = run_cli(["--ping", addr, "--ping-timeout", "1"])
    assert done.returncode == 1 and "gateway: --ping %s: cannot connect" % addr in done.stderr
    done = run_cli(["--signal", "%s,17" % addr])
    assert done.returncode == 1
    assert "unable to deliver signal 17 to node %s" % addr in done.stderr


def test_ping_reports_the_warning_message(tmp_path):
    app = tmp_path / "warnapp.py"
    app.write_text(
        "import uwsgi\n"
        "uwsgi.set_warning_message('disk almost full')\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'ok']\n")
    srv = ServerProcess(spawn(["--socket", "127.0.0.1:0", "--wsgi-file", str(app), "--master"]))
    try:
        srv.wait_ready(30)
        addr = "127.0.0.1:%d" % srv.uwsgi_port
        done = run_cli(["--ping", addr])
        assert done.returncode == 2, done.stderr
        assert "[WARNING] node %s message: disk almost full" % addr in done.stderr
    finally:
        srv.stop()


def test_ping_times_out_on_a_silent_peer():
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)  # accepted by the kernel, never answered
        addr = "127.0.0.1:%d" % lsock.getsockname()[1]
        done = run_cli(["--ping", addr, "--ping-timeout", "1"])
    assert done.returncode == 1
    assert "gateway: --ping %s: no answer: timed out" % addr in done.stderr


def _real_uwsgi(tmp_path, app_text: str):
    binary = require_uwsgi()
    app = tmp_path / "uapp.py"
    app.write_text(app_text)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # the log goes to a file: a pipe nobody reads would fill up and stall uWSGI's master
    with open(tmp_path / "uwsgi.log", "wb") as log:
        proc = subprocess.Popen([binary, "--socket", "127.0.0.1:%d" % port, "--wsgi-file", str(app), "--master",
                                 "--processes", "1", "--need-app"],
                                cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    return proc, "127.0.0.1:%d" % port


def test_signal_and_ping_against_real_uwsgi(tmp_path):
    log = tmp_path / "usignal.log"
    proc, addr = _real_uwsgi(tmp_path, (
        "import uwsgi\n"
        "def handler(num):\n"
        "    with open(%r, 'a') as f:\n"
        "        f.write('got %%d\\n' %% num)\n"
        "uwsgi.register_signal(17, 'worker', handler)\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'ok']\n" % str(log)))
    try:
        assert wait_until(lambda: run_cli(["--ping", addr, "--ping-timeout", "1"]).returncode == 0, timeout=20,
                          interval=0.5, what="real uWSGI answering the ping")
        done = run_cli(["--signal", "%s,17" % addr])
        assert done.returncode == 0, done.stderr
        assert wait_until(lambda: log.exists() and "got 17" in log.read_text(), what="uWSGI's handler ran")
    finally:
        stop_uwsgi(proc)


def test_get_show_config_and_lists_from_the_cli(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\nsocket = /tmp/%n.sock\nprocesses = 3\nmaster = true\n")
    done = run_cli(["--ini", str(ini), "--get", "socket", "--get", "chdir", "--get", "workers"])
    assert done.returncode == 0 and done.stdout == "/tmp/app.sock\n3\n", done
    done = run_cli(["--show-config", "--processes", "2", "--router-list"])
    assert done.returncode == 0, done.stderr
    assert "[uwsgi]\nshow-config = true\nprocesses = 2\nrouter-list = true\n" in done.stdout
    assert "*** uWSGI loaded routers ***\ncontinue\n" in done.stdout
    done = run_cli(["--dump-options"])
    assert done.returncode == 0 and "\nreload\n" in done.stdout and "\nplugin-list\n" in done.stdout


def test_show_config_then_the_instance_starts(tmp_path):
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/process_probe.py",
                               "--show-config"]))
    try:
        srv.wait_ready(30)
        assert request(srv.port, "/").status == 200
    finally:
        srv.stop()


@pytest.mark.parametrize("args", [["--cflags"], ["--dot-h"], ["--config-py"], ["--build-plugin", "x"],
                                  ["--print-sym", "x"], ["--print-symbol", "x"], ["--privileged-binary-patch", "x"],
                                  ["--unprivileged-binary-patch-arg", "x"]])
def test_compiler_options_are_refused_by_name(args):
    done = run_cli(args)
    assert done.returncode == 1
    assert "option '%s' is not supported yet by gateway (gateway is pure Python" % args[0] in done.stderr


def test_master_fifo_p_toggles_the_pause(tmp_path):
    fifo = tmp_path / "ctl.fifo"
    srv = _start(["--http-socket", "127.0.0.1:0", "--master-fifo", str(fifo)], tmp_path)
    try:
        for expected in (r"\*\*\* worker 1 suspended \*\*\*", r"\*\*\* worker 1 resumed \*\*\*"):
            say(fifo, "p")
            srv.wait_for_line(expected)
        assert request(srv.port, "/").status == 200
    finally:
        srv.stop()


def test_without_a_master_pause_is_refused_and_the_server_keeps_serving(tmp_path):
    pidfile = tmp_path / "lone.pid"
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/process_probe.py",
                               "--pidfile", str(pidfile)]))
    try:
        srv.wait_ready(30)
        assert run_cli(["--pause", str(pidfile)]).returncode == 0
        srv.wait_for_line(r"SIGTSTP ignored: --pause/--resume need a master")
        assert request(srv.port, "/").status == 200  # not frozen by the kernel
    finally:
        srv.stop()


def test_a_reload_resumes_a_paused_instance(tmp_path):
    srv = _start(["--http-socket", "127.0.0.1:0", "--stats", "127.0.0.1:0"], tmp_path)
    stats_addr = re.search(r"Stats server enabled on (\S+)", srv.wait_for_line(r"Stats server enabled on")).group(1)
    try:
        assert run_cli(["--pause", str(srv.pidfile)]).returncode == 0
        srv.wait_for_line(r"\*\*\* worker 2 suspended \*\*\*")
        old = {w["pid"] for w in _stats(stats_addr)["workers"]}
        assert run_cli(["--reload", str(srv.pidfile)]).returncode == 0
        assert wait_until(lambda: (lambda ws: not {w["pid"] for w in ws} & old
                                   and [w["accepting"] for w in ws] == [1, 1])(_stats(stats_addr)["workers"]),
                          timeout=20, what="new workers, accepting")
        assert request(srv.port, "/").status == 200
    finally:
        srv.stop()
