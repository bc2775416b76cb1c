"""WebSocket probe (uWSGI API only): runs unchanged under real uWSGI and gateway.

Every answer goes back to the client, so two servers can be compared frame by frame
(``tests/integration/test_websocket_vs_uwsgi.py``):

/ws?call=ARGS&then=MODE&id=ID   ``uwsgi.websocket_handshake(*ast.literal_eval(ARGS))`` (default
                          ``()``); a failed handshake answers ``200`` with ``Type: message``. Then:
    report   (default) each message received comes back as TEXT ``type:repr``; when
             ``websocket_recv()`` raises, ``Type: message`` of it, of a send tried after it and
             of a second receive are kept under ID for /last, and the app returns
    nb       the same with ``websocket_recv_nb()`` (after an empty result: sleep 10 ms)
    twice    a second handshake: its exception (or ``ok``) as TEXT, then ``report``
    return   return at once (how the server ends the connection)
    raise    raise ValueError at once
    body     return ``[b"tail"]`` at once
    send     TEXT and BINARY messages of 0, 125, 126, 65535, 65536 bytes, then the send
             functions with other types (what each raised, as TEXT), then ``report``
/last?id=ID  JSON: how that websocket's loop ended (``{}`` until it did)
/before-handshake      what websocket_send() and websocket_recv_nb() do before a handshake
/after-start-response  start_response(), then the handshake; its exception, or ``handshake done``
/          ``plain``
"""

import ast
import json
import sys
import threading
import time
from urllib.parse import parse_qs

import uwsgi

LAST = {}


def _error(e):
    return "%s: %s" % (type(e).__name__, e)


def _wait_nb():
    if "gateway" in sys.modules and threading.current_thread() is threading.main_thread():  # a core
        uwsgi.async_sleep(0.01)
        uwsgi.suspend()
    else:  # uWSGI reads in recv_nb() itself (its tornado engine has no async_sleep); a thread
        time.sleep(0.01)


def _report(mode, ident):
    recv = uwsgi.websocket_recv_nb if mode == "nb" else uwsgi.websocket_recv
    end = {}
    while True:
        try:
            msg = recv()
        except Exception as e:
            end["recv"] = _error(e)
            break
        if mode == "nb" and not msg:
            _wait_nb()
            continue
        uwsgi.websocket_send("%s:%r" % (type(msg).__name__, msg))
    try:
        uwsgi.websocket_send("after")
        end["send"] = "sent"
    except Exception as e:
        end["send"] = _error(e)
    try:
        end["recv_again"] = repr(recv())
    except Exception as e:
        end["recv_again"] = _error(e)
    LAST[ident] = end
    return []


def _send_all():
    for size in (0, 125, 126, 65535, 65536):
        uwsgi.websocket_send("t" * size)
        uwsgi.websocket_send_binary(b"b" * size)
    for value in ("é", b"by", bytearray(b"ba"), memoryview(b"mv"), 1, None):
        for send in (uwsgi.websocket_send, uwsgi.websocket_send_binary):
            try:
                send(value)
            except Exception as e:
                uwsgi.websocket_send("%s(%s) %s" % (send.__name__, type(value).__name__, type(e).__name__))


def application(env, start_response):
    path = env["PATH_INFO"]
    qs = parse_qs(env.get("QUERY_STRING", ""))
    ident = qs.get("id", [""])[0]
    if path == "/ws":
        args = ast.literal_eval(qs.get("call", ["()"])[0])
        mode = qs.get("then", ["report"])[0]
        try:
            uwsgi.websocket_handshake(*args)
        except Exception as e:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [_error(e).encode()]
        if mode == "twice":
            try:
                uwsgi.websocket_handshake(*args)
                uwsgi.websocket_send("ok")
            except Exception as e:
                uwsgi.websocket_send(_error(e))
        elif mode == "return":
            return []
        elif mode == "raise":
            raise ValueError("probe raised")
        elif mode == "body":
            return [b"tail"]
        elif mode == "send":
            _send_all()
        return _report(mode, ident)
    if path == "/before-handshake":
        out = []
        for call in (lambda: uwsgi.websocket_send("x"), uwsgi.websocket_recv_nb):
            try:
                out.append(repr(call()))
            except Exception as e:
                out.append(_error(e))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(out).encode()]
    if path == "/after-start-response":
        start_response("200 OK", [("X-Started", "yes")])
        try:
            uwsgi.websocket_handshake()
        except Exception as e:
            return [_error(e).encode()]
        return [b"handshake done"]
    if path == "/last":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(LAST.get(ident, {})).encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"plain"]
