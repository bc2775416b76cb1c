"""A blocking app for ``--threads``: ``/barrier`` blocks until three requests wait there
together (a threading.Barrier); ``/sleep?S`` blocks its thread with ``time.sleep``;
``/echo`` reads the body with every read style; ``/gen`` streams a generator (closed
once); ``/thread`` names the thread that ran the app."""

import threading
import time

CLOSED = []
BARRIER = threading.Barrier(3, timeout=10)


class Gen:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield b"chunk%d\n" % i

    def close(self):
        CLOSED.append(1)


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/barrier":
        # passes only when 3 requests block here at the same time, each in its own thread
        BARRIER.wait()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"met"]
    if path == "/sleep":
        time.sleep(float(environ.get("QUERY_STRING") or 1))
    elif path == "/echo":
        inp = environ["wsgi.input"]
        first = inp.readline()
        rest = inp.read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [first + rest]
    elif path == "/gen":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Gen(int(environ.get("QUERY_STRING") or 3))
    elif path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"returned"]
    elif path == "/closed":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d" % len(CLOSED)]
    elif path == "/error":
        raise RuntimeError("boom in a thread")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s %s" % (threading.current_thread().name, environ["wsgi.multithread"])).encode()]
