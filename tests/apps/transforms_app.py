"""Bodies for the transformation tests, chosen by the last path segment (so that rules can
match a prefix: ``/gz/fixed`` is ``/fixed``): /fixed (with Content-Length), /stream (a
generator, no length; ``?n=`` chunks), /write (the write() callable), /empty, /tpl
(``${...}`` in the body), /encoded (already has a Content-Encoding), /slow (one chunk, then
the next only once the file named by the query string exists), /boom (fails after a chunk),
/count (``call N``, N counting this process's calls), anything else a 404."""

import itertools
import os
import time

_calls = itertools.count(1)


def application(environ, start_response):
    path = "/" + environ["PATH_INFO"].rsplit("/", 1)[1]
    if path == "/fixed":
        body = b"hello world, " * 20
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        n = int(environ.get("QUERY_STRING", "").partition("=")[2] or 3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (("chunk %d;" % i).encode() for i in range(n))
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"then returned"]
    if path == "/empty":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
        return []
    if path == "/tpl":
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<p>host=${HTTP_HOST} path=${PATH_INFO}</p>"]
    if path == "/encoded":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Encoding", "identity-x")])
        return [b"as is"]
    if path == "/slow":
        marker = environ["QUERY_STRING"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _slow(marker)
    if path == "/count":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"call %d" % next(_calls)]
    if path == "/boom":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _boom()
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such page"]


def _slow(marker):
    yield b"first;"
    deadline = time.monotonic() + 10
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.01)
    yield b"second;"


def _boom():
    yield b"partial;"
    raise RuntimeError("mid-stream boom")
