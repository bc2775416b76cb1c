"""``uwsgi.route``, ``install_mule_msg_hook``, ``@harakiri`` and ``@mstimer`` through a real
server (tests/integration/test_api_gaps.py).  Answers are Python literals.

* ``/route``: a series of ``uwsgi.route()`` calls: their codes and the environ after them;
* ``/route-headers``: ``addheader``/``delheader`` before and after ``start_response``;
* ``/route-answer?ACTION&ARGS``: ``route(ACTION, ARGS)`` (its code logged), then ``return []``;
* ``/route-late-answer``: ``route("return", "403")`` after ``start_response`` (-1);
* ``/harakiri-park?S``: a ``@harakiri(1)`` function parks S seconds (cancelled past 1 s);
* ``/harakiri-done?S``: a ``@harakiri(1)`` function returns at once, then the request parks
  S seconds (its deadline was cleared when the function returned);
* ``/tell-mule?X``: ``uwsgi.mule_msg(X)``; the mule's hooks write ``$GAPS_DIR/<hook>-X``;
* ``/ticks``: how many times the ``@mstimer(200)`` handler ran in this worker.
"""

import os

import uwsgi
from uwsgidecorators import harakiri, mstimer

import loop_engine

DIR = os.environ.get("GAPS_DIR", "")
TICKS = []


def mark(name):
    # whole or absent: the test reads the file as soon as it exists
    path = os.path.join(DIR, name)
    with open(path + ".tmp", "w") as f:
        f.write(str(uwsgi.mule_id()))
    os.rename(path + ".tmp", path)


def plain_hook(message):
    mark("hook-" + message.decode())


def extra_hook(message):
    mark("extra-" + message.decode())


uwsgi.mule_msg_hook = plain_hook
uwsgi.install_mule_msg_hook(extra_hook)


@mstimer(200, target="workers")
def tick(signum):
    TICKS.append(signum)


@harakiri(1)
def guarded(seconds):
    loop_engine.sleep(seconds)
    return "guarded done"


def respond(start_response, report):
    body = repr(report).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/route":
        codes = [
            uwsgi.route("log", "route-api ${REQUEST_METHOD} ${PATH_INFO}"),
            uwsgi.route("setpathinfo", "/changed"),
            uwsgi.route("addvar", "ROUTED=${PATH_INFO}!"),
            uwsgi.route("continue", ""),
            uwsgi.route("break", ""),
            uwsgi.route("nosuchaction", "x"),
            uwsgi.route("addvar", "no-equal-sign"),
            uwsgi.route("clearheaders", "404"),
        ]
        return respond(start_response, {"codes": codes, "PATH_INFO": environ["PATH_INFO"],
                                        "ROUTED": environ.get("ROUTED")})
    if path == "/route-headers":
        uwsgi.route("addheader", "X-Early: ${REQUEST_METHOD}")
        uwsgi.route("delheader", "X-Drop")
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Drop", "x"), ("X-Keep", "k")])
        uwsgi.route("addheader", "X-Late: ${PATH_INFO}")
        uwsgi.route("remheader", "X-Keep")
        return [b"headers"]
    if path == "/route-answer":
        action, _, args = query.partition("&")
        uwsgi.log("route-answer %s: %d" % (action, uwsgi.route(action, args)))
        return []
    if path == "/route-late-answer":
        start_response("200 OK", [("Content-Type", "text/plain")])
        uwsgi.log("route-late-answer: %d" % uwsgi.route("return", "403"))
        return [b"from the app"]
    if path == "/harakiri-park":
        return respond(start_response, guarded(float(query)))
    if path == "/harakiri-done":
        guarded(0)
        loop_engine.sleep(float(query))
        return respond(start_response, "outlived")
    if path == "/tell-mule":
        uwsgi.mule_msg(query.encode())
        return respond(start_response, "sent")
    if path == "/ticks":
        return respond(start_response, len(TICKS))
    return respond(start_response, "?")
