"""Run gateway's HTTP server for one WSGI app in a background thread (its own loop).

For in-process WSGI/HTTP behaviour tests: the test talks to it with blocking
sockets (``support.httpclient``) while the server's IOLoop, engine and cores live
in the thread, exactly as in a worker.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Optional

from tornado.ioloop import IOLoop

from gateway.process.worker import _ErrorsStream
from gateway.protocol.environ import base_environ
from gateway.server.http import FileWrapper, HTTPServer, RequestStats, ServerSettings
from gateway.server.listeners import bind_tcp
from loop_engine import Engine


class ThreadServer:
    """``with ThreadServer(app, cores=4, socket_timeout=1) as srv: srv.port``"""

    def __init__(self, app: Callable, cores: int = 10, server_class: Any = HTTPServer, **settings: Any) -> None:
        self.app = app
        self.server_class = server_class  # HTTPServer, or gateway.server.uwsgi.UwsgiServer for --socket
        self.cores = cores
        self.settings_kw = settings
        self.port = 0
        self.engine: Optional[Engine] = None
        self.io_loop: Optional[IOLoop] = None
        self.stats = RequestStats()
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.io_loop = IOLoop.current()
            self.engine = Engine(self.cores, self.io_loop)
            settings = ServerSettings(self.app, self.engine, stats=self.stats, **self.settings_kw)
            sock = bind_tcp("127.0.0.1:0", 128)
            self.port = sock.getsockname()[1]
            env = base_environ(
                "127.0.0.1", str(self.port), multithread=self.cores > 1, multiprocess=False,
                errors=_ErrorsStream(), file_wrapper=FileWrapper,
            )
            self.server = self.server_class(settings, env)
            self.server.start(sock)
            self.sock = sock
        except BaseException as e:  # pragma: no cover - reported by __enter__
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.io_loop.start()
        self.server.close_all()
        sock.close()
        loop.close()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop thread and return its result."""
        done = threading.Event()
        box: list = []
        assert self.io_loop is not None
        self.io_loop.add_callback(lambda: (box.append(fn()), done.set()))
        assert done.wait(5), "server loop did not run the callback"
        return box[0]

    def __enter__(self) -> "ThreadServer":
        self._thread.start()
        assert self._ready.wait(10), "server thread did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.io_loop is not None:
            self.io_loop.add_callback(self.io_loop.stop)
        self._thread.join(10)
