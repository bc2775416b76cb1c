"""Caches, user locks, metrics and uWSGI signals, wired to the process model.

:class:`Subsystems` is created once, **before the first fork** (by the master, or by
the CLI when there is no master), and then:

* in the master's ``selectors`` loop: :meth:`master_fds` + :meth:`on_master_readable`
  (signals raised by workers), :meth:`next_timeout` + :meth:`master_tick` (timers,
  crons, file monitors, the cache sweeper, ``--metrics-dir``), :meth:`worker_died`;
* in each worker right after fork: :meth:`attach_worker` (per-process state; the
  worker's end of its signal socketpair joins its IOLoop);
* by the stats server: :meth:`stats_locks`, :meth:`stats_caches`, :meth:`stats_metrics`.

The mappings live as long as this object: a graceful reload that keeps the master
(and this object) keeps every cache and metric.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from gateway.config.model import Config
from gateway.logs import gen_log
from gateway.sharedmem import queue as _queue
from gateway.sharedmem import sharedarea as _sharedarea
from gateway.sharedmem.cache import CacheConfigError, Caches, specs_from_config
from gateway.sharedmem.locks import UserLocks
from gateway.sharedmem.metrics import MetricConfigError, Metrics, MetricSpec
from gateway.sharedmem.queue import QueueConfigError, SharedQueue
from gateway.sharedmem.sharedarea import SharedAreaConfigError, SharedAreas
from gateway.usignals.receiver import SignalReceiver
from gateway.usignals.router import SignalRouter
from gateway.usignals.table import SignalTable

#: the Subsystems of this process (set by create(); the uwsgi module API uses it)
current: Optional["Subsystems"] = None

HOUSEKEEPING_INTERVAL = 1.0


def metrics_enabled(cfg: Config) -> bool:
    """Whether the metrics subsystem is on: ``--enable-metrics``, or an option that implies
    it (uWSGI's ``UWSGI_OPT_METRICS``: ``--metric``, ``--metrics-dir``, ``--metrics-dir-restore``,
    ``--metrics-no-cores``, ``--stats-push``, ``--metric-alarm``)."""
    return bool(cfg.metric or cfg.enable_metrics or cfg.metrics_dir or cfg.stats_push or cfg.metrics_no_cores
                or cfg.metrics_dir_restore or cfg.metric_threshold)


class SubsystemsConfigError(ValueError):
    """A bad ``--cache2`` / ``--metric`` / ``--locks`` value (the CLI prints it and exits)."""


class Subsystems:
    """See the module docstring."""

    def __init__(self, cfg: Config, workers: int, master: bool, builtin_metrics: Sequence[MetricSpec] = ()) -> None:
        self.workers = max(1, workers)
        self.master = master
        try:
            specs = specs_from_config(list(cfg.cache2), int(cfg.cache or 0),
                                      int(cfg.cache_blocksize or 0), cfg.cache_store or None,
                                      int(cfg.cache_store_sync or 0), bool(cfg.cache_use_last_modified),
                                      list(cfg.cache_udp_node), list(cfg.cache_udp_server))
            metric_specs = [MetricSpec.parse(m) for m in cfg.metric]
            self.caches = Caches(specs, slots=self.workers + 1)
        except (CacheConfigError, MetricConfigError) as e:
            raise SubsystemsConfigError(str(e)) from None
        if not cfg.cache and (cfg.cache_store or cfg.cache_udp_node or cfg.cache_udp_server
                              or cfg.cache_use_last_modified):
            gen_log.warning("--cache-store/--cache-udp-*/--cache-use-last-modified apply to the --cache "
                            "cache, and there is none: ignored (use store=, nodes=, udp=, lastmod= in --cache2)")
        if cfg.static_cache_paths and self.caches.get(cfg.static_cache_paths_name or None) is None:
            self.caches.close()
            raise SubsystemsConfigError("--static-cache-paths: " + (
                "unable to find cache \"%s\"" % cfg.static_cache_paths_name if cfg.static_cache_paths_name
                else "caching of static paths requires a cache (--cache2 or --cache)"))
        if cfg.check_cache is not None and self.caches.get(cfg.check_cache) is None:
            self.caches.close()
            raise SubsystemsConfigError("--check-cache: unable to find cache \"%s\"" % (cfg.check_cache or "(first)"))
        self.udp_servers: List[Any] = []
        self._udp_by_fd: Dict[int, Any] = {}
        if any(c.spec.nodes or c.spec.udp_servers for c in self.caches.caches):
            self._setup_udp()
        from gateway.subsystems.cache_preload import preload

        preload(self.caches, list(cfg.load_file_in_cache), list(cfg.load_file_in_cache_gzip),
                list(cfg.add_cache_item))
        self.cache_expire_freq = float(cfg.cache_expire_freq or 3)
        # --cache-no-expire: no sweeper at all; --cache-report-freed-items: log what it frees
        self.cache_sweeper = not cfg.cache_no_expire
        self.cache_report_freed = bool(cfg.cache_report_freed_items)
        self.locks = UserLocks(int(cfg.locks or 0))
        try:
            self.sharedareas = SharedAreas.from_config(list(cfg.sharedarea))
        except SharedAreaConfigError as e:
            raise SubsystemsConfigError(str(e)) from None
        _sharedarea.current = self.sharedareas if self.sharedareas.areas else None
        self.queue: Optional[SharedQueue] = None
        if cfg.queue:
            try:
                self.queue = SharedQueue(int(cfg.queue), int(cfg.queue_blocksize or 8192), cfg.queue_store or None)
            except QueueConfigError as e:
                raise SubsystemsConfigError(str(e)) from None
        _queue.current = self.queue
        # --queue-store-sync N: msync every N master cycles (uWSGI's cycle: about a second)
        self.queue_sync_every = float(cfg.queue_store_sync or 0) if self.queue and self.queue.store else 0.0
        # --stats-push turns the metrics subsystem on, as in uWSGI (UWSGI_OPT_METRICS)
        self.metrics_enabled = metrics_enabled(cfg)
        # uWSGI's built-in metrics come first (the master collects them), then the --metric ones
        if self.metrics_enabled:
            metric_specs = list(builtin_metrics) + metric_specs
        if cfg.metrics_dir_restore and not cfg.metrics_dir:
            gen_log.warning("--metrics-dir-restore without --metrics-dir: nothing to restore")
        try:
            self.metrics = Metrics(metric_specs, cfg.metrics_dir or None, restore=bool(cfg.metrics_dir_restore))
        except MetricConfigError as e:  # (an alias or a child naming no metric registered before)
            self.caches.close()
            raise SubsystemsConfigError(str(e)) from None
        if self.metrics_enabled:
            for spec in metric_specs:
                if not spec.collected:  # (uWSGI's line for each --metric)
                    gen_log.info("added custom metric: %s", spec.name)
            gen_log.info("initialized %d metrics", len(self.metrics.specs))
        self.table = SignalTable(self.workers + 1)
        self.pairs: Dict[int, Tuple[socket.socket, socket.socket]] = {}
        self._by_master_fd: Dict[int, int] = {}
        if master:
            for wid in range(1, self.workers + 1):
                a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                a.setblocking(False)
                b.setblocking(False)
                for end in (a, b) if cfg.signal_bufsize else ():  # --signal-bufsize, as uWSGI
                    end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(cfg.signal_bufsize))
                    end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(cfg.signal_bufsize))
                self.pairs[wid] = (a, b)
                self._by_master_fd[a.fileno()] = wid
        self.router = SignalRouter(self.table, self.workers, self._deliver_to_worker)
        # remote signals (modifier1 110) and caches (111) on every --socket (inherited by workers)
        from gateway.server.uwsgi import register_handler
        from gateway.usignals import remote as remote_signals

        register_handler(remote_signals.MODIFIER1, remote_signals.answer)
        if self.caches.caches:
            from gateway.subsystems.cache_server import answer

            register_handler(111, answer, wants_body=True)
        self.receiver: Optional[SignalReceiver] = None
        self.wid = 0
        self._next_sweep = time.monotonic() + self.cache_expire_freq
        self._next_housekeeping = time.monotonic() + HOUSEKEEPING_INTERVAL
        self._next_queue_sync = time.monotonic() + self.queue_sync_every

    def _setup_udp(self) -> None:
        """``nodes``/``udp`` of each cache: the senders, and the servers' sockets (bound now,
        before any fork; read by the master's loop, or the worker's without a master)."""
        from gateway.subsystems.cache_udp import CacheUdpConfigError, NodeSender, UdpServer

        try:
            for c in self.caches.caches:
                if c.spec.nodes:
                    c.nodes = NodeSender(c.name, c.spec.nodes)
                if c.spec.udp_servers:
                    server = UdpServer(c, c.spec.udp_servers)
                    self.udp_servers.append(server)
                    for fd in server.fds():
                        self._udp_by_fd[fd] = server
        except CacheUdpConfigError as e:
            for server in self.udp_servers:
                server.close()
            self.caches.close()
            raise SubsystemsConfigError(str(e)) from None

    @classmethod
    def create(cls, cfg: Config, workers: int, master: bool = True,
               builtin_metrics: Sequence[MetricSpec] = ()) -> "Subsystems":
        """Create everything shared; call before forking any worker.

        ``builtin_metrics`` (:func:`gateway.subsystems.builtin_metrics.builtin_specs`, from a
        master) are registered before the ``--metric`` ones when metrics are enabled."""
        global current
        current = cls(cfg, workers, master, builtin_metrics)
        return current

    # -- master side ------------------------------------------------------------------

    def master_fds(self) -> List[int]:
        return list(self._by_master_fd) + list(self._udp_by_fd)

    def on_master_readable(self, fd: int) -> None:
        """A worker asked for signals to be routed (``uwsgi.signal(n)``), or a cache's
        udp server has datagrams."""
        server = self._udp_by_fd.get(fd)
        if server is not None:
            server.on_readable(fd)
            return
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            gen_log.warning("[uwsgi-signal] read(): %s", e.strerror or e)
            return
        for sig in data:
            self.router.route(sig)

    def _deliver_to_worker(self, wid: int, sig: int) -> bool:
        pair = self.pairs.get(wid)
        if pair is None:
            if not self.master and self.receiver is not None and wid == self.wid:
                return self.receiver.deliver(sig)
            return False
        try:
            return pair[0].send(bytes((sig,))) == 1
        except BlockingIOError:
            gen_log.warning("*** SIGNAL QUEUE IS FULL for worker %d: signal %d dropped ***", wid, sig)
            return False
        except OSError:
            return False

    def next_timeout(self) -> float:
        """Seconds the owner's loop may sleep before calling :meth:`master_tick`."""
        now = time.monotonic()
        t = self.router.next_timeout()
        limit = min(self._next_sweep, self._next_housekeeping) - now
        if self.queue_sync_every:
            limit = min(limit, self._next_queue_sync - now)
        return max(0.0, min(limit, t) if t is not None else limit)

    def master_tick(self) -> None:
        """Fire due timers/crons/file monitors; sweep expired cache items; metrics dir."""
        self.router.tick()
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.cache_expire_freq
            if self.cache_sweeper:
                try:
                    self.caches.sweep(self.cache_report_freed)
                except Exception:
                    gen_log.exception("cache sweeper failed")
        if now >= self._next_housekeeping:
            self._next_housekeeping = now + HOUSEKEEPING_INTERVAL
            self.caches.flush_counters()
            self.caches.sync_stores(now)  # store_sync: msync(MS_ASYNC), never waits for the disk
            self.metrics.run_collectors(now)
            self.metrics.write_dir()
        if self.queue_sync_every and now >= self._next_queue_sync and self.queue is not None:
            self._next_queue_sync = now + self.queue_sync_every
            self.queue.sync()

    def forget_app_registrations(self) -> Any:
        """The master is about to import the app again (graceful reload): drop the
        signal handlers, targets, timers, crons and file monitors the previous import
        registered, so the new import's ``@timer`` does not add a second timer.
        Caches, metrics and locks are kept.  Returns what :meth:`restore_app_registrations`
        puts back when the new import fails (the old workers then keep running)."""
        saved = (dict(self.receiver.handlers) if self.receiver is not None else {},
                 self.table.snapshot(), list(self.router.armed))
        if self.receiver is not None:
            self.receiver.handlers.clear()
        self.table.clear()
        self.router.reset()
        return saved

    def restore_app_registrations(self, saved: Any) -> None:
        handlers, table, armed = saved
        if self.receiver is not None:
            self.receiver.handlers.clear()
            self.receiver.handlers.update(handlers)
        self.table.restore(table)
        self.router.reset()
        self.router.armed = armed

    def worker_died(self, wid: int) -> None:
        """Forget worker ``wid``'s handler registrations (its respawn registers again)."""
        self.table.forget_worker(wid)

    # -- worker side ------------------------------------------------------------------

    def attach_worker(self, wid: int, io_loop: Any, engine: Any) -> None:
        """In worker ``wid`` right after fork (before the app is loaded)."""
        global current
        current = self
        self.wid = wid
        self.caches.after_fork(wid)
        self.locks.after_fork()
        self.sharedareas.after_fork()
        if self.queue is not None:
            self.queue.after_fork()
        self.metrics.after_fork()
        self.table.after_fork()
        receiver = self.receiver or SignalReceiver(self.table)
        self.receiver = receiver
        from tornado.ioloop import PeriodicCallback

        # publish this worker's cache hit/miss counters once a second
        self._flusher = PeriodicCallback(self.caches.flush_counters, HOUSEKEEPING_INTERVAL * 1000)
        self._flusher.start()
        if self.master:
            # the master reads the udp servers' sockets; a worker has no use for them
            for server in self.udp_servers:
                server.close()
            self._udp_by_fd = {}
            for other, (m, w) in list(self.pairs.items()):
                m.close()
                if other != wid:
                    w.close()
            fd = self.pairs[wid][1].fileno()
            self._by_master_fd = {}
            receiver.attach(wid, io_loop, engine, fd)
        else:
            receiver.attach(wid, io_loop, engine, None, local_route=self.router.route)
            self._drive_locally(io_loop)
            for fd, server in self._udp_by_fd.items():
                io_loop.add_handler(fd, lambda fd, _events, server=server: server.on_readable(fd), io_loop.READ)

    def _drive_locally(self, io_loop: Any) -> None:
        """No master: this worker's IOLoop runs the timers, crons and sweeper."""

        def tick() -> None:
            try:
                self.master_tick()
            except Exception:
                gen_log.exception("signal/timer housekeeping failed")
            io_loop.call_later(min(self.next_timeout(), HOUSEKEEPING_INTERVAL), tick)

        io_loop.call_later(min(self.next_timeout(), HOUSEKEEPING_INTERVAL), tick)

    # -- stats --------------------------------------------------------------------------

    def stats_locks(self) -> List[Dict[str, int]]:
        """The stats JSON ``locks`` list, uWSGI's entries and order."""
        out: List[Dict[str, int]] = [{lk.name: lk.holder()} for lk in self.locks.locks]
        sig = self.table.lock_holder()
        out += [{"signal": sig}, {"filemon": 0}, {"timer": 0}, {"rbtimer": 0}, {"cron": 0}, {"rpc": 0}, {"snmp": 0}]
        if self.queue is not None:  # uWSGI registers it after snmp, before the caches
            out.append({"queue": self.queue.lock.holder()})
        out += [{name: pid} for name, pid in self.caches.lock_stats()]
        if self.metrics_enabled:
            out.append({"metrics": self.metrics.lock.holder()})
        return out

    def stats_caches(self) -> Optional[List[Dict[str, object]]]:
        """The ``caches`` list, or None when there is no cache (uWSGI omits the key)."""
        return self.caches.stats() if self.caches.caches else None

    def stats_metrics(self) -> Optional[Dict[str, Dict[str, object]]]:
        """The ``metrics`` object, or None when metrics are off (uWSGI omits the key)."""
        return self.metrics.stats() if self.metrics_enabled else None

    def worker_signals(self, wid: int) -> int:
        """Signals handled by worker ``wid`` (the stats' per-worker ``signals``)."""
        return self.table.handled(wid)

    def close(self) -> None:
        for a, b in self.pairs.values():
            a.close()
            b.close()
        for server in self.udp_servers:
            server.close()
        for c in self.caches.caches:
            if c.nodes is not None:
                c.nodes.close()
        self.caches.close()
        self.locks.close()
        self.sharedareas.close()
        if self.queue is not None:
            self.queue.close()
        self.metrics.close()
        self.table.close()
