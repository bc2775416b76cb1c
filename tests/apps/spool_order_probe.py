"""A spooler callable recording the order it runs tasks in (``test_decorators_spooler_vs_uwsgi``):
each task's ``n`` appended to ``$SPOOL_ORDER_OUT``.  A task ``n=slow`` sleeps 10 s the first
time it runs (a ``--spooler-harakiri`` victim), and is done at once the next time; ``n=user``
the same after ``uwsgi.set_user_harakiri(1)``.  Two signal
crons (one ``@cron``, one ``uwsgi.add_cron`` with negative fields) record their signal."""

import os
import time

import uwsgi
import uwsgidecorators

OUT = os.environ["SPOOL_ORDER_OUT"]


def record(line):
    with open(OUT, "a") as f:
        f.write(line + "\n")


def spooler(env):
    n = env[b"n"].decode()
    record("task %s" % n)
    if n in ("slow", "user") and not os.path.exists(OUT + "." + n):
        open(OUT + "." + n, "w").close()
        if n == "user":
            uwsgi.set_user_harakiri(1)
        time.sleep(10)  # (killed long before: uWSGI's master checks the deadlines about once a second)
    return uwsgi.SPOOL_OK


uwsgi.spooler = spooler


@uwsgidecorators.cron(-1, -1, -1, -1, -1, signum=30)
def every_minute(num):
    record("cron %d" % num)


uwsgi.register_signal(31, "", every_minute)
record("add_cron %r" % uwsgi.add_cron(31, -1, -1, -1, -1, -1))


def application(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]
