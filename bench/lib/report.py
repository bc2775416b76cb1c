"""Reporting for benchmarks: medians, number formatting, Markdown tables, results files, run metadata."""

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Iterable, List, Optional, Sequence

from .servers import CLIENT_CPU, REPO, SERVER_CPU, log


def med(xs: Iterable) -> Optional[float]:
    """Median of the values that are not None (None when there are none)."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd: int = 1) -> str:
    """A number for a table: ``-`` for None, floats with ``nd`` decimals."""
    if x is None:
        return "-"
    if isinstance(x, float):
        return ("%%.%df" % nd) % x
    return str(x)


def table(cols: Sequence[str], rows: Iterable[Sequence], left: Sequence[str] = ()) -> List[str]:
    """A Markdown table; the first column and the ``left`` ones are left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(cols) + " |",
             "|---|" + "|".join("---" if c in left else "---:" for c in cols[1:]) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return lines


def loadavg() -> List[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def machine_meta(command: str) -> dict:
    """What a results file records about the run: when, the command, load, cores, fd limit."""
    return {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command,
            "loadavg_start": loadavg(), "server_cpu": SERVER_CPU, "client_cpu": CLIENT_CPU, "ncpu": os.cpu_count(),
            "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}


def versions(ctx) -> dict:
    """Versions of the server-side Python packages, uWSGI, wrk and the gateway commit (informative only)."""
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
        if ctx.wrk:
            v["wrk"] = subprocess.run([ctx.wrk, "-v"], capture_output=True, text=True,
                                      timeout=20).stdout.splitlines()[0]
        v["gateway_commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                             capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:  # informative only
        v["error"] = repr(e)
    return v


def save(out_dir: str, prefix: str, data: dict, text: str) -> str:
    """Write ``<out_dir>/<prefix>-<UTC>.json`` (``data``) and ``.md`` (``text``); returns the common stem."""
    os.makedirs(out_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = os.path.join(out_dir, "%s-%s" % (prefix, stamp))
    with open(base + ".json", "w") as f:
        json.dump(data, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(text + "\n")
    log("results: %s.{json,md}" % os.path.relpath(base, os.getcwd()))
    return base
