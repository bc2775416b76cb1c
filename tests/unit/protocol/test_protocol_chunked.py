"""Tests of the chunked response encoder, checked against our own request de-chunker."""

from __future__ import annotations

import random

import pytest

from gateway.protocol.chunked import CHUNKED_END, encode_chunk
from gateway.protocol.http1 import Data, EndOfMessage, Request, RequestParser

from .http1_driver import bytewise, run


@pytest.mark.parametrize(
    "data, framed",
    [
        (b"hello", b"5\r\nhello\r\n"),
        (b"x" * 10, b"a\r\n" + b"x" * 10 + b"\r\n"),
        (b"y" * 4096, b"1000\r\n" + b"y" * 4096 + b"\r\n"),
        (b"\r\n", b"2\r\n\r\n\r\n"),
    ],
)
def test_encode_chunk(data: bytes, framed: bytes) -> None:
    assert encode_chunk(data) == framed


def test_empty_data_encodes_to_nothing_not_to_the_last_chunk() -> None:
    assert encode_chunk(b"") == b""
    assert CHUNKED_END == b"0\r\n\r\n"


def test_bytes_like_input() -> None:
    assert encode_chunk(bytearray(b"abc")) == encode_chunk(memoryview(b"abc")) == b"3\r\nabc\r\n"


def test_round_trip_through_the_request_parser() -> None:
    rng = random.Random(7)
    pieces = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))) for _ in range(40)]
    body = b"".join(encode_chunk(p) for p in pieces) + CHUNKED_END
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    for pieces_in in ([head + body], bytewise(head + body)):
        out = run(pieces_in, eof=False)
        assert out.error is None and out.paused
        assert type(out.events[0]) is Request and out.events[0].chunked
        assert out.events[1:] == [Data(b"".join(pieces)), EndOfMessage()]
    p = RequestParser()
    p.receive_data(head + body)
    assert p.next_event().chunked
