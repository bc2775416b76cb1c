"""CPU and memory accounting from /proc, for a server process and everything it forked.

Benchmarks on this shared 2-core machine must know how much CPU the server used (not wall time) and how much
other processes stole meanwhile; these functions read it without any dependency.
"""

import os
import time
from typing import Dict, List, Optional, Tuple

CLK_TCK = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> List[int]:
    """Every process below ``pid`` (workers, router, ...), found through /proc/<pid>/task/*/children."""
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


def proc_tree(pid: int) -> List[int]:
    return [pid] + descendants(pid)


def status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (``VmRSS``, ``VmHWM``, ...); 0 when the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid: int) -> int:
    """Resident set size of the process and its descendants, in KiB."""
    return sum(status_kb(p, "VmRSS") for p in proc_tree(pid))


def hwm_kb(pid: int) -> int:
    """Peak resident set size (VmHWM) of the process and its descendants, in KiB."""
    return sum(status_kb(p, "VmHWM") for p in proc_tree(pid))


def cpu_ticks(pids: List[int], split: bool = False):
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


def core_times() -> Dict[str, Tuple[int, int]]:
    """Per core (``cpu0``, ``cpu1``, ...): (total ticks, idle+iowait ticks) from /proc/stat."""
    res = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                parts = line.split()
                vals = [int(x) for x in parts[1:]]
                res[parts[0]] = (sum(vals), vals[3] + vals[4])
    return res


def core_busy(before, after, cpu) -> Optional[float]:
    """Busy percentage of core ``cpu`` between two ``core_times()`` snapshots."""
    key = "cpu%s" % cpu
    if key not in before or key not in after:
        return None
    dt = after[key][0] - before[key][0]
    di = after[key][1] - before[key][1]
    return round(100.0 * (dt - di) / dt, 1) if dt > 0 else None


def all_proc_ticks() -> Dict[int, int]:
    """utime+stime of every user-space process (kernel threads excluded), by pid."""
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


def wait_quiet(max_wait: float, threshold: float = 20.0) -> float:
    """Wait (bounded) until the machine is nearly idle: other engineers share it.  Returns seconds waited."""
    t0 = time.time()
    while time.time() - t0 < max_wait:
        c0 = core_times()
        time.sleep(0.5)
        c1 = core_times()
        if sum(core_busy(c0, c1, k[3:]) or 0 for k in c1) <= threshold:
            break
    return round(time.time() - t0, 1)


class CpuMeter:
    """CPU used by a server tree, by everybody else, and per core, between ``__init__`` and ``stop()``.

    ``exclude`` are pids whose CPU is neither the server's nor foreign (the load generator, this script).
    """

    def __init__(self, server_pid: int, exclude=()):
        self.server_pid = server_pid
        self.exclude = set(exclude) | {os.getpid()}
        self.t0 = time.monotonic()
        self.c0, self.s0, self.a0 = core_times(), cpu_ticks(proc_tree(server_pid), True), all_proc_ticks()

    def stop(self, seconds: Optional[float] = None, cores=("0", "1"), exclude=()) -> dict:
        """Percentages of one core over ``seconds`` (default: the wall time since ``__init__``)."""
        tree = proc_tree(self.server_pid)
        c1, (u1, s1), a1 = core_times(), cpu_ticks(tree, True), all_proc_ticks()
        secs = seconds or (time.monotonic() - self.t0)
        u0, s0 = self.s0
        ours = set(tree) | self.exclude | set(exclude)
        foreign = sum(v - self.a0.get(p, 0) for p, v in a1.items() if p not in ours)
        res = {
            "server_cpu_pct": round(100.0 * (u1 - u0 + s1 - s0) / CLK_TCK / secs, 1),
            # kernel share of the server's CPU (syscalls, and on loopback the TCP work for the peer too)
            "server_sys_pct": round(100.0 * (s1 - s0) / CLK_TCK / secs, 1),
            "foreign_cpu_pct": round(100.0 * foreign / CLK_TCK / secs, 1),
        }
        for c in cores:
            res["core%s_busy_pct" % c] = core_busy(self.c0, c1, c)
        return res
