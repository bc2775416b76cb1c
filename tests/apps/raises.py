"""``/boom`` raises ValueError("kaboom"); ``/`` answers the worker's pid; ``/wrapper`` says
whether ``wsgi.file_wrapper`` is offered."""

import os


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise ValueError("kaboom")
    body = str(os.getpid()).encode()
    if path == "/wrapper":
        body = repr("wsgi.file_wrapper" in environ).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
