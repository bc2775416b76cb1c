"""gateway.log_sinks: datagrams and files that never block, dropped lines counted and reported."""

from __future__ import annotations

import os
import re
import socket
import time

import pytest

from gateway.log_plugins import SpecError, parse_logger
from gateway.log_sinks import open_sink

NOW = time.mktime((2026, 12, 4, 9, 5, 7, 0, 0, -1))


@pytest.fixture
def unix_receiver(tmp_path):
    path = str(tmp_path / "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield path, sock
    sock.close()


def test_socket_sink_unix_one_datagram_per_line_with_prefix(unix_receiver):
    path, rx = unix_receiver
    sink = open_sink(parse_logger("socket:%s,[web] " % path), "box")
    sink.send(b"one\n")
    sink.send(b"two\n")
    assert rx.recv(1000) == b"[web] one\n"
    assert rx.recv(1000) == b"[web] two\n"
    sink.close()


def test_socket_sink_udp():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2)
    sink = open_sink(parse_logger("socket:127.0.0.1:%d" % rx.getsockname()[1]), "box")
    sink.send(b"over udp\n")
    assert rx.recv(1000) == b"over udp\n"
    sink.close()
    rx.close()


def test_unresolvable_host_is_a_spec_error():
    with pytest.raises(SpecError, match=r"socket:no-such-host\.invalid:514: cannot resolve no-such-host\.invalid"):
        open_sink(parse_logger("socket:no-such-host.invalid:514"), "box")


def test_a_missing_target_drops_and_counts_then_one_notice_on_recovery(tmp_path):
    path = str(tmp_path / "later.sock")
    sink = open_sink(parse_logger("socket:" + path), "box")
    for i in range(5):
        sink.send(b"lost %d\n" % i)  # nobody bound: ENOENT, never raised, never waited for
    assert sink.dropped == 5
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(2)
    sink.send(b"back\n")
    assert rx.recv(1000) == b"gateway: logger socket:%s dropped 5 lines: the target did not accept them\n" % path.encode()
    assert rx.recv(1000) == b"back\n"
    assert (sink.dropped, sink.sent) == (0, 1)
    rx.close()
    sink.close()


def test_a_full_receiver_never_blocks_the_sender(unix_receiver):
    path, rx = unix_receiver
    sink = open_sink(parse_logger("socket:" + path), "box")
    start = time.monotonic()
    for _ in range(5000):  # far more than the receive queue holds (nobody reads)
        sink.send(b"x" * 1000 + b"\n")
    assert time.monotonic() - start < 5
    assert sink.dropped > 0 and sink.sent > 0
    sink.close()


def test_syslog_sink_sends_rfc3164_to_the_syslog_socket(unix_receiver):
    path, rx = unix_receiver
    sink = open_sink(parse_logger("syslog:web,local3"), "box", syslog_socket=path, clock=lambda: NOW)
    sink.send(b"hello syslog\n")
    assert rx.recv(1000) == b"<158>Dec  4 09:05:07 web: hello syslog"  # local3 (19) * 8 + info (6)
    default = open_sink(parse_logger("syslog"), "box", syslog_socket=path, clock=lambda: NOW)
    default.send(b"x\n")
    assert rx.recv(1000) == b"<30>Dec  4 09:05:07 uwsgi: x"  # daemon.info, uWSGI's ident


def test_rsyslog_sink_cuts_or_splits_long_lines(unix_receiver):
    path, rx = unix_receiver
    sink = open_sink(parse_logger("rsyslog:%s" % path), "box", packet_size=100, clock=lambda: NOW)
    sink.send(b"a" * 200 + b"\n")
    got = rx.recv(1000)
    assert got == b"<29>Dec  4 09:05:07 box uwsgi: " + b"a" * 69  # packet of 100 bytes
    split = open_sink(parse_logger("rsyslog:%s,web,134" % path), "box", packet_size=100, split=True,
                      clock=lambda: NOW)
    split.send(b"b" * 150 + b"\n")
    pieces = [rx.recv(1000) for _ in range(3)]
    assert [re.match(rb"<134>Dec  4 09:05:07 web: (b+)$", p).group(1) for p in pieces] == [b"b" * 70, b"b" * 70, b"b" * 10]


def test_file_sink_appends_and_a_fifo_nobody_reads_is_refused(tmp_path):
    path = tmp_path / "extra.log"
    path.write_bytes(b"before\n")
    sink = open_sink(parse_logger("file:%s" % path), "box")
    sink.send(b"one\n")
    sink.send(b"two\n")
    sink.close()
    assert path.read_bytes() == b"before\none\ntwo\n"
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="a FIFO nobody reads"):
        open_sink(parse_logger("file:" + fifo), "box")
    with pytest.raises(SpecError, match="No such file or directory"):
        open_sink(parse_logger("file:%s/no/dir.log" % tmp_path), "box")


def test_fd_sink_writes_while_the_pipe_takes_bytes_and_never_blocks():
    r, w = os.pipe()
    try:
        sink = open_sink(parse_logger("fd:%d" % w), "box")
        sink.send(b"one\n")
        assert os.read(r, 100) == b"one\n"
        line = b"x" * 1000 + b"\n"
        for _ in range(200):  # far more than the pipe holds: dropped and counted, never a wait
            sink.send(line)
        assert sink.dropped > 0 and sink.sent > 1
        sink.close()
        os.fstat(w)  # not ours: still open
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(SpecError, match="descriptor %d is not open" % w):
        open_sink(parse_logger("fd:%d" % w), "box")
