"""Reads the whole request body (``wsgi.input.read()``) and echoes it; GET answers ``hello``.

For bench/slow_body.py: an app that waits for its body is what a trickling client pins.
"""


def application(environ, start_response):
    body = environ["wsgi.input"].read() if environ["REQUEST_METHOD"] == "POST" else b"hello"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
