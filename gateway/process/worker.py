"""A worker process: a fresh IOLoop, the app, N async cores, the listeners.

Order of start-up, as in uWSGI without ``--master``: bind the sockets, create this
worker's **own** event loop and IOLoop (never one inherited from a parent: an IOLoop
shared across fork crash-loops uWSGI's workers), install the ``uwsgi`` module, load
the app, run the ``postfork`` hooks, start the Erlang node if asked, then serve and
print the readiness line::

    gateway ready: pid=1234 http-socket=127.0.0.1:9090 [erlang=gw@localhost]

SIGINT, SIGTERM and SIGQUIT stop the worker gracefully: it stops accepting, lets the
requests in flight finish for up to ``GRACEFUL_TIMEOUT`` seconds, runs
``uwsgi.atexit`` and exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from typing import Any, List, Optional

from tornado.ioloop import IOLoop

from gateway import rpc, uwsgi_module
from gateway.app_loader import load_app
from gateway.logs import gen_log
from gateway.protocol.environ import base_environ
from gateway.rpc import registry as _rpc_registry
from gateway.server import websocket as websocket_server
from gateway.server.http import FileWrapper, HTTPServer, RequestStats, ServerSettings
from gateway.server.listeners import bound_address
from loop_engine import Engine

#: Seconds a stopping worker waits for requests in flight.
GRACEFUL_TIMEOUT = 10.0


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

    def __init__(self, config: Any, sockets: List[socket.socket], worker_id: int = 1) -> None:
        self.config = config
        self.sockets = sockets
        self.worker_id = worker_id
        self.io_loop: Optional[IOLoop] = None
        self.engine: Optional[Engine] = None
        self.servers: List[HTTPServer] = []
        self._stopping = False

    def setup(self) -> None:
        """Everything up to (not including) serving; raises on a bad app."""
        cfg = self.config
        loop = new_event_loop(getattr(cfg, "loop", "") or "")
        asyncio.set_event_loop(loop)
        self.io_loop = IOLoop.current()
        engine = Engine(cfg.tornado or 1, self.io_loop)
        self.engine = engine
        settings_stats = RequestStats()
        uwsgi_module._configure(
            worker_id=self.worker_id,
            processes=cfg.processes or 1,
            cores_per_worker=cfg.tornado or 1,
            options=cfg.uwsgi_opt(),
            engine=engine,
            stats=settings_stats,
            socket_fds=[s.fileno() for s in self.sockets],
            buffer=cfg.buffer_size,
        )
        uwsgi_module.install()
        from gateway import subsystems

        if subsystems.current is not None:
            # per-worker side of caches, locks, metrics, signals (created before fork)
            subsystems.current.attach_worker(self.worker_id, self.io_loop, engine)
        _rpc_registry.max_functions = cfg.rpc_max or _rpc_registry.max_functions
        rpc.configure(timeout=cfg.socket_timeout, none_on_failure=bool(cfg.rpc_none_on_failure),
                      max_reply=cfg.rpc_max_reply)
        app = load_app(cfg.wsgi_file, cfg.module, cfg.callable or "application")
        self.settings = ServerSettings(
            app,
            engine,
            max_head=cfg.buffer_size,
            max_headers=cfg.http_max_headers,
            max_body=cfg.limit_post or 0,
            socket_timeout=float(cfg.socket_timeout),
            keepalive_timeout=float(cfg.http_keepalive),
            log_requests=not cfg.disable_logging,
            log_micros=bool(getattr(cfg, "log_micros", False)),
            stats=settings_stats,
        )
        websocket_server.configure(websocket_server.WebSocketHub(
            engine,
            max_size=cfg.websockets_max_size * 1024,
            ping_freq=float(cfg.websockets_ping_freq),
            pong_tolerance=float(cfg.websockets_pong_tolerance),
            send_timeout=float(cfg.socket_timeout),
            stats=settings_stats,
        ))
        uwsgi_module.run_postfork_hooks()

    def _base_environ(self, sock: socket.socket) -> dict:
        host, port = sock.getsockname()[:2]
        cfg = self.config
        return base_environ(
            socket.gethostname() if host in ("0.0.0.0", "::") else host,
            str(port),
            multithread=(cfg.tornado or 1) > 1,
            multiprocess=(cfg.processes or 1) > 1,
            errors=_ErrorsStream(),
            file_wrapper=FileWrapper,
            extra={"uwsgi.version": uwsgi_module.version, "uwsgi.node": uwsgi_module.hostname},
        )

    def serve(self) -> None:
        assert self.io_loop is not None and self.engine is not None
        loop = self.io_loop.asyncio_loop  # type: ignore[attr-defined]
        for sock in self.sockets:
            server = HTTPServer(self.settings, self._base_environ(sock))
            server.start(sock)
            self.servers.append(server)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            loop.add_signal_handler(sig, self.stop, sig)
        extra = ""
        if getattr(self.config, "erlang", None):
            node_name = self._start_erlang()
            extra = " erlang=%s" % node_name
        addrs = ",".join(bound_address(s) for s in self.sockets)
        gen_log.info(
            "*** running tornado loop engine with %d async cores (%s) ***",
            len(self.engine.cores), type(loop).__module__.split(".")[0],
        )
        sys.stderr.write("gateway ready: pid=%d http-socket=%s%s\n" % (os.getpid(), addrs, extra))
        sys.stderr.flush()
        self.io_loop.start()

    def _start_erlang(self) -> str:
        from gateway.erlang import api as erlang_api

        assert self.io_loop is not None

        fut = erlang_api.start(
            self.config, self.io_loop, self.worker_id, self.config.processes or 1
        )
        node = self.io_loop.run_sync(lambda: fut, timeout=float(self.config.erlang_timeout or 30))
        return node.full

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop accepting, finish the requests in flight (bounded), then stop the loop."""
        assert self.io_loop is not None and self.engine is not None
        if self._stopping:
            gen_log.warning("second signal: exiting now")
            self.io_loop.stop()
            return
        self._stopping = True
        io_loop, engine = self.io_loop, self.engine
        gen_log.info("%s received: stopping worker %d (pid: %d)", signal.Signals(sig).name, self.worker_id, os.getpid())
        self.engine.stop()
        if websocket_server._hub is not None:
            websocket_server._hub.close_all()  # CLOSE 1001: their cores then unwind
        deadline = io_loop.time() + GRACEFUL_TIMEOUT

        def check() -> None:
            busy = len(engine.cores) - engine.free_cores
            if busy == 0 or io_loop.time() > deadline:
                if busy:
                    gen_log.warning("%d requests still running after %ss: exiting anyway", busy, GRACEFUL_TIMEOUT)
                for server in self.servers:
                    server.close_all()
                io_loop.stop()
            else:
                io_loop.call_later(0.05, check)

        check()

    def run(self) -> int:
        self.setup()
        try:
            self.serve()
        finally:
            if getattr(self.config, "erlang", None):
                try:
                    from gateway.erlang import api as erlang_api

                    assert self.io_loop is not None
                    self.io_loop.run_sync(erlang_api.stop, timeout=5)
                except Exception:
                    gen_log.exception("error stopping the Erlang node")
            uwsgi_module.run_atexit()
        return 0
