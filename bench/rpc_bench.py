"""RPC bench: HTTP into node A whose app calls ``uwsgi.rpc`` on node B, gateway vs real uWSGI.

    bench/rpc_bench.py [--duration 10] [--conns 50] [--runs 1]

Topologies (each node ``--tornado 100 --greenlet``, no access log; A on cpu 0, B and wrk on cpu 1):

* ``gateway→gateway``: A and B both gateway (B answers on ``--socket``);
* ``uwsgi→uwsgi``: A and B both real uWSGI 2.0.31 (bench/setup.sh builds it);
* ``gateway→uwsgi``: our A against a real uWSGI B, so B can be compared with the same client.

Reported: A's req/s (= RPC calls/s), CPU of A and of B, and B's calls/s per core of B's CPU
(req/s ÷ B's CPU share).  Ratios: gateway→gateway ÷ uwsgi→uwsgi req/s (target ≥ 1.5), and
B's calls/s per core, gateway (in gateway→gateway) ÷ uWSGI (in gateway→uwsgi) (target ≥ 1.0).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import httpclient, procfs, report, servers, wrk

HOST = "127.0.0.1"


def node_cmd(ctx, kind, port, app, socket_opt):
    if kind == "gateway":
        return servers.gateway_cmd(ctx, port, app, 100, socket_opt=socket_opt)
    return servers.uwsgi_cmd(ctx, port, app, 100, socket_opt=socket_opt)


def run_pair(ctx, a_kind, b_kind, conns, duration):
    bport, aport = ctx.alloc_port(), ctx.alloc_port()
    env = dict(os.environ, RPC_NODE="%s:%d" % (HOST, bport))
    b_cmd = node_cmd(ctx, b_kind, bport, "bench/apps/rpc_b.py", "--socket")
    a_cmd = node_cmd(ctx, a_kind, aport, "bench/apps/rpc_a.py", "--http-socket")
    if a_cmd is None or b_cmd is None:
        return None
    with servers.Server(ctx, "B-" + b_kind, b_cmd, cpu=servers.CLIENT_CPU, env=env) as b, \
            servers.Server(ctx, "A-" + a_kind, a_cmd, cpu=servers.SERVER_CPU, env=env) as a:
        if not httpclient.wait_ready(aport, a.proc, ctx.ready_timeout, check=lambda port: httpclient.probe(port, b"Hello x")["ok"]):
            raise SystemExit("%s→%s not ready:\nA: %s\nB: %s" % (a_kind, b_kind, a.tail(), b.tail()))
        wrk.run_wrk(ctx, aport, conns, 2)  # warm-up
        procfs.wait_quiet(ctx.quiet_wait)
        bmeter = procfs.CpuMeter(b.pid)
        r = wrk.measure(ctx, a, aport, conns, duration)
        bcpu = bmeter.stop(r["duration_us"] / 1e6 if r else None)
        if r is None:
            raise SystemExit("wrk failed")
        r["b_cpu_pct"] = bcpu["server_cpu_pct"]
        r["b_per_core"] = r["rps"] * 100.0 / r["b_cpu_pct"] if r["b_cpu_pct"] else None
        r["errors"] = r["status"] + r["connect"] + r["timeout"]  # uWSGI closes after each response: wrk counts "read" errors
        return r


def b_alone(ctx, kind, conns, duration):
    """B on the server cpu, bench/rpc_load.py (our client) on the other: B's CPU per call."""
    import json
    import subprocess

    bport = ctx.alloc_port()
    b_cmd = node_cmd(ctx, kind, bport, "bench/apps/rpc_b.py", "--socket")
    if b_cmd is None:
        return None
    node = "%s:%d" % (HOST, bport)
    load = ["taskset", "-c", servers.CLIENT_CPU, ctx.python, "bench/rpc_load.py", node, str(conns)]
    with servers.Server(ctx, "B-" + kind, b_cmd) as b:
        deadline = time.time() + ctx.ready_timeout
        while subprocess.run(load[:-1] + ["1", "0.2"], cwd=servers.REPO, capture_output=True, text=True).stdout.find('"calls": 0,') >= 0 or not b.alive():
            if time.time() > deadline or not b.alive():
                raise SystemExit("B (%s) not ready: %s" % (kind, b.tail()))
            time.sleep(0.1)
        subprocess.run(load + ["2"], cwd=servers.REPO, capture_output=True)  # warm-up
        procfs.wait_quiet(ctx.quiet_wait)
        meter = procfs.CpuMeter(b.pid)
        out = subprocess.run(load + [str(duration)], cwd=servers.REPO, capture_output=True, text=True,
                             timeout=duration + 30).stdout
        r = json.loads(out.strip().splitlines()[-1])
        cpu = meter.stop(r["seconds"], cores=(servers.SERVER_CPU, servers.CLIENT_CPU))
        r["rps"] = r["calls"] / r["seconds"]
        r["b_cpu_pct"] = cpu["server_cpu_pct"]
        r["foreign_cpu_pct"] = cpu["foreign_cpu_pct"]
        r["b_us_per_call"] = cpu["server_cpu_pct"] / 100.0 / r["rps"] * 1e6 if r["rps"] else None
        r["b_per_core"] = r["rps"] * 100.0 / cpu["server_cpu_pct"] if cpu["server_cpu_pct"] else None
        return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--conns", type=int, default=50)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--pairs", default="gateway-gateway,uwsgi-uwsgi,gateway-uwsgi",
                   help="comma-separated A-B topologies to run")
    p.add_argument("--b-alone", action="store_true",
                   help="instead: B alone (gateway, then uWSGI) driven by bench/rpc_load.py; B's CPU per call")
    servers.add_args(p)
    args = p.parse_args()
    if args.b_alone:
        ctx = servers.Ctx.from_args(args)
        rows, per = [], {}
        try:
            for run in range(args.runs):
                for kind in ("gateway", "uwsgi"):
                    r = b_alone(ctx, kind, args.conns, args.duration)
                    if r is None:
                        continue
                    per.setdefault(kind, []).append(r)
                    servers.log("run %d B=%s: %.0f calls/s, B cpu %.0f%% = %.1f us/call = %.0f calls/s per core, "
                                "errors %d, other processes %.0f%%" % (run + 1, kind, r["rps"], r["b_cpu_pct"],
                                r["b_us_per_call"] or 0, r["b_per_core"] or 0, r["errors"], r["foreign_cpu_pct"]))
        finally:
            ctx.cleanup()
        med = {k: report.med([r["b_per_core"] for r in v]) for k, v in per.items()}
        rows = [[k, report.fmt(report.med([r["rps"] for r in per[k]]), 0), report.fmt(med[k], 0)] for k in per]
        text = "\n".join(report.table(["B", "calls/s", "calls/s per core of B"], rows))
        if med.get("gateway") and med.get("uwsgi"):
            text += "\n\nB's RPC calls/s per core, gateway ÷ uWSGI: **%.2f×** (target ≥ 1.0)" % (med["gateway"] / med["uwsgi"])
        print(text)
        report.save(ctx.out_dir, "rpc-b", {"runs": per, "median": med}, text)
        return
    ctx = servers.Ctx.from_args(args)
    pairs = [tuple(x.split("-")) for x in args.pairs.split(",")]
    results = {pair: [] for pair in pairs}
    try:
        for run in range(args.runs):
            for pair in pairs:
                r = run_pair(ctx, pair[0], pair[1], args.conns, args.duration)
                if r is None:
                    servers.log("skipped %s→%s (uWSGI not built: bench/setup.sh)" % pair)
                    continue
                results[pair].append(r)
                servers.log("run %d %s→%s: %.0f req/s, A cpu %.0f%%, B cpu %.0f%%, B %.0f calls/s per core, errors %d, other processes %.0f%%, core busy %s/%s%%" % (
                    run + 1, pair[0], pair[1], r["rps"], r["server_cpu_pct"], r["b_cpu_pct"], r["b_per_core"] or 0,
                    r["errors"], r["foreign_cpu_pct"], r["core_server_busy_pct"], r["core_client_busy_pct"]))
                time.sleep(1)
    finally:
        ctx.cleanup()
    med = {pair: {k: report.med([r[k] for r in rs if r.get(k) is not None]) for k in ("rps", "server_cpu_pct", "b_cpu_pct", "b_per_core")}
           for pair, rs in results.items() if rs}
    rows = [["%s→%s" % pair, report.fmt(m["rps"], 0), report.fmt(m["server_cpu_pct"]), report.fmt(m["b_cpu_pct"]),
             report.fmt(m["b_per_core"], 0)] for pair, m in med.items()]
    text = "\n".join(report.table(["A→B", "req/s (= RPC calls/s)", "A cpu %", "B cpu %", "B calls/s per core"], rows))
    gg, uu, gu = (med.get(p) for p in (("gateway", "gateway"), ("uwsgi", "uwsgi"), ("gateway", "uwsgi")))
    if gg and uu:
        text += "\n\nHTTP→A→rpc→B, gateway ÷ uWSGI: **%.2f×** (target ≥ 1.5)" % (gg["rps"] / uu["rps"])
    if gg and gu and gg["b_per_core"] and gu["b_per_core"]:
        text += "\nB's RPC calls/s per core, gateway ÷ uWSGI (same gateway A): **%.2f×** (target ≥ 1.0)" % (
            gg["b_per_core"] / gu["b_per_core"])
    print(text)
    report.save(ctx.out_dir, "rpc", {"runs": {"%s-%s" % k: v for k, v in results.items()}, "median": {"%s-%s" % k: v for k, v in med.items()}}, text)


if __name__ == "__main__":
    main()
