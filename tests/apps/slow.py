"""A request that takes a while without blocking the worker: ``loop_engine.sleep``.

Logs ``slow: started <path>`` (``uwsgi.log``) when the request begins, then sleeps
``?S`` seconds (0.5 by default) and answers ``slow done``.
"""

import uwsgi

import loop_engine


def application(environ, start_response):
    uwsgi.log("slow: started %s" % environ["PATH_INFO"])
    loop_engine.sleep(float(environ.get("QUERY_STRING") or 0.5))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"slow done"]
