"""A client that vanishes while the app writes: ``write()`` raises (uWSGI's default, an
OSError) unless ``--disable-write-exception``; ``--ignore-sigpipe`` and ``--ignore-write-errors``
are accepted (nothing to silence here)."""

from __future__ import annotations

import socket

import pytest

from server import run_server
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/write_after_close.py", "--tornado", "4", "--greenlet"]


def _read_head_then_vanish(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST


@pytest.mark.parametrize("flags,outcome", [
    ([], "raised ClientDisconnected"),
    (["--disable-write-exception", "--ignore-sigpipe", "--ignore-write-errors"], "completed"),
])
def test_write_to_a_vanished_client(tmp_path, flags, outcome):
    out = tmp_path / "outcome"
    with run_server(APP + flags, env={"WRITE_OUTCOME": str(out)}) as srv:
        _read_head_then_vanish(srv.port)
        assert wait_until(lambda: out.exists() and out.read_text(), what="the app's outcome", timeout=20) == outcome
        assert "Traceback" not in srv.output()
