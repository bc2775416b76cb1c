"""Who answered, for the Emperor tests: the worker's pid, its master, its uid/gid, ``uwsgi.numproc``
and ``TAG`` from the environment (set by a vassal template), as a Python literal."""

import os

import uwsgi


def application(environ, start_response):
    report = {
        "pid": os.getpid(),
        "masterpid": uwsgi.masterpid(),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "numproc": uwsgi.numproc,
        "tag": os.environ.get("TAG", ""),
        "emperor_fd": os.environ.get("UWSGI_EMPEROR_FD"),
    }
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr(report).encode()]
