"""--sharedarea through the real server (tests/integration/test_subsystems.py): /inc adds 1 to
the 64-bit counter at 0 of area 0, /get reads it, /has says whether the functions exist."""

import os

import uwsgi


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/has":
        body = str(hasattr(uwsgi, "sharedarea_read"))
    elif path == "/inc":
        uwsgi.sharedarea_inc64(0, 0)
        body = str(os.getpid())
    else:
        body = "%d %d" % (uwsgi.sharedarea_read64(0, 0), os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
