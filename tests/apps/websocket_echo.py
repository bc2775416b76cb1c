"""WebSocket test app (uWSGI API): echo on /echo, plain HTTP elsewhere.

/echo          echo every message (uWSGI's recv returns bytes only, so the type sent back
               is chosen by the path: /echo sends TEXT, /echo-binary sends BINARY);
               how the loop ended is reported on /last.
/echo-nb       same, polling websocket_recv_nb() + loop_engine.sleep between polls.
/close-after-1 echo one message, then return (the server sends CLOSE 1000).
/raise         handshake then raise ValueError (CLOSE 1011, traceback logged once).
/proto, /twice, /nokey  handshake arguments and refusals.
/chat          uWSGI's async chat pattern: wait_fd_read on connection_fd() and another fd.
/              plain text "plain".
"""

import socket

import uwsgi
from tornado.ioloop import IOLoop

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
    if path == "/chat":
        # uWSGI's websockets_chat_async.py pattern, with a socketpair instead of redis:
        # wait on the websocket's fd and another fd, then ask ready_fd() which woke us.
        uwsgi.websocket_handshake()
        ws_fd = uwsgi.connection_fd()
        other, feeder = socket.socketpair()
        other.setblocking(False)
        IOLoop.current().call_later(0.2, feeder.send, b"tick")
        try:
            while True:
                uwsgi.wait_fd_read(ws_fd, 1)
                uwsgi.wait_fd_read(other.fileno())
                uwsgi.suspend()
                fd = uwsgi.ready_fd()
                if fd == ws_fd:
                    msg = uwsgi.websocket_recv_nb()
                    if msg:
                        uwsgi.websocket_send(b"ws:" + msg)
                elif fd == other.fileno():
                    uwsgi.websocket_send(b"fd:" + other.recv(100))
                else:
                    uwsgi.websocket_send(b"timeout")
        finally:
            other.close()
            feeder.close()
    if path == "/last":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(LAST).encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"plain"]
