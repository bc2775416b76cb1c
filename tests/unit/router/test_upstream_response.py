"""The sans-IO reader of a worker's response head (byte fixtures, splits, fuzz)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol.upstream_response import ChunkedBody, UpstreamProtocolError, parse_response_head
from gateway.protocol.uwsgi import KEEPALIVE_END

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "router")


def fixture(name: str) -> bytes:
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def test_content_length_response():
    raw = fixture("ok_length.http")
    head = parse_response_head(raw)
    assert head is not None
    assert (head.status, head.content_length, head.chunked, head.has_date) == (200, 5, False, False)
    assert raw[head.size :] == b"hello"
    assert head.rebuild(b"Date: x\r\n") == raw[: head.size - 2] + b"Date: x\r\n\r\n"


def test_no_length_and_bodyless_status():
    head = parse_response_head(fixture("ok_no_length.http"))
    assert head is not None and head.content_length is None and not head.chunked
    head = parse_response_head(fixture("not_modified.http"))
    assert head is not None and head.status == 304 and head.lines == (b'ETag: "x"',)


def test_hop_by_hop_headers_are_dropped_but_a_worker_chunked_body_is_kept_as_is():
    raw = fixture("prechunked.http")
    head = parse_response_head(raw)
    assert head is not None and head.chunked and head.content_length is None
    assert head.lines == (b"Transfer-Encoding: chunked",)
    assert raw[head.size :] == b"5\r\nhello\r\n0\r\n\r\n"


def test_switching_protocols_reports_the_upgrade():
    raw = fixture("switching.http")
    head = parse_response_head(raw)
    assert head is not None and head.status == 101 and head.upgrade == b"websocket"
    assert raw[head.size :] == b"\x81\x02hi"


def test_interim_response_then_final():
    raw = fixture("early_hints.http")
    first = parse_response_head(raw)
    assert first is not None and first.status == 103
    second = parse_response_head(raw[first.size :])
    assert second is not None and second.status == 200 and second.content_length == 2


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(FIXTURES) if n.startswith("bad_")))
def test_malformed_heads_are_errors(name):
    with pytest.raises(UpstreamProtocolError):
        parse_response_head(fixture(name))


def test_incomplete_head_needs_more_and_oversized_head_is_an_error():
    raw = fixture("ok_length.http")
    for cut in range(0, raw.index(b"\r\n\r\n") + 3):
        assert parse_response_head(raw[:cut]) is None
    with pytest.raises(UpstreamProtocolError, match="longer than 300"):
        parse_response_head(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 400, max_size=300)
    with pytest.raises(UpstreamProtocolError, match="longer than 300"):
        parse_response_head(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 400 + b"\r\n\r\n", max_size=300)


def test_bytearray_input_gives_the_same_head():
    raw = fixture("prechunked.http")
    assert parse_response_head(bytearray(raw)) == parse_response_head(raw)


FUZZ_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "1500"))
CORPUS = [fixture(n) for n in sorted(os.listdir(FIXTURES)) if n.endswith(".http")]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.sampled_from(CORPUS), st.data())
def test_fuzz_only_heads_or_upstream_errors(raw, data):
    """Mutated heads give a head, None (incomplete) or UpstreamProtocolError, and never more than asked."""
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(0, 4))):
        op = data.draw(st.integers(0, 2))
        at = data.draw(st.integers(0, len(buf)))
        if op == 0 and buf:
            buf[min(at, len(buf) - 1)] = data.draw(st.integers(0, 255))
        elif op == 1:
            buf[at:at] = data.draw(st.sampled_from([b"\r", b"\n", b"\r\n", b":", b",", b" ", b"\x00", b"9" * 20,
                                                    b"Content-Length: 3\r\n", b"Transfer-Encoding: gzip\r\n"]))
        else:
            del buf[at : at + data.draw(st.integers(1, 8))]
    try:
        head = parse_response_head(bytes(buf), max_size=512)
    except UpstreamProtocolError:
        return
    if head is None:
        assert b"\r\n\r\n" not in bytes(buf[:516])
        return
    assert 100 <= head.status <= 999 and head.size <= 512
    assert head.content_length is None or head.content_length >= 0
    assert not (head.chunked and head.content_length is not None)
    out = head.rebuild()
    assert out.endswith(b"\r\n\r\n") and out.startswith(head.status_line)


_LINES = [b"Content-Length: 13", b"content-length:7 ", b"Content-Length: 4, 4", b"Content-Length: x", b"Date: now",
          b"date:later", b"X-A: b", b"Content-Type: text/plain", b"Proxy-Connection: x", b"X-B: \xe9", b"Foo: bar",
          b"Content-Length: 12345678901234567890", b"Set-Cookie: a=b; Path=/"]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from(_LINES), max_size=6), st.sampled_from([b"HTTP/1.1 200 OK", b"HTTP/1.0 404 Gone",
                                                                       b"HTTP/1.1 204"]))
def test_fast_path_and_line_by_line_path_agree(lines, status):
    """A head without hop-by-hop headers takes the one-pass path; the same head plus a
    ``Connection: keep-alive`` line (dropped) takes the line-by-line one: same result."""
    raw = b"\r\n".join([status] + lines) + b"\r\n\r\n"
    slow = b"\r\n".join([status] + lines + [b"Connection: keep-alive"]) + b"\r\n\r\n"
    try:
        fast_head = parse_response_head(raw)
    except UpstreamProtocolError:
        with pytest.raises(UpstreamProtocolError):
            parse_response_head(slow)
        return
    slow_head = parse_response_head(slow)
    assert fast_head is not None and slow_head is not None
    assert fast_head._replace(size=0) == slow_head._replace(size=0)
    assert fast_head.rebuild(b"Date: x\r\n") == slow_head.rebuild(b"Date: x\r\n")


# -- persistent worker connections: Connection: close and the chunked body reader ----------


def test_a_persistent_answer_that_closes_says_so():
    raw = fixture("persistent_close.http")
    head = parse_response_head(raw)
    assert head is not None and head.connection_close and head.content_length == 4
    assert b"Connection" not in head.rebuild()
    assert not parse_response_head(fixture("ok_length.http")).connection_close
    head = parse_response_head(b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n\r\n")
    assert head is not None and head.connection_close


def test_the_apps_close_ends_the_clients_connection_the_workers_own_does_not():
    """``Connection: close`` (the app's, passed on by the worker) ends both connections;
    ``gateway-close`` (KEEPALIVE_END: the worker's idle bound, a stop, an error) only the worker's."""
    head = parse_response_head(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert head is not None and head.connection_close and head.client_close
    head = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + KEEPALIVE_END + b"\r\n")
    assert head is not None and head.connection_close and not head.client_close
    assert b"Connection" not in head.rebuild()
    head = parse_response_head(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
    assert head is not None and not head.connection_close and not head.client_close


def _body_of(raw: bytes) -> bytes:
    head = parse_response_head(raw)
    assert head is not None and head.chunked
    return raw[head.size :]


def test_chunked_body_fixture_decodes_whole_and_byte_by_byte():
    body = _body_of(fixture("persistent_chunked.http"))
    whole = ChunkedBody()
    assert b"".join(whole.feed(body)) == b"abcde" and whole.done
    split = ChunkedBody()
    out = []
    for i in range(len(body)):
        assert not split.done
        out += split.feed(body[i : i + 1])
    assert b"".join(out) == b"abcde" and split.done


@pytest.mark.parametrize("bad, what", [
    (b"zz\r\nab\r\n0\r\n\r\n", "invalid chunk size"),
    (b"2\r\nabX\r\n0\r\n\r\n", "not followed by CRLF"),
    (b"0\r\n\r\nHTTP/1.1 200 OK\r\n", "after a complete chunked answer"),
    (b"0\r\nX: " + b"a" * 200 + b"\r\n\r\n", "trailers longer"),
])
def test_malformed_chunked_bodies_are_upstream_errors(bad, what):
    body = ChunkedBody(max_trailers=100)
    with pytest.raises(UpstreamProtocolError, match=what):
        body.feed(bad)


def test_bytes_after_the_end_in_a_later_read_are_refused():
    body = ChunkedBody()
    assert body.feed(b"1\r\na\r\n0\r\n\r\n") == [b"a"] and body.done
    with pytest.raises(UpstreamProtocolError, match="after a complete"):
        body.feed(b"x")


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=6), st.lists(st.integers(1, 30), max_size=20))
def test_fuzz_any_chunking_and_any_split_give_the_payload_back(pieces, cuts):
    """Whatever the chunk sizes and however the bytes arrive, the payload comes back whole,
    ``done`` turns true exactly at the last byte."""
    wire = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    body = ChunkedBody()
    out = []
    pos = 0
    for cut in cuts + [len(wire)]:
        if pos >= len(wire):
            break
        part = wire[pos : pos + cut]
        pos += len(part)
        assert not body.done
        out += body.feed(part)
    assert body.done and b"".join(out) == b"".join(pieces)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.binary(max_size=80), st.integers(1, 20))
def test_fuzz_garbage_gives_payload_or_upstream_errors(junk, step):
    body = ChunkedBody(max_trailers=64)
    try:
        for i in range(0, len(junk), step):
            if body.done:
                with pytest.raises(UpstreamProtocolError):
                    body.feed(junk[i : i + step])
                return
            body.feed(junk[i : i + step])
    except UpstreamProtocolError:
        return
