"""gateway/router/gzip_body.py: which answers are gzipped, the rewritten head, and the relay
over every framing of the worker's body, fed whole and byte by byte."""

from __future__ import annotations

import gzip

import pytest

from gateway.router.gzip_body import GzipRelay, client_accepts_gzip, gzip_head_lines, wants_gzip

BODY = b"".join(b"row %d, compressible\n" % n for n in range(500))


def test_the_decision():
    assert client_accepts_gzip([("Accept-Encoding", "br, GZIP;q=1")])
    assert not client_accepts_gzip([("Accept-Encoding", "br")]) and not client_accepts_gzip([])
    assert wants_gzip([b"Content-Type: text/plain", b"uWSGI-Encoding: gzip"])
    assert not wants_gzip([b"uWSGI-Encoding: gzip", b"Content-Encoding: br"])
    assert not wants_gzip([b"Content-Type: text/plain"]) and not wants_gzip([b"uWSGI-Encoding: deflate"])


def test_the_head_loses_the_marker_and_the_framing():
    lines = [b"Content-Type: text/plain", b"uWSGI-Encoding: gzip", b"Content-Length: 12"]
    assert gzip_head_lines(lines) == b"Content-Type: text/plain\r\nContent-Encoding: gzip"


def _dechunk(data: bytes) -> bytes:
    out, pos = b"", 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end], 16)
        if size == 0:
            assert data[end:] == b"\r\n\r\n"
            return out
        out += data[end + 2:end + 2 + size]
        assert data[end + 2 + size:end + 4 + size] == b"\r\n"
        pos = end + 4 + size


def _chunked(body: bytes) -> bytes:
    return b"".join(b"%x\r\n%b\r\n" % (len(body[i:i + 700]), body[i:i + 700]) for i in range(0, len(body), 700)) \
        + b"0\r\n\r\n"


@pytest.mark.parametrize("split", [None, 1, 997])
@pytest.mark.parametrize("framing", ["length", "chunked", "eof"])
@pytest.mark.parametrize("rechunk", [True, False])
def test_relay(framing, rechunk, split):
    wire = _chunked(BODY) if framing == "chunked" else BODY
    relay = GzipRelay(len(BODY) if framing == "length" else None, framing == "chunked", rechunk)
    pieces = [wire] if split is None else [wire[i:i + split] for i in range(0, len(wire), split)]
    out = b""
    for piece in pieces:
        assert not relay.done
        out += relay.feed(piece)
    if framing == "eof":
        assert relay.ends_at_eof and not relay.done
    else:
        assert relay.done and not relay.ends_at_eof
    out += relay.finish()
    assert gzip.decompress(_dechunk(out) if rechunk else out) == BODY


def test_surplus_after_the_length_is_cut_and_flagged():
    relay = GzipRelay(5, False, False)
    out = relay.feed(b"helloEXTRA")
    assert relay.done and relay.surplus
    assert gzip.decompress(out + relay.finish()) == b"hello"


def test_an_empty_body():
    relay = GzipRelay(0, False, True)
    assert relay.done
    assert gzip.decompress(_dechunk(relay.finish())) == b""


def test_each_piece_is_flushed_for_streaming():
    relay = GzipRelay(None, False, False)
    first = relay.feed(b"event: 1\n\n")
    d = __import__("zlib").decompressobj(16 + 15)
    assert d.decompress(first) == b"event: 1\n\n"  # readable before the end
