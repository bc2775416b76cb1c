"""Master/workers benchmark: gateway vs real uWSGI with the same process options, in one run.

::

    BENCH_VENV=/work/main/bench/.venv python bench/process_bench.py --duration 8 --runs 3

Scenarios (servers not pinned: two workers use both cores; wrk is pinned to CLIENT_CPU):

* hello, keep-alive, c=50: ``--master --processes 2 --tornado 100 --greenlet`` for gateway and
  uWSGI, plus gateway's single worker (``--tornado 100 --greenlet``, no master);
* sync Flask, keep-alive, c=16: ``--master --processes 2 --threads 4`` for both;
* RSS of the master and of each worker (after the hello run), from /proc.

Prints a Markdown table (medians of ``--runs``) with the ratios the issue asks for.
"""

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from lib import httpclient, procfs, servers, wrk  # noqa: E402


def gateway(ctx, port, app, args):
    return [ctx.python, "-m", "gateway", "--http-socket", "127.0.0.1:%d" % port, "--wsgi-file", app,
            "--disable-logging", "--listen", "2048"] + args


def uwsgi(ctx, port, app, args):
    return [ctx.uwsgi, "--http-socket", "127.0.0.1:%d" % port, "--wsgi-file", app, "--disable-logging",
            "--listen", "2048", "--need-app"] + args


def _rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_one(ctx, name, cmd, path, conns, duration, expect):
    port = int(cmd[cmd.index("--http-socket") + 1].rsplit(":", 1)[1])
    with servers.Server(ctx, name, cmd, cpu=None) as srv:
        if not httpclient.wait_ready(port, srv.proc, ctx.ready_timeout):
            raise SystemExit("%s did not start:\n%s" % (name, srv.tail()))
        wrk.run_wrk(ctx, port, conns, 2, path=path)  # warm-up
        meter = procfs.CpuMeter(srv.pid)
        r = wrk.run_wrk(ctx, port, conns, duration, path=path)
        cpu = meter.stop(r["duration_us"] / 1e6, exclude=(ctx.client_pid,))
        rss = (_rss(srv.pid), [_rss(c) for c in procfs.proc_tree(srv.pid) if c != srv.pid])
        errors = sum(r.get(k, 0) for k in ("connect", "read", "write", "status", "timeout"))
        # CPU per request in µs (percent of one core / req/s * 1e4): the server tree's and wrk's.
        per_req = (cpu["server_cpu_pct"] * 1e4 / r["rps"], r["client_cpu_pct"] * 1e4 / r["rps"])
        return r["rps"], rss, errors, per_req


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    a = parser.parse_args()
    ctx = servers.Ctx(quiet_wait=0)
    hello = os.path.join(HERE, "apps", "hello.py")
    flask = os.path.join(HERE, "apps", "flask_hello.py")
    flask_path = servers.flask_pythonpath(ctx)
    async_opts = ["--tornado", "100", "--greenlet"]
    proc2 = ["--master", "--processes", "2"]
    scenarios = [
        ("hello gateway 2 workers", lambda p: gateway(ctx, p, hello, proc2 + async_opts), "/", 50),
        ("hello uWSGI 2 workers", lambda p: uwsgi(ctx, p, hello, proc2 + async_opts), "/", 50),
        ("hello gateway 1 worker", lambda p: gateway(ctx, p, hello, async_opts), "/", 50),
        ("flask gateway 2x4 threads", lambda p: gateway(ctx, p, flask, proc2 + ["--threads", "4"] + flask_path), "/", 16),
        ("flask uWSGI 2x4 threads", lambda p: uwsgi(ctx, p, flask, proc2 + ["--threads", "4"] + flask_path), "/", 16),
    ]
    results = {name: [] for name, _, _, _ in scenarios}
    rss = {}
    errors = {name: 0 for name, _, _, _ in scenarios}
    per_req = {name: [] for name, _, _, _ in scenarios}
    for run in range(a.runs):
        for name, make, path, conns in scenarios:  # interleaved: every run sees the same machine
            rps, r, err, cost = run_one(ctx, name, make(ctx.alloc_port()), path, conns, a.duration, None)
            results[name].append(rps)
            per_req[name].append(cost)
            rss[name] = r
            errors[name] += err
            print("run %d %-28s %9.0f req/s  errors %d" % (run + 1, name, rps, err), file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    print("| scenario | req/s (median of %d) | errors | master RSS MB | worker RSS MB |" % a.runs)
    print("|---|---:|---:|---:|---|")
    for name in results:
        m, w = rss[name]
        print("| %s | %.0f | %d | %.1f | %s |" % (name, med[name], errors[name], m, ", ".join("%.1f" % x for x in w)))
    print()
    print("hello 2 workers: gateway / uWSGI = %.2f (target >= 1.5); gateway 2 workers / 1 worker = %.2f (target >= 1.7)"
          % (med["hello gateway 2 workers"] / med["hello uWSGI 2 workers"],
             med["hello gateway 2 workers"] / med["hello gateway 1 worker"]))
    # The machine's ceiling for "2 workers / 1 worker": wrk runs on the same two cores, so with
    # s µs of server CPU and w µs of wrk CPU per request, two saturated cores give at most
    # 2 / (s + w) req/s against one worker's 1 / s: a ratio of 2 s / (s + w).
    s1 = statistics.median(c[0] for c in per_req["hello gateway 1 worker"])
    w1 = statistics.median(c[1] for c in per_req["hello gateway 1 worker"])
    ceiling = 2 * s1 / (s1 + w1)
    print("CPU per request, 1 worker: server %.1f us, wrk %.1f us -> this machine's ceiling for 2 workers / 1 worker "
          "= 2s/(s+w) = %.2f; measured %.2f = %.0f%% of it"
          % (s1, w1, ceiling, med["hello gateway 2 workers"] / med["hello gateway 1 worker"],
             100 * med["hello gateway 2 workers"] / med["hello gateway 1 worker"] / ceiling))
    print("flask --processes 2 --threads 4: gateway / uWSGI = %.2f (target >= 1.0)"
          % (med["flask gateway 2x4 threads"] / med["flask uWSGI 2x4 threads"]))


if __name__ == "__main__":
    main()
