"""``uwsgi.rpc`` to a remote node from every context gateway supports (gateway only).

``/core?node=N&func=F&arg=A``: from the request's core; ``/thread?...``: from a plain
thread (the core waits for it with ``loop_engine.wait``); ``/loop?...``: from an IOLoop
callback (must raise RPCWouldBlock); ``/async?...``: ``await gateway.rpc.call_async``
in a coroutine; ``/ping``: answers at once (to show other cores run while one waits).
Each answers ``repr(result)`` or ``EXC <type>: <message>``.
"""

import concurrent.futures
import threading
import urllib.parse

import uwsgi
from rpc_peer import hello  # noqa: F401  (also registers rpc_peer's functions here)
from tornado.ioloop import IOLoop

import loop_engine
from gateway import rpc


def outcome(f):
    try:
        return repr(f()).encode()
    except Exception as e:
        return ("EXC %s: %s" % (type(e).__name__, e)).encode()


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    node = q.get("node", [""])[0]
    func = q.get("func", ["hello"])[0]
    args = [a.encode() for a in q.get("arg", [])]
    args += [b"z" * int(n) for n in q.get("bigarg", [])]  # arguments too long for a URL
    call = lambda: uwsgi.rpc(node, func, *args)  # noqa: E731
    if path == "/core":
        out = outcome(call)
    elif path == "/thread":
        fut = concurrent.futures.Future()
        threading.Thread(target=lambda: fut.set_result(outcome(call))).start()
        out = loop_engine.wait(fut, timeout=60)
    elif path == "/loop":
        fut = concurrent.futures.Future()
        IOLoop.current().add_callback(lambda: fut.set_result(outcome(call)))
        out = loop_engine.wait(fut, timeout=60)
    elif path == "/async":

        async def coro():
            return await rpc.call_async(node, func, *args)

        out = outcome(lambda: loop_engine.wait(coro(), timeout=60))
    else:
        out = b"pong"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [out]
