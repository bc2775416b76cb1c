"""uWSGI's built-in metrics (``core.*``, ``worker.N.*``, ``socket.N.*``), computed from the scoreboard.

uWSGI registers these metrics whenever the metrics subsystem is on (``--enable-metrics``,
``--stats-push``...): ``uwsgi.metric_get("worker.1.requests")``, the stats document's
``metrics`` object, ``--metrics-dir`` and the pushers all see them.  :func:`builtin_metrics`
gives their names, types, OIDs and order from plain values (sans-IO: the scoreboard
snapshots the master reads, see :mod:`gateway.subsystems.metrics_source`), and
:func:`builtin_specs` the same list as metrics to register before the first fork
(:func:`builtin_values`: only the values, in the same order, for the master's collector)::

    core.routed_signals  core.unrouted_signals  core.busy_workers  core.idle_workers  core.overloaded
    worker.0.requests ... worker.N.requests  worker.N.delta_requests  worker.N.failed_requests
    worker.N.respawns  worker.N.avg_response_time  worker.N.total_tx  worker.N.rss_size
    worker.N.vsz_size  worker.N.running_time  worker.N.core.M.requests ... (unless --metrics-no-cores)
    core.total_tx  core.total_rss  core.total_vsz  core.avg_response_time  core.total_running_time
    socket.K.listen_queue  rss_size  vsz_size

``worker.0`` is uWSGI's pseudo-worker: its ``requests`` is the instance's total, its other
values are 0 (as in uWSGI).  ``failed_requests`` and the per-core ``static_requests`` are
always 0, as they are in uWSGI's Python plugin.  ``rss_size`` and ``vsz_size`` are uWSGI's
*aliases* of the totals (type 3, the total's OID).  Times are microseconds, sizes bytes.
The OIDs are uWSGI's, its duplicate included (``worker.N.failed_requests`` and
``worker.N.running_time`` are both ``3.N.13``).  The user's ``--metric`` metrics follow
the built-in ones.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from gateway.sharedmem.metrics import ABSOLUTE, ALIAS, COUNTER, GAUGE, MetricSpec

#: per-worker metrics: (name suffix, type, scoreboard key, uWSGI's OID leaf)
WORKER_METRICS = (
    ("requests", COUNTER, "requests", 1),
    ("delta_requests", ABSOLUTE, "delta_requests", 2),
    ("failed_requests", COUNTER, None, 13),
    ("respawns", COUNTER, "respawn_count", 14),
    ("avg_response_time", GAUGE, "avg_rt", 8),
    ("total_tx", COUNTER, "tx", 9),
    ("rss_size", GAUGE, "rss", 11),
    ("vsz_size", GAUGE, "vsz", 12),
    ("running_time", COUNTER, "running_time", 13),
)
#: per-core metrics (all counters), in uWSGI's order: (scoreboard key = name suffix, OID leaf)
CORE_METRICS = (("requests", 1), ("write_errors", 3), ("routed_requests", 4), ("static_requests", 5),
                ("offloaded_requests", 6), ("exceptions", 7), ("read_errors", 8))


class Metric(NamedTuple):
    name: str
    type: int  # gateway.sharedmem.metrics COUNTER / GAUGE / ABSOLUTE / ALIAS
    value: int
    oid: str = ""


class CoreCounters(NamedTuple):
    """What the master knows about the instance besides the workers."""

    routed_signals: int = 0
    unrouted_signals: int = 0
    busy_workers: int = 0
    idle_workers: int = 0
    overloaded: int = 0


NO_COUNTERS = CoreCounters()


def builtin_metrics(workers: Sequence[Mapping[str, Any]], core: CoreCounters = NO_COUNTERS,
                    socket_queues: Sequence[int] = (), *, cores: Optional[int] = None,
                    no_cores: bool = False) -> List[Metric]:
    """uWSGI's built-in metrics for ``workers`` (worker 1 first; each a scoreboard snapshot
    dict whose ``cores`` carry ``exceptions`` too), in uWSGI's order.

    ``cores`` is the number of cores of every worker (uWSGI registers them all, a worker not
    spawned yet included); None takes each worker's own ``cores`` list."""
    return [Metric(*row) for row in _walk(workers, core, socket_queues, cores, no_cores, True)]


def builtin_values(workers: Sequence[Mapping[str, Any]], core: CoreCounters = NO_COUNTERS,
                   socket_queues: Sequence[int] = (), *, cores: Optional[int] = None,
                   no_cores: bool = False) -> List[int]:
    """The values of :func:`builtin_metrics`, in the same order, without building the names
    (what the master stores every second: thousands of metrics with many cores)."""
    return [row[2] for row in _walk(workers, core, socket_queues, cores, no_cores, False)]


def _walk(workers: Sequence[Mapping[str, Any]], core: CoreCounters, socket_queues: Sequence[int],
          cores: Optional[int], no_cores: bool, named: bool) -> Iterator[Tuple[str, int, int, str]]:
    """``(name, type, value, oid)`` of every built-in metric; name and OID are "" unless ``named``."""
    yield "core.routed_signals", COUNTER, core.routed_signals, "5.1"
    yield "core.unrouted_signals", COUNTER, core.unrouted_signals, "5.2"
    yield "core.busy_workers", GAUGE, core.busy_workers, "5.3"
    yield "core.idle_workers", GAUGE, core.idle_workers, "5.4"
    yield "core.overloaded", COUNTER, core.overloaded, "5.5"
    total = sum(int(w.get("requests", 0)) for w in workers)
    for suffix, kind, _, leaf in WORKER_METRICS:
        yield ("worker.0.%s" % suffix if named else "", kind, total if suffix == "requests" else 0,
               "3.0.%d" % leaf if named else "")
    no_core: Mapping[str, Any] = {}
    for wid, w in enumerate(workers, 1):
        for suffix, kind, key, leaf in WORKER_METRICS:
            value = int(w.get(key, 0)) if key else 0
            if named:
                yield "worker.%d.%s" % (wid, suffix), kind, value, "3.%d.%d" % (wid, leaf)
            else:
                yield "", kind, value, ""
        if no_cores:
            continue
        seen = w.get("cores") or ()
        for cid in range(len(seen) if cores is None else cores):
            c = seen[cid] if cid < len(seen) else no_core
            for key, leaf in CORE_METRICS:
                if named:
                    yield ("worker.%d.core.%d.%s" % (wid, cid, key), COUNTER, int(c.get(key, 0)),
                           "3.%d.2.%d.%d" % (wid, cid, leaf))
                else:
                    yield "", COUNTER, int(c.get(key, 0)), ""
    rss = sum(int(w.get("rss", 0)) for w in workers)
    vsz = sum(int(w.get("vsz", 0)) for w in workers)
    yield "core.total_tx", COUNTER, sum(int(w.get("tx", 0)) for w in workers), "5.100"
    yield "core.total_rss", GAUGE, rss, "5.101"
    yield "core.total_vsz", GAUGE, vsz, "5.102"
    avg = sum(int(w.get("avg_rt", 0)) for w in workers) // len(workers) if workers else 0
    yield "core.avg_response_time", GAUGE, avg, "5.103"
    yield "core.total_running_time", COUNTER, sum(int(w.get("running_time", 0)) for w in workers), "5.104"
    for i, q in enumerate(socket_queues):
        yield ("socket.%d.listen_queue" % i if named else ""), GAUGE, q, ("7.%d.1" % i if named else "")
    yield "rss_size", ALIAS, rss, "5.101"
    yield "vsz_size", ALIAS, vsz, "5.102"


def builtin_specs(numproc: int, cores: int, sockets: int, *, no_cores: bool = False) -> List[MetricSpec]:
    """The built-in metrics to register for ``numproc`` workers of ``cores`` cores and
    ``sockets`` listening sockets: :func:`builtin_metrics`'s list, every value collected
    by the master (initial value 0, as in uWSGI)."""
    metrics = builtin_metrics([{}] * numproc, socket_queues=[0] * sockets, cores=cores, no_cores=no_cores)
    return [MetricSpec(m.name, m.type, m.oid, collected=True) for m in metrics]


def user_metrics(stats: Mapping[str, Mapping[str, Any]]) -> Iterable[Metric]:
    """Metrics from :meth:`gateway.sharedmem.metrics.Metrics.stats` (the stats document's shape)."""
    for name, m in stats.items():
        yield Metric(name, int(m["type"]), int(m["value"]), str(m.get("oid", "")))
