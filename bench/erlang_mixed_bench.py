"""HTTP latency while a real OTP node drives rpc:call loops into the server (issue 9.10).

    python3 bench/erlang_mixed_bench.py [--loops 200] [--seconds 5] [--otp system|28]
                                        [--busy-poll-us 50] [--repeat 1]

Starts ``python -m gateway --http-socket ... --tornado 10 --greenlet --erlang gw@localhost``
(one worker) with an app whose ``register_rpc("noop")`` counts its calls and whose
WSGI answer is that count, and an Erlang test node (``shared/tools/erl-test-node``).
Then, each phase ``--seconds`` long:

1. **HTTP idle**: one client sends sequential keep-alive GETs; p50/p99 latency;
2. **Erlang alone**: the OTP node runs ``--loops`` processes, each a loop of
   ``rpc:call(gw, m, noop, [])`` (``uwsgitest:bench_rpc``); calls/s from the
   app's counter;
3. **mixed**: the same loops go on while the HTTP client runs again: HTTP p50/p99
   and the Erlang calls/s beside it.

Target (issue 9.10): mixed HTTP p99 under 50 ms, at >= 90 % of the Erlang
throughput reached alone.  Run by hand on an idle machine; not a test.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))

from gateway.erlang import api, etf  # noqa: E402
from integration.erlang_support import ErlNode, LoopThread, start_api_node, stop_api_node, unique  # noqa: E402
from server import run_server  # noqa: E402

A = etf.Atom

APP = textwrap.dedent(
    """
    import uwsgi

    calls = [0]


    def noop():
        calls[0] += 1
        return 1


    uwsgi.register_rpc("noop", noop)


    def application(environ, start_response):
        body = str(calls[0]).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    """
)


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def count(conn) -> int:
    conn.request("GET", "/")
    return int(conn.getresponse().read())


def http_phase(port: int, seconds: float):
    """Sequential keep-alive GETs for ``seconds``: (latencies in ms, first count, last count, elapsed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat = []
    first = last = None
    t0 = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        conn.request("GET", "/")
        body = conn.getresponse().read()
        lat.append((time.perf_counter() - t) * 1000.0)
        last = int(body)
        if first is None:
            first = last
    elapsed = time.monotonic() - t0
    conn.close()
    return lat, first, last, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loops", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--otp", default="system")
    ap.add_argument("--busy-poll-us", type=int, default=None)
    args = ap.parse_args()
    cookie = unique("mixcookie")
    gw = unique("gw") + "@localhost"
    erl = ErlNode(unique("driver"), cookie, args.otp)
    lt = LoopThread()
    tmp = tempfile.mkdtemp()
    app = os.path.join(tmp, "mixapp.py")
    with open(app, "w") as f:
        f.write(APP)
    extra = [] if args.busy_poll_us is None else ["--erlang-busy-poll", str(args.busy_poll_us)]
    try:
        with run_server(
            ["--wsgi-file", app, "--tornado", "10", "--greenlet", "--erlang", gw, "--erlang-cookie", cookie] + extra
        ) as srv:
            start_api_node(lt, unique("ctl") + "@localhost", cookie)
            lat_idle, _, _, _ = http_phase(srv.port, args.seconds)
            pids = [
                api.erlang_rpc(erl.name, "erlang", "spawn", [A("uwsgitest"), A("bench_rpc"), [A(gw), A("m"), A("noop"), [], 10**9]])
                for _ in range(args.loops)
            ]
            time.sleep(1.0)  # ramp up
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            c0, t0 = count(conn), time.monotonic()
            time.sleep(args.seconds)
            c1, t1 = count(conn), time.monotonic()
            conn.close()
            alone = (c1 - c0) / (t1 - t0)
            lat_mixed, m0, m1, el = http_phase(srv.port, args.seconds)
            mixed = (m1 - m0) / el
            for pid in pids:
                api.erlang_rpc(erl.name, "erlang", "exit", [pid, A("kill")])
    finally:
        try:
            stop_api_node(lt)
        finally:
            lt.stop()
            erl.stop()

    def row(name, lat, rate):
        if lat:
            return "%-28s %8d %9.2f %9.2f %9.2f %12s" % (
                name, len(lat), percentile(lat, 50), percentile(lat, 99), max(lat), "%.0f" % rate if rate else "-")
        return "%-28s %8s %9s %9s %9s %12.0f" % (name, "-", "-", "-", "-", rate)

    print("Erlang + HTTP mixed load: %d rpc:call loops (OTP %s), %.0f s phases, busy poll %s us"
          % (args.loops, args.otp, args.seconds, "default" if args.busy_poll_us is None else args.busy_poll_us))
    print("%-28s %8s %9s %9s %9s %12s" % ("phase", "requests", "p50 ms", "p99 ms", "max ms", "rpc calls/s"))
    print(row("HTTP idle", lat_idle, None))
    print(row("Erlang alone", None, alone))
    print(row("mixed", lat_mixed, mixed))
    print("mixed Erlang throughput: %.0f%% of alone; target: mixed p99 < 50 ms at >= 90%%" % (100.0 * mixed / alone))


if __name__ == "__main__":
    main()
