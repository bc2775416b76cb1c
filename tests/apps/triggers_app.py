"""The master's triggers and per-request worker options (tests/integration/test_triggers.py).

Every uWSGI signal handler writes a marker file ``$TRIGGERS_DIR/sig-N`` holding the pid
that ran it (one line per run), so tests wait for files, never sleep.

GET /pid                    this worker's pid
GET /raise?exc=NAME&msg=M   raise the builtin exception NAME(M)
GET /signal?n=N             uwsgi.signal(N) from the worker
GET /fork                   fork a child that exits at once (never waited for): its pid
GET /stack                  threading.stack_size() in this worker
GET /sleep?s=S              block the worker for S seconds (time.sleep), after creating
                            $TRIGGERS_DIR/sleeping-PID
"""

import builtins
import os
import threading
import time
from urllib.parse import parse_qs

import uwsgi

DIR = os.environ["TRIGGERS_DIR"]


def mark(sig):
    with open(os.path.join(DIR, "sig-%d" % sig), "a") as f:
        f.write("%d\n" % os.getpid())


def stuck(sig):  # a mule's handler that never returns: --mule-harakiri ends it
    mark(sig)
    time.sleep(600)


for n in range(10, 20):
    uwsgi.register_signal(n, "worker", mark)
if uwsgi.numproc and os.environ.get("TRIGGERS_MULE_SIGNAL"):
    uwsgi.register_signal(30, "mule1", stuck)


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    if path == "/raise":
        raise getattr(builtins, q["exc"])(q.get("msg", ""))
    if path == "/signal":
        uwsgi.signal(int(q["n"]))
        body = "raised"
    elif path == "/fork":
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        body = str(pid)
    elif path == "/stack":
        body = str(threading.stack_size())
    elif path == "/sleep":
        open(os.path.join(DIR, "sleeping-%d" % os.getpid()), "w").close()
        time.sleep(float(q["s"]))
        body = "slept"
    else:
        body = str(os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
