"""Connection output: writes from several threads and the tick watchdog never break framing.

A real loopback TCP pair with small kernel buffers forces partial sends, so output
queues in the connection's ``_wbuf``; meanwhile other threads write packets and
the watchdog tries to tick.  The reader side must see exactly the packets that
were written (each whole, in each writer's order), with ticks only between them.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time

import pytest

from gateway.erlang import handshake as hs
from gateway.erlang.errors import NodeDown
from gateway.erlang.node import Connection, Node

pytestmark = pytest.mark.timeout(120)


def _pair(bufsize: int = 4096):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    a = socket.create_connection(lst.getsockname())
    b, _ = lst.accept()
    lst.close()
    for s, opt in ((a, socket.SO_SNDBUF), (b, socket.SO_RCVBUF)):
        s.setsockopt(socket.SOL_SOCKET, opt, bufsize)
    return a, b


def _packet(tag: int, seq: int, size: int) -> bytes:
    body = b"p" + struct.pack(">BI", tag, seq) + bytes([seq % 255 + 1]) * size
    return struct.pack(">I", len(body)) + body


def _parse(stream: bytes):
    out, off, ticks = [], 0, 0
    while off < len(stream):
        (n,) = struct.unpack_from(">I", stream, off)
        off += 4
        if n == 0:
            ticks += 1
            continue
        body = stream[off : off + n]
        assert len(body) == n, "truncated packet"
        assert body[:1] == b"p", "framing broken at %d" % off
        tag, seq = struct.unpack_from(">BI", body, 1)
        assert body[6:] == bytes([seq % 255 + 1]) * (n - 6), "packet %d/%d corrupted" % (tag, seq)
        out.append((tag, seq))
        off += n
    return out, ticks


@pytest.fixture
def conn_pair(request):
    loop = asyncio.new_event_loop()
    node = Node("t@localhost", "cookie", io_loop=loop)
    conn = Connection(node, hs.Role.ACCEPTOR)
    a, b = _pair(getattr(request, "param", 4096))
    conn.attach(a)
    conn.established = True
    yield loop, node, conn, b
    conn._close_now(None)
    b.close()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


def _pump(loop):
    loop.run_until_complete(asyncio.sleep(0.001))


def test_watchdog_tick_waits_for_a_packet_boundary(conn_pair):
    loop, node, conn, peer = conn_pair
    big = _packet(1, 0, 150_000)
    conn.write(big)
    assert conn._wbuf, "the kernel cannot take 150 kB at once with these buffers"
    pending = b"".join(conn._wbuf)
    conn.watchdog_tick()  # the peer does not read: no room, and no tick in the middle
    assert b"".join(conn._wbuf) in (pending, pending[-len(b"".join(conn._wbuf)) :])
    assert not b"".join(conn._wbuf).endswith(b"\0\0\0\0")
    got = b""
    peer.settimeout(0.05)
    deadline = time.monotonic() + 20
    ticked = False
    while time.monotonic() < deadline:
        try:
            got += peer.recv(65536)
        except socket.timeout:
            pass
        if conn.watchdog_tick() and not conn._wbuf:
            ticked = True
        if ticked and len(got) >= len(big) + 4:
            break
    packets, ticks = _parse(got)
    assert packets == [(1, 0)] and ticks >= 1


@pytest.mark.parametrize("conn_pair", [65536], indirect=True)
def test_threads_and_watchdog_writing_at_once_keep_the_framing(conn_pair):
    loop, node, conn, peer = conn_pair
    per_writer, writers = 150, 3
    errors = []

    def writer(tag):
        try:
            for seq in range(per_writer):
                conn.write(_packet(tag, seq, (seq * 977) % 9000))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    stop = threading.Event()
    ticks_sent = [0]

    def watchdog():
        while not stop.is_set():
            if conn.watchdog_tick():
                ticks_sent[0] += 1
            time.sleep(0.0005)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(1, writers + 1)]
    wd = threading.Thread(target=watchdog)
    wd.start()
    for t in threads:
        t.start()
    got = bytearray()
    peer.settimeout(0.002)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _pump(loop)  # the loop's writer drains _wbuf
        try:
            chunk = peer.recv(65536)
        except socket.timeout:
            chunk = b""
        got += chunk
        if not chunk and not any(t.is_alive() for t in threads) and not conn._wbuf:
            break
    stop.set()
    wd.join()
    for t in threads:
        t.join()
    _pump(loop)
    peer.settimeout(0.2)
    try:
        while True:
            chunk = peer.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    assert not errors
    packets, ticks = _parse(bytes(got))
    for tag in range(1, writers + 1):
        assert [s for t, s in packets if t == tag] == list(range(per_writer))
    assert ticks == ticks_sent[0] and ticks > 0


def test_write_after_close_is_nodedown(conn_pair):
    loop, node, conn, peer = conn_pair
    conn._close_now(None)
    with pytest.raises(NodeDown):
        conn.write(b"\0\0\0\0")
    assert conn.watchdog_tick() is False


def test_what_poll_answer_read_is_handled_before_later_reads(conn_pair):
    """poll_answer() (a caller waiting for its answer on the loop thread) keeps what it
    read for a loop callback; a reader event in between must handle it first."""
    loop, node, conn, peer = conn_pair
    node.busy_poll = 0.5
    seen = []
    conn.data_received = seen.append
    peer.sendall(b"first")
    conn.poll_answer()
    assert conn._stash == b"first" and not seen
    peer.sendall(b"second")
    time.sleep(0.05)
    conn._on_readable()  # the reader fires before the stash callback ran
    assert seen == [b"first", b"second"]
    _pump(loop)  # the stash callback finds nothing left
    assert seen == [b"first", b"second"]
    # nothing to read within the budget: poll_answer gives up, nothing is kept
    node.busy_poll = 0.01
    t = time.monotonic()
    conn.poll_answer()
    assert conn._stash is None and time.monotonic() - t < 0.5


def test_busy_poll_never_overtakes_data_read_ahead(conn_pair):
    """A core waiting inside a handled packet read ahead (poll_answer); the reader's
    busy poll that follows must leave the socket alone until that data is handled."""
    loop, node, conn, peer = conn_pair
    node.busy_poll = 0.2
    seen = []

    def received(data):
        seen.append(data)
        if data == b"one":
            peer.sendall(b"two")
            time.sleep(0.05)
            conn.poll_answer()  # e.g. an inline function's erlang_rpc, then it suspends
            peer.sendall(b"three")
            time.sleep(0.05)
            conn.last_write += 1  # it wrote (its request): the reader would busy-poll now

    conn.data_received = received
    peer.sendall(b"one")
    time.sleep(0.05)
    conn._on_readable()
    assert seen == [b"one"]
    _pump(loop)  # the loop hands the read-ahead over (and its reader may read on)
    if seen == [b"one", b"two"]:
        conn._on_readable()
    assert seen == [b"one", b"two", b"three"]


def test_spliced_rex_call_equals_the_generic_encoding():
    from gateway.erlang import etf
    from gateway.erlang.rex import encode_rex_call
    from gateway.erlang.terms import A_CALL, A_GEN_CALL, A_USER

    atom = etf.Atom
    pid = etf.Pid(atom("py@localhost"), 5, 0, 7)
    ref = etf.Reference(atom("py@localhost"), 7, (1, 2, 3))
    for m, f, a in [("erlang", "node", []), (b"mod", atom("fun"), (1, b"x", [2])), ("m", "f", [atom("a"), {1: 2}])]:
        expected = etf.encode((A_GEN_CALL, (pid, ref), (A_CALL, atom(etf.to_str(m) if isinstance(m, bytes) else m), atom(f), list(a), A_USER)))
        assert encode_rex_call(pid, ref, m, f, a) == expected
    with pytest.raises(TypeError):
        encode_rex_call(pid, ref, 5, "f", [])


@pytest.mark.parametrize("conn_pair", [1 << 20], indirect=True)  # big buffers: nothing queues
def test_a_flood_is_handled_over_several_loop_turns(conn_pair):
    """Messages beyond MAX_EVENTS_PER_TURN wait for later loop turns (reading paused
    meanwhile), in order, so one busy peer cannot starve the loop (HTTP included)."""
    from gateway.erlang import connection, dist

    loop, node, conn, peer = conn_pair
    node.busy_poll = 0
    conn.reader = dist.DistReader()
    n = connection.MAX_EVENTS_PER_TURN * 3 + 5
    peer.sendall(dist.TICK_BYTES * n)  # every tick is answered with a tick
    time.sleep(0.05)
    conn._on_readable()
    peer.settimeout(0.3)
    got = 0
    try:
        while True:  # whatever the first turn wrote, until the line is quiet
            got += len(peer.recv(65536))
    except socket.timeout:
        pass
    assert got == 4 * connection.MAX_EVENTS_PER_TURN  # one turn's worth only
    assert conn._paused and conn._backlog
    deadline = time.monotonic() + 5
    while got < 4 * n and time.monotonic() < deadline:
        _pump(loop)
        try:
            got += len(peer.recv(65536))
        except socket.timeout:
            pass
    assert got == 4 * n
    assert not conn._paused and conn._backlog is None  # reading again
