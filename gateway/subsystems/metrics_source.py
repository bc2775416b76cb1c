"""The master's side of the built-in metrics: read the scoreboard, collect into the metrics subsystem.

:class:`MetricsSource` turns the master's state (the scoreboard, the signal router, the
listening sockets) into the values of :mod:`gateway.subsystems.builtin_metrics`, for two
readers:

* the metrics subsystem: when metrics are enabled under a master, :func:`attach` arms a
  master timer that stores them into the shared metrics once a second (uWSGI's collector
  thread), so ``uwsgi.metric_get("worker.1.requests")`` in any process, the stats
  document's ``metrics`` and ``--metrics-dir`` see them;
* the pushers (:mod:`gateway.pushers`), which call :meth:`MetricsSource.metrics` when they
  push: the same computation, stored first when the subsystem has the metrics, so what
  statsd receives is what ``metric_get`` reads.

It also keeps uWSGI's ``core.overloaded`` counter, which uWSGI's master increments on
every cycle (once a second) in which no worker was idle: :meth:`tick` does that, at most
once a second whoever calls it (the collector and the pushers both do).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from gateway.logs import gen_log
from gateway.process.scoreboard import C_EXCEPTIONS, C_IN_REQUEST
from gateway.stats import listen_queue
from gateway.subsystems.builtin_metrics import CoreCounters, Metric, builtin_metrics, builtin_values, user_metrics

#: seconds between two collections (uWSGI's collector thread wakes once a second, and the
#: built-in metrics are registered with a frequency of 1)
COLLECT_INTERVAL = 1.0


class MetricsSource:
    """Reads ``master`` (a :class:`~gateway.process.master.Master`) for the built-in metrics."""

    def __init__(self, master: Any, *, no_cores: bool = False) -> None:
        self.master = master
        self.no_cores = no_cores
        self.overloaded = 0
        self._next_tick = float("-inf")

    def workers(self) -> List[Dict[str, Any]]:
        """Scoreboard snapshots of workers 1..N (with ``cheaped``, ``busy`` and the cores'
        ``exceptions``); a worker id not spawned yet is all zeros."""
        master = self.master
        board = master.board
        out: List[Dict[str, Any]] = []
        for wid in range(1, master.numproc + 1):
            proc = master.workers.get(wid)
            if proc is None:
                out.append({"cheaped": False, "busy": False, "running": False, "cores": []})
                continue
            slot = master.slot(wid, proc.generation)
            snap = board.snapshot(slot)
            for core in snap["cores"]:
                core["exceptions"] = board.ints[board.cbase(slot, core["id"]) + C_EXCEPTIONS]
            snap["cheaped"] = bool(proc.cheaped)
            snap["running"] = bool(proc.pid)
            snap["busy"] = any(c["in_request"] for c in snap["cores"])
            out.append(snap)
        return out

    def tick(self, now: float) -> None:
        """Count a cycle in which every worker was busy (``core.overloaded``); at most once
        per second of ``now`` (a monotonic clock), whoever calls.

        Reads only the cores' ``in_request`` words (no snapshot), as this runs every second."""
        if now < self._next_tick:
            return
        self._next_tick = now + 1.0
        master = self.master
        board = master.board
        if not master.workers:
            return
        for wid, proc in master.workers.items():
            slot = master.slot(wid, proc.generation)
            if not any(board.ints[board.cbase(slot, c) + C_IN_REQUEST] for c in range(board.cores)):
                return
        self.overloaded += 1

    def counters(self, workers: List[Dict[str, Any]]) -> CoreCounters:
        """The master's own counters, ``workers`` (:meth:`workers`) giving the busy and idle ones."""
        live = [w for w in workers if w["running"] and not w["cheaped"]]
        busy = sum(1 for w in live if w["busy"])
        router = getattr(self._subsystems(), "router", None)
        return CoreCounters(
            routed_signals=int(getattr(router, "routed", 0)),
            unrouted_signals=int(getattr(router, "unrouted", 0)),
            busy_workers=busy,
            idle_workers=len(live) - busy,
            overloaded=self.overloaded,
        )

    def builtin(self, workers: List[Dict[str, Any]]) -> List[Metric]:
        """uWSGI's built-in metrics from ``workers`` (:meth:`workers`) and the master's counters."""
        queues = [listen_queue(s) for s in self.master.sockets]
        return builtin_metrics(workers, self.counters(workers), queues, cores=int(self.master.board.cores),
                               no_cores=self.no_cores)

    def collect(self, workers: Optional[List[Dict[str, Any]]] = None) -> bool:
        """Store the built-in metrics into the metrics subsystem; False when it has none
        (metrics off, or no master registered them)."""
        subs = self._subsystems()
        if subs is None or not subs.metrics.has_collected:
            return False
        if workers is None:
            workers = self.workers()
        queues = [listen_queue(s) for s in self.master.sockets]
        subs.metrics.collect(builtin_values(workers, self.counters(workers), queues,
                                            cores=int(self.master.board.cores), no_cores=self.no_cores))
        return True

    def metrics(self, workers: List[Dict[str, Any]]) -> List[Metric]:
        """Every metric, uWSGI's order: the built-in ones, then the ``--metric`` ones.

        With the metrics subsystem on, the built-in values are collected first and every
        metric is read back from it (one set of values for the pushers, ``metric_get`` and
        the stats); otherwise (``--carbon`` alone) they are computed for this push only."""
        subs = self._subsystems()
        if self.collect(workers):
            return list(user_metrics(subs.metrics.stats()))
        out = self.builtin(workers)
        if subs is not None:
            out.extend(user_metrics(subs.metrics.stats()))
        return out

    def _subsystems(self) -> Any:
        subs = getattr(self.master, "subsystems", None)
        if subs is None:
            from gateway import subsystems

            subs = subsystems.current
        return subs


class Collector:
    """The master's timer that runs :meth:`MetricsSource.collect` every :data:`COLLECT_INTERVAL`."""

    def __init__(self, master: Any, source: MetricsSource) -> None:
        self.master = master
        self.source = source

    def start(self) -> None:
        self.master.call_later(0, self._tick)

    def _tick(self) -> None:
        try:
            self.source.tick(time.monotonic())
            self.source.collect()
        except Exception:
            gen_log.exception("error collecting the metrics")
        finally:
            self.master.call_later(COLLECT_INTERVAL, self._tick)


def source_of(master: Any, cfg: Any) -> MetricsSource:
    """The one :class:`MetricsSource` of ``master`` (shared by the collector and the pushers,
    so ``core.overloaded`` counts once)."""
    source = getattr(master, "metrics_source", None)
    if source is None:
        source = MetricsSource(master, no_cores=bool(cfg.metrics_no_cores))
        master.metrics_source = source
    return source


def attach(master: Any, cfg: Any) -> Optional[Collector]:
    """Collect the built-in metrics on ``master``'s timer when the metrics subsystem has them
    (:func:`gateway.subsystems.metrics_enabled` under a master); None otherwise."""
    from gateway import subsystems

    subs = subsystems.current
    if subs is None or not subs.metrics.has_collected:
        return None
    collector = Collector(master, source_of(master, cfg))
    collector.start()
    return collector
