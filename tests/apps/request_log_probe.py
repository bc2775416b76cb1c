"""An app whose requests make the request log lines worth comparing with real uWSGI's
(``tests/integration/test_request_log_vs_uwsgi.py``): it runs under both servers, so it uses
only the ``uwsgi`` module they share.

``/hello`` (2 headers, one body item), ``/post`` (echoes the body), ``/boom`` (raises before
responding), ``/genboom`` (raises after the first chunk), ``/logvar`` (``uwsgi.set_logvar``),
``/ulog`` (``uwsgi.log``), ``/404``, ``/empty`` (a 204 with no body), ``/big`` (5000 bytes),
``/file`` (a ``wsgi.file_wrapper`` body), ``/bytesio`` (one of an object without a descriptor),
``/slow`` (answers after 0.3 s)."""

import io
import time

import uwsgi


def _gen():
    yield b"first"
    raise ValueError("mid-stream")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/boom":
        raise RuntimeError("kaboom")
    if path == "/genboom":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _gen()
    if path == "/slow":
        time.sleep(0.3)
    if path == "/logvar":
        uwsgi.set_logvar("myvar", "hello")
    if path == "/ulog":
        uwsgi.log("a line from the app")
    if path == "/404":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"nope"]
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/post":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/big":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"x" * 5000]
    if path == "/bytesio":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"line1\nline2\n"))
    if path == "/file":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](open(__file__, "rb"))
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Foo", "bar")])
    return [b"Hello World!"]
