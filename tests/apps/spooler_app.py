"""Spools tasks for the spooler tests: every task writes a JSON marker into the directory
named by ``SPOOL_MARKERS`` (pid of the process that ran it, the task's fields).

``GET /spool?name=N[&ret=ok|retry|ignore|raise][&at=UNIX][&priority=P][&body=TEXT][&sleep=S][&spooler=DIR]`` spools with
``uwsgi.spool`` (the ``uwsgi.spooler`` callable below runs it); ``GET /deco?name=N`` calls an
``@spool`` function (arguments pickled); ``GET /forever?name=N`` an ``@spoolforever`` one;
``GET /raw?name=N`` a ``@spoolraw`` one.  Each answers ``<worker pid> <spool file path>``.
"""

import json
import os
import time
from urllib.parse import parse_qs

import uwsgi
from uwsgidecorators import spool, spoolforever, spoolraw

MARKERS = os.environ["SPOOL_MARKERS"]


def _mark(name, **fields):
    fields["pid"] = os.getpid()
    fields["spooler"] = bool(uwsgi.i_am_the_spooler())
    path = os.path.join(MARKERS, name)
    count = 0
    while os.path.exists("%s.%d" % (path, count)):
        count += 1
    tmp = "%s.tmp" % path
    with open(tmp, "w") as f:
        json.dump(fields, f)
    os.rename(tmp, "%s.%d" % (path, count))


RETS = {"ok": uwsgi.SPOOL_OK, "retry": uwsgi.SPOOL_RETRY, "ignore": uwsgi.SPOOL_IGNORE}


def plain_spooler(env):
    if b"ud_spool_func" in env:
        from uwsgidecorators import manage_spool_request

        return manage_spool_request(env)
    name = env[b"name"].decode()
    ret = env.get(b"ret", b"ok").decode()
    time.sleep(float(env.get(b"sleep", b"0")))
    _mark(name, ret=ret, keys=sorted(k if isinstance(k, str) else k.decode() for k in env),
          body=env.get("body", b"").decode(), task=env["spooler_task_name"].decode())
    if ret == "raise":
        raise RuntimeError("task %s fails on purpose" % name)
    return RETS[ret]


uwsgi.spooler = plain_spooler


@spool(pass_arguments=True)
def deco_task(name, value, flag=False):
    _mark(name, value=value, flag=flag)


@spoolforever
def forever_task(args):
    _mark(args["name"], kind="forever")


@spoolraw
def raw_task(args):
    _mark(args["name"], kind="raw")
    return uwsgi.SPOOL_OK


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    if path == "/spool":
        task = {b"name": q["name"].encode(), b"ret": q.get("ret", "ok").encode()}
        for key in ("at", "priority", "body", "sleep", "spooler"):
            if key in q:
                task[key.encode()] = q[key].encode()
        out = uwsgi.spool(task)
    elif path == "/deco":
        out = deco_task(q["name"], {"n": 1}, flag=True)
    elif path == "/forever":
        out = forever_task({"name": q["name"]})
    elif path == "/raw":
        out = raw_task(name=q["name"])
    elif path == "/pids":
        out = json.dumps({"spooler_pid": uwsgi.spooler_pid(), "spooler_pids": uwsgi.spooler_pids(),
                          "jobs": [j.decode() for j in uwsgi.spooler_jobs()],
                          "spoolers": [s.decode() for s in uwsgi.spoolers]}).encode()
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such path\n"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d " % os.getpid() + out]
