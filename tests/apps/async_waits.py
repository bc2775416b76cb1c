"""``uwsgi.async_sleep`` / ``uwsgi.wait_fd_read`` + ``uwsgi.suspend()`` / ``ready_fd()``.

* ``/sleep?S``: logs ``async_waits: sleeping S`` (``uwsgi.log``), then ``async_sleep(S)``
  and ``suspend()``;
* ``/sleep-yield?S``: a generator that yields ``async_sleep(S)`` (uWSGI's generator style);
* ``/fd``: waits (timeout 5 s) on a pipe that an IOLoop timer writes to after 0.2 s;
* ``/fd-timeout?S``: waits S seconds on a pipe nobody writes to;
* ``/ping``: answers at once.

Each answer is a Python literal (``ast.literal_eval``) with ``elapsed`` seconds.
"""

import os
import time

import uwsgi
from tornado.ioloop import IOLoop


def respond(start_response, report):
    body = repr(report).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def sleep_generator(seconds, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    t0 = time.monotonic()
    yield uwsgi.async_sleep(seconds)
    yield repr({"elapsed": time.monotonic() - t0}).encode()


def application(environ, start_response):
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/sleep":
        uwsgi.log("async_waits: sleeping %s" % query)
        t0 = time.monotonic()
        returned = uwsgi.async_sleep(float(query))
        suspended = uwsgi.suspend()
        return respond(start_response, {"returned": returned, "suspend": suspended,
                                        "elapsed": time.monotonic() - t0})
    if path == "/sleep-yield":
        return sleep_generator(float(query), start_response)
    if path in ("/fd", "/fd-timeout"):
        r, w = os.pipe()
        try:
            t0 = time.monotonic()
            if path == "/fd":
                IOLoop.current().call_later(0.2, os.write, w, b"x")
                returned = uwsgi.wait_fd_read(r, 5)
            else:
                returned = uwsgi.wait_fd_read(r, float(query))
            uwsgi.suspend()
            ready = uwsgi.ready_fd()
            data = os.read(r, 10) if ready == r else None
            return respond(start_response, {"returned": returned, "ready_fd": ready, "fd": r, "data": data,
                                            "elapsed": time.monotonic() - t0})
        finally:
            os.close(r)
            os.close(w)
    return respond(start_response, {"pong": True})
