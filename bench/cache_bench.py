"""Cache (and lock/metric) operations per second from ONE core: gateway vs real uWSGI, same run.

    python3 bench/cache_bench.py [--n 200000] [--rounds 5] [--ops get,miss,update,inc,lock,metric]

Both servers run bench/apps/cache_loop.py with ``--cache2 name=bench,items=1000,blocksize=4096
--metric name=m --master`` (uWSGI) / the same minus --master (gateway, single worker), pinned to
one CPU; each round is one request looping n times over the call.  Reports the median ops/s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import httpclient, report, servers

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps", "cache_loop.py")
OPTS = ["--cache2", "name=bench,items=1000,blocksize=4096", "--metric", "name=m", "--locks", "1"]


def measure(port: int, op: str, n: int, rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        status, _, body = httpclient.request(port, "/?op=%s&n=%d" % (op, n), timeout=120)
        assert status.split()[1] == "200", (status, body)
        count, secs = body.split()
        rates.append(int(count) / float(secs))
    return report.med(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ops", default="get,miss,update,inc,lock,metric")
    args = ap.parse_args()
    ctx = servers.Ctx()
    ops = args.ops.split(",")
    results: dict = {}
    with contextlib.ExitStack() as stack:
        ports = {}
        for name in ("gateway", "uwsgi"):
            port = ctx.alloc_port()
            if name == "gateway":
                cmd = servers.gateway_cmd(ctx, port, APP, cores=10, extra=OPTS)
            else:
                cmd = servers.uwsgi_cmd(ctx, port, APP, cores=10, extra=OPTS + ["--master"])
                if cmd is None:
                    print("real uWSGI not built (bench/setup.sh): gateway only")
                    continue
            srv = stack.enter_context(servers.Server(ctx, name, cmd))
            assert httpclient.wait_ready(port, srv.proc, ctx.ready_timeout,
                                         check=lambda p: httpclient.http_ok(p, path="/?op=get&n=1")), srv.tail()
            ports[name] = port
        # rounds alternate between the servers, so both see the same machine load
        for op in ops:
            rates: dict = {name: [] for name in ports}
            for _ in range(args.rounds):
                for name, port in ports.items():
                    rates[name].append(measure(port, op, args.n, 1))
            for name in ports:
                results.setdefault(name, {})[op] = report.med(rates[name])
    rows = []
    for op in ops:
        g = results.get("gateway", {}).get(op)
        u = results.get("uwsgi", {}).get(op)
        rows.append([op, "%.0f" % g if g else "-", "%.0f" % u if u else "-", "%.2f" % (g / u) if g and u else "-"])
    print("\n".join(report.table(["operation (one core)", "gateway ops/s", "uWSGI ops/s", "gateway / uWSGI"], rows)))


if __name__ == "__main__":
    main()
