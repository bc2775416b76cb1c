"""--queue through the real server (tests/integration/test_queue.py): /OP?arg&arg calls
uwsgi.queue_OP with the query's '&'-separated arguments (digits as ints, 'big' as a value one
byte too large for an 8192-byte slot) and answers {"out": result, "pid": worker pid}; bytes
come back as text, lists as lists; /has says whether the functions exist (and queue_size,
uwsgi.opt's queue); /pull_unless?PID pulls only in a worker other than PID ("skip" in PID);
/spool spools a task whose spooler pushes "spooler PID True" (with --spooler)."""

import json
import os
from urllib.parse import unquote

import uwsgi


def _arg(text):
    if text.isdigit():
        return int(text)
    if text == "big":
        return b"x" * (8192 - 16 + 1)
    if text == "fits":
        return b"x" * (8192 - 16)
    return unquote(text)


def _out(value):
    if isinstance(value, bytes):
        return value.decode("latin-1") if len(value) < 100 else "%d bytes" % len(value)
    if isinstance(value, list):
        return [_out(v) for v in value]
    return value


def spooler(env):
    """The spooler process pushes to the queue too."""
    uwsgi.queue_push("spooler %d %s" % (os.getpid(), hasattr(uwsgi, "queue_pull")))
    return uwsgi.SPOOL_OK


if hasattr(uwsgi, "spool"):
    uwsgi.spooler = spooler


def application(environ, start_response):
    op = environ["PATH_INFO"].lstrip("/")
    qs = environ.get("QUERY_STRING", "")
    if op == "has":
        opt = uwsgi.opt.get("queue")
        out = [hasattr(uwsgi, "queue_push"), getattr(uwsgi, "queue_size", None),
               opt.decode() if isinstance(opt, bytes) else opt]
    elif op == "spool":
        out = uwsgi.spool({b"task": b"1"}).decode()
    elif op == "pull_unless":
        out = "skip" if os.getpid() == int(qs) else _out(uwsgi.queue_pull())
    else:
        args = [_arg(a) for a in qs.split("&")] if qs else []
        out = _out(getattr(uwsgi, "queue_" + op)(*args))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"out": out, "pid": os.getpid()}).encode()]
