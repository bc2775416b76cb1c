#!/usr/bin/env python3
"""gateway benchmark harness: gateway vs real uWSGI tornado mode vs raw Tornado, same apps, same run.

Each server runs as one fresh worker process pinned to one core (taskset -c 0); wrk -t1 runs pinned to the
other core (taskset -c 1).  Traffic stays on 127.0.0.1 and every load run is bounded (wrk -d plus a hard
subprocess timeout).  Run it through bench/run.sh (raises the fd limit, picks bench/.venv).  See
bench/README.md for what every number means.

Adapted from the team's anchors harness (shared/bench/anchors/bench.py).
"""

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
HOST = "127.0.0.1"
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("CLIENT_CPU", "1")
CLK_TCK = os.sysconf("SC_CLK_TCK")
VENV = os.environ.get("BENCH_VENV") or os.path.join(HERE, ".venv")

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


# --------------------------------------------------------------------------- tools

def log(*a):
    print(*a, file=sys.stderr, flush=True)


def find_tool(name, env):
    path = os.environ.get(env)
    if path:
        return path
    venv_bin = os.path.join(VENV, "bin", name)
    if os.access(venv_bin, os.X_OK):
        return venv_bin
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


class Ctx:
    def __init__(self, args):
        venv_py = os.path.join(VENV, "bin", "python")
        self.python = os.environ.get("PYTHON") or (venv_py if os.access(venv_py, os.X_OK) else sys.executable)
        self.uwsgi = find_tool("uwsgi", "UWSGI")
        self.wrk = find_tool("wrk", "WRK")
        self.tmp = tempfile.mkdtemp(prefix="gateway-bench-")
        self.keep_logs = args.keep_logs
        self.next_port = args.base_port
        self.quiet_wait = args.quiet_wait
        self.noisy_threshold = args.noisy_threshold
        self.noisy_retries = args.noisy_retries
        self.ready_timeout = args.ready_timeout
        self.client_pid = -1


# --------------------------------------------------------------------------- servers

def gateway(cores_by_scenario, extra=()):
    """`python -m gateway` with the uWSGI-style flags; cores_by_scenario: scenario -> --tornado N."""
    def build(ctx, scenario, app, port):
        return [ctx.python, "-m", "gateway", "--http-socket", "%s:%d" % (HOST, port),
                "--wsgi-file", "bench/apps/%s.py" % app, "--tornado", str(cores_by_scenario[scenario]),
                "--greenlet", "--disable-logging", "--listen", "2048"] + list(extra)
    return build


def uwsgi(cores_by_scenario):
    def build(ctx, scenario, app, port):
        if not ctx.uwsgi:
            return None
        return [ctx.uwsgi, "--http-socket", "%s:%d" % (HOST, port), "--wsgi-file", "bench/apps/%s.py" % app,
                "--tornado", str(cores_by_scenario[scenario]), "--greenlet", "--disable-logging",
                "--listen", "2048", "--need-app"]
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


# --------------------------------------------------------------------------- /proc helpers

def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    kids = [int(x) for x in f.read().split()]
                out.extend(kids)
                todo.extend(kids)
        except OSError:
            pass
    return out


def proc_tree(pid):
    return [pid] + descendants(pid)


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pids, split=False):
    """utime+stime of the processes, in clock ticks; with split=True, (utime, stime)."""
    user = system = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except (OSError, IndexError):
            pass
    return (user, system) if split else user + system


def core_times():
    res = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                parts = line.split()
                vals = [int(x) for x in parts[1:]]
                res[parts[0]] = (sum(vals), vals[3] + vals[4])
    return res


def core_busy(before, after, cpu):
    key = "cpu%s" % cpu
    if key not in before or key not in after:
        return None
    dt = after[key][0] - before[key][0]
    di = after[key][1] - before[key][1]
    return round(100.0 * (dt - di) / dt, 1) if dt > 0 else None


def all_proc_ticks():
    """utime+stime of every user-space process (kernel threads excluded)."""
    res = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if d == "2" or rest[1] == "2":
            continue
        res[int(d)] = int(rest[11]) + int(rest[12])
    return res


def wait_quiet(max_wait, threshold=20.0):
    """Wait (bounded) until the machine is nearly idle: other engineers share it.  Returns seconds waited."""
    t0 = time.time()
    while time.time() - t0 < max_wait:
        c0 = core_times()
        time.sleep(0.5)
        c1 = core_times()
        if sum(core_busy(c0, c1, k[3:]) or 0 for k in c1) <= threshold:
            break
    return round(time.time() - t0, 1)


# --------------------------------------------------------------------------- ports / HTTP probes

def port_free(port):
    s = socket.socket()
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def alloc_port(ctx):
    while True:
        port = ctx.next_port
        ctx.next_port += 1
        if port_free(port):
            return port


class Reader:
    def __init__(self, sock):
        self.sock, self.buf, self.eof = sock, b"", False

    def fill(self):
        d = self.sock.recv(65536)
        if not d:
            self.eof = True
        self.buf += d
        return bool(d)

    def until(self, sep):
        while sep not in self.buf:
            if not self.fill():
                raise EOFError("closed before %r" % sep)
        head, self.buf = self.buf.split(sep, 1)
        return head

    def exactly(self, n):
        while len(self.buf) < n:
            if not self.fill():
                raise EOFError("closed with %d/%d bytes" % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self):
        while self.fill():
            pass
        out, self.buf = self.buf, b""
        return out


def read_response(rd):
    """Parse one HTTP/1.x response; returns (status line, headers dict (lowercase), body, framing)."""
    head = rd.until(b"\r\n\r\n").decode("latin-1")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size = int(rd.until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                rd.until(b"\r\n")  # no trailers expected
                break
            body += rd.exactly(size)
            rd.exactly(2)
        return lines[0], headers, body, "chunked"
    if "content-length" in headers:
        return lines[0], headers, rd.exactly(int(headers["content-length"])), "content-length"
    return lines[0], headers, rd.rest(), "close"


def probe(port, scenario, timeout=3.0):
    """Correctness check before the load: body, framing, and whether a 2nd request on the connection works."""
    req = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    res = {"ok": False}
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            rd = Reader(s)
            s.sendall(req)
            status, headers, body, framing = read_response(rd)
            res.update(status=status, framing=framing, body_ok=body == EXPECTED_BODY[scenario],
                       ok=" 200 " in status + " " and body == EXPECTED_BODY[scenario])
            if not res["body_ok"]:
                res["body"] = body[:80].decode("latin-1")
            if framing == "close" or headers.get("connection", "").lower() == "close":
                res["keepalive"] = False
            else:
                try:
                    s.sendall(req)
                    status2, _, body2, _ = read_response(rd)
                    res["keepalive"] = " 200 " in status2 + " " and body2 == EXPECTED_BODY[scenario]
                except (OSError, EOFError, ValueError):
                    res["keepalive"] = False
    except (OSError, EOFError, ValueError) as e:
        res["error"] = repr(e)
    return res


def http_ok(port, timeout=2.0):
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            first = Reader(s).until(b"\r\n")
        return b" 200 " in first + b" "
    except (OSError, EOFError):
        return False


def wait_ready(port, proc, deadline_s):
    """Poll an HTTP GET until it answers 200, the process dies, or the deadline passes (no fixed sleeps)."""
    t0 = time.time()
    while time.time() - t0 < deadline_s:
        if proc.poll() is not None:
            return False
        if http_ok(port):
            return True
        time.sleep(0.05)
    return False


# --------------------------------------------------------------------------- server process

class Server:
    def __init__(self, ctx, name, cmd, stop_sig):
        self.ctx, self.name, self.stop_sig, self.cmd = ctx, name, stop_sig, cmd
        self.log_path = os.path.join(ctx.tmp, "%s-%d.log" % (name, int(time.time() * 1000)))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd, cwd=REPO, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.proc.pid  # taskset execs the server: same pid

    def tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def loop_name(self):
        """The asyncio loop gateway says it runs on ("*** running tornado loop engine with N async cores (X) ***")."""
        try:
            with open(self.log_path, "rb") as f:
                m = re.search(rb"async cores \((\w+)\)", f.read(65536))
            return m.group(1).decode() if m else None
        except OSError:
            return None

    def stop(self):
        tree = proc_tree(self.pid)
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, self.stop_sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log("  %s did not stop on %s within 5 s: SIGKILL" % (self.name, signal.Signals(self.stop_sig).name))
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        for p in tree[1:]:  # children the server started (worker processes), by pid
            for _ in range(20):
                if not os.path.exists("/proc/%d" % p):
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()


# --------------------------------------------------------------------------- wrk

def run_wrk(ctx, port, conns, duration, headers=(), timeout_s=None):
    cmd = ["taskset", "-c", CLIENT_CPU, ctx.wrk, "-t1", "-c%d" % conns, "-d%ds" % duration,
           "-s", os.path.join(HERE, "report.lua")]
    if timeout_s:
        cmd += ["--timeout", "%ds" % timeout_s]
    for h in headers:
        cmd += ["-H", h]
    cmd.append("http://%s:%d/" % (HOST, port))
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            text=True)
    ctx.client_pid = proc.pid
    try:
        out, _ = proc.communicate(timeout=duration + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            r = json.loads(line[8:])
            secs = r["duration_us"] / 1e6
            r["rps"] = round(r["requests"] / secs, 1)
            used = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
            r["client_cpu_pct"] = round(100.0 * used / secs, 1)
            return r
    return None


def measure(ctx, server, port, conns, duration, headers=(), timeout_s=None):
    waited = wait_quiet(ctx.quiet_wait)
    tree = proc_tree(server.pid)
    c0, (u0, s0), a0 = core_times(), cpu_ticks(tree, True), all_proc_ticks()
    r = run_wrk(ctx, port, conns, duration, headers, timeout_s)
    tree = proc_tree(server.pid)
    c1, (u1, s1), a1 = core_times(), cpu_ticks(tree, True), all_proc_ticks()
    if r is None:
        return None
    secs = r["duration_us"] / 1e6
    ours = set(tree) | {os.getpid(), ctx.client_pid}
    foreign = sum(v - a0.get(p, 0) for p, v in a1.items() if p not in ours)
    r["server_cpu_pct"] = round(100.0 * (u1 - u0 + s1 - s0) / CLK_TCK / secs, 1)
    # kernel share of the server's CPU (syscalls, and on loopback the TCP work for the peer too)
    r["server_sys_pct"] = round(100.0 * (s1 - s0) / CLK_TCK / secs, 1)
    r["foreign_cpu_pct"] = round(100.0 * foreign / CLK_TCK / secs, 1)
    r["core_server_busy_pct"] = core_busy(c0, c1, SERVER_CPU)
    r["core_client_busy_pct"] = core_busy(c0, c1, CLIENT_CPU)
    r["quiet_wait_s"] = waited
    r["t"] = round(time.time(), 1)
    return r


def measure_retry(ctx, server, port, conns, duration, headers=(), timeout_s=None):
    """Measure; if other processes used a lot of CPU meanwhile, measure again (bounded) and keep the quietest."""
    best = None
    for attempt in range(1 + ctx.noisy_retries):
        r = measure(ctx, server, port, conns, duration, headers, timeout_s)
        if r is None:
            return best
        r["attempts"] = attempt + 1
        if best is None or r["foreign_cpu_pct"] < best["foreign_cpu_pct"]:
            best = r
        if r["foreign_cpu_pct"] <= ctx.noisy_threshold:
            break
        if attempt == ctx.noisy_retries:
            log("    noisy run (other processes used %.0f%% of a core); keeping the quietest of %d attempts" % (
                r["foreign_cpu_pct"], attempt + 1))
            break
        log("    noisy run (other processes used %.0f%% of a core), measuring again" % r["foreign_cpu_pct"])
        time.sleep(1.0)
    return best


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
                port = alloc_port(ctx)
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
                    rss_start = sum(status_kb(p, "VmRSS") for p in proc_tree(srv.pid))
                    chk = probe(port, scenario)
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
                             hwm_kb=sum(status_kb(p, "VmHWM") for p in proc_tree(srv.pid)),
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

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


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


def fmt(x, nd=1):
    if x is None:
        return "-"
    if isinstance(x, float):
        return ("%%.%df" % nd) % x
    return str(x)


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


def versions(ctx):
    v = {"python": sys.version.split()[0]}
    try:
        v["server_python"] = subprocess.run(
            [ctx.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True,
            timeout=20).stdout.strip()
        code = ("from importlib.metadata import version\n"
                "for m in ('tornado', 'greenlet', 'gateway', 'uvloop'):\n"
                "    try: print(m, version(m))\n"
                "    except Exception: pass\n")
        out = subprocess.run([ctx.python, "-c", code], capture_output=True, text=True, timeout=20).stdout
        for line in out.splitlines():
            k, _, val = line.partition(" ")
            v[k] = val
        if ctx.uwsgi:
            v["uwsgi"] = subprocess.run([ctx.uwsgi, "--version"], capture_output=True, text=True,
                                        timeout=20).stdout.strip()
        v["wrk"] = subprocess.run([ctx.wrk, "-v"], capture_output=True, text=True, timeout=20).stdout.splitlines()[0]
        v["gateway_commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                             capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:  # informative only
        v["error"] = repr(e)
    return v


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                   help="comma list of: %s (default: all)" % ",".join(DEFAULT_SCENARIOS))
    p.add_argument("--servers", default="default",
                   help="'default', 'all', or a comma list of: %s (default: %s)" % (
                       ",".join(SERVERS), ",".join(s for s in SERVERS if SERVERS[s][4])))
    p.add_argument("--runs", type=int, default=1, help="runs per server and mode (fresh process each); median shown")
    p.add_argument("--duration-scale", type=float, default=1.0, help="scale wrk durations (smoke test: 0.2)")
    p.add_argument("--base-port", type=int, default=int(os.environ.get("BASE_PORT", "19600")))
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="directory for JSON + Markdown results")
    p.add_argument("--quiet-wait", type=float, default=10.0,
                   help="before each measurement, wait up to this many seconds for the machine to be idle")
    p.add_argument("--noisy-threshold", type=float, default=25.0,
                   help="measure again when other processes used more than this %% of a core during a run")
    p.add_argument("--noisy-retries", type=int, default=2)
    p.add_argument("--ready-timeout", type=float, default=20.0, help="seconds a server gets to answer its first GET")
    p.add_argument("--keep-logs", action="store_true", help="keep server logs (temp dir printed at the end)")
    p.add_argument("--list", action="store_true", help="list servers and exit")
    args = p.parse_args()

    if args.list:
        for n, (label, scen, _, _, dflt) in SERVERS.items():
            print("%-17s %-42s %-20s %s" % (n, label, ",".join(scen), "" if dflt else "(extra)"))
        return 0

    ctx = Ctx(args)
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

    with open("/proc/loadavg") as f:
        load0 = f.read().split()[:3]
    command = "bench/run.sh " + shlex.join(sys.argv[1:])
    meta = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command,
            "loadavg_start": load0, "server_cpu": SERVER_CPU, "client_cpu": CLIENT_CPU, "runs": args.runs,
            "scenarios": scenarios, "servers": servers, "ncpu": os.cpu_count(),
            "duration_scale": args.duration_scale, "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "versions": versions(ctx)}
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
    with open("/proc/loadavg") as f:
        meta["loadavg_end"] = f.read().split()[:3]

    agg = aggregate(results)
    header = ["## gateway bench %s" % meta["started"], "",
              "`%s`: runs=%d, server on cpu %s, wrk on cpu %s, elapsed %.0f s, loadavg %s → %s, gateway commit %s, uWSGI %s" % (
                  command, args.runs, SERVER_CPU, CLIENT_CPU, meta["elapsed_s"], " ".join(load0),
                  " ".join(meta["loadavg_end"]), meta["versions"].get("gateway_commit", "?"),
                  meta["versions"].get("uwsgi", "?").replace("\n", " "))]
    text = "\n".join(header + render_tables(agg, servers) + verdicts(agg, servers))
    print(text)

    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = os.path.join(args.out, "bench-%s" % stamp)
    with open(base + ".json", "w") as f:
        json.dump({"meta": meta, "results": results,
                   "aggregate": [dict(mode=k[0], server=k[1], **v) for k, v in agg.items()]}, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(text + "\n")
    log("results: %s.{json,md}" % os.path.relpath(base, os.getcwd()))
    if ctx.keep_logs:
        log("server logs kept in %s" % ctx.tmp)
    else:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
