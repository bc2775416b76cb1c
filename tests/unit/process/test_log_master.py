"""``--log-master`` without processes: the line assembler (sans-IO, hypothesis) and the
master's writer against a real pipe that nobody reads (bounded backlog, counted drops)."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.process.log_master import LineAssembler, LogMaster


def test_whole_lines_come_out_and_a_partial_one_waits():
    a = LineAssembler(16)
    assert a.feed(b"one\ntw") == [b"one\n"]
    assert a.feed(b"o\nthr") == [b"two\n"]
    assert a.feed(b"ee") == []
    assert a.close() == [b"three\n"]
    assert a.close() == []


def test_an_over_long_line_is_split_never_dropped():
    a = LineAssembler(8)
    assert a.feed(b"x" * 20 + b"\n") == [b"x" * 8 + b"\n", b"x" * 8 + b"\n", b"xxxx\n"]
    assert a.feed(b"y" * 8 + b"\n") == [b"y" * 8 + b"\n"]  # exactly max_line: one line
    assert a.feed(b"z" * 17) == [b"z" * 8 + b"\n", b"z" * 8 + b"\n"]  # held bytes stay <= max_line
    assert a.close() == [b"z\n"]


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.sampled_from([b"a", b"bb", b"\n", b"cccccccccc", b"\n\n"]), max_size=60),
       cuts=st.lists(st.integers(0, 400), max_size=10), limit=st.integers(1, 12))
def test_any_cutting_gives_the_same_bytes_in_bounded_lines(data, cuts, limit):
    text = b"".join(data)
    a = LineAssembler(limit)
    out = []
    pos = 0
    for cut in sorted(cuts) + [len(text)]:
        out += a.feed(text[pos:cut])
        pos = max(pos, cut)
    out += a.close()
    for line in out:
        assert line.endswith(b"\n") and 1 <= len(line) <= limit + 1
        assert b"\n" not in line[:-1]
    # removing the newlines only the splitter added gives the input back
    joined = b"".join(out)
    assert joined.replace(b"\n", b"") == text.replace(b"\n", b"")
    assert joined.count(b"\n") >= text.count(b"\n")


class FakeLoop:
    """The master's add_reader/add_writer, driven by hand."""

    def __init__(self):
        self.readers = {}
        self.writers = {}

    def add_reader(self, fd, cb):
        self.readers[fd] = cb

    def remove(self, fd):
        self.readers.pop(fd, None)
        self.writers.pop(fd, None)

    def add_writer(self, fd, cb):
        self.writers[fd] = cb


def test_a_stuck_target_costs_dropped_lines_never_a_blocked_master():
    target_r, target_w = os.pipe()  # the log target: nobody reads it for now
    src_r, src_w = os.pipe()        # a worker's output pipe
    loop = FakeLoop()
    lm = LogMaster(max_line=100, backlog=16384, fd=target_w)
    try:
        lm.start(loop.add_reader, loop.remove, loop.add_writer, loop.remove)
        os.set_blocking(src_r, False)
        lm.add_source(src_r)
        line = b"L" * 99 + b"\n"
        sent = 0
        for _ in range(1500):  # 150 KB: more than the target pipe (64 KiB) + the backlog
            os.write(src_w, line)
            sent += 1
            loop.readers[src_r]()  # the master reads; it must never block here
        assert target_w in loop.writers  # it waits for the target in its loop
        assert lm._queued <= 16384
        assert lm.dropped_lines > 0
        dropped = lm.dropped_lines
        # the target reads again: the queue goes out, then the next line brings the notice
        got = b""
        while target_w in loop.writers:
            got += os.read(target_r, 1 << 20)
            loop.writers[target_w]()
        os.write(src_w, b"after\n")
        loop.readers[src_r]()
        os.set_blocking(target_r, False)
        got += os.read(target_r, 1 << 20)
        lines = got.split(b"\n")[:-1]
        assert all(ln == b"L" * 99 for ln in lines[:-2])
        assert lines[-2].startswith(b"gateway: --log-master dropped %d lines" % dropped)
        assert lines[-1] == b"after"
        assert len(lines) - 2 + dropped == sent
    finally:
        lm.finish(0.1)
        for fd in (target_r, target_w, src_w):
            os.close(fd)


def test_finish_drains_sources_and_ends_a_cut_line():
    target_r, target_w = os.pipe()
    src_r, src_w = os.pipe()
    loop = FakeLoop()
    lm = LogMaster(max_line=100, backlog=16384, fd=target_w)
    lm.start(loop.add_reader, loop.remove, loop.add_writer, loop.remove)
    os.set_blocking(src_r, False)
    lm.add_source(src_r)
    os.write(src_w, b"first\nkilled mid-li")
    os.close(src_w)  # the worker is gone
    lm.finish(1.0)
    os.close(target_w)
    assert os.read(target_r, 4096) == b"first\nkilled mid-li\n"
    os.close(target_r)


class RecordingSink:
    def __init__(self):
        self.got = []

    def send(self, data):
        self.got.append(data)

    def close(self):
        pass


def test_loggers_and_the_request_pipe_of_a_child():
    from gateway.log_plugins import Channel, parse_encoder, parse_logger
    from gateway.process.log_master import FD_TARGET, LogRouting

    target_r, target_w = os.pipe()
    udp, reqs = RecordingSink(), RecordingSink()
    routing = LogRouting(Channel([(parse_logger("stdio"), FD_TARGET), (parse_logger("socket:/u"), udp)], FD_TARGET,
                                 [parse_encoder("prefix > ")]),
                         Channel([(parse_logger("socket:/r"), reqs)], FD_TARGET, [parse_encoder("suffix  <")]),
                         [udp, reqs])
    loop = FakeLoop()
    lm = LogMaster(max_line=100, backlog=16384, fd=target_w, routing=routing)
    lm.start(loop.add_reader, loop.remove, loop.add_writer, loop.remove)
    try:
        out_r, out_w = lm.pipe()
        req_w = os.dup(lm._pending_request[1])  # the child's end of its request pipe
        lm.add_source(out_r)
        assert len(loop.readers) == 2 and lm._pending_request is None
        os.write(out_w, b"printed\n")
        os.write(req_w, b"GET / => 200\n")
        os.close(req_w)
        os.close(out_w)  # the child died
        lm.drain(out_r)  # its request pipe is drained with its output pipe
        assert udp.got == [b"> printed\n"]
        assert reqs.got == [b"GET / => 200\n <"]
        assert os.read(target_r, 4096) == b"> printed\n"  # stdio: the log master's own target
        assert loop.readers == {}  # both pipes closed at their end of file
    finally:
        lm.finish(0.1)
        os.close(target_r)
        os.close(target_w)


def _open_fds():
    return set(os.listdir("/proc/self/fd"))


def test_a_failed_fork_closes_the_channel_and_both_log_pipes_of_the_child(monkeypatch):
    """The master's ``_spawn`` when fork fails (EAGAIN: a process limit): the channel pair,
    the output pipe and the request-log pipe made for the child are closed, and the next
    spawn's request pipe is not stacked on a leaked one."""
    from gateway.config import load
    from gateway.log_plugins import Channel, parse_logger
    from gateway.process.log_master import FD_TARGET, LogRouting
    from gateway.process.master import Master, Proc

    target_r, target_w = os.pipe()
    routing = LogRouting(Channel([(parse_logger("stdio"), FD_TARGET)], FD_TARGET, []),
                         Channel([(parse_logger("socket:/r"), RecordingSink())], FD_TARGET, []), [])
    master = Master(load(["--master", "--processes", "1"], {}), [], workers=1)
    master.log_master = LogMaster(max_line=100, backlog=16384, fd=target_w, routing=routing)

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    proc = Proc("worker", 1, 0)
    master.workers[1] = proc
    try:
        before = _open_fds()
        for _ in range(2):
            try:
                master._spawn(proc)
            except OSError:
                pass
            else:
                raise AssertionError("the failed fork must reach the caller")
        assert _open_fds() - before == set()
        assert master.log_master._pending_request is None and proc.pid == 0
    finally:
        master.sel.close()
        os.close(target_r)
        os.close(target_w)
