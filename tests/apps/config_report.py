"""Reports what the configuration did to the process, as a Python literal (``ast.literal_eval``).

``GET /?NAME&OTHER`` also reports ``os.environ`` for each NAME in the query string.
Keys: ``opt`` (``uwsgi.opt`` as is), ``cores``, ``buffer_size``, ``cwd``, ``env``,
``core`` (``environ["uwsgi.core"]``), ``pid``, ``sys_path`` (the first entries),
``virtual_env``.
"""

import os
import sys

import uwsgi


def application(environ, start_response):
    names = [n for n in environ.get("QUERY_STRING", "").split("&") if n]
    report = {
        "opt": uwsgi.opt,
        "cores": uwsgi.cores,
        "buffer_size": uwsgi.buffer_size,
        "cwd": os.getcwd(),
        "env": {n: os.environ.get(n) for n in names},
        "core": environ.get("uwsgi.core"),
        "pid": os.getpid(),
        "sys_path": sys.path[:6],
    }
    body = repr(report).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
