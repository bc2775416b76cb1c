"""A worker process: a fresh IOLoop, the app, N async cores, the listeners.

Order of start-up, as in uWSGI without ``--master``: bind the sockets, create this
worker's **own** event loop and IOLoop (never one inherited from a parent: an IOLoop
shared across fork crash-loops uWSGI's workers), install the ``uwsgi`` module, run the
``--hook-post-fork`` hooks, load the app, run the ``postfork`` hooks, start the Erlang
node if asked, run the ``--hook-accepting*`` hooks, then serve and print the readiness
line::

    gateway ready: pid=1234 [http-socket=127.0.0.1:9090] [socket=127.0.0.1:3031] [erlang=gw@localhost]

SIGINT, SIGTERM and SIGQUIT stop the worker gracefully: it stops accepting, lets the
requests in flight finish for up to ``GRACEFUL_TIMEOUT`` seconds, runs
``uwsgi.atexit`` and exits 0 (the interpreter then runs the :mod:`atexit` hooks).

Under a master (:mod:`gateway.process.master`) the worker is forked with the app
already loaded (unless ``--lazy-apps``), its scoreboard slot and its channel to the
master.  Then SIGHUP, SIGTERM and SIGINT stop it gracefully (bounded by
``--worker-reload-mercy``), SIGQUIT ends it at once, SIGUSR2 dumps every thread's
stack (``faulthandler``: works while the loop is blocked, for
``--harakiri-verbose``), and instead of printing the readiness line it tells the
master ``ready``; at a graceful exit it runs the :mod:`atexit` hooks itself (it ends with
``os._exit``) unless ``--skip-atexit``.  A heartbeat every ``HEARTBEAT`` seconds stamps the scoreboard
(the master's harakiri sees a blocked loop by its age), cancels requests suspended
past ``--harakiri`` in their core, and retires the worker after
``--max-requests`` or above ``--reload-on-rss``.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence

from tornado.ioloop import IOLoop

from gateway import app_loader, hooks, rpc, uwsgi_module
from gateway.app_loader import load_apps
from gateway.config.model import Config
from gateway.logs import gen_log
from gateway.mounts import app_mountpoints
from gateway.process import heap_trim, policy
from gateway.protocol.environ import base_environ
from gateway.routing import chain_from_config
from gateway.rpc import registry as _rpc_registry
from gateway.server import websocket as websocket_server
from gateway.server.app_threads import ThreadedApp
from gateway.server.conn_budget import ConnectionBudget, default_limit
from gateway.server.fastcgi import FastCGIServer
from gateway.server.http import FileWrapper, HTTPServer, RequestStats, ServerSettings
from gateway.server.listeners import ready_addresses, socket_protocol, tls_context
from gateway.server.modifiers import modifier_table
from gateway.server.scgi import ScgiServer
from gateway.server.socket_map import parse_maps, served
from gateway.server.uwsgi import UwsgiServer
from gateway.server.wsgi_call import WSGIResponse
from loop_engine import Core, Engine

#: environ key of a request's uwsgi.set_user_harakiri deadline (µs), so it follows the
#: request when it parks and takes another core
USER_HARAKIRI_KEY = "gateway.user_harakiri"

#: The server class for each protocol a listening socket speaks (gateway.server.listeners).
SERVERS = {"http": HTTPServer, "https": HTTPServer, "uwsgi": UwsgiServer, "suwsgi": UwsgiServer, "fastcgi": FastCGIServer,
           "fastcgi-nph": FastCGIServer, "scgi": ScgiServer, "scgi-nph": ScgiServer}
#: the option forcing the modifier1 of each protocol's requests (uWSGI's ``--http-socket-modifier1``...)
MODIFIER1_OPTIONS = {"http": "http_socket_modifier1", "https": "https_socket_modifier1",
                     "fastcgi": "fastcgi_modifier1", "fastcgi-nph": "fastcgi_modifier1",
                     "scgi": "scgi_modifier1", "scgi-nph": "scgi_modifier1"}

#: Seconds a stopping worker waits for requests in flight (without a master).
GRACEFUL_TIMEOUT = 10.0
#: Seconds between two heartbeats of a worker under a master.
HEARTBEAT = 0.25

#: Functions ``hook(worker)`` run in each worker after fork, once its IOLoop and engine
#: exist and before the app is loaded (lazy) or the postfork hooks run: per-worker
#: state of subsystems attaches here.
worker_hooks: List[Callable[["Worker"], None]] = []


def cores_per_worker(cfg: Config) -> int:
    """Async cores of a worker: ``--tornado N``, else one per ``--threads`` thread."""
    return int(cfg.tornado or cfg.threads or 1)


def _send_timeout(cfg: Config) -> float:
    """``--so-send-timeout [SECONDS]`` (alone: 1, as uWSGI's), else ``--socket-timeout``."""
    value = cfg.so_send_timeout
    if value is None:
        return float(cfg.socket_timeout)
    return 1.0 if value == "" else float(value)


def _https_extra(sock: socket.socket) -> Dict[str, Any]:
    """The constant extra environ keys of a listener: ``HTTPS=on`` and the https scheme on an
    ``--https-socket`` (as uWSGI's https proto sets them; on an ``--ssl-socket`` they come from
    the packet's vars, as uWSGI's suwsgi proto)."""
    extra: Dict[str, Any] = {"uwsgi.version": uwsgi_module.version, "uwsgi.node": uwsgi_module.hostname}
    if socket_protocol(sock) == "https" and tls_context(sock) is not None:
        extra["HTTPS"] = "on"
        extra["wsgi.url_scheme"] = "https"
    return extra


class HarakiriTimeout(Exception):
    """Thrown into a core whose request ran past ``--harakiri`` while suspended on the loop."""


class _ErrorsStream:
    """``wsgi.errors``: text written by apps goes to stderr, unbuffered per line."""

    def write(self, s: str) -> int:
        return sys.stderr.write(s)

    def writelines(self, lines: Any) -> None:
        sys.stderr.writelines(lines)

    def flush(self) -> None:
        sys.stderr.flush()


def new_event_loop(kind: str = "") -> asyncio.AbstractEventLoop:
    """A fresh asyncio loop: ``uvloop`` when asked (or available and ``kind`` is empty)."""
    if kind in ("", "auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise RuntimeError("--loop uvloop: uvloop is not installed (pip install 'gateway[fast]')") from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class Worker:
    """One worker: ``Worker(config, sockets, worker_id=1).run()`` serves until stopped."""

    def __init__(self, config: Config, sockets: List[socket.socket], worker_id: int = 1, *,
                 app: Any = None, board: Any = None, channel: Any = None, masterpid: int = 0,
                 scoreboard: Any = None, slots: Optional[Callable[[], List[int]]] = None,
                 first_spawn: bool = True) -> None:
        self.config = config
        #: the first process of this worker id in the instance (not a respawn): --hook-accepting-once
        self.first_spawn = first_spawn
        #: the sockets this worker serves (``--map-socket`` may leave some to other workers)
        self.sockets = served(sockets, parse_maps(config.map_socket), worker_id) if config.map_socket else sockets
        self.worker_id = worker_id
        self.app = app
        #: Our scoreboard slot (a :class:`~gateway.process.scoreboard.WorkerBoard`) under a master.
        self.board = board
        self.channel = channel
        self.masterpid = masterpid
        self.scoreboard = scoreboard
        self.slots = slots
        self.io_loop: Optional[IOLoop] = None
        self.engine: Optional[Engine] = None
        self.servers: List[Any] = []
        self._stopping = False
        self._spawned = time.monotonic()
        self.harakiri = float(config.harakiri or 0)
        self.max_requests = int(config.max_requests or 0)
        if self.max_requests and config.max_requests_delta:
            # uWSGI's spread: worker K retires after max-requests + (K - 1) * delta requests
            self.max_requests += (worker_id - 1) * int(config.max_requests_delta)
        self.reload_on_rss = int(config.reload_on_rss or 0) * 1024 * 1024
        self.reload_on_as = int(config.reload_on_as or 0) * 1024 * 1024
        self.min_lifetime = float(config.min_worker_lifetime if config.min_worker_lifetime is not None else 10)
        self.max_lifetime = float(config.max_worker_lifetime or 0)
        if self.max_lifetime and config.max_worker_lifetime_delta:
            self.max_lifetime += (worker_id - 1) * float(config.max_worker_lifetime_delta)  # uWSGI's spread
        self.graceful_timeout = float(config.worker_reload_mercy or (60 if board is not None else GRACEFUL_TIMEOUT))
        self._beats = 0
        self.threaded: Optional[ThreadedApp] = None
        self._tracebacker: Any = None
        #: paused by the master's SIGTSTP (:meth:`_follow_pause`)
        self._paused = False
        #: uwsgi.set_user_harakiri: core id -> its request's deadline (µs since the epoch)
        self._user_harakiri: Dict[int, int] = {}
        #: the process's exit status once it served (``QUIET_EXIT``: a recycle the master does not log)
        self.exit_status = 0

    def setup(self) -> None:
        """Everything up to (not including) serving; raises on a bad app."""
        cfg = self.config
        loop = new_event_loop(cfg.loop or "")
        asyncio.set_event_loop(loop)
        self.io_loop = IOLoop.current()
        engine = Engine(cores_per_worker(cfg), self.io_loop)
        self.engine = engine
        heap_trim.start(self.io_loop, float(cfg.heap_trim_interval))
        settings_stats = self.board if self.board is not None else RequestStats(app_mountpoints(cfg))
        uwsgi_module._configure(
            worker_id=self.worker_id,
            processes=cfg.processes or 1,
            cores_per_worker=cores_per_worker(cfg),
            options=cfg.uwsgi_opt(),
            engine=engine,
            stats=settings_stats,
            socket_fds=[s.fileno() for s in self.sockets],
            buffer=cfg.buffer_size,
            masterpid=self.masterpid,
            workers=self._workers_info if self.scoreboard is not None else None,
        )
        if self.masterpid:
            uwsgi_module.mark_ready()  # uWSGI's master was ready before it forked this worker
        uwsgi_module.install()
        from gateway import subsystems

        if subsystems.current is not None:
            # per-worker side of caches, locks, metrics, signals (created before fork)
            subsystems.current.attach_worker(self.worker_id, self.io_loop, engine)
        _rpc_registry.max_functions = cfg.rpc_max or _rpc_registry.max_functions
        rpc.configure(timeout=cfg.socket_timeout, none_on_failure=bool(cfg.rpc_none_on_failure),
                      max_reply=cfg.rpc_max_reply)
        for hook in list(worker_hooks):
            hook(self)
        hooks.run_phase(cfg, "post-fork")
        if cfg.worker_exec2:
            self._become(str(cfg.worker_exec2), "worker-exec2")
        app = self.app
        if app is None:
            from gateway import startup_lines

            app = load_apps(cfg)
            self.app = app
            startup_lines.log_lines(startup_lines.app_loaded_lines(cfg))
        settings_stats.app_loaded(app_loader.load_seconds)  # this process's load, or the master's
        if self.board is None:  # no master: uWSGI's line for its one worker, once the app is loaded
            gen_log.info("spawned uWSGI worker 1 (and the only) (pid: %d, cores: %d)", os.getpid(),
                         cores_per_worker(cfg))
        if cfg.chdir2:
            gen_log.info("chdir() to %s", cfg.chdir2)
            os.chdir(cfg.chdir2)  # checked by the CLI at startup
        from gateway.server.static_policy import FilePolicy

        policy = FilePolicy.from_config(cfg)  # --mimefile was read once already by the CLI
        if cfg.static_map or cfg.static_map2 or cfg.check_static or cfg.check_static_docroot:
            # --static-map/--check-static: files answered before the app (in its thread with --threads)
            from gateway.server.static_files import StaticFiles, parse_static_map

            app = StaticFiles(app, [parse_static_map(spec) for spec in cfg.static_map], cfg.check_static,
                              cfg.static_index, policy,
                              [parse_static_map(spec) for spec in cfg.static_map2], cfg.static_safe,
                              (cfg.static_cache_paths_name or None, int(cfg.static_cache_paths))
                              if cfg.static_cache_paths else None, docroot=bool(cfg.check_static_docroot))
        chain = chain_from_config(cfg)
        if len(chain):
            # --route*: the rules run before the static files and the apps (as in uWSGI)
            from gateway.routing.wsgi import Router

            app = Router(app, chain, worker_id=self.worker_id, policy=policy, del_headers=cfg.del_header)
        if cfg.honour_range:
            # --honour-range: a Range request answered from a file wrapper (static files too)
            from gateway.server.range_layer import RangeLayer

            app = RangeLayer(app)
        if cfg.check_cache is not None or (subsystems.current is not None and subsystems.current.caches.caches):
            # --check-cache: a GET of a cached REQUEST_URI never reaches the chain; with a
            # cache, UWSGI_CACHE_GET is answered from it likewise
            from gateway.server.check_cache import CheckCache

            app = CheckCache(app, cfg.check_cache, check_uri=cfg.check_cache is not None)
        if (cfg.threads or 1) > 1:
            # --threads M: the app runs in M OS threads, the loop keeps the I/O.
            self.threaded = app = ThreadedApp(app, cfg.threads, offload=bool(cfg.offload_threads),
                                                  nodelay=bool(cfg.start_response_nodelay))
        self.settings = ServerSettings(
            app,
            engine,
            max_head=cfg.buffer_size,
            max_headers=cfg.http_max_headers,
            max_body=cfg.limit_post or 0,
            max_vars=2 * (cfg.max_vars or 64),
            listen=int(cfg.listen or 100),
            fair_accept=(cfg.processes or 1) > 1 and not cfg.greedy_accept,
            socket_timeout=float(cfg.socket_timeout),
            send_timeout=_send_timeout(cfg),
            body_timeout=float(cfg.body_timeout),
            body_min_rate=cfg.body_min_rate,
            keepalive_timeout=float(cfg.http_keepalive),
            discard_max=int(cfg.discard_body_max),
            linger_timeout=float(cfg.linger_timeout),
            log_requests=not cfg.disable_logging,
            log_micros=bool(cfg.log_micros),
            stats=settings_stats,
            uwsgi_keepalive_max=int(cfg.socket_keepalive_max),
            write_exceptions=not cfg.disable_write_exception,
            log_4xx=bool(cfg.log_4xx),
            log_5xx=bool(cfg.log_5xx),
            log_slow=int(cfg.log_slow or 0),
            log_big=int(cfg.log_big or 0),
            log_also=[w for w in ("zero", "sendfile", "ioerror") if cfg.get("log-" + w)],
            log_x_forwarded_for=bool(cfg.log_x_forwarded_for),
            post_buffering=int(cfg.post_buffering or 0),
            memory_report=bool(cfg.memory_report),
            add_headers=list(cfg.add_header),
            catch_exceptions=bool(cfg.catch_exceptions),
            reload_on_exception=bool(cfg.reload_on_exception),
            proxy_protocol=bool(cfg.enable_proxy_protocol),
            wsgi_strict=bool(cfg.wsgi_strict),
            accept_buffers=bool(cfg.wsgi_accept_buffer),
            write_errors_tolerance=int(cfg.write_errors_tolerance or 0),
            write_errors_exception_only=bool(cfg.write_errors_exception_only),
            post_buffering_bufsize=int(cfg.post_buffering_bufsize or 0),
            body_read_warning=int(cfg.body_read_warning if cfg.body_read_warning is not None else 8),
        )
        self.settings.retire = self._retire
        self.settings.uwsgi_modifiers = modifier_table(cfg.allowed_modifiers, cfg.remap_modifier)
        self.settings.connection_budget = ConnectionBudget(engine, int(cfg.max_connections) or default_limit())
        self.settings.response_headers_limit = int(cfg.response_headers_limit)
        self.settings.upload_progress = cfg.upload_progress or None
        self.settings.chunked_input_timeout = float(cfg.chunked_input_timeout or 0)
        self.settings.chunked_input_limit = int(cfg.chunked_input_limit)
        from gateway.process import worker_triggers

        worker_triggers.install(self)  # --reaper, --reload-on-exception-type, --reload-on-pss...
        if cfg.reload_os_env:
            from gateway import python_extras

            self.settings.request_start_hooks.append(python_extras.request_hook(python_extras.EnvironRefresher()))
        self._setup_response_phases(cfg, policy)
        websocket_server.configure(websocket_server.WebSocketHub(
            engine,
            max_size=cfg.websockets_max_size * 1024,
            ping_freq=float(cfg.websockets_ping_freq),
            pong_tolerance=float(cfg.websockets_pong_tolerance),
            send_timeout=_send_timeout(cfg),
            stats=settings_stats,
        ))
        if getattr(cfg, "offload_threads", 0):
            from concurrent.futures import ThreadPoolExecutor

            self.settings.offload = ThreadPoolExecutor(  # type: ignore[attr-defined]
                max_workers=cfg.offload_threads, thread_name_prefix="offload")
        if not cfg.tornado:
            self.settings.sync_switches = True  # the log's switches as uWSGI's sync mode
        if cfg.log_format:
            from gateway.logformat import LogFormat
            from gateway.logs import DEFAULT_LOGDATE, date_format

            # %(ftime): the --logdate format; with none (or uWSGI's default date) it is %(ltime)
            ftime = date_format(cfg) if cfg.log_format_strftime else None
            self.settings.log_format = LogFormat(cfg.log_format, ftime=None if ftime == DEFAULT_LOGDATE else ftime,
                                                 forwarded_for=bool(cfg.log_x_forwarded_for))
        board = self.board
        if board is not None:
            # The master sees every request in every core through the scoreboard.
            def started(core: Optional[Core], environ: Dict[str, Any]) -> None:
                if core is not None:
                    board.begin(core.id, environ, core.request_start)

            def ended(core: Optional[Core], environ: Dict[str, Any], response: WSGIResponse) -> None:
                if core is not None:
                    board.end(core.id, core.request_start, failed=response.exception is not None,
                              offloaded=response.offloaded, routed="gateway.routed" in environ)
                    if self._user_harakiri:
                        self._user_harakiri.pop(core.id, None)
                if self.max_requests or self.reload_on_rss or self.reload_on_as:
                    # as uWSGI, right after the request that reaches the limit: the worker
                    # takes no request more (the heartbeat catches the ones --min-worker-lifetime held)
                    reason = self._retire_reason()
                    if reason:
                        self._retire(reason)

            def parked(core: Any, parking: bool) -> None:
                # A parked websocket (Engine.wait_parked) holds no core: the scoreboard
                # shows the core idle, and when it takes a core again, harakiri counts
                # from then (the time it waited is not "running").
                if parking:
                    board.park(core.id)  # its uwsgi.set_user_harakiri deadline leaves the core too
                    self._user_harakiri.pop(core.id, None)
                else:
                    core.request_start = time.time()
                    info = core.info if isinstance(core.info, dict) else {}
                    board.begin(core.id, info, core.request_start)
                    deadline = info.get(USER_HARAKIRI_KEY, 0)
                    if deadline:  # the request's own deadline follows it to its new core
                        self._user_harakiri[core.id] = deadline
                        board.set_user_harakiri(core.id, deadline)

            self.settings.request_start_hooks.append(started)
            self.settings.request_end_hooks.append(ended)
            engine.park_hook = parked
            uwsgi_module.set_user_harakiri_hook(self._set_user_harakiri)
        uwsgi_module.mark_ready()  # without a master: after the app, as uWSGI's single process
        uwsgi_module.run_postfork_hooks()

    def _base_environ(self, sock: socket.socket) -> dict:
        if sock.family == socket.AF_UNIX:
            host, port = "0.0.0.0", ""  # nginx sends SERVER_NAME/SERVER_PORT anyway
        else:
            host, port = sock.getsockname()[:2]
        cfg = self.config
        return base_environ(
            socket.gethostname() if host in ("0.0.0.0", "::") else host,
            str(port),
            multithread=cores_per_worker(cfg) > 1 or (cfg.threads or 1) > 1,
            multiprocess=(cfg.processes or 1) > 1,
            errors=_ErrorsStream(),
            file_wrapper=None if cfg.wsgi_disable_file_wrapper else FileWrapper,
            extra=_https_extra(sock),
        )

    def serve(self) -> None:
        assert self.io_loop is not None and self.engine is not None
        loop = self.io_loop.asyncio_loop  # type: ignore[attr-defined]
        for sock in self.sockets:
            protocol = socket_protocol(sock)
            kind = SERVERS[protocol]
            server = kind(self.settings, self._base_environ(sock), tls_context(sock))
            if protocol in MODIFIER1_OPTIONS:
                server.strip_script_name = getattr(self.config, MODIFIER1_OPTIONS[protocol]) == 30
            server.nph = protocol.endswith("-nph")
            server.keep_encoded_slashes = bool(self.config.http_path_info_no_decode_slashes)
            server.start(sock)
            self.servers.append(server)

        def arm_signals() -> None:
            # Only once the loop runs: uvloop reads signals only while running, so a SIGTERM
            # between add_signal_handler and start() was swallowed and the worker never stopped
            # (the master's shutdown waited its whole mercy). Until then the default disposition
            # ends a worker that serves nothing yet at once.
            if self.board is None:
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
                    loop.add_signal_handler(sig, self.stop, sig)
                # no master to pause the workers: not frozen by the kernel either (SIGTSTP's
                # default, uWSGI's lone worker's fate), which a later --resume could not undo
                loop.add_signal_handler(signal.SIGTSTP, gen_log.warning,
                                        "SIGTSTP ignored: --pause/--resume need a master (--master)")
            else:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, self.stop, sig)
                # SIGHUP: the master's graceful stop (a reload, --cheaper, --idle), which it
                # logs itself when uWSGI does: the worker says nothing more
                loop.add_signal_handler(signal.SIGHUP, self.stop, signal.SIGHUP, True)
                loop.add_signal_handler(signal.SIGQUIT, self._exit_now)
                # the master's pause toggle (ignored until now): follow its flag, from now on
                # and at once (respawned while the instance is paused)
                loop.add_signal_handler(signal.SIGTSTP, self._follow_pause)
                self._follow_pause()

        self.io_loop.add_callback(arm_signals)
        if self.board is not None:
            faulthandler.register(signal.SIGUSR2, all_threads=True, chain=False)
        if self.config.py_tracebacker:
            self._start_tracebacker(self.config.py_tracebacker)
        node_name = ""
        if self.config.erlang:
            node_name = self._start_erlang()
        gen_log.info(
            "*** running tornado loop engine with %d async cores (%s)%s ***",
            len(self.engine.cores), type(loop).__module__.split(".")[0],
            ", the app in %d threads" % self.threaded.threads if self.threaded is not None else "",
        )
        if self.config.py_autoreload:
            self._watch_modules(float(self.config.py_autoreload))
        self._accepting_hooks()
        if self.board is None:
            from gateway.process.privileges import warn_if_root

            warn_if_root(self.config, gen_log)
            addrs = ready_addresses(self.sockets)
            extra = " erlang=%s" % node_name if node_name else ""

            def announce() -> None:
                sys.stderr.write("gateway ready: pid=%d %s%s\n" % (os.getpid(), addrs, extra))
                sys.stderr.flush()

            # Once the loop runs: its signal handlers are only live from then on (uvloop),
            # and whoever reads the line may signal us at once.
            self.io_loop.add_callback(announce)
        else:
            from gateway.process.scoreboard import ST_IDLE

            self.board.set_status(ST_IDLE)
            self.board.set_accepting(True)
            self._heartbeat()
            if self.channel is not None:
                self.channel.on_master_gone = self._master_gone
                self.channel.on("harakiri", lambda payload: None)
                self.channel.attach(self.io_loop)
                # Once the loop runs (see above): the master may forward a signal at once.
                self.io_loop.add_callback(self.channel.send, "ready", node_name.encode())
        self.io_loop.start()

    def _accepting_hooks(self) -> None:
        """uWSGI's accepting phases, once the listeners are ready, before the loop runs (and
        before the master hears "ready"): ``accepting`` in every worker, ``accepting1`` in
        worker 1, their ``-once`` forms on a worker id's first spawn only."""
        phases = ["accepting"]
        if self.first_spawn:
            phases.append("accepting-once")
        if self.worker_id == 1:
            phases.append("accepting1")
            if self.first_spawn:
                phases.append("accepting1-once")
        for phase in phases:
            hooks.run_phase(self.config, phase)

    def _follow_pause(self) -> None:
        """SIGTSTP from the master (``--pause``/``--resume``): read the scoreboard's flag;
        paused, accept nothing new (requests and connections in flight go on), as a
        suspended uWSGI worker finishes its request and takes no other."""
        board, engine = self.board, self.engine
        if board is None or engine is None or self._stopping:
            return
        paused = board.suspended
        if paused == self._paused:
            return
        from gateway.process.scoreboard import ST_IDLE, ST_PAUSE

        self._paused = paused
        engine.hold_accepting(paused)
        board.set_accepting(not paused)
        board.set_status(ST_PAUSE if paused else ST_IDLE)
        gen_log.info("*** worker %d %s ***", self.worker_id, "suspended" if paused else "resumed")

    def _setup_response_phases(self, cfg: Any, policy: Any) -> None:
        """--error-route*, --response-route*, --final-route*, --del/collect/pull-header (run by
        the WSGI runner for every protocol) and --error-page-*."""
        from gateway.routing.response import phases_from_config
        from gateway.routing.wsgi import SubsystemServices
        from gateway.server import error_pages

        self.settings.response_phases = phases_from_config(cfg, self.worker_id, SubsystemServices(), policy)
        from gateway.routing import chain_from_config
        from gateway.routing.actions import TRANSFORM_ACTIONS

        chain = chain_from_config(cfg)
        # --route* transformations: the runner looks for a request's chain only when some rule adds
        # one; --start-response-nodelay: the head goes out from start_response
        self.settings.set_start_hooks(any(chain.uses(name) for name in TRANSFORM_ACTIONS),
                                      bool(cfg.start_response_nodelay))
        error_pages.configure({403: cfg.error_page_403, 404: cfg.error_page_404, 500: cfg.error_page_500})

    def _retire(self, reason: str) -> None:
        """Stop gracefully now (``--reload-on-exception``, ``--max-requests``...): a master
        respawns this worker."""
        if not self._stopping:
            _goodbye(reason)
            self.stop(signal.SIGTERM, quiet=True)

    def _pin_cpus(self, per_worker: int) -> None:
        """``--cpu-affinity N``: worker K runs on N CPUs, taken in turn from the allowed ones."""
        try:
            allowed = sorted(os.sched_getaffinity(0))
            first = (self.worker_id - 1) * per_worker
            chosen = sorted({allowed[(first + i) % len(allowed)] for i in range(per_worker)})
            os.sched_setaffinity(0, chosen)
        except (AttributeError, OSError) as e:
            gen_log.warning("--cpu-affinity: cannot pin worker %d: %s", self.worker_id, e)
            return
        gen_log.info("set cpu affinity for worker %d toward cpu %s", self.worker_id, " ".join(map(str, chosen)))

    def _watch_modules(self, interval: float) -> None:
        """``--py-autoreload``: see :mod:`gateway.process.autoreload`."""
        if self.channel is None:
            gen_log.warning("--py-autoreload needs a master (--master): modules are not watched")
            return
        from tornado.ioloop import PeriodicCallback

        from gateway.process.autoreload import ModuleWatcher

        watcher = ModuleWatcher(ignore=self.config.py_auto_reload_ignore)
        watcher.scan()  # the times to compare with

        def check() -> None:
            changed = watcher.scan()
            if changed is not None and not self._stopping:
                gen_log.info("[uwsgi-python-reloader] module/file %s has been modified", changed)
                os.kill(os.getppid(), signal.SIGHUP)  # the master: a graceful reload
                self._reloader.stop()

        self._reloader = PeriodicCallback(check, interval * 1000)
        self._reloader.start()

    # -- under a master ----------------------------------------------------------------------

    def _heartbeat(self) -> None:
        """Stamp the scoreboard, cancel expired suspended requests, retire when due."""
        board = self.board
        if board is None or self.io_loop is None:
            return
        self._beats += 1
        if self._beats % 4 == 1:
            rss, vsz = uwsgi_module.mem()
            board.heartbeat(rss, vsz)
        else:
            board.heartbeat()
        if self.threaded is not None:  # the master kills at the deadline for these, without a grace
            board.set_thread_cores(list(self.threaded.busy_cores))
        if self.harakiri > 0 or self._user_harakiri:
            self._cancel_expired()
        if not self._stopping:
            reason = self._retire_reason()
            if reason and " lifetime reached" in reason:
                # uWSGI's master says it and the worker just goes: no goodbye, and its exit
                # status tells our master not to log "killed successfully" either
                gen_log.info("%s", reason)
                self.exit_status = policy.QUIET_EXIT
                self.stop(signal.SIGTERM, quiet=True)
            elif reason:
                _goodbye(reason)
                self.stop(signal.SIGTERM, quiet=True)
        self.io_loop.call_later(HEARTBEAT, self._heartbeat)

    def _retire_reason(self) -> str:
        age = time.monotonic() - self._spawned
        if self.max_lifetime and int(age) > self.max_lifetime:  # uWSGI's whole seconds, past the limit
            return "worker %d lifetime reached, it was running for %d second(s)" % (self.worker_id, int(age))
        if age < self.min_lifetime:
            return ""
        if self.max_requests and self.board.delta_requests >= self.max_requests:
            return "worker %d reached max-requests (%d)" % (self.worker_id, self.max_requests)
        if (self.reload_on_rss or self.reload_on_as) and self.board.delta_requests:  # uWSGI checks after a request
            rss, vsz = uwsgi_module.mem()  # one read of /proc for both limits
            if self.reload_on_rss and rss >= self.reload_on_rss:
                return "worker %d rss %d MB above reload-on-rss (%d MB)" % (
                    self.worker_id, rss >> 20, self.reload_on_rss >> 20)
            if self.reload_on_as and vsz >= self.reload_on_as:
                return "worker %d address space %d MB above reload-on-as (%d MB)" % (
                    self.worker_id, vsz >> 20, self.reload_on_as >> 20)
        return ""

    def _cancel_expired(self) -> None:
        from gateway.process.policy import expired_cores
        from gateway.process.scoreboard import now_us

        engine = self.engine
        assert engine is not None and self.board is not None
        in_threads = self.threaded.busy_cores if self.threaded is not None else ()
        # A core whose request runs in a thread cannot be cancelled: the master recycles the worker.
        starts = [(core.id, int(core.request_start * 1_000_000)) for core in engine.cores
                  if core.in_request and core.greenlet is not None and core.request_start
                  and core.id not in in_threads]
        now = now_us()
        threshold = int(self.config.harakiri_queue_threshold or 0)
        if threshold and starts:  # --harakiri-queue-threshold: no harakiri while the queues are short
            from gateway.process.master import listen_backlog

            if listen_backlog(self.sockets) < threshold:
                return
        for core_id in expired_cores(self.harakiri, now, starts, self._user_harakiri):
            core = engine.cores[core_id]
            g = core.greenlet
            if g is None or getattr(core, "_harakiri_sent", None) is g:
                continue
            info = core.info if isinstance(core.info, dict) else {}
            deadline = self._user_harakiri.get(core_id, 0)
            why = ("past its uwsgi.set_user_harakiri deadline" if deadline and now > deadline
                   else "running for more than %ss" % _num(self.harakiri))
            gen_log.error(
                "HARAKIRI ON WORKER %d core %d (pid: %d): %s %s %s: cancelled",
                self.worker_id, core.id, os.getpid(), info.get("REQUEST_METHOD", ""),
                info.get("REQUEST_URI", ""), why,
            )
            if self.config.harakiri_verbose and g.gr_frame is not None:
                gen_log.error("HARAKIRI stack of core %d:\n%s", core.id, "".join(traceback.format_stack(g.gr_frame)))
            from gateway.process.scoreboard import W_HARAKIRI_COUNT

            self.board.add(W_HARAKIRI_COUNT)
            g.reusable = False  # whatever the app does after this, its greenlet ends with it
            g.throw(HarakiriTimeout("harakiri: request %s" % why))

    def _set_user_harakiri(self, core_id: int, seconds: float) -> None:
        """``uwsgi.set_user_harakiri(seconds)`` from the request in ``core_id`` (0: none)."""
        from gateway.process.scoreboard import now_us

        deadline = now_us() + int(seconds * 1_000_000) if seconds > 0 else 0
        if deadline:
            self._user_harakiri[core_id] = deadline
        else:
            self._user_harakiri.pop(core_id, None)
        if self.board is not None:
            self.board.set_user_harakiri(core_id, deadline)
        engine = self.engine
        info = engine.cores[core_id].info if engine is not None and 0 <= core_id < len(engine.cores) else None
        if isinstance(info, dict):
            info[USER_HARAKIRI_KEY] = deadline  # kept with the request if it parks (wait_parked)

    def _master_gone(self) -> None:
        if not self._stopping:
            gen_log.warning("uWSGI worker %d error: the master disconnected from this worker. Shutting down the worker.",
                            self.worker_id)  # uWSGI's line
            self.stop(signal.SIGTERM, quiet=True)

    def _exit_now(self) -> None:
        sys.stderr.flush()
        os._exit(0)

    def _workers_info(self) -> tuple:
        return uwsgi_module.workers_from_board(self.scoreboard, self.slots)

    def _start_erlang(self) -> str:
        from gateway.erlang import api as erlang_api
        from gateway.erlang.errors import EPMDError

        io_loop = self.io_loop
        assert io_loop is not None
        # After a reload the previous worker of this id may still hold the node name with
        # EPMD while it finishes its requests (bounded by its mercy): wait for it, serving
        # HTTP meanwhile, rather than dying and being respawned in a loop.
        deadline = time.monotonic() + (self.graceful_timeout + 5 if self.board is not None else 0)
        waited = False
        while True:
            fut = erlang_api.start(
                self.config, io_loop, self.worker_id, self.config.processes or 1
            )
            try:
                node = io_loop.run_sync(lambda fut=fut: fut, timeout=float(self.config.erlang_timeout or 30))
                return node.full
            except EPMDError as e:
                if "already in use" not in str(e) or time.monotonic() > deadline:
                    raise
                if not waited:
                    waited = True
                    gen_log.info("erlang: %s; waiting for the previous worker %d to release it",
                                 e, self.worker_id)
                io_loop.run_sync(lambda: asyncio.sleep(0.2))

    def _start_tracebacker(self, prefix: str) -> None:
        """``--py-tracebacker``: the report of every thread and core on ``PREFIX<worker id>``."""
        from gateway.process.tracebacker import Tracebacker

        tracebacker = Tracebacker(prefix, self.worker_id)
        try:
            tracebacker.start()
        except OSError as e:
            gen_log.error("--py-tracebacker: cannot bind %s: %s", tracebacker.path, e.strerror or e)
            return
        self._tracebacker = tracebacker

    def stop(self, sig: int = signal.SIGTERM, quiet: bool = False) -> None:
        """Stop accepting, finish the requests in flight (bounded), then stop the loop."""
        assert self.io_loop is not None and self.engine is not None
        if self._stopping:
            if sig != signal.SIGHUP:
                gen_log.warning("second signal: exiting now")
                self.io_loop.stop()
            return
        self._stopping = True
        if not quiet:
            gen_log.info("%s received: stopping worker %d (pid: %d)", signal.Signals(sig).name, self.worker_id, os.getpid())
        self.engine.stop()
        if websocket_server._hub is not None:
            websocket_server._hub.close_all()  # CLOSE 1001: their cores then unwind
        if self.board is not None:
            from gateway.process.scoreboard import ST_STOPPING

            self.board.set_accepting(False)
            self.board.set_status(ST_STOPPING)
        for server in self.servers:
            drain = getattr(server, "begin_drain", None)  # keep-alive protocols close idle connections
            if drain is not None:
                drain()
        stop_when_drained(self.io_loop, self.engine, self.servers, self.graceful_timeout)

    def _become(self, program: str, option: str) -> None:
        """``--worker-exec``/``--worker-exec2``: this worker becomes ``program``."""
        from gateway.process.worker_exec import become

        cfg = self.config
        become(program, self.sockets, honour_stdin=bool(cfg.honour_stdin), safe_fds=cfg.safe_fd,
               worker_id=self.worker_id, channel=self.channel, option=option)

    def run(self) -> int:
        if self.config.worker_exec:
            self._become(str(self.config.worker_exec), "worker-exec")
        if self.config.cpu_affinity:
            self._pin_cpus(int(self.config.cpu_affinity))
        try:
            self.setup()
        except hooks.HookFailed as e:
            hooks.destroy_from_child(e)
        status = 0
        try:
            from gateway.python_extras import hijack

            hijacked = hijack(self.config, self.worker_id)  # --pyshell, --python-worker-override
            if hijacked is None:
                self.serve()
                status = self.exit_status
            else:
                status = hijacked
        except hooks.HookFailed as e:
            hooks.destroy_from_child(e)
        finally:
            if self.config.erlang:
                try:
                    from gateway.erlang import api as erlang_api

                    assert self.io_loop is not None
                    self.io_loop.run_sync(erlang_api.stop, timeout=5)
                except Exception:
                    gen_log.exception("error stopping the Erlang node")
            if self._tracebacker is not None:
                self._tracebacker.stop()
            uwsgi_module.run_atexit()
            if self.board is not None and not self.config.skip_atexit:
                # Forked by a master, this process ends with os._exit: run the interpreter's
                # exit hooks here, as uWSGI's Py_Finalize does in each worker (without a master
                # the interpreter's normal exit runs them).
                _run_python_atexit()
        return status


def _run_python_atexit() -> None:
    """The functions registered with :mod:`atexit` (the app's, or before the fork), once;
    a failing one is logged by :mod:`atexit` itself and the others still run."""
    import atexit

    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()


def stop_when_drained(io_loop: Any, engine: Any, servers: Sequence[Any], timeout: float) -> None:
    """Stop ``io_loop`` once no core is busy and no connection of ``servers`` is open (TLS
    handshakes in progress included), or ``timeout`` seconds from now at the latest, closing
    what is left then.  The graceful end of a worker, once it has stopped accepting.

    The first look comes a few loop turns later, not at once: a connection the loop accepted
    just before the stop gets its ``connection_made()`` there, and only then is it in
    ``server.connections``.  uvloop schedules that call from its accept (one turn); asyncio's
    own servers build the transport in a task step, which schedules it (two turns).  Looking
    at once dropped such a connection unanswered, about one graceful reload in twenty under
    load.  (Turns, not a delay: a worker with nothing to finish still exits at once, before
    the master spawns its successor.)"""
    deadline = io_loop.time() + timeout

    def check() -> None:
        busy = len(engine.cores) - engine.free_cores
        # Connections accepted before the stop are owed their answer.
        busy += sum(len(server.connections) + len(getattr(server, "handshakes", ())) for server in servers)
        if busy == 0 or io_loop.time() > deadline:
            if busy:
                gen_log.warning("%d requests or connections still open after %ss: exiting anyway",
                                busy, _num(timeout))
            for server in servers:
                server.close_all()
            io_loop.stop()
        else:
            io_loop.call_later(0.05, check)

    def after_turns(turns: int) -> None:
        if turns:
            io_loop.add_callback(after_turns, turns - 1)
        else:
            check()

    after_turns(_TURNS_BEFORE_FIRST_LOOK)


#: loop turns between a worker's graceful stop and its first look at what is still open (see
#: :func:`stop_when_drained`): asyncio needs two, one more to spare
_TURNS_BEFORE_FIRST_LOOK = 3


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _goodbye(reason: str) -> None:
    """A worker retiring on its own: why, then uWSGI's own line on a line of its own (log
    parsers match ``...The work of process N is done. Seeya!`` whole)."""
    gen_log.info("%s", reason)
    gen_log.info("...The work of process %d is done. Seeya!", os.getpid())
