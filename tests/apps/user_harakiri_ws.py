"""A websocket that sets ``uwsgi.set_user_harakiri(2)`` and then waits for messages (parked,
holding no core), and ``/park?S`` that suspends its core S seconds: the websocket's own
deadline must not follow the core it gave back to the next request."""

import uwsgi

import loop_engine


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/ws":
        uwsgi.set_user_harakiri(2)
        uwsgi.websocket_handshake()
        while True:
            uwsgi.websocket_send(uwsgi.websocket_recv())
    loop_engine.sleep(float(environ.get("QUERY_STRING") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]
