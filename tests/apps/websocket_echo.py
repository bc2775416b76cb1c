"""WebSocket test app (uWSGI API): echo on /echo, plain HTTP elsewhere.

/echo          echo every message back with the same type as received... uWSGI's recv
               returns bytes only, so the type is chosen by the path: /echo sends TEXT,
               /echo-binary sends BINARY.
/echo-nb       same, polling websocket_recv_nb() + loop_engine.sleep between polls.
/close-after-1 echo one message, then return (the server sends CLOSE 1000).
/raise         handshake then raise ValueError (CLOSE 1011, traceback logged once).
/state         websocket_recv() until IOError, then report how it ended on /last.
/              plain text "plain".
"""

import uwsgi

import loop_engine

LAST = {}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path in ("/echo", "/echo-binary"):
        uwsgi.websocket_handshake(environ["HTTP_SEC_WEBSOCKET_KEY"], environ.get("HTTP_ORIGIN", ""))
        send = uwsgi.websocket_send if path == "/echo" else uwsgi.websocket_send_binary
        try:
            while True:
                send(uwsgi.websocket_recv())
        except IOError as e:
            LAST["echo"] = str(e)
            raise
    if path == "/echo-nb":
        uwsgi.websocket_handshake()
        while True:
            msg = uwsgi.websocket_recv_nb()
            if msg:
                uwsgi.websocket_send(msg)
            else:
                loop_engine.sleep(0.01)
    if path == "/close-after-1":
        uwsgi.websocket_handshake()
        uwsgi.websocket_send(uwsgi.websocket_recv())
        return []
    if path == "/raise":
        uwsgi.websocket_handshake()
        uwsgi.websocket_recv()
        raise ValueError("boom in a websocket")
    if path == "/proto":
        uwsgi.websocket_handshake(None, None, "chat")
        uwsgi.websocket_send(b"hello")
        uwsgi.websocket_recv()
        return []
    if path == "/twice":
        uwsgi.websocket_handshake()
        try:
            uwsgi.websocket_handshake()
        except IOError as e:
            uwsgi.websocket_send(str(e))
        uwsgi.websocket_recv()
        return []
    if path == "/nokey":
        try:
            uwsgi.websocket_handshake()
        except IOError as e:
            body = str(e).encode()
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [body]
    if path == "/last":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(LAST).encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"plain"]
