"""Driving wrk (pinned to ``CLIENT_CPU``) and measuring a server while it runs.

``bench/report.lua`` makes wrk print one ``WRKJSON {...}`` line (requests, errors, latency percentiles in µs);
``measure`` adds the CPU the server, wrk and everybody else used, so a noisy neighbour is visible in the numbers.
"""

import json
import os
import resource
import subprocess
import time
from typing import Optional, Sequence

from . import procfs
from .httpclient import HOST
from .servers import CLIENT_CPU, HERE, SERVER_CPU, log

REPORT_LUA = os.path.join(HERE, "report.lua")


def wrk_cmd(ctx, port: int, conns: int, duration: int, headers: Sequence[str] = (), timeout_s: Optional[int] = None,
            path: str = "/", script: Optional[str] = REPORT_LUA) -> list:
    """The wrk command line (``-t1``, pinned); ``script=None`` leaves out report.lua."""
    cmd = ["taskset", "-c", CLIENT_CPU, ctx.wrk, "-t1", "-c%d" % conns, "-d%ds" % duration]
    if script:
        cmd += ["-s", script]
    if timeout_s:
        cmd += ["--timeout", "%ds" % timeout_s]
    for h in headers:
        cmd += ["-H", h]
    cmd.append("http://%s:%d%s" % (HOST, port, path))
    return cmd


def parse_wrkjson(out: str) -> Optional[dict]:
    """The ``WRKJSON`` line of report.lua, with ``rps`` added; None when absent."""
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            r = json.loads(line[8:])
            r["rps"] = round(r["requests"] / (r["duration_us"] / 1e6), 1)
            return r
    return None


def run_wrk(ctx, port: int, conns: int, duration: int, headers: Sequence[str] = (),
            timeout_s: Optional[int] = None, path: str = "/") -> Optional[dict]:
    """Run wrk to completion (bounded by a hard timeout); its counters plus ``client_cpu_pct``, or None."""
    cmd = wrk_cmd(ctx, port, conns, duration, headers, timeout_s, path)
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
    r = parse_wrkjson(out)
    if r is not None:
        secs = r["duration_us"] / 1e6
        used = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        r["client_cpu_pct"] = round(100.0 * used / secs, 1)
    return r


def measure(ctx, server, port: int, conns: int, duration: int, headers: Sequence[str] = (),
            timeout_s: Optional[int] = None, path: str = "/") -> Optional[dict]:
    """Wait for a quiet machine, run wrk, and add the CPU accounting of ``procfs.CpuMeter``."""
    waited = procfs.wait_quiet(ctx.quiet_wait)
    meter = procfs.CpuMeter(server.pid)
    r = run_wrk(ctx, port, conns, duration, headers, timeout_s, path)
    if r is None:
        return None
    cpu = meter.stop(r["duration_us"] / 1e6, cores=(SERVER_CPU, CLIENT_CPU), exclude=(ctx.client_pid,))
    r.update(server_cpu_pct=cpu["server_cpu_pct"], server_sys_pct=cpu["server_sys_pct"],
             foreign_cpu_pct=cpu["foreign_cpu_pct"], core_server_busy_pct=cpu["core%s_busy_pct" % SERVER_CPU],
             core_client_busy_pct=cpu["core%s_busy_pct" % CLIENT_CPU], quiet_wait_s=waited,
             t=round(time.time(), 1))
    return r


def measure_retry(ctx, server, port: int, conns: int, duration: int, headers: Sequence[str] = (),
                  timeout_s: Optional[int] = None, path: str = "/") -> Optional[dict]:
    """Measure; if other processes used a lot of CPU meanwhile, measure again (bounded) and keep the quietest."""
    best = None
    for attempt in range(1 + ctx.noisy_retries):
        r = measure(ctx, server, port, conns, duration, headers, timeout_s, path)
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
