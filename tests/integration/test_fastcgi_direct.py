"""``--fastcgi-socket`` spoken to directly, without nginx: what a hostile or unlucky peer does.

A flood of management records from a peer that never reads its answers must not grow the
worker's memory, and a graceful stop must not cut a request that is only partly received.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import time
from typing import Dict, List, Tuple

import pytest

from gateway.protocol import fastcgi as wire
from server import run_server
from support.httpclient import read_to_eof

ENGINE = ["--tornado", "4", "--greenlet"]
APP = ["--wsgi-file", "tests/apps/uwsgi_probe.py"]


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def rss_kib(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


_leftovers: Dict[int, bytes] = {}


def read_records(s: socket.socket, until_end: int) -> List[Tuple[int, int, bytes]]:
    """Records from ``s`` until the END_REQUEST of request ``until_end`` (0: one record);
    bytes read past them are kept for the next call on the same socket."""
    records: List[Tuple[int, int, bytes]] = []
    buf = _leftovers.pop(s.fileno(), b"")
    while True:
        while len(buf) >= 8:
            _, rtype, rid, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            records.append((rtype, rid, buf[8:8 + clen]))
            buf = buf[8 + clen + plen:]
            if not until_end or (rtype == wire.END_REQUEST and rid == until_end):
                if buf:
                    _leftovers[s.fileno()] = buf
                return records
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("EOF before the answer; got %r" % records)
        buf += chunk


def rest_to_eof(s: socket.socket) -> bytes:
    """What is left on ``s`` (bytes a read_records call kept, then the rest) up to EOF."""
    s.settimeout(5)
    return _leftovers.pop(s.fileno(), b"") + read_to_eof(s)


def get_values(address: str) -> List[Tuple[str, str]]:
    ask = wire.encode_record(wire.GET_VALUES, 0, wire.encode_params([("FCGI_MPXS_CONNS", "")]))
    with socket.create_connection(("127.0.0.1", port_of(address)), timeout=10) as s:
        s.sendall(ask)
        (rtype, rid, content), = read_records(s, 0)
    assert (rtype, rid) == (wire.GET_VALUES_RESULT, 0)
    return wire.decode_params(content)


@pytest.mark.parametrize("inside", [False, True], ids=["between-requests", "inside-a-body"])
def test_a_management_flood_from_a_peer_that_does_not_read_is_held_back(inside):
    """Between requests the loop answers; inside a body the app's core does, as it reads."""
    with run_server(["--fastcgi-socket", "127.0.0.1:0", "--socket-timeout", "60"] + APP + ENGINE) as srv:
        address = srv.ready_fields["fastcgi-socket"]
        assert get_values(address) == [("FCGI_MPXS_CONNS", "0")]
        before = rss_kib(srv.pid)
        # 100 names per record: each answer is as big as the question (~2 KiB)
        record = wire.encode_record(wire.GET_VALUES, 0, wire.encode_params([("FCGI_MPXS_CONNS", "")] * 100))
        block = record * 256  # ~0.5 MiB
        cap = 64 << 20
        sent = 0
        flooder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        flooder.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        flooder.settimeout(10)
        flooder.connect(("127.0.0.1", port_of(address)))
        if inside:  # the app reads this body: the records come between its STDIN records
            flooder.sendall(wire.encode_begin_request(1) + wire.encode_record(wire.PARAMS, 1, wire.encode_params([
                ("PATH_INFO", "/echo"), ("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "1000000")]))
                + wire.encode_record(wire.PARAMS, 1) + wire.encode_record(wire.STDIN, 1, b"x"))
        try:
            flooder.settimeout(2)
            try:
                while sent < cap:
                    flooder.sendall(block)
                    sent += len(block)
            except socket.timeout:
                pass  # the worker stopped reading: what the fix is for
            grown = rss_kib(srv.pid) - before
            # the others are still served meanwhile
            assert get_values(address) == [("FCGI_MPXS_CONNS", "0")]
        finally:
            flooder.close()
        assert sent < cap, "the worker read %d bytes of a peer that never reads its answers" % sent
        assert grown < 24 * 1024, "the worker grew by %d KiB" % grown


def fcgi_connect(address: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port_of(address)), timeout=10)
    # a management exchange first: the worker has accepted this connection
    s.sendall(wire.encode_record(wire.GET_VALUES, 0, wire.encode_params([("FCGI_MAX_REQS", "")])))
    assert read_records(s, 0)[0][0] == wire.GET_VALUES_RESULT
    return s


def stdout_of(records: List[Tuple[int, int, bytes]]) -> Dict[int, bytes]:
    out: Dict[int, bytes] = {}
    for rtype, rid, content in records:
        if rtype == wire.STDOUT:
            out[rid] = out.get(rid, b"") + content
    return out


def test_a_graceful_stop_finishes_a_partly_received_request_and_closes_idle_kept_connections():
    with run_server(["--fastcgi-socket", "127.0.0.1:0"] + APP + ENGINE) as srv:
        address = srv.ready_fields["fastcgi-socket"]
        # a kept connection idle between requests: closed by the stop
        kept = fcgi_connect(address)
        kept.sendall(wire.encode_request([("PATH_INFO", "/"), ("REQUEST_METHOD", "GET")], request_id=1,
                                         keep_conn=True))
        assert stdout_of(read_records(kept, 1))[1].endswith(b"\r\n\r\nhello")
        # a kept connection whose second request is half here, and a fresh one likewise
        again = fcgi_connect(address)
        again.sendall(wire.encode_request([("PATH_INFO", "/"), ("REQUEST_METHOD", "GET")], request_id=1,
                                          keep_conn=True))
        assert stdout_of(read_records(again, 1))[1].endswith(b"\r\n\r\nhello")
        fresh = fcgi_connect(address)
        body = b"abc"
        request = wire.encode_request([("PATH_INFO", "/echo"), ("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "3")],
                                      body, request_id=2, keep_conn=True)
        # BEGIN_REQUEST and the first PARAMS record: the request is half here
        half = 16 + 8 + struct.unpack(">H", request[20:22])[0] + request[22]
        assert request[16 + 1] == wire.PARAMS and half < len(request)
        for s in (again, fresh):
            s.sendall(request[:half])
        # the worker has these bytes before the stop: a GET_VALUES after them is answered
        # only once they are parsed
        for s in (again, fresh):
            s.sendall(wire.encode_record(wire.GET_VALUES, 0, b""))
            assert read_records(s, 0)[0][:2] == (wire.GET_VALUES_RESULT, 0)
        os.kill(srv.pid, signal.SIGTERM)
        srv.wait_for_line(r"SIGTERM received: stopping worker")
        assert rest_to_eof(kept) == b""
        for s in (again, fresh):
            s.sendall(request[half:])
            records = read_records(s, 2)
            out = stdout_of(records)[2]
            assert out.startswith(b"Status: 200 OK\r\n") and b"\r\n\r\n3 " in out
            assert [c for t, r, c in records if t == wire.END_REQUEST] == [b"\0" * 8]
            assert rest_to_eof(s) == b""  # KEEP_CONN is not honoured while stopping
            s.close()
        kept.close()
        deadline = time.monotonic() + 10
        while srv.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.proc.poll() is not None, "the worker did not exit once its connections were done"


def test_abort_request_is_acted_on_when_read():
    with run_server(["--fastcgi-socket", "127.0.0.1:0"] + APP + ENGINE) as srv:
        address = srv.ready_fields["fastcgi-socket"]
        # before the app runs (inside the PARAMS stream): closed without an answer
        s = fcgi_connect(address)
        s.sendall(wire.encode_begin_request(1) + wire.encode_record(wire.PARAMS, 1, wire.encode_params(
            [("PATH_INFO", "/")])) + wire.encode_record(wire.ABORT_REQUEST, 1))
        assert rest_to_eof(s) == b""
        s.close()
        # while the app runs without reading its body: not read, the app's answer goes out whole
        s = fcgi_connect(address)
        request = wire.encode_request([("PATH_INFO", "/stream"), ("REQUEST_METHOD", "POST"),
                                       ("CONTENT_LENGTH", "4")], b"data", request_id=1)
        stdin_end = wire.encode_record(wire.STDIN, 1)
        assert request.endswith(stdin_end)
        s.sendall(request[:-len(stdin_end)])  # the body's end is not sent: the abort is inside it
        out = b""
        while b"first\n" not in out:
            records = read_records(s, 0)
            out += stdout_of(records).get(1, b"")
        s.sendall(wire.encode_record(wire.ABORT_REQUEST, 1))
        with socket.create_connection(("127.0.0.1", port_of(address)), timeout=10) as r:
            r.sendall(wire.encode_request([("PATH_INFO", "/release")], request_id=1))
            assert stdout_of(read_records(r, 1))[1].endswith(b"released 1")
        records = read_records(s, 1)
        assert stdout_of(records)[1] == b"second\n"
        assert [c for t, _, c in records if t == wire.END_REQUEST] == [b"\0" * 8]
        assert rest_to_eof(s) == b""
        s.close()
