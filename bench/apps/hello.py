"""WSGI hello world: 13-byte body with an explicit Content-Length (what most frameworks send)."""

BODY = b"Hello, World!"  # 13 bytes
CLEN = str(len(BODY))


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", CLEN)])
    return [BODY]
