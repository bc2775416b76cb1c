"""``--offload-threads``: a ``wsgi.file_wrapper`` response is sent from the loop after its core
moved on: with one core, a second request is served while a slow client still downloads."""

from __future__ import annotations

import hashlib
import os
import socket
import time

import pytest

from server import run_server
from support.httpclient import Conn, request
from support.stats import fetch_stats, stats_port

pytestmark = pytest.mark.timeout(60)

SIZE = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("offload") / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    return str(path)


def test_the_core_is_free_while_a_slow_client_downloads(big_file):
    args = ["--wsgi-file", "tests/apps/files.py", "--tornado", "1", "--greenlet", "--offload-threads", "2"]
    with run_server(args, env={"OFFLOAD_FILE": big_file}) as srv:
        slow = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        slow.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += slow.recv(1)
        assert b"Content-Length: %d" % SIZE in head
        # the only core is free although the 8 MiB are still on their way
        assert request(srv.port, "/quick", timeout=5).body == b"quick"
        received = 0
        digest = hashlib.sha256()
        body = head.split(b"\r\n\r\n", 1)[1]
        digest.update(body)
        received = len(body)
        while received < SIZE:
            chunk = slow.recv(1 << 20)
            assert chunk, "connection closed after %d bytes" % received
            digest.update(chunk)
            received += len(chunk)
        slow.close()
    with open(big_file, "rb") as f:
        assert digest.hexdigest() == hashlib.sha256(f.read()).hexdigest()


def test_keep_alive_after_an_offloaded_file_and_head_requests(big_file):
    args = ["--wsgi-file", "tests/apps/files.py", "--tornado", "2", "--greenlet", "--offload-threads", "1",
            "--master", "--processes", "1", "--stats", "127.0.0.1:0"]
    with run_server(args, env={"OFFLOAD_FILE": big_file}) as srv:
        with Conn(srv.port, timeout=20) as c:
            for _ in range(2):
                c.send(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
                r = c.read_response("GET")
                assert r.status == 200 and len(r.body) == SIZE
            c.send(b"HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.read_response("HEAD").body == b""
            c.send(b"GET /quick HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.read_response("GET").body == b"quick"
        # the stats count the two offloaded files (not the HEAD, nor /quick), per core as uWSGI
        port = stats_port(srv)

        def cores():
            return fetch_stats(port)["workers"][0]["cores"]

        deadline = time.monotonic() + 10
        while sum(core["requests"] for core in cores()) < 4:  # the last one ends after its answer
            assert time.monotonic() < deadline, cores()
            time.sleep(0.02)
        assert sum(core["offloaded_requests"] for core in cores()) == 2


def test_with_threads_the_thread_and_the_core_are_free_while_slow_clients_download(big_file):
    """--threads 2 (two cores, two app threads): two slow downloads would hold both without
    offload; with it, a third request is served while both files are still on their way."""
    args = ["--wsgi-file", "tests/apps/files.py", "--threads", "2", "--offload-threads", "1"]
    with run_server(args, env={"OFFLOAD_FILE": big_file}) as srv:
        slow = []
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.settimeout(10)
            s.connect(("127.0.0.1", srv.port))
            s.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(1)
            assert b"Content-Length: %d" % SIZE in head
            slow.append((s, head.split(b"\r\n\r\n", 1)[1]))
        assert request(srv.port, "/quick", timeout=5).body == b"quick"
        with open(big_file, "rb") as f:
            want = hashlib.sha256(f.read()).hexdigest()
        for s, body in slow:
            digest = hashlib.sha256(body)
            received = len(body)
            while received < SIZE:
                chunk = s.recv(1 << 20)
                assert chunk, "connection closed after %d bytes" % received
                digest.update(chunk)
                received += len(chunk)
            s.close()
            assert digest.hexdigest() == want
