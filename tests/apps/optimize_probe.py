"""Answers Python's optimisation level and whether asserts run (``--optimize``)."""

import sys


def application(environ, start_response):
    asserts = True
    try:
        assert False  # noqa: B011 - the point: -O removes it
    except AssertionError:
        pass
    else:
        asserts = False
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d %s" % (sys.flags.optimize, str(asserts).encode())]
