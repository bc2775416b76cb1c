#!/usr/bin/env python3
"""Profile one server under wrk load with py-spy and print where its CPU time goes.

usage: bench/profile.sh SERVER MODE [--seconds 10] [--rate 200] [--native] [--nonblocking]
       bench/profile.sh SERVER MODE --cprofile [--seconds 10]

SERVER  a name from `bench/run.sh --list` (gateway, gateway-uvloop, uwsgi-tornado, tornado-raw, ...)
MODE    hello-ka | hello-close | stream | sleep

The server is started exactly as bench/run.py starts it (pinned to cpu 0); wrk loads it from cpu 1 as in the
benchmark, and `py-spy record --idle --format raw` samples it (also on cpu 1) for --seconds.  The report gives
the share of samples per function (self and inclusive) and per source file, and converts shares into CPU
microseconds per request (share of busy samples x server CPU time / requests served while sampling).
py-spy is installed by bench/setup.sh (or `bench/.venv/bin/pip install py-spy`).  Raw stacks are kept in
bench/results/profile-*.txt (feed them to flamegraph.pl or speedscope).

Caveat: py-spy attributes samples badly inside greenlets on CPython 3.11 (in blocking mode ~40 % of gateway's
samples come back with an empty stack and syscalls are over-represented; in non-blocking mode stacks are torn).
--cprofile is the reliable view for gateway: the server runs under `python -m cProfile`, wrk loads it for
--seconds, SIGINT stops it (the profile is written on the clean exit) and the report gives, per function, calls
per request and own time (tottime) per request.  cProfile inflates pure-Python time about 3x; C calls such as
socket.send keep their real cost.  Cumulative times are wrong across greenlet switches and are not shown.
"""

import argparse
import collections
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as harness  # noqa: E402  (bench/run.py: its servers and modes)
from lib.httpclient import wait_ready  # noqa: E402
from lib.procfs import CLK_TCK, cpu_ticks, proc_tree  # noqa: E402
from lib.servers import CLIENT_CPU, VENV, Ctx, Server  # noqa: E402
from lib.wrk import parse_wrkjson, run_wrk, wrk_cmd  # noqa: E402

FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def short_path(path):
    for marker in ("/site-packages/", "/lib/python3", "/work/main/"):
        i = path.find(marker)
        if i >= 0:
            rest = path[i + len(marker):]
            return rest.split("/", 1)[1] if marker == "/lib/python3" and "/" in rest else rest
    return path


def parse_frame(frame):
    m = FRAME_RE.match(frame)
    if not m:
        return frame, "?"
    return m.group("func"), short_path(m.group("file"))


def is_idle(frame):
    """A sample of the thread blocked in the poller (py-spy --idle keeps those)."""
    func, path = frame
    return path.endswith("selectors.py") and (func.endswith("select") or func.endswith("poll"))


def summarize(raw_path, top):
    stacks = collections.Counter()
    with open(raw_path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, n = line.rpartition(" ")
            try:
                stacks[stack] += int(n)
            except ValueError:
                continue
    total = sum(stacks.values())
    self_fn, incl_fn, self_file = collections.Counter(), collections.Counter(), collections.Counter()
    idle = 0
    for stack, n in stacks.items():
        frames = [parse_frame(fr) for fr in stack.split(";") if fr and not fr.startswith("process ")
                  and not fr.startswith("thread ")]
        if not frames:
            continue
        leaf = frames[-1]
        # py-spy --idle keeps samples of a thread blocked in the poller: count them apart
        if is_idle(leaf):
            idle += n
            continue
        self_fn[leaf] += n
        self_file[leaf[1]] += n
        for fr in set(frames):
            incl_fn[fr] += n
    return total, idle, self_fn, incl_fn, self_file


def run_cprofile(args):
    import pstats
    import signal

    ctx = Ctx(base_port=args.base_port, quiet_wait=5.0, noisy_retries=0, ready_timeout=30.0)
    scenario, conns, _, headers, wto = harness.MODES[args.mode]
    label, scen, builder, sig, _ = harness.SERVERS[args.server]
    if scenario not in scen:
        print("%s does not run scenario %s" % (args.server, scenario), file=sys.stderr)
        return 2
    port = ctx.alloc_port()
    cmd = builder(ctx, scenario, scenario, port)
    if cmd[0] != ctx.python:
        print("--cprofile needs a Python server (not %s)" % cmd[0], file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    prof = os.path.join(args.out, "cprofile-%s-%s-%s.prof" % (args.server, args.mode, stamp))
    cmd = [cmd[0], "-m", "cProfile", "-o", prof] + cmd[1:]
    srv = Server(ctx, args.server, cmd, signal.SIGINT)  # SIGINT: clean exit, so cProfile writes
    try:
        if not wait_ready(port, srv.proc, 30.0):
            print("server not ready:\n" + srv.tail(), file=sys.stderr)
            return 1
        wr = run_wrk(ctx, port, conns, args.seconds, headers, wto)
    finally:
        srv.stop()
    if not wr or not os.path.exists(prof):
        print("no profile written (did the server exit cleanly on SIGINT?)\n" + srv.tail(), file=sys.stderr)
        return 1
    nreq = wr["requests"] + 1  # + the readiness GET
    st = pstats.Stats(prof)
    rows = []
    idle = 0.0
    total = 0.0
    for (path, line, func), (_cc, nc, tt, _ct, _callers) in st.stats.items():
        name = "%s (%s:%d)" % (func, short_path(path), line) if path != "~" else func
        if func in ("<method 'poll' of 'select.epoll' objects>", "<method 'select' of 'select.epoll' objects>"):
            idle += tt
            continue
        total += tt
        rows.append((tt, nc, name))
    rows.sort(reverse=True)
    print("## cProfile: %s, %s  (%s)" % (args.server, args.mode, shlex.join(cmd)))
    print()
    print("wrk under cProfile: %.0f req/s for %d s, %d requests. Own time outside the poller: %.1f µs/request "
          "(profiled; about 3x the real pure-Python cost); waiting in epoll: %.2f s. Profile: %s" % (
              wr["rps"], args.seconds, nreq, 1e6 * total / nreq, idle, os.path.relpath(prof, os.getcwd())))
    print()
    print("| % own time | own µs/req | calls/req | function |")
    print("|---:|---:|---:|---|")
    for tt, nc, name in rows[:args.top]:
        print("| %.1f | %.2f | %.2f | %s |" % (100.0 * tt / total, 1e6 * tt / nreq, nc / nreq,
                                               name.replace("|", "\\|")))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("server", choices=list(harness.SERVERS))
    p.add_argument("mode", choices=list(harness.MODES))
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--native", action="store_true", help="py-spy --native (C frames too; slower)")
    p.add_argument("--nonblocking", action="store_true",
                   help="py-spy --nonblocking: no pause per sample, but about a third of the stacks come out torn")
    p.add_argument("--cprofile", action="store_true",
                   help="deterministic profile with cProfile instead of py-spy (python servers only)")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--base-port", type=int, default=19900)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    args = p.parse_args()

    pyspy = shutil.which("py-spy") or os.path.join(VENV, "bin", "py-spy")
    if args.cprofile:
        return run_cprofile(args)
    if not os.access(pyspy, os.X_OK):
        print("py-spy not found: bench/.venv/bin/pip install py-spy", file=sys.stderr)
        return 2

    ctx = Ctx(base_port=args.base_port, quiet_wait=5.0, noisy_retries=0, ready_timeout=20.0)
    scenario, conns, _, headers, wto = harness.MODES[args.mode]
    label, scen, builder, sig, _ = harness.SERVERS[args.server]
    if scenario not in scen:
        print("%s does not run scenario %s" % (args.server, scenario), file=sys.stderr)
        return 2
    port = ctx.alloc_port()
    cmd = builder(ctx, scenario, scenario, port)
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    raw = os.path.join(args.out, "profile-%s-%s-%s.txt" % (args.server, args.mode, stamp))
    srv = Server(ctx, args.server, cmd, sig)
    try:
        if not wait_ready(port, srv.proc, 20.0):
            print("server not ready:\n" + srv.tail(), file=sys.stderr)
            return 1
        run_wrk(ctx, port, 50, 1, headers, wto)  # warm-up
        wrk_secs = args.seconds + 3
        wcmd = wrk_cmd(ctx, port, conns, wrk_secs, headers, wto)
        wrk = subprocess.Popen(wcmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1.0)  # let the load settle
        tree = proc_tree(srv.pid)
        t0 = cpu_ticks(tree)
        pcmd = ["taskset", "-c", CLIENT_CPU, pyspy, "record", "--pid", str(srv.pid), "--rate",
                str(args.rate), "--duration", str(args.seconds), "--format", "raw", "--idle", "--output", raw]
        if args.native:
            pcmd.append("--native")
        if args.nonblocking:
            pcmd.append("--nonblocking")
        if len(tree) > 1:
            pcmd.append("--subprocesses")
        # requests per second: wrk's overall rate (wrk runs 1 s before and ~2 s after the sampling window)
        ps = subprocess.run(pcmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=args.seconds + 60)
        t1 = cpu_ticks(proc_tree(srv.pid))
        out, _ = wrk.communicate(timeout=wrk_secs + 30)
    finally:
        srv.stop()
    wr = parse_wrkjson(out)
    if ps.returncode != 0 or not os.path.exists(raw):
        print("py-spy failed:\n" + ps.stdout, file=sys.stderr)
        return 1
    total, idle, self_fn, incl_fn, self_file = summarize(raw, args.top)
    busy = max(1, total - idle)
    cpu_s = (t1 - t0) / CLK_TCK
    rps = wr["requests"] / (wr["duration_us"] / 1e6) if wr else None
    us_per_req = (cpu_s / args.seconds) / rps * 1e6 if rps else None
    print("## profile: %s, %s  (%s)" % (args.server, args.mode, shlex.join(cmd)))
    print()
    print("wrk: %s req/s over %d s (with py-spy %s attached); server CPU while sampling: %.0f %%; "
          "CPU per request: %s µs" % (
              "%.0f" % rps if rps else "?", wrk_secs, "non-blocking" if args.nonblocking else "blocking",
              100.0 * cpu_s / args.seconds, "%.1f" % us_per_req if us_per_req else "?"))
    print("samples: %d total, %d idle in the poller (%.1f %%), %d busy. Raw stacks: %s" % (
        total, idle, 100.0 * idle / max(1, total), busy, os.path.relpath(raw, os.getcwd())))

    def table(title, counter, n, key_fmt):
        print()
        print("### %s" % title)
        print()
        print("| %% busy | µs/req | %s |" % ("function (file)" if key_fmt else "file"))
        print("|---:|---:|---|")
        for k, c in counter.most_common(n):
            share = c / busy
            name = "%s (%s)" % k if key_fmt else k
            print("| %.1f | %s | %s |" % (100 * share, "%.1f" % (share * us_per_req) if us_per_req else "-",
                                          name.replace("|", "\\|")))

    table("self time by function (top %d)" % args.top, self_fn, args.top, True)
    # frames on (nearly) every busy stack are the run loop's outer frames: leave them out
    inner = collections.Counter({k: v for k, v in incl_fn.items() if v < 0.97 * busy})
    table("inclusive time by function (top %d; frames on >97 %% of busy stacks left out)" % args.top,
          inner, args.top, True)
    table("self time by file (top 15)", self_file, 15, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
