"""Parks its core for ?s=SECONDS (default 1) with the seed's hand-written greenlet pattern."""

import greenlet
from tornado.ioloop import IOLoop


def application(environ, start_response):
    seconds = float(environ.get("QUERY_STRING", "").partition("s=")[2] or 1)
    me = greenlet.getcurrent()
    IOLoop.current().call_later(seconds, me.switch)
    me.parent.switch()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"parked %.2fs on core %d" % (seconds, environ["uwsgi.core"])]
