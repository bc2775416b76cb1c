"""uWSGI's built-in metrics (``core.*``, ``worker.N.*``, ``socket.N.*``), computed from the scoreboard.

uWSGI registers these metrics when the metrics subsystem is on (``--stats-push`` turns
it on) and its pushers walk them in registration order; :func:`builtin_metrics` gives
the same names, types and order, from plain values (sans-IO: the scoreboard snapshots
the master reads, see :class:`MetricsSource`)::

    core.routed_signals  core.unrouted_signals  core.busy_workers  core.idle_workers  core.overloaded
    worker.0.requests ... worker.N.requests  worker.N.delta_requests  worker.N.failed_requests
    worker.N.respawns  worker.N.avg_response_time  worker.N.total_tx  worker.N.rss_size
    worker.N.vsz_size  worker.N.running_time  worker.N.core.M.requests ... (unless --metrics-no-cores)
    core.total_tx  core.total_rss  core.total_vsz  core.avg_response_time  core.total_running_time
    socket.K.listen_queue  rss_size  vsz_size

``worker.0`` is uWSGI's pseudo-worker: its ``requests`` is the instance's total, its other
values are 0 (as in uWSGI).  ``failed_requests`` and the per-core ``static_requests`` and
``routed_requests`` are always 0, as they are in uWSGI's Python plugin.  ``rss_size`` and
``vsz_size`` are uWSGI's *aliases* of the totals (type 3).  Times are microseconds, sizes
bytes.  The user's ``--metric`` metrics follow the built-in ones.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, NamedTuple, Sequence

from gateway.sharedmem.metrics import ABSOLUTE, ALIAS, COUNTER, GAUGE

#: per-worker metrics: (name suffix, type, scoreboard key)
WORKER_METRICS = (
    ("requests", COUNTER, "requests"),
    ("delta_requests", ABSOLUTE, "delta_requests"),
    ("failed_requests", COUNTER, None),
    ("respawns", COUNTER, "respawn_count"),
    ("avg_response_time", GAUGE, "avg_rt"),
    ("total_tx", COUNTER, "tx"),
    ("rss_size", GAUGE, "rss"),
    ("vsz_size", GAUGE, "vsz"),
    ("running_time", COUNTER, "running_time"),
)
#: per-core metrics (all counters), in uWSGI's order
CORE_METRICS = ("requests", "write_errors", "routed_requests", "static_requests", "offloaded_requests",
                "exceptions", "read_errors")


class Metric(NamedTuple):
    name: str
    type: int  # gateway.sharedmem.metrics COUNTER / GAUGE / ABSOLUTE / ALIAS
    value: int


class CoreCounters(NamedTuple):
    """What the master knows about the instance besides the workers."""

    routed_signals: int = 0
    unrouted_signals: int = 0
    busy_workers: int = 0
    idle_workers: int = 0
    overloaded: int = 0


NO_COUNTERS = CoreCounters()


def builtin_metrics(workers: Sequence[Mapping[str, Any]], core: CoreCounters = NO_COUNTERS,
                    socket_queues: Sequence[int] = (), *, no_cores: bool = False) -> List[Metric]:
    """uWSGI's built-in metrics for ``workers`` (worker 1 first; each a scoreboard snapshot
    dict whose ``cores`` carry ``exceptions`` too), in uWSGI's order."""
    out = [
        Metric("core.routed_signals", COUNTER, core.routed_signals),
        Metric("core.unrouted_signals", COUNTER, core.unrouted_signals),
        Metric("core.busy_workers", GAUGE, core.busy_workers),
        Metric("core.idle_workers", GAUGE, core.idle_workers),
        Metric("core.overloaded", COUNTER, core.overloaded),
    ]
    total = sum(int(w.get("requests", 0)) for w in workers)
    for suffix, kind, _ in WORKER_METRICS:
        out.append(Metric("worker.0.%s" % suffix, kind, total if suffix == "requests" else 0))
    for wid, w in enumerate(workers, 1):
        for suffix, kind, key in WORKER_METRICS:
            out.append(Metric("worker.%d.%s" % (wid, suffix), kind, int(w.get(key, 0)) if key else 0))
        if no_cores:
            continue
        for cid, c in enumerate(w.get("cores", ())):
            for key in CORE_METRICS:
                out.append(Metric("worker.%d.core.%d.%s" % (wid, cid, key), COUNTER, int(c.get(key, 0))))
    rss = sum(int(w.get("rss", 0)) for w in workers)
    vsz = sum(int(w.get("vsz", 0)) for w in workers)
    avg = sum(int(w.get("avg_rt", 0)) for w in workers) // len(workers) if workers else 0
    out += [
        Metric("core.total_tx", COUNTER, sum(int(w.get("tx", 0)) for w in workers)),
        Metric("core.total_rss", GAUGE, rss),
        Metric("core.total_vsz", GAUGE, vsz),
        Metric("core.avg_response_time", GAUGE, avg),
        Metric("core.total_running_time", COUNTER, sum(int(w.get("running_time", 0)) for w in workers)),
    ]
    out += [Metric("socket.%d.listen_queue" % i, GAUGE, q) for i, q in enumerate(socket_queues)]
    out += [Metric("rss_size", ALIAS, rss), Metric("vsz_size", ALIAS, vsz)]
    return out


def user_metrics(stats: Mapping[str, Mapping[str, Any]]) -> Iterable[Metric]:
    """The ``--metric`` metrics, from :meth:`gateway.sharedmem.metrics.Metrics.stats`."""
    for name, m in stats.items():
        yield Metric(name, int(m["type"]), int(m["value"]))
