"""RPC functions for interop tests and fixture recording; runs in real uWSGI and in gateway.

Registered names are ``str`` (what real uWSGI's ``register_rpc`` wants on Python 3);
arguments arrive as ``bytes``.  ``/call?node=H:P&func=F&arg=A&arg=B`` calls ``uwsgi.rpc``
on another node (the name and args as bytes, which real uWSGI requires) and answers
``repr()`` of the result, or ``EXC <type>: <message>``.
"""

import urllib.parse

import uwsgi


def hello(*args):
    return b"Hello " + b",".join(args)


def echo(*args):
    return b"|".join(args)


def nargs(*args):
    return str(len(args)).encode()


def big(n=b"70000"):
    return b"x" * int(n)


def empty():
    return b""


def noneret():
    return None


def raises():
    raise ValueError("boom")


def httpresp(*args):
    body = b"rpc says hi " + b",".join(args)
    return b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def cgiresp(*args):
    return b"Status: 201 Created\r\nContent-Type: text/plain\r\n\r\ncgi-style " + b",".join(args)


def relay(node, func, *args):
    """Call ``func`` on ``node`` from inside an RPC function (nested RPC)."""
    return uwsgi.rpc(node, func, *args)


for _f in (hello, echo, nargs, big, empty, noneret, raises, httpresp, cgiresp, relay):
    uwsgi.register_rpc(_f.__name__, _f)


def application(environ, start_response):
    q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if environ.get("PATH_INFO") == "/call":
        node = q.get("node", [""])[0]
        func = q["func"][0].encode()
        args = [a.encode() for a in q.get("arg", [])]
        try:
            out = repr(uwsgi.rpc(node, func, *args)).encode()
        except Exception as e:
            out = ("EXC %s: %s" % (type(e).__name__, e)).encode()
    else:
        out = repr(sorted(uwsgi.rpc_list())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]
