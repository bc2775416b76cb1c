"""Hostile and odd HTTP requests over raw sockets (issue 9, HTTP items): every bound answered, nothing misread.

Each test sends exact bytes to a real server on 127.0.0.1:0 (``ThreadServer``) and checks both what the client
gets and what the app saw.
"""

from __future__ import annotations

import pytest

from support.httpclient import Conn, request
from support.threadserver import ThreadServer


def _environ_app(seen: dict):
    def app(environ, start_response):
        seen.clear()
        seen.update((k, v) for k, v in environ.items() if isinstance(v, str))
        body = environ["wsgi.input"].read()
        seen["body"] = body
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


@pytest.fixture
def env_server():
    seen: dict = {}
    with ThreadServer(_environ_app(seen)) as srv:
        srv.seen = seen
        yield srv


def _one(srv, raw: bytes):
    with Conn(srv.port) as c:
        c.send(raw)
        return c.read_response()


def test_raw_utf8_and_a_percent_escape_decode_once(env_server):
    """9.3: the wire bytes of /à%20k reach PATH_INFO as latin-1 with only %20 decoded (PEP 3333)."""
    r = _one(env_server, b"GET /\xc3\xa0%20k HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 200
    assert env_server.seen["PATH_INFO"] == "/\xc3\xa0 k"
    assert env_server.seen["PATH_INFO"].encode("latin-1").decode("utf-8") == "/\u00e0 k"
    assert env_server.seen["REQUEST_URI"] == "/\xc3\xa0%20k"


@pytest.mark.parametrize("fields", [b"Content-Length: 5, 5\r\n", b"Content-Length: 5\r\nContent-Length: 5\r\n",
                                    b"Content-Length: 5 ,5\r\nContent-Length: 5\r\n"])
def test_identical_content_lengths_reach_the_app_as_one_number(env_server, fields):
    """9.4: RFC 9110 §8.6 lets identical values merge; the app must see CONTENT_LENGTH='5', not '5, 5'."""
    r = _one(env_server, b"POST / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\nhello")
    assert r.status == 200
    assert env_server.seen["CONTENT_LENGTH"] == "5" and env_server.seen["body"] == b"hello"


@pytest.mark.parametrize("raw, what", [
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\n"
     b"Content-Length: 2\r\n\r\n{}", "more than one Content-Type"),
    (b"PUT s://]ufd/: HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "without a valid authority"),
    (b"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n", "without a valid authority"),
])
def test_ambiguous_heads_are_refused_with_400(env_server, raw, what, gateway_errors):
    """9.5: a second Content-Type, a malformed authority (any scheme), an unterminated IPv6 literal."""
    with Conn(env_server.port) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == 400 and r.header("Connection") == "close"
        assert c.at_eof()
    assert not env_server.seen  # the app never ran
    assert any(what in rec.getMessage() for rec in gateway_errors.records)
    assert request(env_server.port).status == 200


def test_a_valid_ipv6_absolute_form_target_is_served(env_server):
    r = _one(env_server, b"GET http://[::1]:8080/p?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 200
    assert env_server.seen["PATH_INFO"] == "/p" and env_server.seen["HTTP_HOST"] == "x"


@pytest.mark.parametrize("target, path, query", [
    (b"/p?q=1#frag", "/p", "q=1"),
    (b"/p#frag?not=query", "/p", ""),
    (b"/a%20b#", "/a b", ""),
    (b"http://h/p?q#f", "/p", "q"),
])
def test_a_fragment_never_reaches_path_info_or_query_string(env_server, target, path, query):
    """9.6: RFC 9112 has no '#' in a request target; we cut the fragment (as nginx), REQUEST_URI keeps it."""
    r = _one(env_server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 200
    assert (env_server.seen["PATH_INFO"], env_server.seen["QUERY_STRING"]) == (path, query)
    assert env_server.seen["REQUEST_URI"] == target.decode("latin-1")
