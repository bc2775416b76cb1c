"""For the alarm and log-option tests.

``/print?TEXT`` prints TEXT (a log line); ``/alarm?NAME=MSG`` calls ``uwsgi.alarm(NAME, MSG)``
and answers what it returned; ``/metric?N`` adds N to the metric ``errors``; ``/sleep?S``
prints SLEEPING and blocks the worker S seconds (its listen queue fills); ``/segv`` kills the
worker with SIGSEGV; ``/read`` reads the whole request body; ``/empty`` answers no body;
``/file`` answers a ``wsgi.file_wrapper`` body (of this file)."""

import os
import signal
import time
from urllib.parse import unquote

import uwsgi


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = unquote(environ.get("QUERY_STRING", ""))
    body = b"ok"
    if path == "/print":
        print(query, flush=True)
    elif path == "/alarm":
        name, _, msg = query.partition("=")
        body = repr(uwsgi.alarm(name, msg)).encode()
    elif path == "/metric":
        uwsgi.metric_inc("errors", int(query or 1))
    elif path == "/sleep":
        print("SLEEPING", flush=True)
        time.sleep(float(query or 1))
    elif path == "/segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif path == "/read":
        body = environ["wsgi.input"].read()
    elif path == "/empty":
        body = b""
    elif path == "/file":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](open(__file__, "rb"))  # a descriptor: uWSGI's sendfile
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
