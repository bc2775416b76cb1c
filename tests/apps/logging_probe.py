"""For request-log tests.

* ``/boom``: raises ``RuntimeError("boom from logging_probe")`` (the server answers 500);
* ``/boom-late``: a generator that yields one chunk, then raises ``RuntimeError("late boom")``;
* ``/mark?TEXT``: writes ``MARK TEXT`` to the server log with ``uwsgi.log`` (a sentinel:
  once it shows, every earlier request's log line has been written);
* anything else: ``ok`` with two headers.
"""

import uwsgi


def late_boom():
    yield b"first chunk"
    raise RuntimeError("late boom")


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom from logging_probe")
    if path == "/boom-late":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return late_boom()
    if path == "/mark":
        uwsgi.log("MARK " + environ.get("QUERY_STRING", ""))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
