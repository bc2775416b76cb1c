"""Registers an :mod:`atexit` hook (and ``uwsgi.atexit``) that append ``<kind> pid=<pid>`` to
the file named by ``$ATEXIT_LOG``, to see which processes run them at exit."""

import atexit
import os

import uwsgi


def _record(kind):
    with open(os.environ["ATEXIT_LOG"], "a") as f:
        f.write("%s pid=%d\n" % (kind, os.getpid()))


atexit.register(_record, "atexit")
uwsgi.atexit = lambda: _record("uwsgi.atexit")


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
