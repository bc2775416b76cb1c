#!/usr/bin/env python3
"""The HTTP router's cost: ``--http`` (router + one worker) against ``--http-socket`` alone and uWSGI ``--http``.

Three servers on the same app, measured in the same run, each with one worker ``--tornado 100 --greenlet``:

* ``gateway --http-socket``: the worker speaks HTTP itself (the baseline);
* ``gateway --http``: our router process in front of one worker, over the internal uwsgi socket;
* ``uwsgi --http --http-keepalive``: real uWSGI 2.0.31's C router in front of one tornado worker.

Placement: the worker is pinned to ``SERVER_CPU`` as in ``run.py``; a router process (ours or uWSGI's
"uWSGI http 1") is moved to ``CLIENT_CPU``, where it shares the core with ``wrk -t1``: on two cores the
router cannot have a core of its own, and both routers get the same deal.  (``--router-cpu server``
puts the router on the worker's core instead; ``--router-cpu free`` lets the OS place every server
process, the router and the worker as well as ``--http-socket``'s, on either core, wrk staying on its own.)

With the router on wrk's core, that core is the ceiling: ``1 / (router µs + wrk µs)`` requests per
second however fast the worker is; the CPU table prints both figures and that ceiling, so a ratio
under the target can be told apart from a router that got slower.

Targets (issue 6): our router costs at most 35 % of the throughput of ``--http-socket`` alone
(``http ÷ http-socket ≥ 0.65``), and ``gateway --http ÷ uwsgi --http ≥ 1.3``.

``--app hello`` (the default, ``bench/apps/hello.py``) is the router's worst case: the worker does
almost nothing, so the router's own CPU is most of a request's.  ``--app flask``
(``bench/apps/flask_hello.py``, a JSON view; ``FLASK_SITE`` as for ``process_bench.py`` when the
bench venv lacks Flask) is a small real app: there the worker is the limit, and the ratio shows
what the router costs an application that does some work.

    bench/.venv/bin/python bench/router_bench.py --runs 3 [--app flask]
"""

import argparse
import os
import re
import sys
import time

from lib import report
from lib.httpclient import probe, wait_ready
from lib.procfs import CLK_TCK, cpu_ticks, proc_tree
from lib.report import fmt, med
from lib.servers import CLIENT_CPU, SERVER_CPU, Ctx, Server, add_args, flask_pythonpath, log
from lib.wrk import measure_retry

#: --app: the WSGI file and the body it answers ``GET /`` with
APPS = {
    "hello": ("bench/apps/hello.py", b"Hello, World!"),
    "flask": ("bench/apps/flask_hello.py", b'{"items":[0,1,2,3,4,5,6,7,8,9],"message":"hello"}\n'),
}
MODES = {
    "keep-alive": ("/", ()),
    "close": ("/", ("Connection: close",)),
}


def commands(ctx, port, app="bench/apps/hello.py", extra=()):
    gw = [ctx.python, "-m", "gateway", "--wsgi-file", app, "--tornado", "100", "--greenlet", "--disable-logging",
          "--listen", "2048"] + list(extra)
    out = {
        "gateway --http-socket": (gw + ["--http-socket", "127.0.0.1:%d" % port], None),
        "gateway --http": (gw + ["--http", "127.0.0.1:%d" % port], rb"gateway router ready: pid=(\d+)"),
    }
    if ctx.uwsgi:
        out["uwsgi --http"] = ([ctx.uwsgi, "--http", "127.0.0.1:%d" % port, "--http-keepalive", "--wsgi-file", app,
                                "--tornado", "100", "--greenlet", "--disable-logging", "--listen", "2048",
                                "--need-app"] + list(extra), rb"spawned uWSGI http 1 \(pid: (\d+)\)")
    return out


def router_pid(srv, pattern, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        with open(srv.log_path, "rb") as f:
            m = re.search(pattern, f.read())
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    return None


def run_one(ctx, name, cmd, pattern, args):
    port = int(cmd[cmd.index("--http" if "--http" in cmd else "--http-socket") + 1].rsplit(":", 1)[1])
    results = {}
    with Server(ctx, name, cmd) as srv:
        if not wait_ready(port, srv.proc, ctx.ready_timeout):
            log("  %s did not start:\n%s" % (name, srv.tail()))
            return None
        rpid = None
        if pattern is not None:
            rpid = router_pid(srv, pattern)
            if rpid is None:
                log("  %s: router pid not found in its log" % name)
                return None
        if args.router_cpu == "free":
            for pid in proc_tree(srv.pid):
                os.sched_setaffinity(pid, {int(SERVER_CPU), int(CLIENT_CPU)})
        elif rpid is not None:
            cpu = CLIENT_CPU if args.router_cpu == "client" else SERVER_CPU
            os.sched_setaffinity(rpid, {int(cpu)})
            log("  %s: router pid %d on cpu %s, worker(s) on cpu %s" % (name, rpid, cpu, SERVER_CPU))
        check = probe(port, APPS[args.app][1])
        if not check.get("ok"):
            log("  %s: wrong answer %r" % (name, check))
            return None
        for mode, (path, headers) in MODES.items():
            t0 = cpu_ticks([rpid]) if rpid is not None else 0
            r = measure_retry(ctx, srv, port, args.conns, args.duration, headers, path=path)
            if r is not None and rpid is not None:
                reqs = r["rps"] * r["duration_us"] / 1e6 * r.get("attempts", 1)
                r["router_us"] = (cpu_ticks([rpid]) - t0) / CLK_TCK / reqs * 1e6 if reqs else None
            if r is not None:
                # CPU of the whole tree (router + worker), not only the pid we started
                r["procs"] = len(proc_tree(srv.pid))
                results[mode] = r
                log("    %-12s %9.0f req/s  errors %s" % (mode, r["rps"], r.get("errors", {})))
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_args(p)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--conns", type=int, default=50)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--router-cpu", choices=("client", "server", "free"), default="client")
    p.add_argument("--app", choices=sorted(APPS), default="hello", help="the WSGI app every server runs")
    args = p.parse_args()
    ctx = Ctx.from_args(args)
    app = APPS[args.app][0]
    extra = flask_pythonpath(ctx) if args.app == "flask" else []
    runs = {}
    for i in range(args.runs):
        log("run %d/%d" % (i + 1, args.runs))
        for name, (cmd, pattern) in commands(ctx, ctx.alloc_port(), app, extra).items():
            log("  %s" % name)
            res = run_one(ctx, name, cmd, pattern, args)
            for mode, r in (res or {}).items():
                runs.setdefault((name, mode), []).append(r)
    names = list(commands(ctx, 1))
    rows = []
    cpu_rows = []
    ceilings = []
    agg = {}
    for mode in MODES:
        cpu = {}
        for name in names:
            rs = runs.get((name, mode), [])
            agg[(name, mode)] = med([r["rps"] for r in rs])
            # CPU of the whole process tree (router + worker) per request: steadier than req/s on a
            # shared machine, since it does not depend on how long the processes waited for a core
            cpu[name] = med([1e6 * r["server_cpu_pct"] / 100.0 / r["rps"] for r in rs if r.get("rps")])
        base, ours, theirs = (agg.get((n, mode)) for n in ("gateway --http-socket", "gateway --http", "uwsgi --http"))
        rows.append([mode, fmt(base, 0), fmt(ours, 0), fmt(theirs, 0),
                     fmt(ours / base, 2) if ours and base else "-",
                     fmt(ours / theirs, 2) if ours and theirs else "-"])
        wrk_us = med([1e6 * r["client_cpu_pct"] / 100.0 / r["rps"] for n in names for r in runs.get((n, mode), [])
                      if r.get("rps") and r.get("client_cpu_pct") is not None])
        router_us = {n: med([r["router_us"] for r in runs.get((n, mode), []) if r.get("router_us")]) for n in names}
        cpu_rows.append([mode] + [fmt(cpu.get(n), 0) for n in names]
                        + [fmt(router_us.get("gateway --http"), 0), fmt(router_us.get("uwsgi --http"), 0), fmt(wrk_us, 1)])
        if args.router_cpu == "client" and router_us.get("gateway --http") and wrk_us:
            ceilings.append("%s: 1e6 / (%.0f + %.0f) = %.0f req/s, %.2f of --http-socket" % (
                mode, router_us["gateway --http"], wrk_us, 1e6 / (router_us["gateway --http"] + wrk_us),
                1e6 / (router_us["gateway --http"] + wrk_us) / base if base else 0))
    lines = report.table(["mode", "gateway --http-socket", "gateway --http", "uwsgi --http",
                          "http ÷ http-socket (≥ 0.65)", "http ÷ uwsgi --http (≥ 1.3)"], rows, left=["mode"])
    lines += ["", "CPU µs per request, all processes of the server (router + worker):", ""]
    lines += report.table(["mode"] + names + ["our router alone", "uWSGI's router alone", "wrk"], cpu_rows,
                          left=["mode"])
    if ceilings:
        lines += ["", "Our router shares wrk's core, which caps it at 1e6 / (router µs + wrk µs) req/s:", ""]
        lines += ["* " + c for c in ceilings]
    where = {"client": "cpu %s (with wrk)" % CLIENT_CPU, "server": "cpu %s (with the worker)" % SERVER_CPU,
             "free": "any core (the OS places the server processes)"}[args.router_cpu]
    text = "\n".join(["# router bench, app %s (medians of %d runs, req/s; router on %s)" % (args.app, args.runs, where),
                      ""] + lines)
    print(text)
    data = {"meta": report.machine_meta(" ".join(sys.argv)), "runs": {"%s|%s" % k: v for k, v in runs.items()}}
    path = report.save(ctx.out_dir, "router", data, text)
    log("saved %s" % path)


if __name__ == "__main__":
    main()
