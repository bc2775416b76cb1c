"""What every protocol's connections and the shared WSGI runner need, resolved once per worker.

:class:`ServerSettings` carries the app, the engine, the limits and timeouts, the log
switches, the worker's :class:`RequestStats`, and the runner's hook lists: code that
must see every request whatever protocol carries it (a scoreboard, ``--threads``
bookkeeping) appends to ``request_start_hooks`` / ``request_end_hooks`` instead of
patching a protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from gateway.server.body_discard import DISCARD_MAX, LINGER_TIMEOUT
from loop_engine import Core, Engine

if TYPE_CHECKING:  # pragma: no cover
    from gateway.logformat import LogFormat
    from gateway.routing.response import ResponsePhases
    from gateway.server.wsgi_call import WSGIResponse


class RequestStats:
    """Per-worker counters shared with the ``uwsgi`` module (a worker without a master's
    scoreboard: :class:`~gateway.process.scoreboard.WorkerBoard` is the other holder of this
    interface).  ``mountpoints``: the apps, by app id."""

    __slots__ = ("requests", "exceptions", "tx", "mountpoints", "_app_requests", "_app_exceptions", "_startup",
                 "_more")

    def __init__(self, mountpoints: Sequence[str] = ("",)) -> None:
        self.requests = 0
        self.exceptions = 0
        self.tx = 0
        self.mountpoints = tuple(mountpoints)
        n = max(len(self.mountpoints), 1)
        self._app_requests = [0] * n
        self._app_exceptions = [0] * n
        self._startup = [0] * n
        #: requests of the apps past the configured ones (dynamic apps), by app id
        self._more: Dict[int, int] = {}

    @property
    def app_requests(self) -> int:
        """App 0's requests, counted as each request starts (see :meth:`app_switched`)."""
        return self._app_requests[0]

    @app_requests.setter
    def app_requests(self, value: int) -> None:
        self._app_requests[0] = value

    def app_switched(self, app_id: int) -> None:
        """The request just counted for app 0 went to the ``--mount`` app ``app_id`` (a
        dynamic app past the configured ones, or -1: no app)."""
        if 0 < app_id < len(self._app_requests):
            self._app_requests[0] -= 1
            self._app_requests[app_id] += 1
        elif app_id:
            self._app_requests[0] -= 1
            if app_id > 0:
                self._more[app_id] = self._more.get(app_id, 0) + 1

    def app_request_count(self, app_id: int) -> int:
        if 0 <= app_id < len(self._app_requests):
            return self._app_requests[app_id]
        return self._more.get(app_id, 0) if app_id > 0 else -1

    def app_loaded(self, seconds: List[int]) -> None:
        n = min(len(seconds), len(self._startup))
        self._startup[:n] = seconds[:n]

    def count_exception(self, app_id: int = 0) -> None:
        self.exceptions += 1
        if 0 <= app_id < len(self._app_exceptions):
            self._app_exceptions[app_id] += 1

    def app_list(self) -> List[Dict[str, Any]]:
        """The apps as the stats server's ``apps`` lists them."""
        return [{"id": i, "modifier1": 0, "mountpoint": m, "startup_time": self._startup[i],
                 "requests": self._app_requests[i], "exceptions": self._app_exceptions[i], "chdir": ""}
                for i, m in enumerate(self.mountpoints)]

    @property
    def total_requests(self) -> int:
        """The instance's requests (the log line's ``req: N/TOTAL``): a lone worker's own."""
        return self.requests


class ServerSettings:
    """``ServerSettings(app, engine, socket_timeout=30)``: one per worker, shared by its listeners."""

    #: a --route* rule adds response transformations (``gzip:``, ``chunked:``...): the runner
    #: then looks for the request's chain (``gateway.routing.transforms``)
    transforms = False
    #: --start-response-nodelay: the head goes out from ``start_response`` (``WSGIResponse.flush_head``)
    start_response_nodelay = False
    #: the request log counts switches as uWSGI's sync mode (no ``--tornado``): one per body
    #: item, not one more (``WSGIResponse.logged_switches``)
    sync_switches = False
    # (these two are read only when ``start_hooks`` is set, which the worker does with
    # set_start_hooks: class defaults, instance attributes once set)

    def __init__(
        self,
        app: Callable,
        engine: Engine,
        *,
        max_head: int = 4096,
        max_headers: int = 100,
        max_body: int = 0,
        max_vars: int = 128,
        socket_timeout: float = 4.0,
        send_timeout: Optional[float] = None,
        body_timeout: float = 30.0,
        body_min_rate: int = 500,
        keepalive_timeout: float = 15.0,
        log_requests: bool = True,
        log_micros: bool = False,
        stats: Any = None,
        listen: int = 100,
        uwsgi_keepalive_max: int = 128,
        fair_accept: bool = False,
        write_exceptions: bool = True,
        log_4xx: bool = False,
        log_5xx: bool = False,
        log_slow: int = 0,
        log_big: int = 0,
        log_also: Sequence[str] = (),
        log_x_forwarded_for: bool = False,
        post_buffering: int = 0,
        memory_report: bool = False,
        add_headers: Sequence[str] = (),
        catch_exceptions: bool = False,
        reload_on_exception: bool = False,
        proxy_protocol: bool = False,
        wsgi_strict: bool = False,
        accept_buffers: bool = False,
        write_errors_tolerance: int = 0,
        write_errors_exception_only: bool = False,
        post_buffering_bufsize: int = 0,
        body_read_warning: int = 8,
        discard_max: int = DISCARD_MAX,
        linger_timeout: float = LINGER_TIMEOUT,
    ) -> None:
        self.app = app
        self.engine = engine
        #: --buffer-size: an HTTP request head, or a uwsgi vars block.
        self.max_head = max_head
        self.max_headers = max_headers
        self.max_body = max_body
        #: --max-vars: key/value pairs in a uwsgi vars block.
        self.max_vars = max_vars
        self.socket_timeout = socket_timeout
        #: --so-send-timeout: how long a write may wait for the peer to take bytes
        self.send_timeout = socket_timeout if send_timeout is None else send_timeout
        #: --body-timeout / --body-min-rate: the whole body's deadline (wsgi_input.BodyDeadline).
        self.body_timeout = body_timeout
        self.body_min_rate = body_min_rate
        self.keepalive_timeout = keepalive_timeout
        #: --discard-body-max / --linger-timeout: an unread body after its response
        #: (gateway.server.body_discard)
        self.discard_max = discard_max
        self.linger_timeout = linger_timeout
        #: --listen: the backlog, for servers that (re)start listening themselves
        self.listen = listen
        #: several workers share the listening sockets and --greedy-accept is off: accept
        #: one connection per wake-up (``Engine.add_listener(batch=1)``)
        self.fair_accept = fair_accept
        #: --socket-keepalive-max: idle persistent uwsgi connections per socket (gateway's router)
        self.uwsgi_keepalive_max = uwsgi_keepalive_max
        self.log_requests = log_requests
        self.log_micros = log_micros
        #: False with --disable-write-exception: the app's write() to a vanished client
        #: returns quietly instead of raising ClientDisconnected (an OSError)
        self.write_exceptions = write_exceptions
        #: --log-4xx/--log-5xx/--log-slow/--log-big: with --disable-logging, the lines still wanted
        self.log_4xx = log_4xx
        self.log_5xx = log_5xx
        self.log_slow = log_slow
        self.log_big = log_big
        #: --log-zero/--log-sendfile/--log-ioerror: "zero", "sendfile", "ioerror"
        self.log_also = frozenset(log_also)
        self.log_some = not log_requests and bool(log_4xx or log_5xx or log_slow or log_big or log_also)
        #: --log-x-forwarded-for: the request line's address is X-Forwarded-For when present
        self.log_x_forwarded_for = log_x_forwarded_for
        #: --post-buffering: read the whole body before the app runs (bytes kept in memory; 0: off)
        self.post_buffering = post_buffering
        #: --memory-report: the default request line starts with the worker's vsz and rss
        self.memory_report = memory_report
        #: --add-header: header lines appended to every app response (``b""``: none)
        self.extra_headers = b"".join(h.encode("latin-1") + b"\r\n" for h in add_headers)
        self.extra_headers_count = len(add_headers)
        #: --catch-exceptions: an app exception's 500 carries its traceback (development)
        self.catch_exceptions = catch_exceptions
        #: --reload-on-exception: the worker retires after a request whose app raised
        self.reload_on_exception = reload_on_exception
        #: --enable-proxy-protocol: an HTTP connection may start with a PROXY header (v1 or v2)
        #: naming the client (gateway.protocol.proxy_header)
        self.proxy_protocol = proxy_protocol
        #: --wsgi-strict: an app returning bytes has it iterated (PEP 3333) instead of sent
        self.wsgi_strict = wsgi_strict
        #: --wsgi-accept-buffer: body chunks may be any buffer-protocol object
        self.accept_buffers = accept_buffers
        #: --write-errors-tolerance: failed writes (vanished client) a response goes on after
        self.write_errors_tolerance = write_errors_tolerance
        #: --write-errors-exception-only: a failed write is thrown into the app's generator
        self.write_errors_exception_only = write_errors_exception_only
        #: --post-buffering-bufsize: the size of each read of --post-buffering (0: 65536)
        self.post_buffering_bufsize = post_buffering_bufsize
        #: --body-read-warning: megabytes one wsgi.input read may return before a warning
        self.body_read_warning = body_read_warning
        #: --response-headers-limit: bytes of status line + headers start_response accepts
        self.response_headers_limit = 65535
        #: --upload-progress: the directory of the progress files of buffered uploads (None: off)
        self.upload_progress: Optional[str] = None
        #: --chunked-input-timeout: seconds one ``uwsgi.chunked_read()`` waits by default (0: --socket-timeout)
        self.chunked_input_timeout = 0.0
        #: --chunked-input-limit: the largest chunk ``uwsgi.chunked_read()`` returns (0: none)
        self.chunked_input_limit = 1048576
        #: --allowed-modifiers/--remap-modifier: the uwsgi sockets' wire modifier1 -> served
        #: modifier1 table (``gateway.server.modifiers``), None: every modifier1 as itself
        self.uwsgi_modifiers: Optional[Dict[int, int]] = None
        #: --max-connections: a ``gateway.server.conn_budget.ConnectionBudget`` the worker sets
        #: (None: unbounded), shared by its listeners
        self.connection_budget: Optional[Any] = None
        #: set by the worker: ``retire(reason)`` stops it gracefully (a master respawns it)
        self.retire: Optional[Callable[[str], None]] = None
        #: --log-format: a ``gateway.logformat.LogFormat`` the worker sets, or None for uWSGI's line
        self.log_format: Optional[LogFormat] = None
        #: --error-route*/--response-route*/--final-route* and --del/collect/pull-header: a
        #: ``gateway.routing.response.ResponsePhases`` the worker sets, or None (none given)
        self.response_phases: Optional[ResponsePhases] = None
        #: ``start_response`` has more to do (``transforms`` or ``start_response_nodelay``, set
        #: by :meth:`set_start_hooks`): one test per request for both
        self.start_hooks = False
        #: Counters shared with the ``uwsgi`` module (requests per app, per worker).
        self.stats = stats if stats is not None else RequestStats()
        #: ``hook(core, environ)`` before the app is called (in the request's core; ``core``
        #: is None outside one).  Must not raise.
        self.request_start_hooks: List[Callable[[Optional[Core], Dict[str, Any]], None]] = []
        #: ``hook(core, environ, resp)`` after the response, before the log line.
        self.request_end_hooks: List[Callable[[Optional[Core], Dict[str, Any], WSGIResponse], None]] = []

    def set_start_hooks(self, transforms: bool, nodelay: bool) -> None:
        """What ``start_response`` does beyond recording the head: start the request's
        transformation chain (some ``--route`` rule adds one), send the head at once
        (``--start-response-nodelay``)."""
        self.transforms = transforms
        self.start_response_nodelay = nodelay
        self.start_hooks = transforms or nodelay
