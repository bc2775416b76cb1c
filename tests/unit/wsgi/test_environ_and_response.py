"""Sans-IO WSGI pieces: environ building and start_response validation, bytes/values only."""

from __future__ import annotations

import pytest

from gateway.protocol.environ import base_environ, decode_path, header_key, request_environ
from gateway.protocol.wsgi_response import body_allowed, serialize_headers, status_code, with_reason


def test_header_keys_follow_cgi_and_drop_underscores():
    assert header_key("Host") == "HTTP_HOST"
    assert header_key("x-forwarded-for") == "HTTP_X_FORWARDED_FOR"
    assert header_key("Content-Type") == "CONTENT_TYPE"
    assert header_key("CONTENT-LENGTH") == "CONTENT_LENGTH"
    assert header_key("X-Auth_User") is None


def test_decode_path_tunnels_bytes_as_latin1():
    assert decode_path("/plain") == "/plain"
    assert decode_path("/%E6%BC%A2%20x").encode("latin-1").decode("utf-8") == "/\u6f22 x"
    assert decode_path("/a%2Fb") == "/a/b"


@pytest.mark.parametrize("raw, path_info", [
    # as real uWSGI 2.0.31's --http-socket gives them (tests/integration/test_environ_differential.py)
    ("//a/../b/./c", "//b/c"), ("/a/.", "/a/"), ("/../a", "/a"), ("/a/b/..", "/a/"),
    ("/a//../b", "/a/b"), ("/a/./../b/", "/b/"), ("/.a", "/.a"), ("/a..", "/a.."), ("/a/..b", "/a/..b"),
    ("/a/...", "/a/..."), ("/a%2F..%2Fb", "/a/../b"), ("/x/..%2F", "/x/../"), ("*", "*"),
    # where uWSGI is wrong: it gives "" for these (no PATH_INFO at all), and keeps %2E dots
    ("/..", "/"), ("/a/b/../../..", "/"), ("/%2e%2e/a", "/a"), ("/a/%2E/b", "/a/b"), ("/a/b/.%2E", "/a/"),
])
def test_path_info_has_no_dot_segments(raw, path_info):
    assert decode_path(raw) == path_info
    base = base_environ("h", "80", multithread=False, multiprocess=False, errors=None, file_wrapper=None)
    env = request_environ(base, "GET", raw, raw, "", "HTTP/1.1", [], "a", "1")
    assert env["PATH_INFO"] == path_info and env["REQUEST_URI"] == raw


def test_an_invalid_escape_stays_as_written():
    assert decode_path("/a%zz%4/b%") == "/a%zz%4/b%"  # uWSGI makes NULs of them


def test_raw_non_ascii_and_escapes_in_one_path_are_decoded_once():
    # Issue 9.3: the parser gives the wire bytes as latin-1; only the %-escapes are decoded.
    wire = b"/\xc3\xa0%20k"
    assert decode_path(wire.decode("latin-1")) == "/\xc3\xa0 k" == "/Ã\xa0 k"
    assert decode_path(wire.decode("latin-1")).encode("latin-1").decode("utf-8") == "/\u00e0 k"
    base = base_environ("h", "80", multithread=False, multiprocess=False, errors=None, file_wrapper=None)
    env = request_environ(base, "GET", wire.decode("latin-1"), wire.decode("latin-1"), "", "HTTP/1.1", [], "a", "1")
    assert env["PATH_INFO"] == "/Ã\xa0 k" and env["REQUEST_URI"] == "/Ã\xa0%20k"


def test_request_environ_types_and_joining():
    base = base_environ("h", "80", multithread=True, multiprocess=False, errors=None, file_wrapper=None)
    env = request_environ(
        base, "GET", "/p?q=1", "/p", "q=1", "HTTP/1.1",
        [("Cookie", "a=1"), ("cookie", "b=2"), ("X-A", "1"), ("X-A", "2"), ("X_Bad", "z"),
         ("X-Forwarded-Proto", "https, http")],
        "10.0.0.1", "5555",
    )
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_X_A"] == "1, 2"  # uWSGI's ", " (its --http-socket and http router)
    assert "HTTP_X_BAD" not in env
    assert env["wsgi.url_scheme"] == "https"
    assert all(type(v) is str for k, v in env.items() if k.isupper())
    assert "HTTP_COOKIE" not in base  # the base is copied, never mutated


@pytest.mark.parametrize("headers, scheme", [
    ([("X-Forwarded-Ssl", "on")], "https"),
    ([("X-Forwarded-Ssl", "ON")], "https"),
    ([("X-Forwarded-Ssl", "1")], "https"),
    ([("X-Forwarded-Ssl", "off")], "http"),
    ([("X-Forwarded-Proto", "http"), ("X-Forwarded-Ssl", "on")], "http"),  # the scheme's own header wins
])
def test_x_forwarded_ssl_as_uwsgi_reads_it(headers, scheme):
    base = base_environ("h", "80", multithread=True, multiprocess=False, errors=None, file_wrapper=None)
    env = request_environ(base, "GET", "/", "/", "", "HTTP/1.1", headers, "10.0.0.1", "5555")
    assert env["wsgi.url_scheme"] == scheme


@pytest.mark.parametrize("status, code", [("200 OK", 200), ("404 Not Found", 404), ("599 Custom", 599), ("204", 204)])
def test_status_code_accepts(status, code):
    assert status_code(status) == code


@pytest.mark.parametrize("status", ["OK 200", "20 OK", "200OK", "200 OK\r\nX: y", b"200 OK", "099 Low", ""])
def test_status_code_refuses(status):
    with pytest.raises((TypeError, ValueError)):
        status_code(status)


def test_serialize_headers_block_and_content_length():
    block, cl, n, close = serialize_headers([("Content-Type", "text/plain"), ("Content-Length", " 13 ")])
    assert block == b"Content-Type: text/plain\r\nContent-Length:  13 \r\n"
    assert cl == 13 and n == 2 and not close


@pytest.mark.parametrize("hint, close", [
    (("Connection", "keep-alive"), False), (("Connection", "Keep-Alive, Close"), True), (("Keep-Alive", "5"), False),
    (("Transfer-Encoding", "Chunked"), False),
])
def test_connection_hints_are_left_out_and_close_is_reported(hint, close):
    # apps set these under uWSGI, which passes them on (an event stream's Connection: keep-alive)
    block, cl, n, closing = serialize_headers([("Content-Type", "text/event-stream"), hint])
    assert (block, cl, n, closing) == (b"Content-Type: text/event-stream\r\n", None, 1, close)


@pytest.mark.parametrize(
    "headers",
    [
        [("X", "a\nb")],
        [("X", "a\x00")],
        [(b"X", "v")],
        [("X", b"v")],
        [("Bad Name", "v")],
        [("Transfer-Encoding", "gzip, chunked")],
        [("Upgrade", "websocket")],
        [("TE", "trailers")],
        [("X", "\u20ac")],
        [("Content-Length", "-1")],
        [("Content-Length", "1"), ("Content-Length", "2")],
        [("X", "v", "extra")],
        "not a list",
    ],
)
def test_serialize_headers_refuses(headers):
    with pytest.raises((TypeError, ValueError)):
        serialize_headers(headers)


@pytest.mark.parametrize("status, full", [
    ("200", "200 OK"), ("404 ", "404 Not Found"), ("599", "599 Unknown"), ("200 Fine", "200 Fine"),
    ("418", "418 I'm a teapot"), ("509", "509 Bandwidth Limit Exceeded"), ("308", "308 Permanent Redirect"),
])
def test_a_bare_status_code_gets_its_reason_phrase(status, full):
    assert with_reason(status, status_code(status)) == full


def test_body_allowed():
    assert body_allowed(200, "GET")
    assert not body_allowed(200, "HEAD")
    assert not body_allowed(204, "GET") and not body_allowed(304, "GET") and not body_allowed(101, "GET")


def test_cgi_path_info_from_request_uri_decodes_raw_bytes_once():
    # SCGI/FastCGI without PATH_INFO nor DOCUMENT_URI: the path is REQUEST_URI's, decoded as an
    # HTTP request's (it was decoded as UTF-8 a second time: '/cafÃ\x83Â©' for café)
    from gateway.server.vars_conn import cgi_path_info

    env = {"REQUEST_URI": "/caf\xc3\xa9/%20/../x?q", "SCRIPT_NAME": ""}
    cgi_path_info(env)
    assert env["PATH_INFO"] == "/caf\xc3\xa9/x"
