"""Fuzz the handshake and the dist framing: random, truncated and absurd input.

Only our own error types may come out, and nothing may buffer beyond its bound.
Seeded, so a failure reproduces.
"""

import random
import struct
import tracemalloc

import pytest

from gateway.erlang import dist, etf, flags
from gateway.erlang import handshake as hs
from gateway.erlang.errors import ErlangError

ALLOWED = (ErlangError,)


def _valid_name_packet() -> bytes:
    p = b"N" + struct.pack(">QIH", flags.HIDDEN, 7, 3) + b"x@h"
    return struct.pack(">H", len(p)) + p


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randint(0, 3)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1 and b:
            del b[rng.randrange(len(b)) :]
        elif op == 2:
            b[rng.randrange(len(b) + 1) : 0] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            b += bytes(rng.randrange(256) for _ in range(rng.randint(0, 16)))
    return bytes(b)


@pytest.mark.parametrize("role", [hs.Role.ACCEPTOR, hs.Role.INITIATOR])
def test_handshake_fuzz(role):
    rng = random.Random(1234 + (role is hs.Role.ACCEPTOR))
    if role is hs.Role.ACCEPTOR:
        seed = _valid_name_packet()
    else:
        chal = b"N" + struct.pack(">QIIH", flags.HIDDEN, 5, 9, 3) + b"b@h"
        seed = b"\x00\x03sok" + struct.pack(">H", len(chal)) + chal
    for i in range(3000):
        m = hs.Handshake(role, "a@h", "C", flags.HIDDEN, 1, challenge_source=lambda: 3)
        if role is hs.Role.INITIATOR:
            m.initiate()
        data = _mutate(rng, seed) if i % 3 else bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        try:
            for chunk in (data[: len(data) // 2], data[len(data) // 2 :], b""):
                if m.state in (hs.State.ESTABLISHED, hs.State.CLOSED):
                    break
                m.receive_data(chunk)
        except ALLOWED:
            assert m.state is hs.State.ERROR
        assert len(m._buf) <= 2 + m.max_packet


def test_dist_fuzz_only_our_errors_and_bounded():
    rng = random.Random(99)
    pid = etf.Pid("a@h", 1, 0, 1)
    samples = [
        dist.encode_message((22, pid, pid), (etf.Atom("x"), [1, 2.5, b"bin", {"k": (1,)}])),
        dist.encode_message((6, pid, etf.Atom(""), etf.Atom("rex")), ("$gen_call", (pid, 1), ())),
        dist.TICK_BYTES,
    ]
    max_packet = 4096
    for _ in range(5000):
        r = dist.DistReader(max_packet=max_packet, atoms=etf.AtomTable(1000))
        data = _mutate(rng, rng.choice(samples) + rng.choice(samples))
        try:
            for ev in r.receive_data(data):
                assert ev is dist.TICK or isinstance(ev, (dist.Message, dist.BadMessage))
        except ALLOWED:
            pass
        assert r.buffered <= 4 + max_packet


def test_absurd_lengths_allocate_nothing():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        r = dist.DistReader(max_packet=1 << 20)
        # a packet claiming 1 MiB with only a few bytes present: buffered, not allocated
        r.receive_data(struct.pack(">I", 1 << 20) + b"p\x83")
        # terms claiming huge sizes inside a small packet
        for body in (b"p\x83l\xff\xff\xff\xff", b"p\x83m\xff\xff\xff\xff", b"p\x83i\xff\xff\xff\xff",
                     b"p\x83P\xff\xff\xff\xff\x78\x9c"):
            ev = dist.DistReader().receive_data(struct.pack(">I", len(body)) + body)
            assert isinstance(ev[0], dist.BadMessage)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - before < 256 * 1024


def test_deep_and_shallow_decoders_fuzz():
    """The iterative path (terms past RECURSION_DEPTH) and decode_shallow on mutated
    deep terms: only ETFError, and what decodes re-encodes to the same bytes."""
    rng = random.Random(4242)
    pid = etf.Pid("a@h", 1, 0, 1)
    leaves = [etf.Atom("x"), 7, 2.5, b"bin", pid, [], (), {}, etf.ImproperList([1], etf.Atom("t"))]
    decoded = 0
    for i in range(600):
        term = rng.choice(leaves)
        for _ in range(rng.randint(etf.RECURSION_DEPTH - 2, etf.RECURSION_DEPTH + 60)):
            kind = rng.randrange(4)
            term = [term] if kind == 0 else (term, 1) if kind == 1 else {etf.Atom("k"): term} if kind == 2 else [1, term]
        data = etf.encode(term)
        if i % 2:
            data = _mutate(rng, data)
        try:
            value = etf.decode(data, atoms=etf.AtomTable(1000))
        except etf.ETFError:
            pass
        else:
            decoded += 1
            assert etf.encode(value) == data or i % 2
        try:
            etf.decode_shallow(data, atoms=etf.AtomTable(3), max_depth=rng.randint(1, 20))
        except etf.ETFError:
            pass
    assert decoded >= 300
