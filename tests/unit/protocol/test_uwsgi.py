"""The sans-IO uwsgi packet codec: captured nginx packets, hand-made malformations, fuzzing.

Every fixture is parsed whole, byte by byte and in seeded random splits, and must give
the same events.  ``tests/fixtures/uwsgi/nginx/`` holds packets captured from nginx
1.22 (``record.py`` there); the malformed packets below are written by hand from
reference/uwsgi.md §1.2 and §1.6.
"""

from __future__ import annotations

import glob
import json
import os
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.protocol import uwsgi as U
from gateway.protocol.errors import LocalProtocolError, RemoteProtocolError

from .split_driver import SplitDriver, merged, random_splits

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "uwsgi")
NGINX = sorted(glob.glob(os.path.join(FIXTURES, "nginx", "*.bin")))
_DRIVER = SplitDriver(U.PacketParser, U.UwsgiError)
events, outcome, all_splits_agree = _DRIVER.events, _DRIVER.outcome, _DRIVER.all_splits_agree







# -- captured nginx packets -----------------------------------------------------------


@pytest.mark.parametrize("path", NGINX, ids=lambda p: os.path.basename(p)[:-4])
def test_nginx_capture(path):
    data = open(path, "rb").read()
    expected = json.load(open(path[:-4] + ".json"))
    kw = expected.get("parser", {})
    result = all_splits_agree(data, **kw)
    assert result[0] == "ok", result
    evs = result[1]
    if "vars" in expected:
        req = evs[0]
        assert type(req) is U.Request
        assert (req.modifier1, req.modifier2) == (expected["modifier1"], expected["modifier2"])
        assert [list(kv) for kv in req.vars] == expected["vars"]
        body = expected["body"].encode("latin-1")
        assert req.content_length == len(body)
        rest = evs[1:]
        if body:
            assert rest[0] == U.Data(body)
            rest = rest[1:]
        assert rest == [U.EndOfMessage(), U.PAUSED]
        # Our encoder writes exactly what nginx wrote.
        assert U.encode_request(req.vars, body, req.modifier1, req.modifier2) == data
    else:
        assert evs == [U.Packet(expected["modifier1"], expected["modifier2"], bytes.fromhex(expected["payload"])), U.PAUSED]
    if "default_error" in expected:
        err = outcome([data])
        assert err[:2] == ("error", expected["default_error"])


def test_nginx_captures_exist():
    names = {os.path.basename(p)[:-4] for p in NGINX}
    assert {"get_query", "post_body", "post_chunked", "head", "script_name_mod30", "big_header", "rpc_trick"} <= names


def test_oversized_block_is_refused_from_the_header_alone():
    data = open(os.path.join(FIXTURES, "nginx", "big_header.bin"), "rb").read()
    p = U.PacketParser(max_size=4096)
    p.receive_data(data[:4])
    with pytest.raises(U.PacketTooLarge) as e:
        p.next_event()
    assert e.value.size == len(data) - 4 and e.value.limit == 4096
    assert str(e.value).startswith("invalid request block size: %d (max 4096)" % (len(data) - 4))
    with pytest.raises(U.PacketTooLarge):  # sticky
        p.next_event()


# -- the captures of reference/uwsgi.md §1.8 -------------------------------------------


def test_rpc_request_from_a_real_uwsgi_client_is_a_packet():
    data = bytes.fromhex("ad110000050068656c6c6f0300666f6f0300626172")
    assert all_splits_agree(data) == ("ok", [U.Packet(173, 0, data[4:]), U.PAUSED])
    assert U.decode_header(data) == (173, 17, 0)


def test_ping():
    assert all_splits_agree(U.PING_REQUEST) == ("ok", [U.Packet(100, 0, b""), U.PAUSED])
    assert U.PING_REPLY == U.encode_header(100, 0, 1)


def test_large_rpc_reply_dict_is_a_vars_block():
    data = bytes.fromhex("ad170005") + b"\x0e\x00CONTENT_LENGTH\x05\x0070000"
    assert U.decode_header(data) == (173, 23, 5)
    assert U.decode_vars(data[4:]) == [(b"CONTENT_LENGTH", b"70000")]
    assert U.encode_packet(173, U.encode_vars([("CONTENT_LENGTH", "70000")]), 5) == data


# -- malformations: one error class each ----------------------------------------------


def kv(k: bytes, v: bytes) -> bytes:
    return struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v


def pkt(block: bytes, mod1: int = 0) -> bytes:
    return struct.pack("<BHB", mod1, len(block), 0) + block


BAD = [
    ("null_key", pkt(kv(b"A", b"1") + b"\x00\x00\x01\x00x"), {}, U.NullKey),
    ("value_overrun", pkt(kv(b"A", b"1") + b"\x01\x00B\x09\x00xy"), {}, U.TruncatedVars),
    ("key_overrun", pkt(kv(b"A", b"1") + b"\x09\x00BC"), {}, U.TruncatedVars),
    ("lone_key_length", pkt(kv(b"A", b"1") + b"\x05"), {}, U.TruncatedVars),
    ("key_without_value_length", pkt(kv(b"A", b"1") + b"\x01\x00B"), {}, U.TruncatedVars),
    ("too_many_vars", pkt(b"".join(kv(b"K%d" % i, b"v") for i in range(5))), {"max_vars": 4}, U.TooManyVars),
    ("too_large", pkt(kv(b"A", b"x" * 100)), {"max_size": 64}, U.PacketTooLarge),
    ("empty_wsgi", pkt(b""), {}, U.EmptyRequest),
    ("empty_mod30", pkt(b"", 30), {}, U.EmptyRequest),
    ("body_over_limit", pkt(kv(b"CONTENT_LENGTH", b"101")) + b"x" * 101, {"max_body": 100}, U.BodyTooLarge),
    ("eof_in_header", b"\x00\x05", {}, U.TruncatedPacket),
    ("eof_in_block", pkt(kv(b"A", b"1"))[:-1], {}, U.TruncatedPacket),
    ("eof_in_rpc_payload", pkt(b"\x03\x00abc", 173)[:-2], {}, U.TruncatedPacket),
    ("eof_in_body", pkt(kv(b"CONTENT_LENGTH", b"10")) + b"12345", {}, U.TruncatedBody),
]


@pytest.mark.parametrize("name,data,kw,exc", BAD, ids=[b[0] for b in BAD])
def test_malformed(name, data, kw, exc):
    result = all_splits_agree(data, **kw)
    assert result[:2] == ("error", exc.__name__), result
    assert issubclass(exc, RemoteProtocolError)


def test_error_classes_are_distinct():
    classes = [U.PacketTooLarge, U.TooManyVars, U.NullKey, U.TruncatedVars, U.EmptyRequest,
               U.BodyTooLarge, U.TruncatedPacket, U.TruncatedBody]
    assert len(set(classes)) == len(classes)
    for a in classes:
        for b in classes:
            assert a is b or not issubclass(a, b)


def test_limits_at_the_edge_pass():
    block = b"".join(kv(b"K%d" % i, b"v") for i in range(128))
    evs = events([pkt(block)], max_vars=128, max_size=len(block))
    assert len(evs[0].vars) == 128
    assert events([pkt(kv(b"CONTENT_LENGTH", b"100")) + b"x" * 100], max_body=100)[1] == U.Data(b"x" * 100)


# -- semantics ------------------------------------------------------------------------


def test_content_length_is_leading_digits_as_in_uwsgi():
    assert [U.content_length(v) for v in (None, "", "12", "12abc", "abc", " 5", "007")] == [0, 0, 12, 12, 0, 0, 7]


def test_bytes_after_the_body_stay_buffered_until_start_next():
    data = pkt(kv(b"CONTENT_LENGTH", b"3")) + b"abc"
    p = U.PacketParser()
    p.receive_data(data + U.PING_REQUEST)
    assert type(p.next_event()) is U.Request
    assert p.next_event() == U.Data(b"abc")
    assert p.next_event() == U.EndOfMessage()
    assert p.next_event() is U.PAUSED and p.buffered() == 4
    p.start_next()
    assert p.next_event() == U.Packet(100, 0, b"")


def test_duplicate_keys_are_kept_in_order_and_values_are_latin1():
    block = kv(b"X", b"1") + kv(b"X", b"\xe9") + kv(b"EMPTY", b"")
    req = events([pkt(block)])[0]
    assert req.vars == [("X", "1"), ("X", "\xe9"), ("EMPTY", "")]


def test_eof_between_packets_is_connection_closed():
    assert events([]) == [U.ConnectionClosed()]


def test_encoder_refuses_what_cannot_be_sent():
    with pytest.raises(LocalProtocolError):
        U.encode_vars([("", "x")])
    with pytest.raises(LocalProtocolError):
        U.encode_vars([("K", "x" * 70000)])
    with pytest.raises(LocalProtocolError):
        U.encode_request([("K%d" % i, "x" * 1000) for i in range(70)])
    with pytest.raises(LocalProtocolError):
        U.encode_vars([("K", "\u20ac")])
    with pytest.raises(LocalProtocolError):
        U.encode_header(0, 70000)


# -- fuzzing ------------------------------------------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "1000"))
_key = st.binary(min_size=1, max_size=40)
_val = st.binary(max_size=60)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(_key, _val), max_size=30), body=st.binary(max_size=200),
       mod1=st.sampled_from([0, 30]), mod2=st.integers(0, 255), seed=st.integers(0, 2**32))
def test_fuzz_round_trip_in_random_splits(pairs, body, mod1, mod2, seed):
    pairs = [(k, v) for k, v in pairs if k != b"CONTENT_LENGTH"] + [(b"CONTENT_LENGTH", str(len(body)).encode())]
    data = U.encode_request(pairs, body, mod1, mod2)
    rng = random.Random(seed)
    for parts in list(random_splits(data, rng, n=3)):
        evs = merged(events(parts, max_size=65535, max_vars=1000))
        req = evs[0]
        assert (req.modifier1, req.modifier2, req.content_length) == (mod1, mod2, len(body))
        assert [(k.encode("latin-1"), v.encode("latin-1")) for k, v in req.vars] == pairs
        assert evs[1:] == ([U.Data(body)] if body else []) + [U.EndOfMessage(), U.PAUSED]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300), seed=st.integers(0, 2**32),
       limits=st.sampled_from([{}, {"max_size": 16, "max_vars": 2, "max_body": 5}]))
def test_fuzz_garbage_gives_events_or_a_uwsgi_error_the_same_in_any_split(data, seed, limits):
    whole = outcome([data], **limits)
    rng = random.Random(seed)
    for parts in random_splits(data, rng, n=3):
        assert outcome(parts, **limits) == whole


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(pairs=st.lists(st.tuples(_key, _val), max_size=30))
def test_fuzz_vars_block_round_trip_bytes_and_text(pairs):
    block = U.encode_vars(pairs)
    assert U.decode_vars(block, max_vars=100) == pairs
    assert U.decode_vars(block, max_vars=100, text=True) == [(k.decode("latin-1"), v.decode("latin-1")) for k, v in pairs]


_CORPUS = [open(p, "rb").read() for p in NGINX] + [b[1] for b in BAD]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(_CORPUS) - 1), edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
       cut=st.integers(0, 10**6), seed=st.integers(0, 2**32))
def test_fuzz_mutated_captures_fail_only_with_uwsgi_errors_the_same_in_any_split(which, edits, cut, seed):
    data = bytearray(_CORPUS[which])
    for pos, byte in edits:
        data[pos % len(data)] = byte
    data = bytes(data[: max(1, cut % (len(data) + 1))])
    whole = outcome([data], max_size=65535)
    rng = random.Random(seed)
    for parts in random_splits(data, rng, n=3):
        assert outcome(parts, max_size=65535) == whole


# -- chunked bodies (gateway's --http router streams chunked uploads) ------------------

CHUNKED_BODY = b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n"


def test_chunked_body_without_content_length_is_dechunked():
    data = U.encode_request([("REQUEST_METHOD", "POST"), ("HTTP_TRANSFER_ENCODING", "chunked")]) + CHUNKED_BODY
    result = all_splits_agree(data)
    assert result[0] == "ok"
    req, body, eom, paused = result[1]
    assert req.chunked and req.content_length == 0
    assert body == U.Data(b"hello world!") and eom == U.EndOfMessage() and paused is U.PAUSED


def test_content_length_wins_over_transfer_encoding_as_nginx_sends_both():
    data = U.encode_request([("CONTENT_LENGTH", "3"), ("HTTP_TRANSFER_ENCODING", "chunked")]) + b"abc"
    evs = events([data])
    assert not evs[0].chunked and evs[1] == U.Data(b"abc")


@pytest.mark.parametrize("body,kw", [
    (b"5\r\nhel", {}),                      # truncated
    (b"zz\r\nhello\r\n0\r\n\r\n", {}),      # bad size line
    (b"5\r\nhello\r\n0\r\n\r\n", {"max_body": 4}),  # over the limit
], ids=["truncated", "bad_size", "over_limit"])
def test_bad_chunked_bodies(body, kw):
    data = U.encode_request([("HTTP_TRANSFER_ENCODING", "chunked")]) + body
    assert all_splits_agree(data, **kw)[:2] == ("error", "BadChunkedBody")
