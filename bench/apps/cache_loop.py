"""cache_get / cache_set / lock / metric micro-loop, run inside one request (bench/cache_bench.py).

GET /?op=get&n=100000 -> "<ops> <seconds>": n calls of the operation from one core.
Works unchanged on real uWSGI and on gateway.
"""

import time

import uwsgi

VALUE = b"x" * 64


def application(environ, start_response):
    q = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    n = int(q.get("n", "100000"))
    op = q.get("op", "get")
    uwsgi.cache_update("hot", VALUE, 0, "bench")
    get = uwsgi.cache_get
    t0 = time.perf_counter()
    if op == "get":
        for _ in range(n):
            get("hot", "bench")
    elif op == "miss":
        for _ in range(n):
            get("cold", "bench")
    elif op == "update":
        upd = uwsgi.cache_update
        for _ in range(n):
            upd("hot", VALUE, 0, "bench")
    elif op == "inc":
        inc = uwsgi.cache_inc
        for _ in range(n):
            inc("num", 1, 0, "bench")
    elif op == "lock":
        lock, unlock = uwsgi.lock, uwsgi.unlock
        for _ in range(n):
            lock()
            unlock()
    elif op == "metric":
        mi = uwsgi.metric_inc
        for _ in range(n):
            mi("m")
    dt = time.perf_counter() - t0
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%d %.6f" % (n, dt)).encode()]
