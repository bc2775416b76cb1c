"""Probe app for the cache policies and startup items (tests/integration/test_cache_policies.py).

GET /set?k=K&v=V[&c=CACHE][&e=SECONDS], /update?..., /get?k=K[&c=CACHE] (the value, "" when
absent, base64 when ?b64=1), /keys?c=CACHE (sorted), /del?k=K; every answer is JSON {"out": ...}.
"""

import base64
import json
from urllib.parse import parse_qs

import uwsgi


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    c = q.get("c")
    if path in ("/set", "/update"):
        out = getattr(uwsgi, "cache_" + path[1:])(q["k"], q["v"], int(q.get("e", 0)), c)
    elif path == "/get":
        v = uwsgi.cache_get(q["k"], c)
        out = None if v is None else (base64.b64encode(v).decode() if q.get("b64") else v.decode())
    elif path == "/del":
        out = uwsgi.cache_del(q["k"], c)
    elif path == "/keys":
        out = sorted(k.decode() for k in uwsgi.cache_keys(c))
    else:
        out = "app:" + environ.get("REQUEST_URI", "")
    body = json.dumps({"out": out}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
