"""What the pushers read in the master: the scoreboard, the signal router, the ``--metric`` values.

:class:`MetricsSource` turns the master's state into the plain values of
:mod:`gateway.pushers.builtin` and :mod:`gateway.pushers.carbon`.  It also keeps
uWSGI's ``core.overloaded`` counter, which uWSGI's master increments on every cycle
(once a second) in which no worker was idle: :meth:`tick` does that.
"""

from __future__ import annotations

from typing import Any, Dict, List

from gateway.process.scoreboard import C_EXCEPTIONS, C_IN_REQUEST
from gateway.pushers.builtin import CoreCounters, Metric, builtin_metrics, user_metrics
from gateway.stats import listen_queue


class MetricsSource:
    """Reads ``master`` (a :class:`~gateway.process.master.Master`) for the pushers."""

    def __init__(self, master: Any, *, no_cores: bool = False) -> None:
        self.master = master
        self.no_cores = no_cores
        self.overloaded = 0

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

    def tick(self) -> None:
        """Once a second: count a cycle in which every worker was busy (``core.overloaded``).

        Reads only the cores' ``in_request`` words (no snapshot), as this runs every second."""
        master = self.master
        board = master.board
        if not master.workers:
            return
        for wid, proc in master.workers.items():
            slot = master.slot(wid, proc.generation)
            if not any(board.ints[board.cbase(slot, c) + C_IN_REQUEST] for c in range(board.cores)):
                return
        self.overloaded += 1

    def metrics(self, workers: List[Dict[str, Any]]) -> List[Metric]:
        """Every metric, uWSGI's order: the built-in ones, then the ``--metric`` ones."""
        live = [w for w in workers if w["running"] and not w["cheaped"]]
        busy = sum(1 for w in live if w["busy"])
        subs = getattr(self.master, "subsystems", None)
        router = getattr(subs, "router", None)
        core = CoreCounters(
            routed_signals=int(getattr(router, "routed", 0)),
            unrouted_signals=int(getattr(router, "unrouted", 0)),
            busy_workers=busy,
            idle_workers=len(live) - busy,
            overloaded=self.overloaded,
        )
        queues = [listen_queue(s) for s in self.master.sockets]
        out = builtin_metrics(workers, core, queues, no_cores=self.no_cores)
        if subs is not None:
            out.extend(user_metrics(subs.metrics.stats()))
        return out
