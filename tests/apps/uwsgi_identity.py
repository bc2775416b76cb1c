"""``uwsgi`` identity attributes and counters, as a Python literal (``ast.literal_eval``)."""

import os

import uwsgi


def application(environ, start_response):
    report = {
        "worker_id": uwsgi.worker_id(),
        "numproc": uwsgi.numproc,
        "masterpid": uwsgi.masterpid(),
        "version": uwsgi.version,
        "started_on": uwsgi.started_on,
        "total_requests": uwsgi.total_requests(),
        "loop": uwsgi.loop,
        "cores": uwsgi.cores,
        "environ_version": environ.get("uwsgi.version"),
        "pid": os.getpid(),
    }
    body = repr(report).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
