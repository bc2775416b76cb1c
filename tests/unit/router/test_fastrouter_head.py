"""The FastRouter's reading of a client's uwsgi packet head and its routing key."""

from __future__ import annotations

import pytest

from gateway.protocol.uwsgi import UwsgiError, encode_request
from gateway.router.fastrouter_head import HeadReader, routing_key

VARS = [("REQUEST_METHOD", "GET"), ("PATH_INFO", "/"), ("HTTP_HOST", "a.example"), ("SERVER_NAME", "srv")]


def test_the_head_is_complete_only_with_its_whole_vars_block_fed_byte_by_byte():
    raw = encode_request(VARS, body=b"BODY", modifier2=3)
    reader = HeadReader()
    heads = [reader.feed(raw[i:i + 1]) for i in range(len(raw) - 4)]
    head = heads[-1]
    assert all(h is None for h in heads[:-1]) and head is not None
    assert (head.modifier1, head.modifier2, head.rest) == (0, 3, b"")
    assert head.packet == raw[:-4]
    assert dict(head.vars)[b"HTTP_HOST"] == b"a.example"


def test_bytes_after_the_head_are_kept_as_the_start_of_the_body():
    raw = encode_request(VARS, body=b"BODY")
    head = HeadReader().feed(raw)
    assert head is not None and head.rest == b"BODY"


def test_modifiers_are_rewritten_for_a_subscribed_node():
    head = HeadReader().feed(encode_request(VARS))
    assert head is not None
    out = head.with_modifiers(5, 9)
    assert out[0] == 5 and out[3] == 9 and out[1:3] == head.packet[1:3] and out[4:] == head.packet[4:]


def test_a_head_over_the_buffer_size_is_refused():
    raw = encode_request(VARS)
    with pytest.raises(UwsgiError, match="over the 10-byte buffer"):
        HeadReader(max_size=10).feed(raw)


def test_a_broken_vars_block_is_refused():
    with pytest.raises(UwsgiError):
        HeadReader().feed(b"\x00\x05\x00\x00\x09\x00abc")


@pytest.mark.parametrize("pairs, key", [
    ([(b"UWSGI_FASTROUTER_KEY", b"forced"), (b"HTTP_HOST", b"h"), (b"SERVER_NAME", b"s")], "forced"),
    ([(b"SERVER_NAME", b"s"), (b"HTTP_HOST", b"h")], "h"),
    ([(b"SERVER_NAME", b"s")], "s"),
    ([(b"PATH_INFO", b"/")], ""),
    ([(b"HTTP_HOST", b"x" * 256), (b"SERVER_NAME", b"s")], "s"),  # over uWSGI's 255-byte key buffer
])
def test_routing_key_order(pairs, key):
    assert routing_key(pairs) == key

