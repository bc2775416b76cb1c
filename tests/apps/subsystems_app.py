"""Probe app for caches, locks, metrics and uWSGI signals (tests/integration/test_subsystems.py).

GET /set?k=K&v=V, /get?k=K, /incr?n=N (lock-protected read-modify-write of cache key
"counter"; suspends between read and write to invite races), /num?k=K, /metric?name=N&op=inc,
/ticks (how often the @timer(1) handler ran in this worker), /signal?n=N, /wid, /raise.
"""

import json
import os
from urllib.parse import parse_qs

import uwsgi
from uwsgidecorators import lock, signal, timer

import loop_engine

TICKS = []
SIGNALS = []


@timer(1, target="worker1")
def tick(signum):
    TICKS.append(signum)
    uwsgi.cache_inc("ticks-%d" % uwsgi.worker_id())


@signal(17, target="workers")
def on_17(signum):
    SIGNALS.append(signum)
    uwsgi.cache_inc("sig17-%d" % uwsgi.worker_id())


@signal(18)
def on_18(signum):
    raise RuntimeError("handler failure on purpose")


@lock
def locked_double(x):
    return x * 2


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    out = None
    if path == "/set":
        out = uwsgi.cache_set(q["k"], q["v"])
    elif path == "/update":
        out = uwsgi.cache_update(q["k"], q["v"])
    elif path == "/get":
        v = uwsgi.cache_get(q["k"])
        out = None if v is None else v.decode()
    elif path == "/num":
        out = uwsgi.cache_num(q["k"])
    elif path == "/incr":
        uwsgi.lock(int(q.get("lock", 0)))
        try:
            n = uwsgi.cache_num("counter")
            loop_engine.sleep(float(q.get("sleep", 0.001)))
            uwsgi.cache_update("counter", (n + 1).to_bytes(8, "little", signed=True))
        finally:
            uwsgi.unlock(int(q.get("lock", 0)))
        out = n + 1
    elif path == "/double":
        out = locked_double(int(q["x"]))
    elif path == "/metric":
        op = q.get("op", "inc")
        out = getattr(uwsgi, "metric_" + op)(q["name"], int(q.get("v", 1))) if op != "get" else uwsgi.metric_get(q["name"])
    elif path == "/ticks":
        out = len(TICKS)
    elif path == "/signals":
        out = SIGNALS
    elif path == "/signal":
        out = uwsgi.signal(int(q["n"]))
    elif path == "/remote":
        # uwsgi.cache_<op>(args..., cache) against a remote cache "name@host:port"
        op, c = q["op"], q["cache"]
        args = {"get": (q.get("k"),), "exists": (q.get("k"),), "del": (q.get("k"),), "num": (q.get("k"),),
                "set": (q.get("k"), q.get("v"), 0), "update": (q.get("k"), q.get("v"), 0),
                "inc": (q.get("k"), 1, 0), "clear": (), "keys": ()}[op]
        try:
            out = getattr(uwsgi, "cache_" + op)(*args, c)
        except ValueError as e:
            out = "ValueError: %s" % e
        if isinstance(out, bytes):
            out = out.decode("latin-1")
    elif path == "/rsignal":
        try:
            out = uwsgi.signal(int(q["n"]), q["node"])
        except (OSError, ValueError) as e:
            out = "%s: %s" % (type(e).__name__, e)
    elif path == "/wid":
        out = uwsgi.worker_id()
    elif path == "/pid":
        out = os.getpid()
    body = json.dumps({"wid": uwsgi.worker_id(), "out": out}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
