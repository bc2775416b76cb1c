#!/usr/bin/env python3
"""gateway benchmark harness: gateway vs real uWSGI tornado mode vs raw Tornado, same apps, same run.

Each server runs as one fresh worker process pinned to one core (taskset -c 0); wrk -t1 runs pinned to the
other core (taskset -c 1).  Traffic stays on 127.0.0.1 and every load run is bounded (wrk -d plus a hard
subprocess timeout).  Run it through bench/run.sh (raises the fd limit, picks bench/.venv).  See
bench/README.md for what every number means.

Adapted from the team's anchors harness (shared/bench/anchors/bench.py).
"""

import argparse
import shlex
import signal
import statistics
import sys
import time

from lib import report
from lib.httpclient import probe, wait_ready
from lib.procfs import proc_tree
from lib.report import fmt, med
from lib.servers import CLIENT_CPU, SERVER_CPU, Ctx, Server, add_args, gateway_cmd, log, uwsgi_cmd
from lib.wrk import measure_retry, run_wrk

EXPECTED_BODY = {"hello": b"Hello, World!", "stream": b"onetwothree", "sleep": b"Hello, World!"}

# mode: (scenario, connections, seconds, request headers, wrk --timeout seconds)
MODES = {
    "hello-ka": ("hello", 50, 5, (), None),
    "hello-close": ("hello", 50, 5, ("Connection: close",), None),
    "stream": ("stream", 50, 5, (), None),
    "sleep": ("sleep", 1000, 10, (), 5),
}
SCENARIO_MODES = {"hello": ["hello-ka", "hello-close"], "stream": ["stream"], "sleep": ["sleep"]}
MODE_TITLES = {
    "hello-ka": "hello, keep-alive (wrk -t1 -c50 -d5s)",
    "hello-close": "hello, `Connection: close` request header (wrk -t1 -c50 -d5s)",
    "stream": "stream: WSGI generator yielding 3 chunks, no Content-Length (wrk -t1 -c50 -d5s, keep-alive)",
    "sleep": "sleep: 100 ms non-blocking wait (wrk -t1 -c1000 -d10s --timeout 5s; ideal = 1000 / 0.1 s = 10,000 req/s)",
}
SLEEP_S = 0.1


# --------------------------------------------------------------------------- servers

def gateway(cores_by_scenario, extra=()):
    """`python -m gateway` with the uWSGI-style flags; cores_by_scenario: scenario -> --tornado N."""
    def build(ctx, scenario, app, port):
        return gateway_cmd(ctx, port, "bench/apps/%s.py" % app, cores_by_scenario[scenario], extra)
    return build


def uwsgi(cores_by_scenario):
    def build(ctx, scenario, app, port):
        return uwsgi_cmd(ctx, port, "bench/apps/%s.py" % app, cores_by_scenario[scenario])
    return build


def peer(kind):
    def build(ctx, scenario, app, port):
        return [ctx.python, "bench/peers.py", kind, app, str(port)]
    return build


ALL3 = ("hello", "stream", "sleep")
CORES = {"hello": 100, "stream": 100, "sleep": 1000}   # the flags: --tornado 1000 for sleep only
CORES_100 = {"hello": 100, "stream": 100, "sleep": 100}

# name -> (label, scenarios, builder, stop signal, default?)
SERVERS = {
    "gateway": ("gateway --tornado 100 (1000 in sleep) --greenlet", ALL3, gateway(CORES), signal.SIGINT, True),
    "gateway-asyncio": ("gateway ... --loop asyncio", ALL3, gateway(CORES, ["--loop", "asyncio"]),
                        signal.SIGINT, True),
    "gateway-uvloop": ("gateway ... --loop uvloop", ALL3, gateway(CORES, ["--loop", "uvloop"]),
                       signal.SIGINT, True),
    "gateway-100": ("gateway --tornado 100 --greenlet (sleep)", ("sleep",), gateway(CORES_100), signal.SIGINT,
                    False),
    "uwsgi-tornado": ("uWSGI --tornado 100 --greenlet", ALL3, uwsgi(CORES_100), signal.SIGINT, True),
    "uwsgi-tornado-1k": ("uWSGI --tornado 1000 --greenlet", ("sleep",), uwsgi(CORES), signal.SIGINT, True),
    "tornado-raw": ("tornado RequestHandler (raw)", ALL3, peer("tornado-raw"), signal.SIGTERM, True),
    "tornado-wsgi": ("tornado WSGIContainer", ("hello", "stream"), peer("tornado-wsgi"), signal.SIGTERM, False),
}
ORDER = list(SERVERS)
GATEWAYS = [s for s in SERVERS if s.startswith("gateway")]


def uwsgi_ref(mode):
    """The uWSGI row a mode's ratios are taken against: same number of async cores as gateway."""
    return "uwsgi-tornado-1k" if mode == "sleep" else "uwsgi-tornado"


# --------------------------------------------------------------------------- scenarios

def run_scenario(ctx, scenario, servers, runs, results, dur_scale):
    todo = [s for s in servers if scenario in SERVERS[s][1]]
    for run in range(runs):
        for name in todo:
            label, _, builder, sig, _ = SERVERS[name]
            for mode in SCENARIO_MODES[scenario]:
                _, conns, dur, headers, wto = MODES[mode]
                dur = max(1, int(round(dur * dur_scale)))
                base = {"scenario": scenario, "mode": mode, "server": name, "run": run}
                port = ctx.alloc_port()
                cmd = builder(ctx, scenario, scenario, port)
                if cmd is None:
                    log("  skip %s: tool not found" % name)
                    results.append(dict(base, error="tool not found"))
                    continue
                srv = Server(ctx, name, cmd, sig)  # fresh process for every measured run
                try:
                    ready = wait_ready(port, srv.proc, ctx.ready_timeout)
                    if not ready and srv.proc.poll() is not None:
                        # The checkout is shared with people editing it: an import error can be transient.
                        log("  %-12s %-18s run %d: exited at startup, trying once more in 5 s:\n%s" % (
                            mode, name, run, srv.tail(6)))
                        srv.stop()
                        time.sleep(5)
                        srv = Server(ctx, name, cmd, sig)
                        ready = wait_ready(port, srv.proc, ctx.ready_timeout)
                    if not ready:
                        log("  %-12s %-18s run %d: NOT READY (alive: %s); cmd: %s\n%s" % (
                            mode, name, run, srv.proc.poll() is None, shlex.join(cmd), srv.tail()))
                        results.append(dict(base, error="not ready", log_tail=srv.tail()))
                        continue
                    rss_start = srv.rss_kb()
                    chk = probe(port, EXPECTED_BODY[scenario])
                    if not chk["ok"]:
                        log("  %-12s %-18s run %d: bad response to a plain GET: %s" % (mode, name, run, chk))
                    # warm-up, not recorded (c=50 warms the code paths without leaving a backlog behind)
                    run_wrk(ctx, port, 50, 1, headers, wto)
                    time.sleep(0.3)
                    r = measure_retry(ctx, srv, port, conns, dur, headers, wto)
                    if r is None or srv.proc.poll() is not None:
                        log("  %-12s %-18s run %d: FAILED (server alive: %s)\n%s" % (
                            mode, name, run, srv.proc.poll() is None, srv.tail()))
                        results.append(dict(base, error="wrk failed or server died", log_tail=srv.tail()))
                        continue
                    r.update(base, cmd=shlex.join(cmd), probe=chk, rss_start_kb=rss_start, loop=srv.loop_name(),
                             hwm_kb=srv.hwm_kb(),
                             nprocs=len(proc_tree(srv.pid)))
                    results.append(r)
                    log("  %-12s %-18s run %d: %9.1f req/s  p50 %7.2f ms  p99 %8.2f ms  err c/r/w/t %d/%d/%d/%d  "
                        "non2xx %d  cpu srv %5.1f%% (sys %4.1f%%) wrk %5.1f%% other %5.1f%%  hwm %6.1f MB" % (
                            mode, name, run, r["rps"], r["lat_p50"] / 1000, r["lat_p99"] / 1000, r["connect"],
                            r["read"], r["write"], r["timeout"], r["status"], r["server_cpu_pct"], r["server_sys_pct"],
                            r["client_cpu_pct"], r["foreign_cpu_pct"], r["hwm_kb"] / 1024))
                finally:
                    srv.stop()
                time.sleep(0.3)


# --------------------------------------------------------------------------- reporting

def aggregate(results):
    groups = {}
    for r in results:
        groups.setdefault((r["mode"], r["server"]), []).append(r)
    agg = {}
    for key, rs in groups.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            agg[key] = {"failed": len(rs), "error": rs[-1]["error"]}
            continue
        rps = [r["rps"] for r in ok]
        m = statistics.median(rps)
        a = {"rps": m, "runs": rps, "failed": len(rs) - len(ok),
             "spread_pct": round(100.0 * (max(rps) - min(rps)) / m, 1) if m else None}
        for k in ("lat_p50", "lat_p99", "status", "connect", "read", "write", "timeout", "server_cpu_pct",
                  "server_sys_pct",
                  "client_cpu_pct", "foreign_cpu_pct", "hwm_kb", "rss_start_kb", "requests"):
            a[k] = med([r.get(k) for r in ok])
        a["cpu_us_per_req"] = (a["server_cpu_pct"] / 100.0 / m * 1e6) if m and a["server_cpu_pct"] else None
        a["sys_us_per_req"] = (a["server_sys_pct"] / 100.0 / m * 1e6) if m and a["server_sys_pct"] is not None else None
        # req/s per core of server CPU: robust to the server being preempted by other processes on its core
        a["rps_per_core"] = med([r["rps"] * 100.0 / r["server_cpu_pct"] for r in ok if r.get("server_cpu_pct")])
        a["loop"] = ok[0].get("loop")
        probes = [r["probe"] for r in ok]
        a["probe_ok"] = all(p.get("ok") for p in probes)
        a["keepalive"] = probes[0].get("keepalive")
        a["framing"] = probes[0].get("framing")
        agg[key] = a
    return agg


def ratio(agg, mode, a, b, key="rps"):
    x = agg.get((mode, a), {}).get(key)
    y = agg.get((mode, b), {}).get(key)
    return x / y if x and y else None


def render_tables(agg, servers):
    lines = []
    for mode in MODES:
        rows = [(s, agg[(mode, s)]) for s in ORDER if s in servers and (mode, s) in agg]
        if not rows:
            continue
        uref = uwsgi_ref(mode)
        lines += ["", "### %s" % MODE_TITLES[mode], ""]
        cols = ["server", "req/s (median)", "runs", "p50 ms", "p99 ms", "non-2xx", "sock err c/r/w/t",
                "srv CPU %", "wrk CPU %", "other CPU %", "CPU µs/req (kernel)", "req/s per srv core", "peak RSS MB",
                "check", "÷ %s" % uref, "÷ tornado-raw", "per core ÷ %s" % uref, "per core ÷ tornado-raw"]
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|---|" + "|".join("---" if c in ("runs", "sock err c/r/w/t", "check") else "---:"
                                         for c in cols[1:]) + "|")
        for s, a in rows:
            label = SERVERS[s][0] + (" [%s]" % a["loop"] if a.get("loop") else "")
            label = "**%s**" % label if s == "gateway" else label
            if "rps" not in a:
                lines.append("| %s | FAILED: %s (%d runs) |" % (label, a["error"], a["failed"]) +
                             " |" * (len(cols) - 2))
                continue
            errs = "%d/%d/%d/%d" % tuple(int(a[k]) for k in ("connect", "read", "write", "timeout"))
            check = ("ok" if a["probe_ok"] else "BAD BODY") + ", " + (a["framing"] or "?") + (
                ", KA" if a["keepalive"] else ", no KA")
            vals = [label, fmt(a["rps"]), " / ".join(fmt(x, 0) for x in a["runs"]) +
                    (" (+%d failed)" % a["failed"] if a["failed"] else ""),
                    fmt(a["lat_p50"] / 1000, 2), fmt(a["lat_p99"] / 1000, 2), str(int(a["status"])), errs,
                    fmt(a["server_cpu_pct"]), fmt(a["client_cpu_pct"]), fmt(a["foreign_cpu_pct"]),
                    "%s (%s)" % (fmt(a["cpu_us_per_req"], 0), fmt(a["sys_us_per_req"], 0)), fmt(a["rps_per_core"], 0),
                    fmt(a["hwm_kb"] / 1024 if a["hwm_kb"] else None), check,
                    fmt(ratio(agg, mode, s, uref), 2), fmt(ratio(agg, mode, s, "tornado-raw"), 2),
                    fmt(ratio(agg, mode, s, uref, "rps_per_core"), 2),
                    fmt(ratio(agg, mode, s, "tornado-raw", "rps_per_core"), 2)]
            lines.append("| " + " | ".join(vals) + " |")
    return lines


def verdicts(agg, servers):
    """One line per (target, gateway variant) that the run has data for."""
    lines = ["", "### Targets", ""]
    gws = [g for g in GATEWAYS if g in servers]

    def verdict(ok):
        return "n/a (missing data)" if ok is None else "**met**" if ok else "**NOT met**"

    for g in gws:
        name = SERVERS[g][0] if g != "gateway" else "gateway"
        lp = agg.get(("hello-ka", g), {}).get("loop") or agg.get(("sleep", g), {}).get("loop")
        if lp:
            name += " [%s]" % lp
        for ref, refname, target in (("uwsgi-tornado", "uWSGI --tornado 100", 1.5),
                                     ("tornado-raw", "raw Tornado RequestHandler", 2.0)):
            if ("hello-ka", g) not in agg:
                continue
            r = ratio(agg, "hello-ka", g, ref)
            rc = ratio(agg, "hello-ka", g, ref, "rps_per_core")
            lines.append("- hello keep-alive, %s ÷ %s ≥ %.1f: %s → %s  (per server core: %s)" % (
                name, refname, target, fmt(r, 2), verdict(None if r is None else r >= target), fmt(rc, 2)))
        sl = agg.get(("sleep", g), {})
        if ("sleep", g) in agg:
            ideal = MODES["sleep"][1] / SLEEP_S
            rps = sl.get("rps")
            lines.append("- sleep c=1000, %s ≥ 90 %% of ideal %d req/s (≥ %d): %s (%s %% of ideal) → %s" % (
                name, ideal, 0.9 * ideal, fmt(rps), fmt(rps / ideal * 100 if rps else None, 1),
                verdict(None if rps is None else rps >= 0.9 * ideal)))
            mine = sl.get("hwm_kb")
            theirs = agg.get(("sleep", "uwsgi-tornado-1k"), {}).get("hwm_kb")
            lines.append("- sleep c=1000, %s peak RSS ≤ uWSGI --tornado 1000's: %s MB vs %s MB → %s" % (
                name, fmt(mine / 1024 if mine else None), fmt(theirs / 1024 if theirs else None),
                verdict(None if not (mine and theirs) else mine <= theirs)))
    if not gws:
        lines.append("- no gateway server in this run: no verdicts")
    lines.append("")
    lines.append("Noise: on this 2-vCPU VM treat differences under ~20 % as noise; ratios of 1.5× or more are solid "
                 "(shared/reference/perf-anchors.md).")
    return lines


# --------------------------------------------------------------------------- main

DEFAULT_SCENARIOS = ["hello", "stream", "sleep"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                   help="comma list of: %s (default: all)" % ",".join(DEFAULT_SCENARIOS))
    p.add_argument("--servers", default="default",
                   help="'default', 'all', or a comma list of: %s (default: %s)" % (
                       ",".join(SERVERS), ",".join(s for s in SERVERS if SERVERS[s][4])))
    p.add_argument("--runs", type=int, default=1, help="runs per server and mode (fresh process each); median shown")
    p.add_argument("--duration-scale", type=float, default=1.0, help="scale wrk durations (smoke test: 0.2)")
    add_args(p)  # --base-port, --out, --quiet-wait, --noisy-*, --ready-timeout, --keep-logs
    p.add_argument("--list", action="store_true", help="list servers and exit")
    args = p.parse_args()

    if args.list:
        for n, (label, scen, _, _, dflt) in SERVERS.items():
            print("%-17s %-42s %-20s %s" % (n, label, ",".join(scen), "" if dflt else "(extra)"))
        return 0

    ctx = Ctx.from_args(args)
    if not ctx.wrk:
        log("wrk not found (install it or set WRK)")
        return 2
    if not ctx.uwsgi:
        log("warning: uwsgi not found (run bench/setup.sh); the uwsgi-* servers will be skipped")
    scenarios = [s for s in args.scenarios.split(",") if s]
    servers = []
    for s in args.servers.split(","):
        if s == "default":
            servers += [n for n in SERVERS if SERVERS[n][4]]
        elif s == "all":
            servers += list(SERVERS)
        elif s:
            servers.append(s)
    servers = list(dict.fromkeys(servers))
    unknown = [s for s in servers if s not in SERVERS] + [s for s in scenarios if s not in DEFAULT_SCENARIOS]
    if unknown:
        log("unknown: %s (see --list)" % ", ".join(unknown))
        return 2

    command = "bench/run.sh " + shlex.join(sys.argv[1:])
    meta = report.machine_meta(command)
    load0 = meta["loadavg_start"]
    meta.update(runs=args.runs, scenarios=scenarios, servers=servers, duration_scale=args.duration_scale,
                versions=report.versions(ctx))
    log("bench: %s  (server cpu %s, wrk cpu %s, loadavg %s)" % (command, SERVER_CPU, CLIENT_CPU, " ".join(load0)))
    if meta["fd_limit"] < 4096:
        log("warning: fd limit %d is too low for c=1000 (use bench/run.sh)" % meta["fd_limit"])

    t_start = time.time()
    results = []
    try:
        for sc in scenarios:
            log("== scenario %s" % sc)
            run_scenario(ctx, sc, servers, args.runs, results, args.duration_scale)
    except KeyboardInterrupt:
        log("interrupted: reporting what was measured")
    meta["elapsed_s"] = round(time.time() - t_start, 1)
    meta["loadavg_end"] = report.loadavg()

    agg = aggregate(results)
    header = ["## gateway bench %s" % meta["started"], "",
              "`%s`: runs=%d, server on cpu %s, wrk on cpu %s, elapsed %.0f s, loadavg %s → %s, gateway commit %s, uWSGI %s" % (
                  command, args.runs, SERVER_CPU, CLIENT_CPU, meta["elapsed_s"], " ".join(load0),
                  " ".join(meta["loadavg_end"]), meta["versions"].get("gateway_commit", "?"),
                  meta["versions"].get("uwsgi", "?").replace("\n", " "))]
    text = "\n".join(header + render_tables(agg, servers) + verdicts(agg, servers))
    print(text)

    report.save(args.out, "bench", {"meta": meta, "results": results,
                                    "aggregate": [dict(mode=k[0], server=k[1], **v) for k, v in agg.items()]}, text)
    ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
