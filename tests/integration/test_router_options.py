"""The ``--http`` router's options through the real CLI: ``--http-server-name-as-http-host``,
``--http-manage-expect BYTES``, ``--http-headers-timeout``, ``--http-buffer-size``,
``--http-quiet``, ``--http-uid``/``--http-gid``, ``--http-use-socket``, the accepted no-ops
and the router features refused by name."""

from __future__ import annotations

import json
import os
import pwd
import time

import pytest

from server import run_cli
from support.httpclient import Conn, read_to_eof
from support.router import free_port, run_router

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/socket_probe.py"]


def _env(port: int, host: bytes = b"t") -> dict:
    with Conn(port) as c:
        c.send(b"GET /env HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        return json.loads(r.body)


def test_server_name_as_http_host():
    with run_router(["--http", "127.0.0.1:0", "--http-server-name-as-http-host", "1"] + APP) as r:
        assert _env(r.port, b"example.org:8080")["SERVER_NAME"] == "example.org:8080"  # as sent, as uWSGI
    with run_router(["--http", "127.0.0.1:0"] + APP) as r:
        assert _env(r.port, b"example.org:8080")["SERVER_NAME"] != "example.org:8080"  # the host name


def test_manage_expect_with_a_limit_refuses_larger_bodies():
    with run_router(["--http", "127.0.0.1:0", "--http-manage-expect", "100"] + APP) as r:
        with Conn(r.port) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
            resp = c.read_response()
            assert resp.status == 413 and resp.header("Connection") == "close"
        with Conn(r.port) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\nExpect: 100-continue\r\n\r\n")
            assert c.read_response().status == 100
            c.send(b"x" * 50)
            assert c.read_response().body == b"50"
        with Conn(r.port) as c:  # without Expect the limit does not apply (uWSGI's)
            c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + b"y" * 1000)
            assert c.read_response().body == b"1000"


def test_headers_timeout_is_the_routers_head_deadline():
    with run_router(["--http", "127.0.0.1:0", "--http-headers-timeout", "1", "--socket-timeout", "30"] + APP) as r:
        with Conn(r.port, timeout=10) as c:
            started = time.monotonic()
            c.send(b"GET /env HTTP/1.1\r\nHost: t\r\n")  # never finished
            resp = c.read_response()
            assert resp.status == 408 and time.monotonic() - started < 5


def test_http_buffer_size_bounds_the_routers_request_head():
    with run_router(["--http", "127.0.0.1:0", "--http-buffer-size", "1024"] + APP) as r:
        with Conn(r.port) as c:
            c.send(b"GET /env HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n")
            assert c.read_response().status == 431
        assert _env(r.port)["PATH_INFO"] == "/env"


@pytest.mark.parametrize("quiet", [False, True])
def test_http_quiet_does_not_report_failed_connections(quiet):
    dead = free_port()
    args = ["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % dead, "--http-headers-timeout", "1"]
    with run_router(args + (["--http-quiet", "true"] if quiet else [])) as r:
        with Conn(r.port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response().status == 502
        with Conn(r.port) as c:  # a later line, to know the output got this far
            c.send(b"GET / HTTP/1.1\r\n")
            assert c.read_response().status == 408
        r.wait_for_line(r"not complete after 1(\.0)?s: 408")
        assert ("cannot connect to worker 127.0.0.1:%d" % dead in r.output()) is not quiet


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_http_uid_and_gid_apply_to_the_router_only():
    nobody = pwd.getpwnam("nobody")
    with run_router(["--http", "127.0.0.1:0", "--http-uid", "nobody", "--http-gid", str(nobody.pw_gid)] + APP) as r:
        with open("/proc/%d/status" % r.router_pid) as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        assert status["Uid"].split()[0] == str(nobody.pw_uid)
        assert status["Gid"].split()[0] == str(nobody.pw_gid)
        assert _env(r.port)["PATH_INFO"] == "/env"  # it still reaches the workers
        with open("/proc/%d/status" % r.pid) as f:  # the master stays as it was
            assert [ln for ln in f if ln.startswith("Uid:")][0].split()[1] == "0"
    res = run_cli(["--http", "127.0.0.1:0", "--http-uid", "no-such-user-here"] + APP)
    assert res.returncode == 1 and "--http-uid no-such-user-here: no such user" in res.stderr


def test_http_use_socket_picks_the_worker_socket():
    first, second = free_port(), free_port()
    args = ["--http", "127.0.0.1:0", "--socket", "127.0.0.1:%d" % first, "--socket", "127.0.0.1:%d" % second,
            "--http-use-socket", "1"] + APP
    with run_router(args) as r:
        r.wait_for_line(r"upstream=127\.0\.0\.1:%d$" % second)
        assert _env(r.port)["SERVER_PORT"] == str(r.port)
    res = run_cli(["--http", "127.0.0.1:0", "--http-socket", "127.0.0.1:0", "--http-use-socket"] + APP)
    assert res.returncode == 1 and "--http-use-socket 0: 127.0.0.1:0 is a --http-socket" in res.stderr


def _stats(port: int, http: bool = False) -> dict:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        if http:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = read_to_eof(s)
    if http:
        head, _, data = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200 OK") and b"application/json" in head
    return json.loads(data)


def test_http_stats_server_reports_the_router():
    stats_port = free_port()
    with run_router(["--http", "127.0.0.1:0", "--http-ss", "127.0.0.1:%d" % stats_port,
                     "--http-processes", "2"] + APP, routers=2) as r:
        doc = _stats(stats_port)
        assert set(doc) == {"version", "pid", "uid", "gid", "cwd", "active_sessions", "http", "cheap"}
        assert doc["pid"] == r.router_names()["uWSGI http 1"]  # the first router serves it, as uWSGI
        assert doc["http"] == ["127.0.0.1:%d" % r.port] and doc["cwd"] == os.getcwd()
    with run_router(["--http", "127.0.0.1:0", "--http-stats", "127.0.0.1:%d" % stats_port, "--stats-http"] + APP):
        assert _stats(stats_port, http=True)["cheap"] == 0
    res = run_cli(["--http", "127.0.0.1:0", "--http-stats", "256.0.0.1:1"] + APP)
    assert res.returncode == 1 and "--http-stats" in res.stderr


def test_http_stats_counts_sessions_of_its_router():
    stats_port = free_port()
    with run_router(["--http", "127.0.0.1:0", "--http-stats", "127.0.0.1:%d" % stats_port] + APP) as r:
        assert _stats(stats_port)["active_sessions"] == 0
        with Conn(r.port) as c:
            c.send(b"GET /env HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response().status == 200
            assert _stats(stats_port)["active_sessions"] == 1


def test_http_fallback_nodes_are_tried_in_order_when_no_upstream_answers():
    dead, dead2, live = free_port(), free_port(), free_port()
    args = ["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % dead, "--http-fallback", "127.0.0.1:%d" % dead2,
            "--http-fallback", "127.0.0.1:%d" % live, "--socket", "127.0.0.1:%d" % live] + APP
    with run_router(args) as r:
        for _ in range(2):
            assert _env(r.port)["PATH_INFO"] == "/env"  # served by the second fallback
        r.wait_for_line(r"cannot connect to worker 127\.0\.0\.1:%d: .*falling back to 127\.0\.0\.1:%d" % (dead, dead2))
    with run_router(["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % dead, "--http-fallback",
                     "127.0.0.1:%d" % dead2]) as r, Conn(r.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.read_response().status == 502  # every node refused


def test_http_harakiri_kills_a_stuck_router_and_the_master_respawns_it():
    import signal

    with run_router(["--http", "127.0.0.1:0", "--http-harakiri", "2"] + APP) as r:
        stuck = r.router_pid
        os.kill(stuck, signal.SIGSTOP)  # its loop never comes back
        started = time.monotonic()
        r.wait_for_line(r"\*\*\* HARAKIRI ON GATEWAY uWSGI http 1 \(pid: %d\) \*\*\*" % stuck, timeout=15)
        assert time.monotonic() - started < 10
        r.wait_routers(2)  # a new router's ready line
        assert r.router_pids[-1] != stuck
        assert _env(r.port)["PATH_INFO"] == "/env"
    with run_router(["--http", "127.0.0.1:0", "--http-harakiri", "2"] + APP) as r:
        time.sleep(4)  # an idle router still beats: it is left alone
        assert "HARAKIRI" not in r.output() and _env(r.port)["PATH_INFO"] == "/env"


def _dechunk(data: bytes) -> bytes:
    out, pos = b"", 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end], 16)
        if size == 0:
            return out
        out += data[end + 2:end + 2 + size]
        pos = end + 4 + size


def _uwsgi_packet(conn) -> dict:
    """Read one uwsgi packet's vars (a dict) from ``conn``."""
    import struct

    head = b""
    while len(head) < 4:
        head += conn.recv(4 - len(head))
    size = struct.unpack("<H", head[1:3])[0]
    block = b""
    while len(block) < size:
        block += conn.recv(size - len(block))
    env, pos = {}, 0
    while pos < size:
        klen = struct.unpack("<H", block[pos:pos + 2])[0]
        key = block[pos + 2:pos + 2 + klen]
        pos += 2 + klen
        vlen = struct.unpack("<H", block[pos:pos + 2])[0]
        env[key.decode()] = block[pos + 2:pos + 2 + vlen].decode("latin-1")
        pos += 2 + vlen
    return env


@pytest.mark.parametrize("chunked", [False, True])
def test_http_post_buffering_reads_the_body_before_asking_a_worker(chunked):
    import socket

    body = bytes(range(256)) * 1024  # 256 KiB: over the 64 KiB kept in memory
    worker = socket.socket()
    worker.bind(("127.0.0.1", 0))
    worker.listen(4)
    worker.settimeout(10)
    args = ["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % worker.getsockname()[1],
            "--http-post-buffering", "65536"]
    try:
        with run_router(args) as r, Conn(r.port, timeout=10) as c:
            if chunked:
                wire = b"".join(b"%x\r\n%b\r\n" % (len(body[i:i + 5000]), body[i:i + 5000])
                                for i in range(0, len(body), 5000)) + b"0\r\n\r\n"
                c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + wire[:100000])
                rest = wire[100000:]
            else:
                c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:100000])
                rest = body[100000:]
            worker.settimeout(1.0)
            with pytest.raises(socket.timeout):
                worker.accept()  # half a body: no worker is bothered yet
            worker.settimeout(10)
            c.send(rest)
            conn, _ = worker.accept()
            with conn:
                conn.settimeout(10)
                env = _uwsgi_packet(conn)
                assert env["REQUEST_METHOD"] == "POST"
                got = b""
                while (not got.endswith(b"\r\n0\r\n\r\n")) if chunked else len(got) < len(body):
                    chunk = conn.recv(65536)
                    assert chunk, "the router closed before the whole body"
                    got += chunk
                # a chunked body stays chunked for the worker (re-framed by the router)
                assert (_dechunk(got) if chunked else got) == body
                assert env.get("CONTENT_LENGTH") == (None if chunked else str(len(body)))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            resp = c.read_response()
            assert resp.status == 200 and resp.body == b"ok"
    finally:
        worker.close()


def test_http_post_buffering_with_our_workers_and_expect():
    with run_router(["--http", "127.0.0.1:0", "--http-post-buffering", "1000", "--http-post-buffering-dir",
                     "/nonexistent"] + APP) as r, Conn(r.port) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 300000\r\nExpect: 100-continue\r\n\r\n")
        assert c.read_response().status == 100  # the router asks for the body itself
        c.send(b"q" * 300000)
        assert c.read_response().body == b"300000"
        c.send(b"GET /env HTTP/1.1\r\nHost: t\r\n\r\n")  # the connection goes on
        assert c.read_response().status == 200


TEXT = b"".join(b"line %d of a compressible text\n" % n for n in range(2000))


def test_http_auto_gzip_compresses_marked_answers_for_clients_that_accept_gzip():
    import gzip

    with run_router(["--http", "127.0.0.1:0", "--http-auto-gzip"] + APP) as r:
        with Conn(r.port) as c:  # keep-alive: several answers on one connection
            for path in (b"/gzip/list", b"/gzip/stream", b"/gzip/list"):
                c.send(b"GET " + path + b" HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br, gzip\r\n\r\n")
                resp = c.read_response()
                assert resp.status == 200 and resp.header("Content-Encoding") == "gzip"
                assert resp.header("Transfer-Encoding") == "chunked" and resp.header("uWSGI-Encoding") is None
                assert resp.header("Content-Length") is None
                assert gzip.decompress(resp.body) == TEXT and len(resp.body) < len(TEXT) // 4
            c.send(b"GET /gzip/list HTTP/1.1\r\nHost: t\r\n\r\n")  # the client does not accept it
            resp = c.read_response()
            assert resp.header("Content-Encoding") is None and resp.body == TEXT
            c.send(b"GET /gzip/encoded HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
            resp = c.read_response()  # already encoded: untouched
            assert resp.header("Content-Encoding") == "identity" and resp.body == TEXT
            c.send(b"GET /env HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
            resp = c.read_response()  # not marked: untouched
            assert resp.header("Content-Encoding") is None and json.loads(resp.body)["PATH_INFO"] == "/env"
        with Conn(r.port) as c:  # an HTTP/1.0 client: close-delimited
            c.send(b"GET /gzip/stream HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n")
            resp = c.read_response()
            assert resp.header("Content-Encoding") == "gzip" and gzip.decompress(resp.body) == TEXT
    with run_router(["--http", "127.0.0.1:0"] + APP) as r, Conn(r.port) as c:  # without the option
        c.send(b"GET /gzip/list HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        assert c.read_response().body == TEXT


def test_no_op_router_options_load():
    with run_router(["--http", "127.0.0.1:0", "--http-websockets", "--http-chunked-input", "--http-events", "64"]
                    + APP) as r:
        assert _env(r.port)["PATH_INFO"] == "/env"


@pytest.mark.parametrize("args, hint", [
    (["--http-zerg", "/tmp/z"], "zerg"),
    (["--http-resubscribe", "127.0.0.1:0"], "forwarded"),
    (["--http-use-cache"], "cache"),
    (["--http-raw-body"], "tunnels"),
    (["--http-manage-rtsp"], "RTSP"),
    (["--http-stud-prefix", "x"], "stud"),
])
def test_refused_router_options_say_why(args, hint):
    res = run_cli(["--http", "127.0.0.1:0"] + args + APP)
    assert res.returncode == 1
    assert "'%s' is not supported" % args[0] in res.stderr and hint in res.stderr
