"""``@postfork`` hooks that record when they run in the file named by ``$POSTFORK_LOG``.

Lines appended: ``import`` (module executed), ``postfork worker=<id> requests=<n>``
(the plain hook), ``postfork1`` (``@postfork(1)``), ``postfork2`` (``@postfork(2)``, must
not run in worker 1), ``request`` (each request).  A request returns the file.
"""

import os

import uwsgi
from uwsgidecorators import postfork

LOG = os.environ["POSTFORK_LOG"]


def record(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


record("import")


@postfork
def every_worker():
    record("postfork worker=%d requests=%d" % (uwsgi.worker_id(), uwsgi.total_requests()))


@postfork(1)
def worker_one():
    record("postfork1")


@postfork(2)
def worker_two():
    record("postfork2")


def application(environ, start_response):
    record("request")
    with open(LOG, "rb") as f:
        body = f.read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
