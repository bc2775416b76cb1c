"""Who answered, and requests that block or park, for the master/worker tests.

``/`` reports ``worker_id``, ``pid``, ``masterpid``, ``numproc`` and ``workers``
(pids from ``uwsgi.workers()``) as a Python literal; ``/block?S`` blocks the worker's
loop for S seconds (``time.sleep``); ``/park?S`` suspends only its core
(``loop_engine.sleep``); ``/hold?S`` parks S seconds and still answers (for reloads);
``/user-park?S``, ``/user-block?S`` call ``uwsgi.set_user_harakiri(1)`` first, and
``/user-park-clear?S`` cancels it with ``set_user_harakiri(0)``.
"""

import os
import time

import uwsgi

import loop_engine

LOADED_AT = time.time()
_version_file = os.environ.get("PROBE_VERSION_FILE")
VERSION = open(_version_file).read().strip() if _version_file else ""


def application(environ, start_response):
    path = environ["PATH_INFO"]
    arg = float(environ.get("QUERY_STRING") or 0)
    if path.startswith("/user"):  # uwsgi.set_user_harakiri(1) first; /user-clear sets 0 after it
        uwsgi.set_user_harakiri(1)
        if path.endswith("-clear"):
            uwsgi.set_user_harakiri(0)
        path = "/block" if "block" in path else "/park"
    if path == "/block":
        time.sleep(arg)
    elif path in ("/park", "/hold"):
        loop_engine.sleep(arg)
    report = {
        "worker_id": uwsgi.worker_id(),
        "pid": os.getpid(),
        "masterpid": uwsgi.masterpid(),
        "numproc": uwsgi.numproc,
        "workers": sorted((w["id"], w["pid"]) for w in uwsgi.workers()),
        "loaded_at": LOADED_AT,
        "version": VERSION,
    }
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr(report).encode()]
