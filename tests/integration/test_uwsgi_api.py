"""uWSGI's request-log, instance and socket calls of the ``uwsgi`` module, through the real CLI
(tests/apps/uwsgi_api_probe.py): ``set_logvar``/``get_logvar``/``log_this_request``/``add_var``/
``cl`` with ``--log-format``, ``listen_queue``, ``ready``, ``stop``, ``add_ms_timer``, the async
socket helpers, ``spooler_dir``, ``mule_file``, ``mule_msg_recv_size`` and ``logsize``."""

from __future__ import annotations

import ast
import errno
import os
import re
import socket
import threading
import time

import pytest

from server import ServerProcess, run_server, spawn
from support.httpclient import Conn, request
from support.waits import wait_until
from support.wsclient import WSClient

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/uwsgi_api_probe.py", "--tornado", "4", "--greenlet"]
FORMAT = "LF %(method) %(uri) st=%(status) user=%(user_name) t=%(var.TENANT) m=%(var.REQUEST_METHOD) n=%(nope)"


def probe(port: int, path: str, **kw) -> dict:
    r = request(port, path, **kw)
    assert r.status == 200, (r, r.body)
    return ast.literal_eval(r.body.decode())


# -- request logging ------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [[], ["--threads", "2"]], ids=["cores", "threads"])
def test_logvars_and_added_vars_show_in_the_log_format(threads):
    with run_server(APP + threads + ["--log-format", FORMAT]) as srv:
        got = probe(srv.port, "/logvars?user_name=bob", method="POST", body=b"hello")
        # a log variable named like a built-in one never replaces it (uWSGI's order)
        probe(srv.port, "/logvars?status=X")
        line = srv.wait_for_line(r"LF POST /logvars\?user_name=bob")
        other = srv.wait_for_line(r"LF GET /logvars\?status=X")
    assert got == {"got": b"bob", "missing": None, "cl": 5, "read": 5, "add_var": True,
                   "too_big": "ValueError: unable to add request var, check your buffer size"}
    assert line.endswith("st=200 user=bob t=acme m=POST n=-"), line
    assert other.endswith("st=200 user=- t=acme m=GET n=-"), other


def test_the_logvar_route_action_sets_a_log_variable():
    args = APP + ["--route-run", "logvar:who=${REMOTE_ADDR} via ${REQUEST_METHOD}", "--log-format", "LV %(uri) %(who)"]
    with run_server(args) as srv:
        assert probe(srv.port, "/logvars?x=1")["got"] == b"1"
        line = srv.wait_for_line(r"LV /logvars")
    assert line.endswith("LV /logvars?x=1 127.0.0.1 via GET"), line


def test_log_this_request_logs_despite_disable_logging():
    with run_server(APP + ["--disable-logging"]) as srv:
        probe(srv.port, "/ready")
        assert probe(srv.port, "/logthis") == {"log_this": None}
        srv.wait_for_line(r"GET /logthis => generated")
        lines = srv.output()
    assert "GET /ready" not in lines


# -- instance -------------------------------------------------------------------------------------


def test_listen_queue_counts_connections_waiting_for_accept(tmp_path):
    marker = tmp_path / "sleeping"
    sock_path = str(tmp_path / "u.sock")
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--socket", sock_path]) as srv:
        assert probe(srv.port, "/queue?1") == {"queue": 0, "sockets": 2}  # a UNIX socket: 0
        assert probe(srv.port, "/queue?2")["queue"] == "ValueError: unable to find socket 2"
        result = {}
        t = threading.Thread(target=lambda: result.update(probe(srv.port, "/queue_after?%s" % marker)))
        t.start()
        wait_until(marker.exists, 10, "the app blocking its worker")
        waiting = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(3)]
        t.join(10)
        for s in waiting:
            s.close()
    assert result == {"queue": 3}


@pytest.mark.parametrize("args, at_import", [
    ([], None),                                   # no master: the worker imports before it is ready
    (["--master"], None),                         # the master imports, then is ready and forks
    (["--master", "--lazy-apps"], True),          # the worker imports after the master was ready
])
def test_ready(args, at_import):
    with run_server(APP + args) as srv:
        assert probe(srv.port, "/ready") == {"ready": True, "at_import": at_import, "has_spooler_dir": False}


def test_stop_without_master_stops_the_worker_gracefully():
    with run_server(APP) as srv:
        assert probe(srv.port, "/stop") == {"stop": True}
        assert srv.proc.wait(15) == 0
        srv.wait_for_line("SIGQUIT received: stopping worker 1")


def test_stop_with_master_is_the_masters_sigquit():
    with run_server(APP + ["--master"]) as srv:
        try:
            request(srv.port, "/stop")
        except (OSError, AssertionError, ValueError):
            pass  # the master's immediate shutdown may cut the caller's own response (as uWSGI)
        assert srv.proc.wait(15) == 0
        srv.wait_for_line("SIGQUIT received")
        srv.wait_for_line("goodbye to uWSGI")


def test_add_ms_timer_fires_every_100_ms():
    with run_server(APP + ["--master"], env={"PROBE_MS_TIMER": "1"}) as srv:
        start = time.monotonic()
        first = probe(srv.port, "/ticks")["ticks"]
        wait_until(lambda: probe(srv.port, "/ticks")["ticks"] >= first + 8, 5, "8 ticks of a 100 ms timer")
        elapsed = time.monotonic() - start
        assert elapsed < 3  # a one-second timer would need 8 s
        ticks = probe(srv.port, "/ticks")["ticks"]
        srv.wait_for_line(r"\[uwsgi-signal\] timer for signal 17 armed")
    assert ticks <= (time.monotonic() - start + 3) * 10 + 2  # not faster than 10 per second


def test_logsize_is_the_logto_files_size(tmp_path):
    log = tmp_path / "gw.log"
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0"] + APP + ["--logto", str(log)]))
    try:
        def ready():
            m = re.search(r"gateway ready: pid=\d+ http-socket=127.0.0.1:(\d+)", log.read_text() if log.exists() else "")
            return int(m.group(1)) if m else None

        port = wait_until(ready, timeout=20, what="the ready line in the log file")
        before = log.stat().st_size
        size = probe(port, "/logsize")["logsize"]
        after = log.stat().st_size
    finally:
        srv.stop()
    assert 0 < before <= size <= after


def test_logsize_without_logto_is_zero():
    with run_server(APP) as srv:
        assert probe(srv.port, "/logsize") == {"logsize": 0}


# -- socket helpers -------------------------------------------------------------------------------


@pytest.fixture
def echo_port():
    """A line echo server on 127.0.0.1 (one thread per connection, bounded by the test)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve_one(conn):
        with conn:
            conn.settimeout(5)
            try:
                while True:
                    data = conn.recv(100)
                    if not data:
                        return
                    conn.sendall(data)
            except OSError:
                return

    def accept_loop():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    t = threading.Thread(target=accept_loop, daemon=True)
    t.start()
    yield listener.getsockname()[1]
    stop.set()
    t.join(2)
    listener.close()


def test_async_connect_wait_fd_write_suspend_pattern(echo_port):
    with run_server(APP) as srv:
        got = probe(srv.port, "/async?%d" % echo_port)
    assert got == {"connected": True, "sent": b"", "woke": True, "reply": b"ping\n"}


def test_connect_send_recv_close(echo_port):
    with run_server(APP) as srv:
        got = probe(srv.port, "/connect?%d" % echo_port)
    assert got == {"fd": True, "sent": b"", "reply": b"po", "rest": b"ng\n", "refused": -1, "bad": -1}


def test_send_without_fd_writes_raw_bytes_on_the_connection():
    with run_server(APP) as srv:
        with Conn(srv.port) as c:
            c.send(b"GET /raw HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = c.read_to_eof()
    assert raw == b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nraw body"


def test_disconnect_ends_the_response_and_the_app_goes_on(tmp_path):
    after = tmp_path / "after"
    with run_server(APP) as srv:
        r = request(srv.port, "/disconnect?%s" % after)
        wait_until(after.exists, 10, "the app's work after disconnect()")
    assert (r.status, r.body) == (200, b"bye!")
    assert after.read_text() == "after"


RAW = ["--wsgi-file", "tests/apps/raw_connection.py", "--tornado", "4", "--greenlet"]


def test_close_of_the_connection_fd_closes_the_transport_not_a_reused_fd():
    """``close(connection_fd())`` ends the connection at once; its fd number, reused by the
    next accepted connection, is not closed again when the first app returns."""
    with run_server(RAW) as srv:
        with Conn(srv.port) as first:
            first.send(b"GET /close?1 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert first.read_to_eof() == b"HTTP/1.0 200 OK\r\n\r\nbye\n"
            # the first app still sleeps; this connection gets the fd number it closed
            r = request(srv.port, "/slow?2")
        assert (r.status, r.body) == (200, b"slow ok\n")
        assert request(srv.port, "/").body == b"ok\n"


def test_close_of_a_websockets_connection_fd_sends_close_and_spares_the_reused_fd():
    with run_server(RAW) as srv:
        ws = WSClient(srv.port, "/wsclose?1")
        try:
            assert ws.status == 101
            assert ws.close_code() == 1000
            assert ws.closed_tcp()
            r = request(srv.port, "/slow?2")  # gets the fd number while the first app sleeps
        finally:
            ws.close()
        assert (r.status, r.body) == (200, b"slow ok\n")


def test_recv_on_the_connection_fd_reads_the_client():
    with run_server(RAW) as srv:
        with Conn(srv.port) as c:
            c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.read_until(b"say something\n") == b"HTTP/1.0 200 OK\r\n\r\nsay something\n"
            c.send(b"hello")
            assert c.read_until(b"\n") == b"got: b'hello'\n"
            c.send(b"x" * 10000)
            got = b""
            while got.count(b"x") < 10000:  # at most 4096 bytes per recv, as uWSGI
                line = c.read_until(b"\n")
                assert re.fullmatch(rb"got: b'x{1,4096}'\n", line), line
                got += line
            c.sock.shutdown(socket.SHUT_WR)
            assert c.read_to_eof() == b"got: None\n"  # EOF


def test_wait_fd_read_on_the_connection_fd_waits_for_the_client():
    """uWSGI's async pattern on a raw connection: ``wait_fd_read(connection_fd(), t)``,
    ``suspend()``, ``ready_fd()``, ``recv(connection_fd())``."""
    with run_server(RAW) as srv:
        with Conn(srv.port) as c:
            c.send(b"GET /wait?0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.read_until(b"waiting\n") == b"HTTP/1.0 200 OK\r\n\r\nwaiting\n"
            assert c.read_until(b"\n") == b"timeout b'-'\n"  # nothing sent for 0.5 s
            c.send(b"hi")
            line = c.read_until(b"\n")
            while line == b"timeout b'-'\n":
                line = c.read_until(b"\n")
            assert line == b"ready b'hi'\n"
            c.sock.shutdown(socket.SHUT_WR)
            rest = c.read_to_eof()
            assert rest.endswith(b"ready None\n")  # EOF counts as readable, then recv is None


def test_send_to_a_peer_that_does_not_read_parks_only_its_core():
    """50 MiB to a peer that never reads: the core waits (until --socket-timeout), the
    worker's other cores keep answering."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []
    accepter = threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True)
    accepter.start()
    try:
        with run_server(RAW + ["--socket-timeout", "3"]) as srv:
            big: list = []
            t = threading.Thread(target=lambda: big.append(request(srv.port, "/big?%d" % listener.getsockname()[1],
                                                                   timeout=20)), daemon=True)
            t.start()
            wait_until(lambda: held, 10, "the app's connection")
            start = time.monotonic()
            assert request(srv.port, "/", timeout=2).body == b"ok\n"
            assert time.monotonic() - start < 1.5
            t.join(20)
            assert big and big[0].body == b"{'sent': None, 'blocking': True}"  # timed out: logged, None
            srv.wait_for_line(re.escape("uwsgi.send(): write(): [Errno %d] timed out after 3s" % errno.ETIMEDOUT))
    finally:
        for s in held:
            s.close()
        listener.close()


def test_send_in_a_core_writes_everything_to_a_slow_reader():
    listener = socket.create_server(("127.0.0.1", 0))
    counted: list = []

    def read_slowly():
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            total = 0
            while True:
                time.sleep(0.001)
                data = conn.recv(1 << 20)
                if not data:
                    break
                total += len(data)
        counted.append(total)

    reader = threading.Thread(target=read_slowly, daemon=True)
    reader.start()
    try:
        with run_server(RAW) as srv:
            r = request(srv.port, "/big?%d" % listener.getsockname()[1], timeout=30)
            reader.join(30)
    finally:
        listener.close()
    assert r.body == b"{'sent': b'', 'blocking': True}"
    assert counted == [50 << 20]


# -- spooler and mules ------------------------------------------------------------------------------


def test_spooler_dir_in_the_spooler_process(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    out = tmp_path / "dir"
    with run_server(APP + ["--spooler", str(spool)]) as srv:
        got = probe(srv.port, "/spool?%s" % out)
        wait_until(out.exists, 10, "the spooler's task")
    assert got == {"spooled": True, "has_dir": True, "dir_here": "ValueError: This process is not a spooler"}
    assert out.read_bytes() == os.fsencode(str(spool))


def test_mule_file_and_mule_msg_recv_size(tmp_path):
    script = "tests/apps/mule_file_probe.py"
    args = APP + ["--master", "--mule", script, "--mules", "1", "--mule-msg-size", "8192", "--mule-msg-recv-size", "4096"]
    with run_server(args, env={"PROBE_DIR": str(tmp_path)}) as srv:
        wait_until((tmp_path / "mule-1").exists, 10, "the mule's report")
        in_mule = ast.literal_eval((tmp_path / "mule-1").read_text())
        first = probe(srv.port, "/mule?1")
        second = probe(srv.port, "/mule?2")
        beyond = probe(srv.port, "/mule?3")
        here = probe(srv.port, "/mule")
    assert in_mule == {"mule_file": script.encode(), "ready": True, "recv_size": 4096}
    assert first == {"mule_file": script.encode(), "recv_size": 4096}
    assert second["mule_file"] is None  # a mule without a script
    assert beyond["mule_file"] == "ValueError: The id you provided doesn't correspond to any mule"
    assert here["mule_file"].startswith("SystemError")


# -- warning message ----------------------------------------------------------------------------------


def ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"\x64\x00\x00\x00")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk


def test_set_warning_message_is_answered_to_pings_by_every_worker():
    args = APP + ["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0", "--master", "--processes", "2"]
    with run_server(args) as srv:
        assert ping(srv.uwsgi_port) == b"\x64\x00\x00\x01"
        assert probe(srv.port, "/warn?db%20down") == {"set": True}  # uWSGI 2.0.31 returns True
        replies = {ping(srv.uwsgi_port) for _ in range(6)}  # whichever worker accepts
        assert replies == {b"\x64\x07\x00\x01db down"}
        probe(srv.port, "/warn?" + "x" * 100)
        assert ping(srv.uwsgi_port) == b"\x64\x50\x00\x01" + b"x" * 80
        srv.wait_for_line("warning message must be max 80 chars, it will be truncated")
        probe(srv.port, "/warn?")
        assert ping(srv.uwsgi_port) == b"\x64\x00\x00\x01"
