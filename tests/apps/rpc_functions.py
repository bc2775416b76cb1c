"""Local uWSGI RPC: ``uwsgi.register_rpc`` and ``@rpc``, called back with ``uwsgi.call``.

A request returns a Python literal with the results of the calls.
"""

import uwsgi
from uwsgidecorators import rpc


def hello(*args):
    return b"hello(" + b",".join(args) + b")"


uwsgi.register_rpc("hello", hello)


@rpc("shout")
def shout(arg):
    return arg.upper()


@rpc("raises")
def raises():
    raise ValueError("boom")


@rpc("nothing")
def nothing():
    return b""


def failure(f, *args):
    try:
        return f(*args)
    except Exception as e:
        return type(e).__name__


def application(environ, start_response):
    report = {
        "list": sorted(uwsgi.rpc_list()),
        "call_str": uwsgi.call("hello", b"a", b"b"),
        "call_bytes": uwsgi.call(b"hello", b"c"),
        "decorated": uwsgi.call("shout", b"quiet"),
        "local_rpc": uwsgi.rpc(None, "shout", b"x"),
        "missing": failure(uwsgi.call, "no-such-function"),
        "missing_rpc": failure(uwsgi.rpc, "", b"no-such-function"),
        "raises": failure(uwsgi.call, "raises"),
        "empty": uwsgi.call("nothing"),
    }
    body = repr(report).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
