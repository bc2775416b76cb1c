"""Node A of the RPC bench: each request calls ``hello`` on node B ($RPC_NODE) with uwsgi.rpc."""

import os

import uwsgi

NODE = os.environ["RPC_NODE"]


def application(environ, start_response):
    body = uwsgi.rpc(NODE, b"hello", b"x")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
