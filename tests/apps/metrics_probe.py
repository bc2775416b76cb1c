"""Probe app for uWSGI's built-in metrics (tests/integration/test_builtin_metrics.py).

``/get?name=N`` answers ``{"wid": worker id, "out": uwsgi.metric_get(N)}`` as JSON,
``/set?name=N&v=V`` the same with ``uwsgi.metric_set(N, V)``; anything else answers "ok".
"""

import json
from urllib.parse import parse_qs

import uwsgi


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    if path == "/get":
        out = uwsgi.metric_get(q["name"])
    elif path == "/set":
        out = uwsgi.metric_set(q["name"], int(q["v"]))
    else:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"wid": uwsgi.worker_id(), "out": out}).encode()]
