"""The app behind tests/integration/test_hostile_peers.py: one cheap answer, one huge stream,
a body reader and a websocket echo, so every front door has something to attack.

/          ``ok <PATH_INFO>`` (the well-behaved client's check)
/big       a 64 MiB streamed body in 64 KiB pieces (for clients that never read)
/echo      the request body's length
/ws        websocket echo until the peer goes
"""

import uwsgi

PIECE = b"x" * 65536


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (PIECE for _ in range(1024))
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(len(body)).encode()]
    if path == "/ws":
        uwsgi.websocket_handshake()
        while True:
            uwsgi.websocket_send(uwsgi.websocket_recv())
    body = ("ok " + path).encode("utf-8", "surrogateescape")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
