"""WSGI generator app: three small chunks and no Content-Length (the server decides the framing)."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"one"
    yield b"two"
    yield b"three"
