"""100 ms non-blocking wait, for servers that run each request in a greenlet whose parent runs the IOLoop.

This is the pattern from the uWSGI Tornado loop-engine docs, and it runs unchanged on real uWSGI
`--tornado N --greenlet` and on gateway: arm an IOLoop timer whose callback switches back into this
greenlet, then switch to the parent (the IOLoop) to suspend.  When the timer fires, `me.switch()`
resumes us inside the IOLoop callback; when the callable returns, the greenlet finishes and control
goes back to the IOLoop.
"""
import greenlet
from tornado.ioloop import IOLoop

BODY = b"Hello, World!"
CLEN = str(len(BODY))


def application(environ, start_response):
    me = greenlet.getcurrent()
    IOLoop.current().call_later(0.1, me.switch)
    me.parent.switch()  # suspend: back to the IOLoop until the timer fires
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", CLEN)])
    return [BODY]
