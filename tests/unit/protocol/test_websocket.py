"""The RFC 6455 frame reader and writer (``gateway.protocol.websocket``), sans-IO.

Every fixture in ``tests/fixtures/websocket/`` is parsed whole, byte by byte and in
seeded random splits: all three must give the same events and the same error.
Hypothesis then builds random conversations (fragmented messages, interleaved
control frames, random masks) with an independent client-side writer and checks
they come back intact, and throws random bytes at the reader, which may only ever
return events or raise ``WebSocketError``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol import websocket as ws
from gateway.protocol.websocket import (
    NEED_DATA,
    Close,
    FrameReader,
    Message,
    MessageTooBig,
    Ping,
    Pong,
    WebSocketError,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "websocket")
NAMES = sorted(n[:-4] for n in os.listdir(FIXTURES) if n.endswith(".bin"))


def load(name):
    with open(os.path.join(FIXTURES, name + ".bin"), "rb") as f:
        data = f.read()
    with open(os.path.join(FIXTURES, name + ".json")) as f:
        spec = json.load(f)
    return data, spec


def drain(reader, chunks):
    """Feed ``chunks``; return (events, error or None)."""
    events = []
    try:
        for chunk in chunks:
            reader.receive_data(chunk)
            while True:
                ev = reader.next_event()
                if ev is NEED_DATA:
                    break
                events.append(ev)
    except WebSocketError as e:
        return events, e
    return events, None


def describe(ev):
    def payload(b):
        if len(b) > 256:
            return {"len": len(b), "sha256": hashlib.sha256(b).hexdigest()}
        return b.hex()

    if type(ev) is Message:
        return ["text" if ev.opcode == ws.TEXT else "binary", payload(ev.data)]
    if type(ev) is Ping:
        return ["ping", payload(ev.payload)]
    if type(ev) is Pong:
        return ["pong", payload(ev.payload)]
    return ["close", ev.code, ev.reason]


def splits(data, rng):
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 40) if rng.random() < 0.8 else rng.randint(1, 70000)
        out.append(data[i:i + n])
        i += n
    return out


def test_corpus_is_there():
    assert len(NAMES) >= 50


@pytest.mark.parametrize("name", NAMES)
def test_fixture(name):
    data, spec = load(name)
    rng = random.Random(name)
    ways = {"whole": [data], "random": splits(data, rng), "random2": splits(data, rng)}
    if len(data) < 5000:
        ways["bytewise"] = [data[i:i + 1] for i in range(len(data))]
    for how, chunks in ways.items():
        events, error = drain(FrameReader(**spec["reader"]), chunks)
        assert [describe(e) for e in events] == [list(e) for e in spec["events"]], how
        if spec["error"] is None:
            assert error is None, (how, error)
        else:
            code, text = spec["error"]
            assert error is not None, how
            assert error.code == code, (how, error)
            assert text in error.args[0], (how, error)
            assert isinstance(error, MessageTooBig) == (code == 1009)


def test_error_is_sticky_and_drops_buffer():
    r = FrameReader()
    r.receive_data(b"\xc1\x80" + b"x" * 100)
    with pytest.raises(WebSocketError):
        r.next_event()
    r.receive_data(ws.build_frame(ws.TEXT, b"ok", mask=b"abcd"))
    with pytest.raises(WebSocketError):
        r.next_event()
    assert r.buffered() == 0


def test_oversize_refused_before_payload_is_buffered():
    r = FrameReader(max_size=1000)
    r.receive_data(b"\x82\xff" + struct.pack("!Q", 10 ** 9))  # 1 GB announced, nothing sent
    with pytest.raises(MessageTooBig):
        r.next_event()


def test_writer_lengths_and_mask():
    assert ws.build_frame(ws.TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    assert ws.build_frame(ws.TEXT, b"Hello", mask=bytes.fromhex("37fa213d")) == bytes.fromhex("818537fa213d7f9f4d5158")
    assert ws.build_frame(ws.BINARY, b"x" * 256)[:4] == bytes.fromhex("827e0100")
    assert ws.build_frame(ws.BINARY, b"x" * 65536)[:10] == bytes.fromhex("827f0000000000010000")
    assert ws.build_frame(ws.TEXT, b"ab", fin=False) == b"\x01\x02ab"
    assert ws.close_frame(1000, "bye") == b"\x88\x05\x03\xe8bye"
    assert ws.close_frame(None) == b"\x88\x00"
    assert len(ws.close_frame(1000, "x" * 300)) == 2 + 125  # a control frame stays <= 125


def test_accept_key_rfc_example():
    # RFC 6455 §1.3
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert ws.accept_key(b"dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_apply_mask_matches_a_plain_loop():
    rng = random.Random(1)
    for n in (0, 1, 3, 4, 5, 1000, 4097):
        data = bytes(rng.randrange(256) for _ in range(n))
        key = bytes(rng.randrange(256) for _ in range(4))
        assert ws.apply_mask(data, key) == bytes(b ^ key[i % 4] for i, b in enumerate(data))


# -- hypothesis ------------------------------------------------------------------------

def client_frame(opcode, payload, fin, key):
    """An independent client-side writer (not ws.build_frame)."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n < 65536:
        head = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


texts = st.text(max_size=300).map(lambda s: (ws.TEXT, s.encode("utf-8")))
binaries = st.binary(max_size=300).map(lambda b: (ws.BINARY, b))
big = st.sampled_from([126, 65535, 65536, 70000]).map(lambda n: (ws.BINARY, bytes(n)))
pings = st.binary(max_size=125).map(lambda b: ("ping", b))
pongs = st.binary(max_size=125).map(lambda b: ("pong", b))
items = st.lists(st.one_of(texts, binaries, pings, pongs, big), max_size=8)

FUZZ = {"conversations": 0, "garbage": 0}


@settings(max_examples=300, deadline=None)
@given(items=items, data=st.data())
def test_random_conversations_round_trip(items, data):
    wire = []
    expected = []
    for kind, payload in items:
        key = data.draw(st.binary(min_size=4, max_size=4))
        if kind == "ping":
            wire.append(client_frame(0x9, payload, True, key))
            expected.append(Ping(payload))
            continue
        if kind == "pong":
            wire.append(client_frame(0xA, payload, True, key))
            expected.append(Pong(payload))
            continue
        # Cut the message into fragments (cuts may land inside a UTF-8 sequence), and
        # slip a PING between two of them sometimes.
        cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=3)))
        parts = [payload[a:b] for a, b in zip([0] + cuts, cuts + [len(payload)])]
        interleave = []
        for i, part in enumerate(parts):
            op = kind if i == 0 else 0
            wire.append(client_frame(op, part, i == len(parts) - 1, key))
            if i < len(parts) - 1 and data.draw(st.booleans()):
                wire.append(client_frame(0x9, b"mid", True, key))
                interleave.append(Ping(b"mid"))
        expected.extend(interleave)
        expected.append(Message(kind, payload))
    code = data.draw(st.sampled_from([1000, 1001, 3000, 4999]))
    wire.append(client_frame(0x8, struct.pack("!H", code) + b"end", True, b"\x01\x02\x03\x04"))
    expected.append(Close(code, "end"))
    blob = b"".join(wire)
    seed = data.draw(st.integers(0, 2 ** 32))
    events, error = drain(FrameReader(), splits(blob, random.Random(seed)))
    assert error is None
    assert events == expected
    FUZZ["conversations"] += 1


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 2 ** 32))
def test_random_bytes_only_events_or_websocket_errors(blob, seed):
    whole = drain(FrameReader(max_size=200), [blob])
    split = drain(FrameReader(max_size=200), splits(blob, random.Random(seed)))
    assert whole[0] == split[0]
    assert (whole[1] is None) == (split[1] is None)
    if whole[1] is not None:
        assert whole[1].code == split[1].code
    FUZZ["garbage"] += 1


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=60), st.integers(0, 59), st.integers(0, 255))
def test_mutated_valid_frames(payload, at, byte):
    frame = bytearray(client_frame(ws.BINARY, payload, True, b"\x11\x22\x33\x44"))
    frame[at % len(frame)] = byte
    events, error = drain(FrameReader(), [bytes(frame)])
    assert error is None or isinstance(error, WebSocketError)
    FUZZ["garbage"] += 1


def test_after_message_too_big_the_stream_goes_on_unbuffered():
    """1009 is not sticky: the oversized message is dropped (never buffered) and the
    peer's next frames, e.g. its CLOSE, are still read."""
    key = b"\x01\x02\x03\x04"
    big = client_frame(ws.BINARY, b"x" * 5000, True, key)
    r = FrameReader(max_size=1000)
    r.receive_data(big[:20])
    with pytest.raises(MessageTooBig):
        r.next_event()
    for i in range(20, len(big), 700):
        r.receive_data(big[i:i + 700])
        assert r.next_event() is NEED_DATA
        assert r.buffered() < 100  # the payload is dropped, not kept
    r.receive_data(client_frame(0x8, struct.pack("!H", 1000), True, key))
    assert r.next_event() == Close(1000, "")

    # A fragmented oversize: its continuations are dropped too, control frames still read.
    r = FrameReader(max_size=100)
    wire = (client_frame(ws.TEXT, b"a" * 60, False, key) + client_frame(0, b"b" * 60, False, key)
            + client_frame(0x9, b"p", True, key) + client_frame(0, b"c" * 60, True, key)
            + client_frame(ws.BINARY, b"ok", True, key))
    events, error = drain(r, [wire])
    assert isinstance(error, MessageTooBig) and events == []
    events, error = drain(r, [b""])
    assert error is None and events == [Ping(b"p"), Message(ws.BINARY, b"ok")]

    # A new data frame while the refused message is unfinished is still a protocol error.
    r = FrameReader(max_size=10)
    events, error = drain(r, [client_frame(ws.TEXT, b"a" * 20, False, key) + client_frame(ws.TEXT, b"x", True, key)])
    assert isinstance(error, MessageTooBig)
    with pytest.raises(WebSocketError) as e:
        r.next_event()
    assert e.value.code == 1002


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=6), data=st.data())
def test_oversized_messages_are_skipped_and_the_rest_still_parsed(sizes, data):
    """Whatever the splits, every message over the limit raises MessageTooBig once and
    every other message (and the final CLOSE) is still delivered, in order."""
    limit = 100
    wire, expected = [], []
    for i, n in enumerate(sizes):
        payload = bytes([i]) * n
        cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=2)))
        parts = [payload[a:b] for a, b in zip([0] + cuts, cuts + [n])]
        for j, part in enumerate(parts):
            wire.append(client_frame(ws.BINARY if j == 0 else 0, part, j == len(parts) - 1, b"\x05\x06\x07\x08"))
        expected.append("too big" if n > limit else Message(ws.BINARY, payload))
    wire.append(client_frame(0x8, struct.pack("!H", 1000), True, b"\x05\x06\x07\x08"))
    expected.append(Close(1000, ""))
    seed = data.draw(st.integers(0, 2 ** 32))
    r = FrameReader(max_size=limit)
    got = []
    for chunk in splits(b"".join(wire), random.Random(seed)):
        r.receive_data(chunk)
        while True:
            try:
                ev = r.next_event()
            except MessageTooBig:
                got.append("too big")
                continue
            if ev is NEED_DATA:
                break
            got.append(ev)
        assert r.buffered() <= 2 * limit + 300  # never the oversized payloads
    # A fragmented oversize is refused at the fragment that crosses the limit: once.
    assert got == expected
    FUZZ["conversations"] += 1


def test_fuzz_counts_reported(capsys):
    # Printed with -s; the counts are what the hypothesis tests above ran in this session.
    print("websocket fuzz: %(conversations)d conversations, %(garbage)d garbage inputs" % FUZZ)
