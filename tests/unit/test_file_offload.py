"""gateway/server/file_offload.py on a plain asyncio loop with a fake transport: the file goes
out whole and the connection's request_done runs after it; a file that shrank or a peer that
stops reading aborts the connection (a truncated response, never a complete wrong one)."""

from __future__ import annotations

import asyncio
import logging
import os
import types
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.server.file_offload import OFFLOAD_BLOCK, FileOffload
from gateway.server.stream_waits import ConnectionWaits


class FakeTransport:
    def __init__(self):
        self.data = bytearray()
        self.aborted = False

    def write(self, data):
        self.data += data

    def abort(self):
        self.aborted = True

    def close(self):
        pass


class Conn(FileOffload, ConnectionWaits):
    def __init__(self, socket_timeout=5.0):
        self.settings = types.SimpleNamespace(socket_timeout=socket_timeout, send_timeout=socket_timeout)
        self.transport = FakeTransport()
        self.closed = False
        self.peer = "peer"
        self.init_waits()
        self.init_offload()
        self.done = []

    def abort(self):
        self.transport.abort()
        self.closed = True

    def request_done(self, ok):
        if self.defer_request_done(ok):
            return
        self.done.append(ok)


@pytest.fixture
def pool():
    with ThreadPoolExecutor(1) as p:
        yield p


def run_offload(conn, path, count, pool):
    closed = []

    async def main():
        f = open(path, "rb")
        conn.offload_file(f, f.fileno(), 0, count, pool, lambda: (closed.append(1), f.close()))
        conn.request_done(True)  # the runner is done; the file still travels
        assert conn.done == []
        await conn._offload_task

    asyncio.run(main())
    return closed


def test_the_whole_file_then_request_done(tmp_path, pool):
    path = tmp_path / "f"
    payload = os.urandom(OFFLOAD_BLOCK * 2 + 123)
    path.write_bytes(payload)
    conn = Conn()
    closed = run_offload(conn, path, len(payload), pool)
    assert bytes(conn.transport.data) == payload
    assert conn.done == [True] and not conn.transport.aborted and closed == [1]


def test_a_file_that_shrank_aborts(tmp_path, pool):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    conn = Conn()
    closed = run_offload(conn, path, 5000, pool)  # the head promised 5000 bytes
    assert len(conn.transport.data) == 1000
    assert conn.done == [False] and conn.transport.aborted and closed == [1]


def test_a_peer_that_stops_reading_is_dropped_after_the_socket_timeout(tmp_path, pool, caplog):
    path = tmp_path / "f"
    caplog.set_level(logging.INFO, logger="gateway.error")
    path.write_bytes(b"y" * (OFFLOAD_BLOCK * 3))
    conn = Conn(socket_timeout=0.2)
    conn.pause_writing()  # the transport is over its high-water mark and stays there
    closed = run_offload(conn, path, OFFLOAD_BLOCK * 3, pool)
    assert len(conn.transport.data) == OFFLOAD_BLOCK  # one block, then the wait timed out
    assert conn.done == [False] and conn.transport.aborted and closed == [1]
    assert "did not read the response for 0.2s" in caplog.text
