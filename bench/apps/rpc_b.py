"""Node B of the RPC bench: the RPC function node A calls (and a trivial WSGI app)."""

import uwsgi


def hello(*args):
    return b"Hello " + b",".join(args)


uwsgi.register_rpc("hello", hello)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"rpc node"]
