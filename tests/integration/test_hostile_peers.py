"""Hostile and broken peers against every live front door of a real gateway process.

What a peer may cost is its own connection: after each attack the worker (or router) is
alive, a well-behaved client still gets the right answer promptly, its descriptors and
RSS are back near their baseline, it is not spinning (CPU ticks over a quiet moment), and
the log grew by a bounded number of lines, none of them a traceback.

One server per module serves ``--http-socket``, ``--https-socket``, ``--socket``,
``--fastcgi-socket``, ``--scgi-socket`` and ``--stats`` with ``--tornado 100 --greenlet``;
a second one runs ``--threads 4``; a third is the ``--http`` router in front of a worker.
``--socket-timeout 3`` keeps the slowloris cases short.
"""

from __future__ import annotations

import os
import random
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
from typing import Dict, Iterator, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.protocol import websocket as ws
from gateway.protocol.uwsgi import encode_request
from gateway.router.subscription import SUBSCRIBE, Subscription, encode_subscription
from peers import require
from server import ServerProcess, run_server
from support.httpclient import Conn, read_to_eof
from support.router import run_router
from support.waits import pid_alive, wait_until
from support.wsclient import WSClient

pytestmark = pytest.mark.timeout(180)

APP = ["--wsgi-file", "tests/apps/hostile_app.py", "--socket-timeout", "3"]
WORKER = re.compile(r"spawned uWSGI worker 1 \(pid: (\d+)")
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))


# -- the servers and their health ---------------------------------------------------------------


class Door:
    """One server under attack: its ports by kind, the pid that serves them, its baseline."""

    def __init__(self, srv: ServerProcess, pid: int, ports: Dict[str, int]) -> None:
        self.srv = srv
        self.pid = pid
        self.ports = ports
        good_request(self)  # warm: lazily opened descriptors, the router's first kept upstream connection
        self.base = usage(pid)

    def lines(self) -> int:
        return len(self.srv.lines)

    def new_lines(self, since: int) -> List[str]:
        return self.srv.lines[since:]


def usage(pid: int) -> Dict[str, int]:
    """Descriptors, RSS (KiB) and CPU ticks (user + system) of ``pid``."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open("/proc/%d/status" % pid) as f:
        rss = int(f.read().split("VmRSS:")[1].split()[0])
    return {"fds": len(os.listdir("/proc/%d/fd" % pid)), "rss": rss, "cpu": int(fields[11]) + int(fields[12])}


def exchange(port: int, data: bytes, timeout: float = 5.0, shut: bool = True) -> bytes:
    """Send ``data`` (then our FIN when ``shut``), return the answer up to the server's close
    (a server that answered and closed before taking it all is fine: a reset ends the read)."""
    with Conn(port, timeout=timeout) as c:
        try:
            c.send(data)
            if shut:
                c.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return c.read_to_eof()


def good_request(door: Door) -> None:
    """The well-behaved client: a plain request answered right, within a second."""
    t = time.monotonic()
    port = door.ports["http"]
    answer = exchange(port, b"GET /good HTTP/1.0\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.") and answer.endswith(b"ok /good"), answer[:300]
    assert time.monotonic() - t < 1.5


def assert_healthy(door: Door, since: int, max_lines: int = 10) -> None:
    """Alive, answering, back to its baseline descriptors and RSS, idle, a bounded log."""
    assert pid_alive(door.pid), door.srv.output()[-3000:]
    good_request(door)
    wait_until(lambda: usage(door.pid)["fds"] <= door.base["fds"] + 3, 8,
               "descriptors back near %d (now %d)" % (door.base["fds"], usage(door.pid)["fds"]))
    assert usage(door.pid)["rss"] < door.base["rss"] + 48 * 1024
    before = usage(door.pid)["cpu"]
    time.sleep(0.2)  # a quiet moment: CPU spent now is a busy loop (20 ticks)
    assert usage(door.pid)["cpu"] - before <= 4
    new = [line for line in door.new_lines(since) if "/good =>" not in line]
    bad = [line for line in new if "Traceback" in line or "Fatal error" in line]
    assert not bad, "\n".join(new[:80])
    assert len(new) <= max_lines, "%d log lines:\n%s" % (len(new), "\n".join(new[:80]))


def worker_pid(srv: ServerProcess) -> int:
    """The process that serves the requests: worker 1, or the server itself when it forks none."""
    m = [WORKER.search(line) for line in srv.lines]
    found = [x for x in m if x]
    return int(found[-1].group(1)) if found else srv.pid


def _fields_port(value: str) -> int:
    return int(value.split(",")[0].rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> str:
    d = str(tmp_path_factory.mktemp("hostile-tls"))
    crt, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    subprocess.run([require("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True, timeout=60)
    return "%s,%s" % (crt, key)


@pytest.fixture(scope="module")
def async_door(cert) -> Iterator[Door]:
    args = APP + ["--http-socket", "127.0.0.1:0", "--https-socket", "127.0.0.1:0," + cert,
                  "--socket", "127.0.0.1:0", "--fastcgi-socket", "127.0.0.1:0", "--scgi-socket", "127.0.0.1:0",
                  "--stats", "127.0.0.1:0", "--tornado", "100", "--greenlet", "--max-connections", "200"]
    with run_server(args) as srv:
        f = srv.ready_fields
        ports = {"http": srv.port, "https": _fields_port(f["https-socket"]), "uwsgi": srv.uwsgi_port,
                 "fastcgi": _fields_port(f["fastcgi-socket"]), "scgi": _fields_port(f["scgi-socket"]),
                 "stats": _fields_port(f["stats"])}
        srv.expect_traceback("unable to complete websocket handshake")
        yield Door(srv, worker_pid(srv), ports)


@pytest.fixture(scope="module")
def threads_door() -> Iterator[Door]:
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--threads", "4"]) as srv:
        yield Door(srv, worker_pid(srv), {"http": srv.port})


@pytest.fixture(scope="module")
def router_door(cert) -> Iterator[Door]:
    args = APP + ["--http", "127.0.0.1:0", "--https", "127.0.0.1:0," + cert, "--tornado", "100", "--greenlet", "--master"]
    with run_router(args) as r:
        yield Door(r, r.router_pid, {"http": r.port, "https": r.https_port})


# -- HTTP: malformed and smuggling-shaped requests -----------------------------------------------

H = b"Host: x\r\n"
MALFORMED = {
    "nul-in-target": (b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400),
    "nul-in-method": (b"G\x00T / HTTP/1.1\r\n\r\n", 400),
    "absurd-content-length": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    "negative-content-length": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400),
    "duplicate-content-length": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    "cl-and-te": (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "te-gzip-chunked": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    "te-chunked-twice": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    "te-in-http10": (b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "obs-fold": (b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n", 400),
    "header-flood": (b"GET / HTTP/1.1\r\n" + H + b"A: b\r\n" * 5000 + b"\r\n", 431),
    "one-huge-header": (b"GET / HTTP/1.1\r\n" + H + b"X: " + b"a" * 1000000 + b"\r\n\r\n", 431),
    "empty-line-flood": (b"\r\n" * 100000 + b"GET / HTTP/1.1\r\n" + H + b"\r\n", 400),
    "space-before-colon": (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    "http-0.9": (b"GET /\r\n\r\n", 400),
    "huge-version": (b"GET / HTTP/1." + b"1" * 100 + b"\r\n\r\n", 400),
    "bad-authority": (b"GET http://[::1/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    # malformed chunked bodies while the app reads them (the worker answers from wsgi.input)
    "huge-chunk-size": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + b"f" * 100 + b"\r\n", 400),
    "huge-chunk-extension": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n1;" + b"a" * 200000
                             + b"\r\nx\r\n0\r\n\r\n", 400),
    "chunk-size-0x": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nabcde\r\n0\r\n\r\n", 400),
    "chunk-size-negative": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n0\r\n\r\n", 400),
    "trailer-flood": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
                      + b"X-T: y\r\n" * 50000 + b"\r\n", 431),
}


def _status(answer: bytes) -> int:
    m = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    assert m, answer[:200]
    return int(m.group(1))


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_http_gets_a_4xx_and_costs_one_line(async_door, name):
    """Each malformed request: the status it deserves, one INFO line, nothing else.  The
    chunked ones used to answer the 400 from ``wsgi.input`` and then parse the same bad
    bytes again, writing after the lingering close: a ``Fatal error on transport``
    traceback for every such request."""
    data, status = MALFORMED[name]
    since = async_door.lines()
    answer = exchange(async_door.ports["http"], data, shut=False)
    assert _status(answer) == status
    assert answer.count(b"HTTP/1.1 4") + answer.count(b"HTTP/1.1 5") == 1, answer[:500]
    assert_healthy(async_door, since, max_lines=2)


@pytest.mark.parametrize("name", ["huge-chunk-size", "chunk-size-0x", "header-flood", "cl-and-te", "obs-fold"])
def test_malformed_http_on_threads_and_router(threads_door, router_door, name):
    data, status = MALFORMED[name]
    for door in (threads_door, router_door):
        since = door.lines()
        assert _status(exchange(door.ports["http"], data, shut=False)) == status
        assert_healthy(door, since, max_lines=2)


def test_expect_100_continue_abuse(async_door):
    """``Expect: 100-continue`` then nothing, then a body after the 100, then a bogus
    expectation: the worker neither waits forever nor answers twice."""
    since = async_door.lines()
    with socket.create_connection(("127.0.0.1", async_door.ports["http"]), timeout=6) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
        s.sendall(b"abcde")
        answer = b""
        while not answer.endswith(b"\r\n\r\n5"):
            answer += s.recv(1000)
        s.sendall(b"POST /echo HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        # no body: the body's wait is bounded by --socket-timeout (3 s), then the connection closes
        rest = read_to_eof(s)
        assert rest.startswith(b"HTTP/1.1 100 Continue"), rest
    assert_healthy(async_door, since, max_lines=4)


# -- peers that never read, reset, or flood -----------------------------------------------------


def _tiny_receiver(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    return s


@pytest.mark.parametrize("which", ["async", "threads", "router"])
def test_clients_that_never_read(async_door, threads_door, router_door, which):
    """A 64 MiB stream to five clients that never read, and a pipelining flood (thousands of
    requests in a few writes) from one that never reads its answers: the worker parks only
    those connections (bounded write buffer, reading paused), others are served meanwhile,
    and everything is given back once they go."""
    door = {"async": async_door, "threads": threads_door, "router": router_door}[which]
    since = door.lines()
    port = door.ports["http"]
    stuck = []
    for _ in range(2 if which == "threads" else 5):  # (--threads 4: keep cores for the good client)
        s = _tiny_receiver(port)
        s.sendall(b"GET /big HTTP/1.1\r\n" + H + b"\r\n")
        stuck.append(s)
    flood = _tiny_receiver(port)
    flood.settimeout(1)
    stuck.append(flood)
    requests = b"GET / HTTP/1.1\r\n" + H + b"\r\n"
    try:
        for _ in range(100):
            flood.sendall(requests * 15000)
    except OSError:
        pass  # the worker stopped reading (a timeout here), or dropped the deaf client (a reset)
    else:
        raise AssertionError("the worker read 40 MB of pipelined requests nobody reads the answers of")
    good_request(door)
    assert usage(door.pid)["rss"] < door.base["rss"] + 48 * 1024
    for s in stuck:
        s.close()
    # each served request logs a line: the flood is bounded by the socket buffers
    assert_healthy(door, since, max_lines=200000)


def test_resets_mid_response(async_door):
    """Clients that reset (RST) in the middle of a streamed answer: nothing leaks."""
    since = async_door.lines()
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", async_door.ports["http"]))
        s.sendall(b"GET /big HTTP/1.1\r\n" + H + b"\r\n")
        s.recv(65536)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    assert_healthy(async_door, since, max_lines=60)


def _tls(port: int, timeout: float = 10) -> ssl.SSLSocket:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=timeout))


def test_tls_slowloris_on_the_router(router_door):
    """The router's ``--https``: a head trickled over TLS gets its 408 after ``--socket-timeout``
    and the connection is gone ``--linger-timeout`` later, though the peer never sends its
    ``close_notify`` (the loop's default wait was 30 s, the descriptor held meanwhile)."""
    since = router_door.lines()
    t = time.monotonic()
    s = _tls(router_door.ports["https"])
    with pytest.raises(OSError):
        for _ in range(100):
            s.send(b"X")
            time.sleep(0.2)
    assert time.monotonic() - t < 8
    s.close()
    assert_healthy(router_door, since, max_lines=2)


def test_slowloris_on_every_door(async_door):
    """One byte every 0.2 s of a head (HTTP, TLS), a uwsgi packet, FastCGI records, an SCGI
    netstring: each is cut after ``--socket-timeout`` (3 s) of its first byte, all at once,
    without holding a core; the good client is served meanwhile."""
    since = async_door.lines()
    heads = {
        "http": b"GET / HTTP/1.1\r\n" + H + b"X-A: b\r\n" * 50,
        "https": b"GET / HTTP/1.1\r\n" + H + b"X-A: b\r\n" * 50,
        "uwsgi": b"\x00\xff\x0f\x00" + b"\x01" * 400,
        "fastcgi": b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01\x04\x00\x01\x0f\xa0\x00\x00"
                   + b"a" * 400,
        "scgi": b"4000:" + b"a" * 400,
    }
    cut: Dict[str, float] = {}

    def trickle(kind: str) -> None:
        t = time.monotonic()
        if kind == "https":
            s = _tls(async_door.ports[kind])
        else:
            s = socket.create_connection(("127.0.0.1", async_door.ports[kind]), timeout=10)
        try:
            for byte in heads[kind]:
                s.send(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            cut[kind] = time.monotonic() - t
        s.close()

    threads = [threading.Thread(target=trickle, args=(k,)) for k in heads]
    for t in threads:
        t.start()
    good_request(async_door)
    for t in threads:
        t.join(30)
    assert set(cut) == set(heads), cut
    assert all(v < 8 for v in cut.values()), cut
    assert_healthy(async_door, since, max_lines=len(heads))


def test_idle_connections_past_max_connections(async_door):
    """250 silent connections against ``--max-connections 200``: the worker stops accepting
    (one line), the silent ones are dropped after ``--socket-timeout``, and the good client,
    queued meanwhile, is then served."""
    since = async_door.lines()
    idle = [socket.create_connection(("127.0.0.1", async_door.ports["http"])) for _ in range(250)]
    async_door.srv.wait_for_line(r"client connections open \(--max-connections 200\)")
    t = time.monotonic()
    s = socket.create_connection(("127.0.0.1", async_door.ports["http"]), timeout=10)
    s.sendall(b"GET /queued HTTP/1.0\r\n\r\n")
    assert read_to_eof(s).endswith(b"ok /queued")
    assert time.monotonic() - t < 8
    for c in idle:
        c.close()
    assert_healthy(async_door, since, max_lines=260)


# -- TLS -----------------------------------------------------------------------------------------


def test_tls_handshake_garbage(async_door):
    """Plain HTTP, a record header announcing 16 KiB then silence, a huge bogus ClientHello,
    a half handshake: each costs only its connection."""
    since = async_door.lines()
    port = async_door.ports["https"]
    exchange(port, b"GET / HTTP/1.1\r\n" + H + b"\r\n")  # (plain HTTP on the TLS port)
    exchange(port, b"\x16\x03\x01\x40\x00" + os.urandom(100000))
    exchange(port, b"\x16\x03\x01\xff\xff" + b"\x01" + b"\x00" * 65000)
    half = socket.create_connection(("127.0.0.1", port), timeout=10)
    half.sendall(b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03")  # a ClientHello cut short
    silent = socket.create_connection(("127.0.0.1", port), timeout=10)
    with _tls(port, 5) as tls:
        tls.sendall(b"GET /tls HTTP/1.0\r\n\r\n")
        assert read_to_eof(tls).endswith(b"ok /tls")
    assert read_to_eof(half) == b""  # dropped after --socket-timeout, not held
    assert read_to_eof(silent) == b""
    half.close()
    silent.close()
    assert_healthy(async_door, since, max_lines=10)


# -- the uwsgi protocol, RPC, FastCGI, SCGI ------------------------------------------------------


def _pkt(m1: int, payload: bytes, m2: int = 0) -> bytes:
    return struct.pack("<BHB", m1, len(payload), m2) + payload


ENV = [("REQUEST_METHOD", "GET"), ("PATH_INFO", "/u"), ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_HOST", "x")]
UWSGI_PACKETS = {
    "keepalive-pipeline-flood": encode_request(ENV + [("GATEWAY_KEEPALIVE", "1")]) * 2000,
    "absurd-content-length": encode_request([("REQUEST_METHOD", "POST"), ("PATH_INFO", "/echo"),
                                             ("CONTENT_LENGTH", "99999999999999999999")]),
    "huge-chunk-size": encode_request([("REQUEST_METHOD", "POST"), ("PATH_INFO", "/echo"),
                                       ("HTTP_TRANSFER_ENCODING", "chunked")]) + b"f" * 100 + b"\r\n",
    "rpc-item-past-end": _pkt(173, b"\xff\xff"),
    "rpc-too-many-items": _pkt(173, b"\x01\x00a" * 300),
    "rpc-unknown-function": _pkt(173, b"\x03\x00foo\x01\x00a"),
    "rpc-bridge-truncated-vars": _pkt(173, b"\x09\x00PATH_INFO\x05\x00", 2),
    "remote-spool-garbage": _pkt(17, b"\xff"),
    "unknown-modifier": _pkt(250, b"x" * 100),
    "vars-over-buffer-size": struct.pack("<BHB", 0, 65535, 0) + b"\x01" * 65535,
    "empty-vars": struct.pack("<BHB", 0, 0, 0),
    "empty-key": _pkt(0, b"\x00\x00\x00\x00"),
    "length-past-end": _pkt(0, b"\x05\x00ab"),
}


@pytest.mark.parametrize("name", sorted(UWSGI_PACKETS))
def test_bad_uwsgi_packets(async_door, name):
    since = async_door.lines()
    t = time.monotonic()
    answer = exchange(async_door.ports["uwsgi"], UWSGI_PACKETS[name])
    if name == "keepalive-pipeline-flood":
        # all answered, and the connection closed at our EOF (it waited --socket-timeout idle)
        assert answer.count(b"ok /u") == 2000
        assert time.monotonic() - t < 2.5
    assert_healthy(async_door, since, max_lines=2002 if name == "keepalive-pipeline-flood" else 2)


def _fcgi(kind: int, rid: int, content: bytes, pad: int = 0) -> bytes:
    return struct.pack(">BBHHBB", 1, kind, rid, len(content), pad, 0) + content + b"\0" * pad


def _nv(name: bytes, value: bytes) -> bytes:
    return bytes([len(name), len(value)]) + name + value


def _begin(rid: int = 1, role: int = 1, flags: int = 0) -> bytes:
    return _fcgi(1, rid, struct.pack(">HB5x", role, flags))


FCGI_PARAMS = _nv(b"REQUEST_METHOD", b"GET") + _nv(b"PATH_INFO", b"/f") + _nv(b"SERVER_PROTOCOL", b"HTTP/1.1")
FCGI_REQUEST = _fcgi(4, 1, FCGI_PARAMS) + _fcgi(4, 1, b"") + _fcgi(5, 1, b"")
FASTCGI_SCGI = {
    # (door, bytes, FastCGI STDOUT answers expected)
    "fcgi-keep-conn-flood": ("fastcgi", (_begin(flags=1) + FCGI_REQUEST) * 500, 500),
    "fcgi-params-byte-by-byte": ("fastcgi", _begin() + b"".join(_fcgi(4, 1, bytes([c])) for c in FCGI_PARAMS * 100), 0),
    "fcgi-unknown-role": ("fastcgi", _begin(role=99) + FCGI_REQUEST, 0),
    "fcgi-interleaved-ids": ("fastcgi", _begin(1) + _begin(2) + _fcgi(4, 2, FCGI_PARAMS) + FCGI_REQUEST, 1),
    "fcgi-abort": ("fastcgi", _begin() + _fcgi(2, 1, b""), 0),
    "fcgi-get-values-flood": ("fastcgi", _fcgi(9, 0, _nv(b"FCGI_MAX_CONNS", b"") * 1000), 0),
    "fcgi-unknown-type": ("fastcgi", _fcgi(77, 0, b"xx"), 0),
    "fcgi-pair-past-end": ("fastcgi", _begin() + _fcgi(4, 1, b"\xff\xff\xff\xff\x01abc") + _fcgi(4, 1, b""), 0),
    "fcgi-version-0": ("fastcgi", b"\x00" + (_begin() + FCGI_REQUEST)[1:], 0),
    "scgi-huge-length": ("scgi", b"99999999999:", 0),
    "scgi-negative-length": ("scgi", b"-5:", 0),
    "scgi-no-comma": ("scgi", b"24:CONTENT_LENGTH\x000\x00SCGI\x001\x00;", 0),
}


@pytest.mark.parametrize("name", sorted(FASTCGI_SCGI))
def test_bad_fastcgi_and_scgi(async_door, name):
    door, data, answers = FASTCGI_SCGI[name]
    since = async_door.lines()
    answer = exchange(async_door.ports[door], data)
    assert answer.count(b"Status: 200 OK") == answers
    assert_healthy(async_door, since, max_lines=answers + 2)


@pytest.mark.parametrize("kind", ["http", "https", "uwsgi", "fastcgi", "scgi", "stats"])
def test_random_bytes_on_every_door(async_door, kind):
    """Bytes from hypothesis (up to 5 KB, often starting like the door's protocol), sent
    and half-closed, while a good client is served in parallel."""
    since = async_door.lines()
    port = async_door.ports[kind]
    prefixes = {"http": [b"GET / HTTP/1.1\r\n", b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"],
                "uwsgi": [b"\x00", b"\xad", b"\x11"], "fastcgi": [b"\x01\x01\x00\x01\x00\x08\x00\x00"],
                "scgi": [b"70:CONTENT_LENGTH\x000\x00"], "https": [b"\x16\x03\x01"], "stats": [b""]}[kind]
    stop = threading.Event()
    failures: List[BaseException] = []

    def well_behaved() -> None:
        while not stop.is_set():
            try:
                good_request(async_door)
            except BaseException as e:  # (reported by the test)
                failures.append(e)
                return

    client = threading.Thread(target=well_behaved)
    client.start()

    @FUZZ
    @given(st.sampled_from(prefixes + [b""]), st.binary(max_size=5000))
    def attack(prefix: bytes, data: bytes) -> None:
        exchange(port, prefix + data, timeout=5)

    try:
        attack()
    finally:
        stop.set()
        client.join(10)
    assert not failures, failures
    assert_healthy(async_door, since, max_lines=400)


# -- websockets -------------------------------------------------------------------------------


def _ws(door: Door) -> WSClient:
    return WSClient(door.ports["http"], "/ws")


def _frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return ws.build_frame(opcode, payload, fin=fin, mask=os.urandom(4))


WS_ATTACKS = {
    "fragmented-ping": (_frame(ws.PING, b"x", fin=False), 1002),
    "huge-length": (bytes([0x82, 0xFF]) + struct.pack(">Q", 1 << 62) + os.urandom(4), 1009),
    "length-msb-set": (bytes([0x82, 0xFF]) + struct.pack(">Q", 1 << 63) + os.urandom(4), 1002),
    "unmasked": (ws.build_frame(ws.BINARY, b"abc", fin=True, mask=None), 1002),
    "ping-over-125": (_frame(ws.PING, b"x" * 200), 1002),
    "continuation-first": (_frame(ws.CONTINUATION, b"x"), 1002),
    "reserved-opcode": (_frame(0x3, b"a"), 1002),
    "close-one-byte": (_frame(ws.CLOSE, b"\x03"), 1002),
    "close-invalid-code": (_frame(ws.CLOSE, b"\x00\x05"), 1002),
    "close-bad-utf8": (_frame(ws.CLOSE, b"\x03\xe8\xff"), 1007),
    "text-bad-utf8": (_frame(ws.TEXT, b"\xff\xfe"), 1007),
    "fragments-past-max-size": (_frame(ws.TEXT, b"a", fin=False)
                                + b"".join(_frame(ws.CONTINUATION, b"a" * 1000, fin=False) for _ in range(1100)), 1009),
    "close-flood": (b"".join(ws.close_frame(1000, mask=os.urandom(4)) for _ in range(3000)), 1000),
}


@pytest.mark.parametrize("name", sorted(WS_ATTACKS))
def test_websocket_frames(async_door, name):
    data, code = WS_ATTACKS[name]
    since = async_door.lines()
    c = _ws(async_door)
    c.send_raw(data)
    assert c.close_code(5) in (code, 1002 if code == 1009 else code)
    c.close()
    assert_healthy(async_door, since, max_lines=3)


def test_websocket_ping_floods(async_door):
    """20,000 PINGs at once: the echo still follows.  A peer that floods PINGs and never reads
    the PONGs: the worker answers only the last PING once the peer reads again (RFC 6455
    §5.5.3), so memory stays flat; it used to queue every PONG (700 MB after 350 MB of PINGs)."""
    since = async_door.lines()
    c = _ws(async_door)
    c.send_raw(b"".join(_frame(ws.PING, b"p") for _ in range(20000)) + _frame(ws.TEXT, b"hello"))
    pongs = 0
    while True:
        ev = c.event(10)
        if type(ev) is ws.Message:
            assert ev.data == b"hello"
            break
        assert type(ev) is ws.Pong
        pongs += 1
    assert 1 <= pongs <= 20000
    c.close()
    # A deaf peer (a 4 KB receive buffer it never reads) floods 8 MB of PINGs: the old worker
    # grew by twice that, queueing every PONG
    deaf = _ws(async_door)
    deaf.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    deaf.sock.settimeout(2)
    burst = b"".join(_frame(ws.PING, b"p" * 100) for _ in range(10000))
    try:
        for _ in range(8):
            deaf.sock.sendall(burst)
    except socket.timeout:
        pass  # (at times loopback TCP stops taking bytes first: nothing piles up either)
    assert usage(async_door.pid)["rss"] < async_door.base["rss"] + 6 * 1024
    good_request(async_door)
    deaf.close()
    # Once such a peer reads again, the PONG owed answers its last PING (a smaller flood: with
    # a 4 KB window, loopback TCP moves about 4 KB per delayed ACK, 40 ms)
    late = _ws(async_door)
    late.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    late.sock.sendall(b"".join(_frame(ws.PING, b"p" * 100) for _ in range(3000)) + _frame(ws.PING, b"last"))
    while True:
        ev = late.event(10)
        assert type(ev) is ws.Pong
        if ev.payload == b"last":
            break
    late.close()
    assert_healthy(async_door, since, max_lines=4)


# -- the subscription server -------------------------------------------------------------------


def test_subscription_flood_is_bounded():
    """Announces for 150 made-up keys (three nodes each) and 450 random datagrams against ``--subscription-max-keys
    5 --subscription-max-nodes-per-key 2``: the table keeps 5 keys of at most 2 nodes, the
    refusals are rate-limited lines, and the router still answers (502 for an unknown key)."""
    args = ["--http", "127.0.0.1:0", "--http-subscription-server", "127.0.0.1:0",
            "--subscription-max-keys", "5", "--subscription-max-nodes-per-key", "2"]
    with run_router(args) as r:
        host, port = r.subscription.rsplit(":", 1)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rnd = random.Random(7)
        try:
            for i in range(450):  # 150 keys, three addresses each
                address = "127.0.0.1:%d" % (3000 + i)
                udp.sendto(encode_subscription(Subscription(SUBSCRIBE, "k%d.test" % (i % 150), address)),
                           (host, int(port)))
                udp.sendto(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 600))), (host, int(port)))
        finally:
            udp.close()
        wait_until(lambda: sum("=> new node" in line for line in r.lines) >= 10, 5, "five keys of two nodes")
        answer = exchange(r.port, b"GET / HTTP/1.0\r\nHost: unknown.test\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 502")
        new = [line for line in r.lines if "=> new node" in line]
        assert len(new) == 10, new
        refused = [line for line in r.lines if "refused" in line]
        assert 1 <= len(refused) <= 3, refused  # rate-limited: not one per datagram
        assert len(r.lines) < 30, r.output()
        assert pid_alive(r.router_pid)
