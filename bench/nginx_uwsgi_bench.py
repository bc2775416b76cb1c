#!/usr/bin/env python3
"""Hello world through nginx ``uwsgi_pass``: gateway ``--socket`` against real uWSGI ``--socket``.

One nginx (Debian's, ``worker_processes 1``, own prefix in the bench's temp dir) with one
location per backend and transport, ``/gw-tcp/`` → gateway and ``/uw-tcp/`` → uWSGI over
``uwsgi_pass 127.0.0.1:PORT``, ``/gw-unix/`` and ``/uw-unix/`` over ``uwsgi_pass unix:PATH``
(``--transport tcp|unix|both``, default both), all ``include uwsgi_params``; the backends run the
same ``bench/apps/hello.py`` with ``--tornado 100 --greenlet --disable-logging --listen 2048``,
each a fresh process per run and transport, measured one after the other **behind the same
nginx in the same run**.

Placement on the 2-core VM: the backend is pinned to ``SERVER_CPU``; nginx's master and
worker share ``CLIENT_CPU`` with ``wrk -t1 -c50`` (keep-alive to nginx; nginx opens a
new uwsgi connection per request, as it always does for uwsgi upstreams).  Both
backends get the same deal.  nginx's CPU is "other processes" to the harness, so the
noisy-machine retry is off by default here (``--noisy-retries``).

Why both transports: a loopback TCP connection per request costs nginx about twice what a
UNIX one does (connect, handshake, close), so over TCP nginx's core is usually the bottleneck
and the ratio compares nginx's luck more than the backends; over UNIX sockets (what most
nginx + uWSGI deployments use) nginx leaves enough room for the backend to be the limit.

Target (issue 6): gateway ÷ uWSGI ≥ 1.5.  Also printed: the backend's CPU per request (µs,
from /proc), which does not depend on whether nginx's core or the backend's is the bottleneck.
nginx's own CPU per request is measured too, and with wrk's it gives that core's ceiling
(``1 / (nginx µs + wrk µs)``) and the best ratio any backend could show in this placement.

    bench/.venv/bin/python bench/nginx_uwsgi_bench.py --runs 3
"""

import argparse
import os
import signal
import sys

from lib import report
from lib.httpclient import request, wait_ready
from lib.procfs import CLK_TCK, cpu_ticks, proc_tree
from lib.report import fmt, med
from lib.servers import CLIENT_CPU, SERVER_CPU, Ctx, Server, add_args, gateway_cmd, log, uwsgi_cmd
from lib.wrk import measure_retry

APP = "bench/apps/hello.py"
BODY = b"Hello, World!"
UWSGI_PARAMS = "\n".join("uwsgi_param %s $%s;" % kv for kv in (
    ("QUERY_STRING", "query_string"), ("REQUEST_METHOD", "request_method"), ("CONTENT_TYPE", "content_type"),
    ("CONTENT_LENGTH", "content_length"), ("REQUEST_URI", "request_uri"), ("PATH_INFO", "document_uri"),
    ("DOCUMENT_ROOT", "document_root"), ("SERVER_PROTOCOL", "server_protocol"), ("REQUEST_SCHEME", "scheme"),
    ("REMOTE_ADDR", "remote_addr"), ("REMOTE_PORT", "remote_port"), ("SERVER_PORT", "server_port"),
    ("SERVER_NAME", "server_name"))) + "\nuwsgi_param HTTPS $https if_not_empty;\n"

NGINX_CONF = """
worker_processes 1;
daemon off;
pid %(prefix)s/nginx.pid;
error_log %(prefix)s/error.log warn;
%(user)s
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %(prefix)s/body;
    uwsgi_temp_path %(prefix)s/uwsgi;
    proxy_temp_path %(prefix)s/proxy;
    fastcgi_temp_path %(prefix)s/fastcgi;
    scgi_temp_path %(prefix)s/scgi;
    server {
        listen 127.0.0.1:%(port)d backlog=2048;
%(locations)s
    }
}
"""


def start_nginx(ctx, port, locations):
    """nginx on ``port`` with ``location PATH { uwsgi_pass TARGET; }`` for each ``(path, target)``."""
    prefix = os.path.join(ctx.tmp, "nginx-%d" % port)
    os.makedirs(prefix, exist_ok=True)
    with open(os.path.join(prefix, "uwsgi_params"), "w") as f:
        f.write(UWSGI_PARAMS)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF % {"prefix": prefix, "port": port,
                              "locations": "\n".join("        location %s { include uwsgi_params; uwsgi_pass %s; }" % pt
                                                     for pt in locations),
                              "user": "user root root;" if os.geteuid() == 0 else ""})
    cmd = [ctx.nginx, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log")]
    return Server(ctx, "nginx", cmd, stop_sig=signal.SIGQUIT, cpu=CLIENT_CPU)


def path_ok(path):
    def check(port):
        try:
            status, _, body = request(port, path, timeout=2)
        except (OSError, EOFError, ValueError):
            return False
        return " 200 " in status + " " and body == BODY
    return check


def backend_address(ctx, transport, name):
    """``(nginx's uwsgi_pass target, the backend's --socket value)`` for one backend."""
    if transport == "unix":
        path = os.path.join(ctx.tmp, "%s-%d.sock" % (name, ctx.alloc_port()))
        return "unix:" + path, path
    port = ctx.alloc_port()
    return "127.0.0.1:%d" % port, "127.0.0.1:%d" % port


def summarize(args, transport, runs):
    """The report's lines for one transport: the table row and nginx's ceiling."""
    def med_of(name, value):
        return med([v for v in (value(r) for r in runs.get(name, [])) if v is not None])

    def us_per_request(r):
        return r["server_cpu_pct"] * 1e4 / r["rps"] if r.get("rps") else None

    def wrk_us(r):
        return r["client_cpu_pct"] * 1e4 / r["rps"] if r.get("rps") and r.get("client_cpu_pct") is not None else None

    gw_rps, uw_rps = med_of("gateway", lambda r: r["rps"]), med_of("uwsgi", lambda r: r["rps"])
    ratios = [g["rps"] / u["rps"] for g, u in zip(runs.get("gateway", []), runs.get("uwsgi", []))]
    gw_us, uw_us = med_of("gateway", us_per_request), med_of("uwsgi", us_per_request)
    row = ["%s, keep-alive to nginx, c=%d" % (transport, args.conns), fmt(gw_rps, 0), fmt(uw_rps, 0),
           fmt(med(ratios), 2) if ratios else "-", " ".join("%.2f" % r for r in ratios),
           fmt(gw_us, 0), fmt(uw_us, 0), fmt(uw_us / gw_us, 2) if gw_us and uw_us else "-"]
    ceiling = []
    for name in ("gateway", "uwsgi"):
        n_us, w_us = med_of(name, lambda r: r.get("nginx_us")), med_of(name, wrk_us)
        if n_us and w_us:
            ceiling.append("%s, behind %s: nginx %.0f µs + wrk %.0f µs per request on cpu %s, a ceiling of %.0f req/s"
                           % (transport, name, n_us, w_us, CLIENT_CPU, 1e6 / (n_us + w_us)))
    n_us, w_us = med_of("gateway", lambda r: r.get("nginx_us")), med_of("gateway", wrk_us)
    if n_us and w_us and uw_rps:
        ceiling.append("%s: so the best gateway ÷ uWSGI this placement can show is about %.2f"
                       % (transport, 1e6 / (n_us + w_us) / uw_rps))
    return row, ceiling


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_args(p)
    p.set_defaults(noisy_retries=0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--conns", type=int, default=50)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--transport", choices=("tcp", "unix", "both"), default="both",
                   help="how nginx reaches the backends (default: both, one row each)")
    args = p.parse_args()
    ctx = Ctx.from_args(args)
    if not ctx.nginx or not ctx.uwsgi or not ctx.wrk:
        sys.exit("needs nginx, wrk and bench/.venv/bin/uwsgi (bench/setup.sh)")
    transports = ("tcp", "unix") if args.transport == "both" else (args.transport,)
    runs = {t: {} for t in transports}
    for i in range(args.runs):
        log("run %d/%d" % (i + 1, args.runs))
        nginx_port = ctx.alloc_port()
        backends = []
        for transport in transports:
            for name, build in (("gateway", gateway_cmd), ("uwsgi", uwsgi_cmd)):
                target, address = backend_address(ctx, transport, name)
                path = "/%s-%s/" % (name[:2], transport)
                backends.append((transport, name, path, target,
                                 build(ctx, 0, APP, 100, socket_opt="--socket", address=address)))
        with start_nginx(ctx, nginx_port, [(path, target) for _, _, path, target, _ in backends]) as ngx:
            for transport, name, path, _, cmd in backends:
                with Server(ctx, name, cmd) as srv:
                    if not wait_ready(nginx_port, srv.proc, ctx.ready_timeout, check=path_ok(path)):
                        log("  %s (%s) did not answer through nginx:\n%s\n%s" % (name, transport, srv.tail(), ngx.tail()))
                        continue
                    ngx_pids = proc_tree(ngx.pid)
                    t0 = cpu_ticks(ngx_pids)
                    r = measure_retry(ctx, srv, nginx_port, args.conns, args.duration, path=path)
                    if r is not None:
                        # nginx's CPU per request (all attempts if the run was measured again)
                        reqs = r["rps"] * r["duration_us"] / 1e6 * r.get("attempts", 1)
                        r["nginx_us"] = (cpu_ticks(ngx_pids) - t0) / CLK_TCK / reqs * 1e6 if reqs else None
                        runs[transport].setdefault(name, []).append(r)
                        log("  %-8s %-4s %9.0f req/s  errors %s  backend cpu %s%%" % (
                            name, transport, r["rps"], r.get("errors", {}), r.get("server_cpu_pct")))
    rows, ceiling = [], []
    for transport in transports:
        row, lines = summarize(args, transport, runs[transport])
        rows.append(row)
        ceiling += lines
    lines = report.table(["nginx → backend", "gateway --socket req/s", "uWSGI --socket req/s", "÷ uWSGI (≥ 1.5)",
                          "per run", "gateway CPU µs/req", "uWSGI CPU µs/req", "uWSGI µs ÷ gateway µs"], rows,
                         left=["nginx → backend"])
    if ceiling:
        lines += ["", "nginx's core (shared with wrk) caps every backend:"] + ["* " + c for c in ceiling]
    text = "\n".join(["# nginx uwsgi_pass bench (medians of %d runs, req/s; backend on cpu %s, nginx + wrk on cpu %s)"
                      % (args.runs, SERVER_CPU, CLIENT_CPU), ""] + lines)
    print(text)
    data = {"meta": report.machine_meta(" ".join(sys.argv)), "runs": runs}
    log("saved %s" % report.save(ctx.out_dir, "nginx-uwsgi", data, text))

if __name__ == "__main__":
    main()
