"""The uWSGI docs' Tornado example, written for Tornado 6 (futures, no ``callback=``).

``gateway --http-socket :9090 --wsgi-file examples/tornado_fetch.py --tornado 100 --greenlet``

Three ways a WSGI request waits for Tornado without blocking the worker:

* ``/`` — the seed's hand-written pattern: ``add_future`` resumes this greenlet,
  ``me.parent.switch()`` suspends it (its parent is the IOLoop's greenlet);
* ``/wait`` — the same with ``loop_engine.wait()``, no callback plumbing;
* ``/sleep`` — the chained-timer pattern with ``add_timeout``.

The per-worker Tornado application started from ``@postfork`` is the docs'
"Binding and listening with Tornado" example, fixed (it listens ``t_application``,
not the WSGI callable, and imports ``uwsgi``).
"""

import functools
import time

import greenlet
import tornado.web
import uwsgi
from tornado.httpclient import AsyncHTTPClient
from tornado.ioloop import IOLoop
from uwsgidecorators import postfork

import loop_engine

BACKEND_PORT = 8000 + uwsgi.worker_id()


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("Hello from the worker's own Tornado app\n")


t_application = tornado.web.Application([(r"/", MainHandler)])


@postfork
def start_tornado_app():
    t_application.listen(BACKEND_PORT, address="127.0.0.1")


def sleeper(me):
    me.switch()


def application(environ, start_response):
    path = environ["PATH_INFO"]
    url = "http://127.0.0.1:%d/" % BACKEND_PORT
    if path == "/wait":
        body = loop_engine.wait(AsyncHTTPClient().fetch(url), timeout=10).body
    elif path == "/sleep":
        me = greenlet.getcurrent()
        IOLoop.current().add_timeout(time.time() + 1, functools.partial(sleeper, me))
        me.parent.switch()
        body = b"slept 1 s without blocking the other cores\n"
    else:
        me = greenlet.getcurrent()
        fut = AsyncHTTPClient().fetch(url)
        IOLoop.current().add_future(fut, lambda f: me.switch())
        me.parent.switch()  # suspend this core until the fetch is done
        body = fut.result().body
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
