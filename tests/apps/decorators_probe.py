"""``uwsgidecorators`` under real uWSGI and gateway alike (``test_decorators_spooler_vs_uwsgi``).

Every spooled function, ``@postfork`` function and ``@cron``/``@timer`` handler appends one JSON
line to ``$DECOR_OUT``; each request path calls one decorated function and answers, as JSON, what
the call returned (``repr``) or raised.  Needs ``--master --spooler DIR``.
"""

import json
import os

import uwsgi
import uwsgidecorators as ud

OUT = os.environ["DECOR_OUT"]


def record(*parts):
    with open(OUT, "a") as f:
        f.write(json.dumps(parts) + "\n")


@ud.spool
def plain(args):
    record("spool", sorted(args.items()), os.getcwd())


@ud.spool(pass_arguments=True)
def with_args(*args, **kwargs):
    record("spool_pass_arguments", args, sorted(kwargs.items()), repr(locked(2)))  # (@lock: None in a spooler)
    return "ignored: @spool is done once it returns"


@ud.spoolraw
def raw(args):
    record("spoolraw", args["ret"])
    return {"ok": uwsgi.SPOOL_OK, "ignore": uwsgi.SPOOL_IGNORE, "none": None, "str": "x"}[args["ret"]]


@ud.spoolraw(pass_arguments=True)
def raw_args(n, ret=None):
    record("spoolraw_pass_arguments", n, ret)
    return ret


@ud.spoolforever
def forever(args):
    record("spoolforever", args["n"])


@ud.spool
def raises(args):
    record("raises", args["n"])
    raise RuntimeError("spool boom")


@ud.postfork
def after_fork():
    record("postfork", uwsgi.worker_id(), bool(uwsgi.i_am_the_spooler()))


decorated_for_worker_1 = ud.postfork(1)(lambda: record("postfork1", uwsgi.worker_id()))


@ud.postfork
def raises_after_fork():
    raise RuntimeError("postfork boom")


@ud.postfork
def after_the_raise():
    record("after_raise", uwsgi.worker_id())


@ud.cron(-1, -1, -1, -1, -1, target="workers")
def every_minute(num):
    record("cron", num)


@ud.timer(1, target="workers")
def ticking(num):
    record("timer", num)


@ud.rbtimer(3600, target="workers")
def hourly(num):
    record("rbtimer", num)


@ud.signal(50, target="workers")
def on_50(num):
    record("signal", num)


@ud.rpc("probe_rpc")
def probe_rpc():
    return b"rpc"


@ud.lock
def locked(x):
    return x * 2


@ud.thread
def in_a_thread(x):
    record("thread", x)


@ud.harakiri(10)
def under_harakiri(x):
    return x + 1


IMPORT = {"postfork_returns": type(after_fork).__name__, "postfork1_returns": repr(decorated_for_worker_1),
          "spool_returns": type(plain).__name__, "spool_attribute": type(plain.f.spool).__name__,
          "cron_returns": type(every_minute).__name__, "free_signal": ud.get_free_signal(),
          "others_return": [type(f).__name__ for f in (ticking, hourly, on_50, probe_rpc, locked, in_a_thread)],
          "registered": [uwsgi.signal_registered(n) for n in (0, 1, 2, 3, 50)],
          "timer_signal": uwsgi.signal_registered(1), "spoolers": [os.path.basename(os.fsdecode(d)) for d in uwsgi.spoolers]}

CALLS = {
    "/spool": lambda: plain(a="1", b="2"),
    "/spool_dict": lambda: plain({"a": "x"}),
    "/spool_dot": lambda: plain.spool(a="3"),
    "/spool_old_spelling": lambda: plain.f.spool(a="4"),
    "/spool_positional": lambda: plain(1, 2),
    "/spool_args": lambda: with_args(1, "two", k="v"),
    "/spool_args_special": lambda: with_args(5, priority="3", at="4000000000", body=b"BODY", k="w"),
    "/spool_args_spooler": lambda: with_args(6, spooler=os.environ["DECOR_OTHER"].encode()),
    "/spool_unknown": lambda: plain(spooler="nope"),
    "/spool_huge": lambda: plain(a="x" * 70000),
    "/spool_big_total": lambda: plain(a="x" * 40000, b="y" * 40000),
    "/raw_ok": lambda: raw(ret="ok"),
    "/raw_ignore": lambda: raw(ret="ignore"),
    "/raw_none": lambda: raw(ret="none"),
    "/raw_str": lambda: raw(ret="str"),
    "/raw_args": lambda: raw_args(7, ret=uwsgi.SPOOL_OK),
    "/forever": lambda: forever(n="1"),
    "/raises": lambda: raises(n="1"),
    "/lock": lambda: locked(4),
    "/thread": lambda: in_a_thread(7) is in_a_thread.f,
    "/harakiri": lambda: under_harakiri(1),
    "/spooler_pids": lambda: (len(uwsgi.spooler_pids()), len(set(uwsgi.spooler_pids())), uwsgi.spooler_pid() > 0),
}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/import":
        answer = IMPORT
    else:
        try:
            answer = {"repr": repr(CALLS[path]())}
        except Exception as e:
            answer = {"exc": type(e).__name__, "msg": str(e), "ValueError": isinstance(e, ValueError)}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]
