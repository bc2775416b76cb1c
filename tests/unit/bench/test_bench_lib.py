"""bench/lib, the harness every benchmark shares: its client parses real framings and its accounting reads /proc.

The benchmarks themselves run by hand; these checks keep the shared harness from rotting between runs.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _load_lib():
    """bench/lib as the package ``bench_lib`` (its scripts import it as ``lib`` with bench/ on sys.path)."""
    if "bench_lib" in sys.modules:
        return sys.modules["bench_lib"]
    path = os.path.join(ROOT, "bench", "lib")
    spec = importlib.util.spec_from_file_location("bench_lib", os.path.join(path, "__init__.py"),
                                                  submodule_search_locations=[path])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_lib"] = mod
    spec.loader.exec_module(mod)
    return mod


_load_lib()
from bench_lib import httpclient, procfs, report  # noqa: E402


def _parse(raw: bytes):
    a, b = socket.socketpair()
    with a, b:
        a.sendall(raw)
        a.shutdown(socket.SHUT_WR)
        return httpclient.read_response(httpclient.Reader(b))


def test_read_response_framings():
    assert _parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")[2:] == (b"ok", "content-length")
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"
    status, headers, body, framing = _parse(chunked)
    assert (status, body, framing) == ("HTTP/1.1 200 OK", b"onetwo", "chunked")
    assert headers["transfer-encoding"] == "chunked"
    assert _parse(b"HTTP/1.0 200 OK\r\n\r\nuntil close")[2:] == (b"until close", "close")


def test_procfs_accounts_this_process():
    assert procfs.rss_kb(os.getpid()) > 1000
    meter = procfs.CpuMeter(os.getpid())
    sum(i * i for i in range(200000))  # some CPU
    res = meter.stop()
    assert res["server_cpu_pct"] >= 0 and set(res) >= {"server_sys_pct", "foreign_cpu_pct", "core0_busy_pct"}


def test_report_table():
    lines = report.table(["server", "req/s", "check"], [["a", report.fmt(1.25), "ok"]], left=("check",))
    assert lines == ["| server | req/s | check |", "|---|---:|---|", "| a | 1.2 | ok |"]
    assert report.med([3, None, 1, 2]) == 2 and report.fmt(None) == "-"
