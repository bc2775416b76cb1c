"""The uwsgi packet the HTTP router builds, against one captured from uWSGI 2.0.31's own router.

``tests/fixtures/router/uwsgi_router_request.bin`` is what ``uwsgi --http
--http-to`` sent upstream for the request in :data:`REQUEST` (captured with a
socket listening as the backend).  Ours must carry the same vars, in the same
order, with the documented differences only.
"""

from __future__ import annotations

import os

import pytest

from gateway.protocol.http1 import Request, RequestParser
from gateway.protocol.uwsgi import decode_header, decode_vars
from gateway.router.vars import VarsBuilder, VarsTooLarge

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "router")

REQUEST = (
    b"POST /some%20path?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: capture\r\n"
    b"X-Forwarded-For: 10.0.0.1\r\nCookie: a=1\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
)


def decode(packet: bytes):
    """(modifier1, modifier2, [(key, value)], rest) of a uwsgi packet, with the protocol's codec."""
    mod1, size, mod2 = decode_header(packet[:4])
    return mod1, mod2, decode_vars(packet[4 : 4 + size], max_vars=1000, text=True), packet[4 + size :]


def parse(raw: bytes, **limits) -> Request:
    p = RequestParser(**limits)
    p.receive_data(raw)
    ev = p.next_event()
    assert type(ev) is Request
    return ev


def build(raw: bytes, **kw) -> bytes:
    kw.setdefault("server_name", "vm")
    return VarsBuilder("19333", **kw).build(parse(raw), "127.0.0.1", "35021")


def test_same_vars_in_the_same_order_as_uwsgi_router():
    with open(os.path.join(FIXTURES, "uwsgi_router_request.bin"), "rb") as f:
        theirs = decode(f.read())
    ours = decode(build(REQUEST) + b"hello")
    assert ours[:2] == theirs[:2] == (0, 0)
    # uWSGI puts CONTENT_TYPE/CONTENT_LENGTH where the headers were; we write
    # CONTENT_LENGTH from the parsed framing, after the headers.
    assert sorted(ours[2]) == sorted(theirs[2])
    assert [k for k, _ in ours[2] if k != "CONTENT_LENGTH"] == [k for k, _ in theirs[2] if k != "CONTENT_LENGTH"]
    assert ours[3] == theirs[3] == b"hello"


def test_https_listener_adds_https_on_and_modifiers_are_set():
    mod1, mod2, pairs, _ = decode(build(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", https=True, modifier1=7, modifier2=3))
    env = dict(pairs)
    assert (mod1, mod2) == (7, 3)
    assert env["HTTPS"] == "on" and env["UWSGI_ROUTER"] == "http"
    assert env["SERVER_PORT"] == "19333" and env["REMOTE_PORT"] == "35021"
    assert "CONTENT_LENGTH" not in env


def test_repeats_merged_underscores_dropped_expect_not_forwarded():
    raw = (b"POST / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nX-A: 1\r\nCookie: b=2\r\nX-A: 2\r\n"
           b"X-Auth_User: evil\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    _, _, pairs, _ = decode(build(raw))
    env = dict(pairs)
    assert len(env) == len(pairs)  # one var per name: the worker's "last wins" cannot lose values
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_X_A"] == "1, 2"  # uWSGI's router and --http-socket join with ", "
    assert "HTTP_X_AUTH_USER" not in env and "HTTP_EXPECT" not in env
    assert env["CONTENT_LENGTH"] == "3"


def test_chunked_body_is_announced_without_content_length():
    raw = b"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
    _, _, pairs, _ = decode(build(raw))
    env = dict(pairs)
    assert "CONTENT_LENGTH" not in env
    assert env["HTTP_TRANSFER_ENCODING"] == "chunked"
    assert [k for k, _ in pairs].count("HTTP_TRANSFER_ENCODING") == 1


def test_path_info_is_percent_decoded_latin1_and_request_uri_raw():
    _, _, pairs, _ = decode(build(b"GET /caf%C3%A9/%2F?x=%20 HTTP/1.0\r\n\r\n"))
    env = dict(pairs)
    assert env["PATH_INFO"] == "/caf\xc3\xa9//"
    assert env["REQUEST_URI"] == "/caf%C3%A9/%2F?x=%20"
    assert env["QUERY_STRING"] == "x=%20"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_extra_vars_from_http_var():
    _, _, pairs, _ = decode(build(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", extra_vars=(("UWSGI_APPID", "x"),)))
    assert pairs[-1] == ("UWSGI_APPID", "x")


def test_a_vars_block_over_the_workers_buffer_size_is_refused():
    raw = b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n"
    build(raw, max_size=4096)
    with pytest.raises(VarsTooLarge, match="--buffer-size 3000"):
        build(raw, max_size=3000)


def test_the_keepalive_marker_is_last_and_only_when_asked():
    plain = decode(build(REQUEST))[2]
    marked = decode(VarsBuilder("19333", server_name="vm").build(parse(REQUEST), "127.0.0.1", "35021", True))[2]
    assert marked[:-1] == plain and marked[-1] == ("GATEWAY_KEEPALIVE", "1")
    assert all(k != "GATEWAY_KEEPALIVE" for k, _ in plain)


def test_server_name_from_the_host_header():
    """``--http-server-name-as-http-host``: SERVER_NAME is the Host value, port included, as uWSGI;
    the host name when the request has no Host (HTTP/1.0)."""
    builder = VarsBuilder("80", server_name="box", server_name_from_host=True)
    _, _, pairs, _ = decode(builder.build(parse(REQUEST.replace(b"example.com", b"example.com:8080")), "1.2.3.4", "5"))
    assert [v for k, v in pairs if k == "SERVER_NAME"] == ["example.com:8080"]
    _, _, pairs, _ = decode(builder.build(parse(b"GET / HTTP/1.0\r\n\r\n"), "1.2.3.4", "5"))
    assert [v for k, v in pairs if k == "SERVER_NAME"] == ["box"]
    plain = VarsBuilder("80", server_name="box")
    _, _, pairs, _ = decode(plain.build(parse(REQUEST), "1.2.3.4", "5"))
    assert [v for k, v in pairs if k == "SERVER_NAME"] == ["box"]


def test_encoded_slashes_stay_encoded_with_keep_slashes():
    # --http-path-info-no-decode-slashes: %2F/%2f kept as written, every other escape decoded
    _, _, pairs, _ = decode(build(b"GET /a%2Fb/c%2f%20d%C3%A9?x=%2F HTTP/1.1\r\n\r\n", keep_slashes=True))
    env = dict(pairs)
    assert env["PATH_INFO"] == "/a%2Fb/c%2f d\xc3\xa9"
    assert env["REQUEST_URI"] == "/a%2Fb/c%2f%20d%C3%A9?x=%2F"


def test_path_info_loses_dot_segments_as_uwsgis_router_does():
    _, _, pairs, _ = decode(build(b"GET //a/../b/./c?q HTTP/1.1\r\nHost: h\r\n\r\n"))
    env = dict(pairs)
    assert (env["PATH_INFO"], env["REQUEST_URI"]) == ("//b/c", "//a/../b/./c?q")
