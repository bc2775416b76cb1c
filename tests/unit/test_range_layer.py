"""gateway/server/range_layer.py: which responses become 206/416 and which go out untouched;
lazy start_response, an early write() and exc_info still work through the layer."""

from __future__ import annotations

import io
import os
import sys
from email.utils import formatdate

import pytest

from gateway.server.range_layer import RangeLayer
from gateway.server.wsgi_call import FileWrapper

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(DATA)
    return str(p)


def call(app, environ):
    calls = []

    def start_response(status, headers, exc_info=None):
        calls.append((status, headers))
        return lambda data: calls.append(("write", data))

    result = RangeLayer(app)(dict(environ), start_response)
    body = b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return calls, body


def file_app(path, status="200 OK", headers=()):
    def app(environ, start_response):
        start_response(status, [("Content-Type", "application/octet-stream"), ("Content-Length", "1024")]
                       + list(headers))
        return FileWrapper(open(path, "rb"), 100)
    return app


def test_a_range_on_a_file_wrapper_is_a_206(path):
    calls, body = call(file_app(path), {"HTTP_RANGE": "bytes=10-209"})
    status, headers = calls[0]
    assert status == "206 Partial Content"
    assert ("Content-Range", "bytes 10-209/1024") in headers and ("Content-Length", "200") in headers
    assert [h for h in headers if h[0] == "Content-Length"] == [("Content-Length", "200")]
    assert body == DATA[10:210]


def test_past_the_end_is_a_416_without_a_body(path):
    calls, body = call(file_app(path), {"HTTP_RANGE": "bytes=5000-"})
    status, headers = calls[0]
    assert status.startswith("416") and ("Content-Range", "bytes */1024") in headers and body == b""


@pytest.mark.parametrize("environ", [
    {},                                                    # no Range
    {"HTTP_RANGE": "bytes=0-"},                            # all of it
    {"HTTP_RANGE": "lines=1-2"},                           # not bytes
    {"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": '"etag"'},  # an entity tag never matches
    {"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": "Mon, 01 Jan 1990 00:00:00 GMT"},  # modified since
])
def test_whole_file_answers(path, environ):
    calls, body = call(file_app(path), environ)
    assert calls[0][0] == "200 OK" and body == DATA


def test_if_range_with_a_current_date_keeps_the_range(path):
    date = formatdate(os.stat(path).st_mtime + 10, usegmt=True)
    calls, body = call(file_app(path), {"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": date})
    assert calls[0][0].startswith("206") and body == DATA[:10]


@pytest.mark.parametrize("status, headers", [("404 Not Found", ()), ("200 OK", [("Content-Encoding", "gzip")]),
                                             ("200 OK", [("Content-Range", "bytes 0-1/2")])])
def test_other_responses_go_out_untouched(path, status, headers):
    calls, body = call(file_app(path, status, headers), {"HTTP_RANGE": "bytes=0-9"})
    assert calls[0][0] == status and body == DATA


def test_a_body_that_is_not_a_file_wrapper_is_untouched():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "3")])
        return [b"abc"]
    calls, body = call(app, {"HTTP_RANGE": "bytes=0-0"})
    assert calls[0][0] == "200 OK" and body == b"abc"


def test_a_file_wrapper_over_something_else_than_a_file_is_untouched():
    def app(environ, start_response):
        start_response("200 OK", [])
        return FileWrapper(io.BytesIO(b"abcdef"))
    calls, body = call(app, {"HTTP_RANGE": "bytes=0-0"})
    assert calls[0][0] == "200 OK" and body == b"abcdef"


def test_lazy_start_response_and_early_write_pass_through():
    def lazy(environ, start_response):
        start_response("200 OK", [])
        yield b"late"

    calls, body = call(lazy, {"HTTP_RANGE": "bytes=0-0"})
    assert calls == [("200 OK", [])] and body == b"late"

    def writer(environ, start_response):
        write = start_response("200 OK", [])
        write(b"early")
        return [b"rest"]

    calls, body = call(writer, {"HTTP_RANGE": "bytes=0-0"})
    assert calls == [("200 OK", []), ("write", b"early")] and body == b"rest"


def test_exc_info_before_the_head_replaces_it(path):
    def app(environ, start_response):
        start_response("200 OK", [])
        try:
            raise ValueError("boom")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return [b"error"]

    calls, body = call(app, {"HTTP_RANGE": "bytes=0-0"})
    assert calls == [("500 Internal Server Error", [])] and body == b"error"


def test_file_wrapper_remaining_bounds_the_iteration(path):
    w = FileWrapper(open(path, "rb"), 64)
    w.remaining = 100
    assert b"".join(w) == DATA[:100]
    w.close()
