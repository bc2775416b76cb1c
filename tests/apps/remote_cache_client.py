"""Runs in real uWSGI and in gateway: GET /?op=get|set|update|del|exists|clear&k=K&v=V&cache=NAME@HOST:PORT
answers repr() of ``uwsgi.cache_<op>(..., cache)`` (tests/integration/test_remote_cache.py)."""

from urllib.parse import parse_qs

import uwsgi


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if q.get("op") == "signal":  # uwsgi.signal(n, node)
        try:
            out = uwsgi.signal(int(q["n"]), q["node"])
        except (OSError, ValueError) as e:
            out = "%s: %s" % (type(e).__name__, e)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(out).encode()]
    op, c = q["op"], q["cache"]
    args = {"get": (q.get("k"),), "exists": (q.get("k"),), "del": (q.get("k"),),
            "set": (q.get("k"), q.get("v"), 0), "update": (q.get("k"), q.get("v"), 0), "clear": ()}[op]
    out = getattr(uwsgi, "cache_" + op)(*args, c)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr(out).encode()]
