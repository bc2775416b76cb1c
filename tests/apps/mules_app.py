"""Mules and farms (tests/integration/test_mules.py): every mule-side effect is a marker
file in $MULES_DIR named after what happened, holding "pid mule_id payload".

GET /send?data=X[&target=N|FARM]  uwsgi.mule_msg(b"raw:X", target) → {"queued": bool, "pid": ...}
GET /func?a=X&b=Y                 @mulefunc to any mule; /func2 → @mulefunc(2)
GET /farm?data=X                  uwsgi.mule_msg(b"farm:X", "pair") (the farm "pair" = mules 1,2)
GET /big?size=N                   a message of N bytes: {"error": "..."} or {"queued": ...}
GET /raise?n=N                    uwsgi.signal(N) from a worker
GET /id                           worker id, mule id and pid of this worker
"""

import json
import os

import uwsgi
from uwsgidecorators import mule, mulefunc, mulemsg, signal, timer

DIR = os.environ["MULES_DIR"]


def mark(name, payload=""):
    path = os.path.join(DIR, name)
    with open(path + ".tmp", "w") as f:
        f.write("%d %d %s" % (os.getpid(), uwsgi.mule_id(), payload))
    os.replace(path + ".tmp", path)


@mulefunc
def add(a, b, label="sum"):
    mark("func-%s" % label, str(int(a) + int(b)))


@mulefunc(2)
def in_two(word):
    mark("func2-" + word, word)


def hook(message):
    if message.startswith(b"raw:"):
        mark("raw-" + message[4:].decode(), message[4:].decode())
    elif message.startswith(b"boom"):
        raise RuntimeError("hook failure on purpose")
    else:
        from uwsgidecorators import mule_msg_dispatcher

        mule_msg_dispatcher(message)


uwsgi.mule_msg_hook = hook


@mule(1)
def first_body():
    mark("body-1", "once")


@mulemsg(3)
def third(message):
    mark("mulemsg-" + message.decode(), message.decode())


@signal(40, target="mule2")
def on_forty(num):
    mark("signal-%d" % num)


@signal(41, target="mules")
def on_forty_one(num):
    mark("signal-%d-mule%d" % (num, uwsgi.mule_id()))


@signal(42, target="farm_pair")
def on_forty_two(num):
    mark("signal-%d" % num)


if os.environ.get("MULES_TIMER"):
    @timer(1, target="mule1")
    def tick(num):
        mark("timer")


def application(environ, start_response):
    from urllib.parse import parse_qs

    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    out = {"pid": os.getpid(), "wid": uwsgi.worker_id(), "mule": uwsgi.mule_id()}
    if path == "/send":
        target = q.get("target")
        if target is not None and target.isdigit():
            target = int(target)
        args = (b"raw:" + q["data"].encode(),) + ((target,) if target is not None else ())
        out["queued"] = uwsgi.mule_msg(*args)
    elif path == "/func":
        add(q["a"], q["b"], label=q.get("label", "sum"))
    elif path == "/func2":
        in_two(q["word"])
    elif path == "/farm":
        out["queued"] = uwsgi.mule_msg(b"raw:" + q["data"].encode(), "pair")
    elif path == "/mulemsg":
        out["queued"] = uwsgi.mule_msg(q["data"], 3)
    elif path == "/boom":
        out["queued"] = uwsgi.mule_msg(b"boom", int(q.get("target", 1)))
    elif path == "/big":
        try:
            out["queued"] = uwsgi.mule_msg(b"x" * int(q["size"]))
        except ValueError as e:
            out["error"] = str(e)
    elif path == "/raise":
        uwsgi.signal(int(q["n"]))
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
