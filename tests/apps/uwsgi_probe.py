"""Probe app for the uwsgi-protocol tests (behind real nginx), routed by PATH_INFO's last part.

* ``.../env``: the environ's str values (and ``wsgi.url_scheme``) as JSON;
* ``.../echo``: the request body read in 8 KiB pieces, back with its length and sha256;
* ``.../stream``: yields ``first``, then parks until ``.../release`` is requested, then
  yields ``second`` (proves unbuffered streaming without timing);
* ``.../boom``: raises before ``start_response``; ``.../boom-late``: after a first chunk;
* anything else: ``hello``.

Also registers a modifier1 222 handler with ``wants_body``: the payload is a decimal
length N; it reads the N raw bytes after the packet and answers ``got N: <bytes>``.
"""

import hashlib
import json

from tornado.ioloop import IOLoop

import loop_engine
from gateway.server.uwsgi import register_handler

_waiting = []


def _raw_echo(modifier2, payload, peer, read):
    n = int(payload)
    return [b"got %d: " % n, read(n)]


register_handler(222, _raw_echo, wants_body=True)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last == "env":
        env = {k: v for k, v in environ.items() if isinstance(v, str)}
        env["wsgi.url_scheme"] = environ["wsgi.url_scheme"]
        body = json.dumps(env).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if last == "echo":
        inp = environ["wsgi.input"]
        h = hashlib.sha256()
        n = 0
        while True:
            chunk = inp.read(8192)
            if not chunk:
                break
            n += len(chunk)
            h.update(chunk)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d %s" % (n, h.hexdigest().encode())]
    if last == "stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"first\n"
            fut = IOLoop.current().asyncio_loop.create_future()
            _waiting.append(fut)
            loop_engine.wait(fut, timeout=20)
            yield b"second\n"

        return gen()
    if last == "release":
        released = 0
        while _waiting:
            fut = _waiting.pop()
            if not fut.done():
                fut.set_result(None)
                released += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"released %d" % released]
    if last == "boom":
        raise RuntimeError("boom before the response")
    if last == "boom-late":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def late():
            yield b"partial"
            raise RuntimeError("boom after the first chunk")

        return late()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]
