"""Counts its loads, for the Emperor's reload tests: each import (the master's, again at every
in-place reload) appends ``loaded <pid>`` to the file named by ``RELOAD_LOG``; ``/?S`` answers
after ``S`` seconds (a request in flight that keeps a reload's old worker busy), logging
``reload_log: started`` first."""

import os
import time

import uwsgi

with open(os.environ["RELOAD_LOG"], "a") as _log:
    _log.write("loaded %d\n" % os.getpid())


def application(environ, start_response):
    uwsgi.log("reload_log: started")
    time.sleep(float(environ.get("QUERY_STRING") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d" % os.getpid()]
