"""The remote cache wire (modifier1 111 / modifier2 17): exact request bytes, replies
split anywhere, malformed replies fail with CacheWireError only (hypothesis)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol import uwsgi_cache as w


def var(k: bytes, v: bytes) -> bytes:
    return struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v


def test_request_bytes():
    block = var(b"cmd", b"set") + var(b"key", b"k") + var(b"size", b"5") + var(b"expires", b"10") + var(b"cache", b"c1")
    assert w.encode_request("set", b"k", b"c1", b"hello", 10) == bytes((111,)) + struct.pack("<H", len(block)) + bytes((17,)) + block + b"hello"
    block = var(b"cmd", b"clear")
    assert w.encode_request("clear") == b"\x6f" + struct.pack("<H", len(block)) + b"\x11" + block
    assert w.decode_request(var(b"cmd", b"get") + var(b"key", b"x")) == {"cmd": b"get", "key": b"x"}
    with pytest.raises(ValueError):
        w.encode_request("dump")


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
def test_replies_split_anywhere(value, step):
    data = w.encode_reply(value, expires=7)
    p = w.ReplyParser(1 << 20)
    out = None
    for i in range(0, len(data), step):
        out = p.receive_data(data[i:i + step])
        if out is not None:
            break
    assert out == ("ok", value or None)


def test_failure_is_a_close_and_limits_hold():
    assert w.ReplyParser(10).receive_data(b"") == ("closed", None)
    assert w.ReplyParser(10).receive_data(w.encode_reply()) == ("ok", None)
    with pytest.raises(w.CacheWireError, match="limit"):
        w.ReplyParser(10).receive_data(w.encode_reply(b"x" * 11))
    with pytest.raises(w.CacheWireError, match="modifier1"):
        w.ReplyParser(10).receive_data(b"\x00\x00\x00\x00")
    assert w.number(b"12ab") == 12 and w.number(b"") == 0 and w.number(b"x") == 0


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_garbage_replies_raise_only_cache_wire_errors(data):
    p = w.ReplyParser(1 << 16)
    try:
        p.receive_data(data)
        p.receive_data(b"")
    except w.CacheWireError:
        pass
