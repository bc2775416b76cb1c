"""The seed's per-worker pattern: a Tornado ``Application`` listening from a postfork hook.

``t_application.listen(BASE + uwsgi.worker_id())`` with BASE from ``$TORNADO_BASE_PORT``
(the seed uses 8000).  The Tornado handler reports the worker and the id of the IOLoop
it runs on; ``GET /via-tornado`` on the WSGI side fetches that handler through the
worker's IOLoop (``loop_engine.wait``), which only completes if both share the loop.
"""

import os

import tornado.httpclient
import tornado.web
import uwsgi
from tornado.ioloop import IOLoop
from uwsgidecorators import postfork

import loop_engine

BASE = int(os.environ["TORNADO_BASE_PORT"])


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("tornado worker=%d pid=%d loop=%d" % (uwsgi.worker_id(), os.getpid(), id(IOLoop.current())))


t_application = tornado.web.Application([(r"/", MainHandler)])


@postfork
def listen():
    t_application.listen(BASE + uwsgi.worker_id(), address="127.0.0.1")


def application(environ, start_response):
    if environ["PATH_INFO"] == "/via-tornado":
        url = "http://127.0.0.1:%d/" % (BASE + uwsgi.worker_id())
        response = loop_engine.wait(tornado.httpclient.AsyncHTTPClient().fetch(url), timeout=5)
        body = b"wsgi loop=%d got: " % id(IOLoop.current()) + response.body
    else:
        body = b"wsgi"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
