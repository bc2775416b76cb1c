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


PROBE = ["--wsgi-file", "tests/apps/write_errors_probe.py", "--tornado", "4", "--greenlet"]


def _reset_after_first(port: int, path: str, flag) -> None:
    """Read the response up to ``first``, reset the connection, then tell the app (``flag``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
        got = b""
        while b"first" not in got:
            data = s.recv(4096)
            assert data, got
            got += data
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    flag.write_text("reset")


@pytest.mark.parametrize("flags, path, steps", [
    ([], "/", ["yield 1", "closed"]),
    (["--write-errors-tolerance", "3"], "/", ["yield 1", "yield 2", "yield 3", "yield 4", "closed"]),
    (["--write-errors-exception-only"], "/", ["yield 1", "thrown ClientDisconnected"]),
    (["--write-errors-tolerance", "1", "--write-errors-exception-only"], "/",
     ["yield 1", "yield 2", "thrown ClientDisconnected"]),
    ([], "/write", ["write 1", "raised at 1"]),
    (["--write-errors-tolerance", "2"], "/write", ["write 1", "write 2", "write 3", "raised at 3"]),
    (["--write-errors-tolerance", "2", "--disable-write-exception"], "/write",
     ["write %d" % i for i in range(1, 21)] + ["all written"]),
])
def test_write_errors_tolerance_counts_the_failed_writes(tmp_path, flags, path, steps):
    log, flag = tmp_path / "log", tmp_path / "flag"
    with run_server(PROBE + flags, env={"WRITE_LOG": str(log), "WRITE_FLAG": str(flag)}) as srv:
        _reset_after_first(srv.port, path, flag)
        last = steps[-1]
        assert wait_until(lambda: log.exists() and last in log.read_text(), what=last, timeout=20)
        assert log.read_text().splitlines() == steps
        assert "Traceback" not in srv.output()
