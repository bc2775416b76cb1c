"""Persistent router -> worker connections (``GATEWAY_KEEPALIVE``) through the real CLI.

* the quickstart stack (router + master + workers on the internal socket) serves many
  requests of one client over ONE worker connection, seen in ``/proc/net/unix``; with
  ``--http-upstream-keepalive 0`` every request has its own;
* a scripted uwsgi peer (``--http-to``) shows what goes on the wire: no marker and one
  connection per request unless ``--http-to-gateway``; a pooled connection the worker
  closed before answering is retried once on a fresh one, and a POST never takes one;
* workers recycled under load (SIGHUP, ``--max-requests``, SIGKILL) cost the clients nothing.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import threading
import time
from typing import List

import pytest

from gateway.protocol import uwsgi as wire
from server import ROOT
from support.httpclient import Conn
from support.router import run_router

APP = os.path.join(ROOT, "tests", "apps", "router_app.py")
GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def worker_side_sockets(name: str) -> List[int]:
    """Inodes of the connected (accepted) sockets of the abstract UNIX socket ``@name``."""
    inodes = []
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) >= 8 and parts[7] == name and parts[5] == "03":
                inodes.append(int(parts[6]))
    return inodes


def internal_socket(r) -> str:
    """The internal worker socket's name, from the worker's readiness line (it may follow the router's)."""
    line = r.wait_for_line(r"gateway ready: pid=\d+ socket=@gateway-\d+-\w+", timeout=20)
    return re.search(r"socket=(@gateway-\d+-\w+)", line).group(1)


@pytest.mark.parametrize("keepalive", ["64", "0"])
def test_one_worker_connection_serves_a_keep_alive_client(keepalive):
    with run_router(["--http", "127.0.0.1:0", "--wsgi-file", APP, "--tornado", "4", "--greenlet",
                     "--http-upstream-keepalive", keepalive]) as r:
        name = internal_socket(r)
        seen = []
        with Conn(r.port) as c:
            for i in range(30):
                c.send(b"GET /?%d HTTP/1.1\r\nHost: t\r\n\r\n" % i if i % 3 else GET)
                assert c.read_response().body == b"hello"
                seen.append(worker_side_sockets(name))
            c.send(b"HEAD /length HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response("HEAD").header("Content-Length") == "11"
            c.send(b"GET /status?204+No+Content HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response().status == 204
            c.send(b"GET /big?2 HTTP/1.1\r\nHost: t\r\n\r\n")  # chunked by the worker, re-chunked
            big = c.read_response()
            assert big.header("Transfer-Encoding") == "chunked" and len(big.body) == 2_000_000
            c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
            assert c.read_response().body.startswith(b"3 ")
            seen.append(worker_side_sockets(name))
            c.send(GET)
            assert c.read_response().body == b"hello"
            seen.append(worker_side_sockets(name))
    if keepalive == "0":
        # a new connection per request: no inode is ever seen at two checkpoints
        flat = [i for s in seen for i in s]
        assert len(flat) == len(set(flat)), seen
    else:
        # the same single worker connection all along (the POST opened a second one, kept for later)
        assert all(len(s) == 1 for s in seen[:30]) and len({s[0] for s in seen[:30]}) == 1, seen
        assert seen[0][0] in seen[-1] and len(seen[-1]) <= 2, seen


class ScriptedUpstream:
    """A uwsgi peer on TCP that records every packet per connection and answers per ``script``:
    ``script(conn_index, packet_index, vars) -> bytes`` to send, or None to close without a byte."""

    def __init__(self, script) -> None:
        self.script = script
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: List[List[dict]] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            packets: List[dict] = []
            self.connections.append(packets)
            threading.Thread(target=self._serve, args=(conn, len(self.connections) - 1, packets), daemon=True).start()

    def _serve(self, conn: socket.socket, index: int, packets: List[dict]) -> None:
        parser = wire.PacketParser(max_size=65535)
        conn.settimeout(10)
        with conn:
            while True:
                event = parser.next_event()
                if event is wire.NEED_DATA:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    parser.receive_data(data)
                    continue
                if type(event) is wire.Request:
                    packets.append(dict(event.vars))
                    continue
                if type(event) is wire.Data:
                    continue
                if type(event) is wire.EndOfMessage:
                    answer = self.script(index, len(packets) - 1, packets[-1])
                    if answer is None:
                        return
                    conn.sendall(answer)
                    if wire.KEEPALIVE_VAR not in packets[-1]:
                        return
                    parser.start_next()
                    continue
                return  # ConnectionClosed

    def close(self) -> None:
        self._stop = True
        self.sock.close()


FRAMED = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_a_plain_upstream_gets_no_marker_and_one_connection_per_request():
    up = ScriptedUpstream(lambda c, p, v: FRAMED)
    try:
        with run_router(["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % up.port]) as r, Conn(r.port) as c:
            for _ in range(3):
                c.send(GET)
                assert c.read_response().body == b"ok"
        assert [len(p) for p in up.connections] == [1, 1, 1]
        assert all(wire.KEEPALIVE_VAR not in p[0] for p in up.connections)
    finally:
        up.close()


def test_http_to_gateway_reuses_and_retries_a_connection_closed_before_its_answer():
    def script(conn, packet, env):
        if conn == 0 and packet == 2:
            return None  # as if the worker had closed this idle connection just now
        return FRAMED

    up = ScriptedUpstream(script)
    try:
        with run_router(["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % up.port,
                         "--http-to-gateway"]) as r, Conn(r.port) as c:
            for _ in range(4):
                c.send(GET)
                assert c.read_response().body == b"ok"
            # a POST is never replayed, so it never takes a kept connection: a fresh one
            c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
            assert c.read_response().body == b"ok"
        paths = [[p["REQUEST_METHOD"] for p in conn] for conn in up.connections]
        assert paths == [["GET", "GET", "GET"], ["GET", "GET"], ["POST"]], paths
        assert all(p[wire.KEEPALIVE_VAR] == "1" for conn in up.connections for p in conn)
    finally:
        up.close()


def test_a_framed_chunked_answer_reaches_http10_and_http11_clients():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    up = ScriptedUpstream(lambda c, p, v: chunked)
    try:
        with run_router(["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % up.port,
                         "--http-to-gateway"]) as r:
            with Conn(r.port) as c:
                for _ in range(2):
                    c.send(GET)
                    resp = c.read_response()
                    assert resp.body == b"abcde" and resp.header("Transfer-Encoding") == "chunked"
            with Conn(r.port) as c:
                c.send(b"GET / HTTP/1.0\r\n\r\n")
                resp = c.read_response()
                assert resp.body == b"abcde" and resp.header("Transfer-Encoding") is None
                assert c.at_eof()
        assert [len(p) for p in up.connections] == [3]  # the HTTP/1.0 client's close kept the worker's
    finally:
        up.close()


def _load(port: int, results: dict, stop: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    while not stop.is_set():
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status == 200 and body == b"hello":
                results["ok"] += 1
            else:
                results["failed"].append("%d %r" % (resp.status, body[:80]))
        except Exception as e:  # refused, reset, truncated
            results["failed"].append(repr(e))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.close()


def _wait(cond, timeout: float = 20.0, what: str = "") -> None:
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def test_recycling_workers_under_load_costs_the_clients_nothing():
    """SIGHUP (graceful reload of every worker) and --max-requests, with 6 keep-alive clients
    whose requests ride pooled worker connections all along: not one failure."""
    with run_router(["--http", "127.0.0.1:0", "--wsgi-file", APP, "--tornado", "8", "--greenlet",
                     "--master", "--processes", "2", "--max-requests", "300", "--min-worker-lifetime", "0",
                     "--worker-reload-mercy", "10"]) as r:
        results: dict = {"ok": 0, "failed": []}
        stop = threading.Event()
        threads = [threading.Thread(target=_load, args=(r.port, results, stop)) for _ in range(6)]
        for t in threads:
            t.start()
        try:
            _wait(lambda: results["ok"] > 200, what="load")
            os.kill(r.pid, signal.SIGHUP)
            r.wait_for_line(r"gracefully \(RE\)spawned uWSGI master process", timeout=20)
            before = results["ok"]
            _wait(lambda: results["ok"] > before + 800, timeout=60, what="load after the reload")
            r.wait_for_line(r"reached max-requests", timeout=30)
            before = results["ok"]
            _wait(lambda: results["ok"] > before + 300, timeout=60, what="load after max-requests")
        finally:
            stop.set()
            for t in threads:
                t.join(20)
    assert not results["failed"], results["failed"][:5]


def test_a_killed_worker_under_load_fails_no_request_that_it_was_not_running():
    """SIGKILL one of two workers: connections pooled to it die with it; requests that took one
    are retried on a fresh connection, so at most the requests it was running fail (as
    without persistent connections)."""
    with run_router(["--http", "127.0.0.1:0", "--wsgi-file", APP, "--tornado", "8", "--greenlet",
                     "--master", "--processes", "2"]) as r:
        results: dict = {"ok": 0, "failed": []}
        stop = threading.Event()
        threads = [threading.Thread(target=_load, args=(r.port, results, stop)) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            _wait(lambda: results["ok"] > 200, what="load")
            victim = int(re.search(r"spawned uWSGI worker 1 \(pid: (\d+)", r.output()).group(1))
            os.kill(victim, signal.SIGKILL)
            r.wait_for_line(r"DAMN ! worker 1 \(pid: %d\) died" % victim, timeout=10)
            before = results["ok"]
            _wait(lambda: results["ok"] > before + 500, timeout=60, what="load after the kill")
        finally:
            stop.set()
            for t in threads:
                t.join(20)
    failed = results["failed"]
    assert len(failed) <= 4 and all(f.startswith("502 ") for f in failed), failed


def worker_side_tcp(port: int) -> List[int]:
    """Inodes of the established TCP sockets whose local port is ``port`` (the worker's side)."""
    inodes = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "01":
                inodes.append(int(parts[9]))
    return inodes


@pytest.mark.parametrize("opt_in", [True, False])
def test_a_socket_upstream_is_kept_only_with_http_to_gateway(opt_in):
    from support.router import free_port

    port = free_port()
    args = ["--http", "127.0.0.1:0", "--socket", "127.0.0.1:%d" % port, "--wsgi-file", APP,
            "--tornado", "4", "--greenlet"]
    with run_router(args + (["--http-to-gateway"] if opt_in else [])) as r, Conn(r.port) as c:
        seen = []
        for _ in range(10):
            c.send(GET)
            assert c.read_response().body == b"hello"
            seen.append(worker_side_tcp(port))
    if opt_in:
        assert all(len(s) == 1 for s in seen) and len({s[0] for s in seen}) == 1, seen
    else:
        flat = [i for s in seen for i in s]
        assert len(flat) == len(set(flat)), seen


def test_a_kept_connection_is_closed_after_http_upstream_max_requests():
    """So that load spreads over the workers again (a new connection goes to whichever accepts)."""
    with run_router(["--http", "127.0.0.1:0", "--wsgi-file", APP, "--tornado", "4", "--greenlet",
                     "--http-upstream-max-requests", "3"]) as r:
        name = internal_socket(r)
        inodes = []
        with Conn(r.port) as c:
            for _ in range(9):
                before = set(worker_side_sockets(name))
                c.send(GET)
                assert c.read_response().body == b"hello"
                inodes.append(before)
        # a kept connection is there before each of its 2nd and 3rd requests (a closed one may
        # linger a moment): 9 requests, 3 per connection, 3 connections in all
        assert len(set().union(*inodes)) == 3, inodes
