"""The app both real uWSGI and gateway run in tests/integration/test_limits_vs_uwsgi.py: it
imports only the standard library and ``uwsgi``.

``/`` reports the worker (id, pid, request count); ``/sleep?s=N`` logs ``sleeping`` then
blocks N seconds; ``/uh?s=N&h=M`` sets ``uwsgi.set_user_harakiri(M)`` first; ``/grow?mb=N``
keeps N more MB alive in the worker; ``/post`` reads the whole body and answers its length;
``/workers`` is ``uwsgi.workers()`` (the fields both servers fill)."""

import json
import sys
import time

import uwsgi

_KEPT = []
_FIELDS = ("id", "pid", "requests", "exceptions", "status", "respawn_count", "harakiri_count", "signals",
           "running_time", "avg_rt", "tx", "rss", "vsz", "last_spawn", "delta_requests")


def _query(environ):
    pairs = (p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    return {k: v for k, v in pairs}


def _workers():
    rows = []
    for w in uwsgi.workers():
        row = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in w.items() if k in _FIELDS}
        rows.append(row)
    return rows


def application(environ, start_response):
    path, q = environ.get("PATH_INFO", "/"), _query(environ)
    if path == "/uh":
        uwsgi.set_user_harakiri(int(q.get("h", "0")))
    if path in ("/sleep", "/uh"):
        sys.stderr.write("sleeping in worker %d\n" % uwsgi.worker_id())
        sys.stderr.flush()
        time.sleep(float(q.get("s", "1")))
        body = {"slept": True}
    elif path == "/grow":
        _KEPT.append(bytearray(int(q.get("mb", "10")) * 1024 * 1024))
        body = {"kept": len(_KEPT)}
    elif path == "/post":
        data = environ["wsgi.input"].read()
        body = {"length": len(data)}
    elif path == "/workers":
        body = {"workers": _workers()}
    else:
        body = {"worker": uwsgi.worker_id(), "pid": __import__("os").getpid()}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
