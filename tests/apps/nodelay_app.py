"""Responses for the ``--start-response-nodelay`` tests, chosen by the last path segment (so
that rules can match a prefix).  The query string names a marker file the app waits for
(up to 10 s: sleeping in its core, so the worker's loop keeps running; in an app thread
with ``time.sleep``):

/wait      ``start_response`` (no length), then nothing until the marker exists, then ``body``
/waitcl    the same with ``Content-Length: 4``
/whole     ``return [b"whole body"]`` at once (no length)
/write     ``start_response``, wait, then the ``write()`` callable, then ``return [b" returned"]``
/fail      ``start_response``, wait, then the generator raises (the head is already out)
/excinfo   ``start_response``, an error caught, ``start_response("500 ...", exc_info)`` (PEP 3333:
           re-raised once the head is out), which the app lets through
/raise     ``start_response`` then an exception at once, no body
/empty     ``204 No Content``, nothing else
"""

import os
import sys
import time

from loop_engine import in_core, sleep


def _wait(marker):
    deadline = time.monotonic() + 10
    while marker and not os.path.exists(marker) and time.monotonic() < deadline:
        if in_core():
            sleep(0.01)
        else:
            time.sleep(0.01)


def application(environ, start_response):
    path = "/" + environ["PATH_INFO"].rsplit("/", 1)[1]
    marker = environ.get("QUERY_STRING", "")
    if path == "/wait":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-App", "nodelay")])
        return _after(marker, [b"body"])
    if path == "/waitcl":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return _after(marker, [b"body"])
    if path == "/whole":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"whole body"]
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        _wait(marker)
        write(b"written")
        return [b" returned"]
    if path == "/fail":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _failing(marker)
    if path == "/excinfo":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("excinfo boom")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"never sent"]
    if path == "/raise":
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("raise boom")
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such page"]


def _after(marker, chunks):
    _wait(marker)
    yield from chunks


def _failing(marker):
    _wait(marker)
    yield b"part;"
    raise RuntimeError("fail boom")
