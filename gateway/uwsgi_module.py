"""The ``uwsgi`` module hosted apps import: uWSGI's embedded Python API, as far as implemented.

Inside the server this module object is installed as ``sys.modules["uwsgi"]`` (and
:mod:`gateway.uwsgidecorators` as ``sys.modules["uwsgidecorators"]``) before the app
is loaded, so ``import uwsgi`` and ``from uwsgidecorators import postfork`` work
unchanged.  Nothing is installed under those names in site-packages: outside the
server they do not shadow a real ``uwsgi`` package.

Types follow uWSGI on Python 3 (``version``, ``hostname``, ``opt`` values and
``rpc_list()`` items are bytes; see reference/uwsgi.md §6) with one deliberate
relaxation: RPC names and arguments may be ``str`` or ``bytes`` (uWSGI issue #959).

The async calls work under the tornado engine, unlike in uWSGI (§3.7 there):
``async_sleep``/``wait_fd_read``/``wait_fd_write`` register a wait that the next
``suspend()`` (or ``yield`` of a WSGI generator) performs, ``ready_fd()`` reports
what woke the core, and a bare ``suspend()`` yields one loop iteration instead of
hanging the core forever.

Implemented: identity (``worker_id``, ``numproc``, ``masterpid``, ``opt``, ``version``,
``started_on``, ``total_requests``, ``workers``, ``mem``...), ``reload``, ``chain_reload``, ``setprocname``, RPC (``register_rpc``,
``rpc`` local and remote, ``call``, ``rpc_list``; see :mod:`gateway.rpc`), ``alarm`` (:mod:`gateway.alarms`), suspension, logging, the
Erlang functions (``erlang_*``, when ``gateway.erlang`` is available), caches,
locks, metrics and uWSGI signals/timers (:mod:`gateway.subsystems.api`), the websocket
functions (``websocket_*``, :mod:`gateway.server.websocket`), mules and farms
(``mule_msg``, ``mule_get_msg``, ``mule_id``, ``farm_msg``, ``farm_get_msg``, ``in_farm``,
``mule_file``, ``mule_msg_recv_size``; :mod:`gateway.mules.api`), the request-log calls
(``set_logvar``, ``get_logvar``, ``log_this_request``, ``add_var``, ``cl``;
:mod:`gateway.request_api`), the socket helpers (``connect``, ``async_connect``, ``send``,
``recv``, ``close``, ``is_connected``, ``disconnect``; :mod:`gateway.api_sockets`),
``listen_queue``, ``ready``, ``stop``, ``add_ms_timer``, ``set_warning_message``,
``spooler_dir``, ``logsize``, ``chunked_read``/``chunked_read_nb``/``sendfile``
(:mod:`gateway.body_api`), ``parsefile``/``extract`` (:mod:`gateway.file_api`),
``route`` (:mod:`gateway.route_api`), ``install_mule_msg_hook``, the legion queries with no legion (``i_am_the_lord``...),
``embedded_data`` and ``offload`` as uWSGI 2.0.31 answers them, and the hooks
``post_fork_hook`` / ``atexit`` / ``mule_msg_hook``.  Everything else uWSGI has is absent (``hasattr`` tells the truth) until
implemented.
"""

from __future__ import annotations

import functools
import os
import signal as _signal
import socket as _socket
import sys
import time
import types
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import loop_engine
from gateway import UWSGI_COMPAT_VERSION, __version__
from gateway import api_sockets as _api_sockets
from gateway import rpc as _rpc
from gateway.api_sockets import async_connect as async_connect  # the async socket helpers
from gateway.api_sockets import close as close
from gateway.api_sockets import connect as connect
from gateway.api_sockets import disconnect as disconnect
from gateway.api_sockets import is_connected as is_connected
from gateway.api_sockets import recv as recv
from gateway.api_sockets import send as send
from gateway.body_api import body_watch_for_fd
from gateway.body_api import chunked_read as chunked_read  # per-request body and file: README "The uwsgi module"
from gateway.body_api import chunked_read_nb as chunked_read_nb
from gateway.body_api import sendfile as sendfile
from gateway.file_api import extract as extract
from gateway.file_api import parsefile as parsefile
from gateway.logs import gen_log
from gateway.request_api import add_var as add_var  # per-request: README "The uwsgi module"
from gateway.request_api import cl as cl
from gateway.request_api import get_logvar as get_logvar
from gateway.request_api import log_this_request as log_this_request
from gateway.request_api import set_logvar as set_logvar
from gateway.route_api import route as route
from gateway.rpc import registry as _rpc_registry
from gateway.server import websocket as _websocket_server
from gateway.server.websocket import websocket_handshake as websocket_handshake  # README "WebSockets"
from gateway.server.websocket import websocket_recv as websocket_recv
from gateway.server.websocket import websocket_recv_nb as websocket_recv_nb
from gateway.server.websocket import websocket_send as websocket_send
from gateway.server.websocket import websocket_send_binary as websocket_send_binary
from gateway.subsystems.api import (  # noqa: F401  (caches, locks, metrics, signals: the module's API)
    add_cron,
    add_file_monitor,
    add_ms_timer,
    add_rb_timer,
    add_timer,
    cache_clear,
    cache_dec,
    cache_del,
    cache_div,
    cache_exists,
    cache_get,
    cache_inc,
    cache_keys,
    cache_mul,
    cache_num,
    cache_set,
    cache_update,
    is_locked,
    lock,
    metric_dec,
    metric_div,
    metric_get,
    metric_inc,
    metric_mul,
    metric_set,
    metric_set_max,
    metric_set_min,
    register_signal,
    signal,
    signal_received,
    signal_registered,
    signal_wait,
    unlock,
)
from gateway.warning_message import set_message as set_warning_message  # noqa: F401  (pinged)

version = UWSGI_COMPAT_VERSION.encode()
version_info = tuple(int(x) for x in UWSGI_COMPAT_VERSION.split(".")) + (0, b"")
#: The implementation behind this module (uWSGI has no such attribute).
gateway_version = __version__
hostname = _socket.gethostname().encode()
numproc = 1
cores = 1
#: an int, as uWSGI's (1: Python threads are enabled, always here)
has_threads = 1
loop: Optional[bytes] = None
opt: Dict[str, Any] = {}
sockets: List[int] = []
buffer_size = 4096
started_on = int(time.time())
is_a_reload = False
unbit = None
magic_table: Dict[bytes, bytes] = {}
applications = None
SPOOL_OK = -2
SPOOL_RETRY = -1
SPOOL_IGNORE = 0

#: Hooks an app may set (uWSGI reads them too).
post_fork_hook: Optional[Callable[[], Any]] = None
atexit: Optional[Callable[[], Any]] = None
#: Called with each message a mule's message loop receives (``@mulefunc`` sets it).
mule_msg_hook: Optional[Callable[[bytes], Any]] = None
#: the hooks of :func:`install_mule_msg_hook`, called after ``mule_msg_hook`` for each message
mule_msg_extra_hooks: List[Callable[[bytes], Any]] = []


class _Runtime:
    """What the worker tells this module about itself (set by the worker before app load)."""

    worker_id = 0
    engine: Any = None
    stats: Any = None
    masterpid = 0
    #: Under a master: a callable returning every worker's dict (from the scoreboard).
    workers: Any = None
    #: In a spooler process: its directory.
    spooler_dir: Optional[str] = None
    #: ``uwsgi.ready()``: the instance finished its startup (sockets bound, the shared app
    #: loaded); set where uWSGI's ``uwsgi_notify_ready`` has run by then (see ``mark_ready``).
    ready = False


_runtime = _Runtime()


def _configure(
    *,
    worker_id: int,
    processes: int,
    cores_per_worker: int,
    options: Dict[str, Any],
    engine: Any,
    stats: Any,
    socket_fds: List[int],
    buffer: int,
    loop_name: Optional[bytes] = b"tornado",
    masterpid: int = 0,
    workers: Optional[Callable[[], Tuple[Dict[str, Any], ...]]] = None,
) -> None:
    """Called by the worker (after fork) before the app is loaded, and by the master
    (``worker_id=0``) before it loads the app it shares with its workers."""
    global numproc, cores, opt, sockets, buffer_size, loop, started_on, magic_table
    _runtime.worker_id = worker_id
    _runtime.masterpid = masterpid
    _runtime.workers = workers
    _runtime.engine = engine
    _runtime.stats = stats
    numproc = processes
    cores = cores_per_worker
    opt = options
    sockets = list(socket_fds)
    buffer_size = buffer
    loop = loop_name
    started_on = int(time.time())
    magic_table = _magic_table()
    _bind_spooler_functions()
    _bind_sharedarea_functions()
    _bind_queue_functions()


def _magic_table() -> Dict[bytes, bytes]:
    """uWSGI's ``uwsgi.magic_table``: the config magic variables that are not empty, as bytes
    (here those that do not depend on a config file: uWSGI's also holds the last file's)."""
    from gateway.config.ini import MagicContext, process_magic

    table = {key.encode(): value.encode("utf-8", "surrogateescape")
             for key, value in process_magic(MagicContext.from_system(os.getcwd())).items() if value}
    table[b"("] = b"%("
    table[b"["] = b"\x1b"
    return table


def _bind_queue_functions() -> None:
    """``queue_*`` and ``queue_size`` exist only with ``--queue``, as in uWSGI."""
    from gateway.sharedmem import queue

    module = sys.modules[__name__]
    for name, func in queue.FUNCTIONS:
        if queue.current is not None:
            setattr(module, name, func)
        elif hasattr(module, name):
            delattr(module, name)
    if queue.current is not None:
        module.__dict__["queue_size"] = queue.current.items
    else:
        module.__dict__.pop("queue_size", None)


def _bind_sharedarea_functions() -> None:
    """``sharedarea_*`` exist only with ``--sharedarea``, as in uWSGI (``hasattr`` tells the truth)."""
    from gateway.sharedmem import sharedarea

    module = sys.modules[__name__]
    for name, func in sharedarea.FUNCTIONS:
        if sharedarea.current is not None:
            setattr(module, name, func)
        elif hasattr(module, name):
            delattr(module, name)


def _bind_spooler_functions() -> None:
    """``spool``, ``spooler_pid``... and ``spoolers`` exist only with ``--spooler``, as in
    uWSGI (so ``hasattr(uwsgi, "spool")`` tells the truth)."""
    from gateway import spooler
    from gateway.spooler import api

    module = sys.modules[__name__]
    current = spooler.current
    for name, func in api.FUNCTIONS:
        if current is not None:
            setattr(module, name, func)
        elif hasattr(module, name):
            delattr(module, name)
    if current is not None:
        module.__dict__["spoolers"] = tuple(os.fsencode(d) for d in current.dirs)
        module.__dict__["spooler_dir"] = spooler_dir
    else:
        module.__dict__.pop("spoolers", None)
        module.__dict__.pop("spooler_dir", None)


def _configure_spooler_process(config: Any, spoolers: Any, slot: int) -> None:
    """In a spooler process (after fork): worker id 0, as in uWSGI, ``i_am_the_spooler()``."""
    _configure(worker_id=0, processes=config.processes or 1, cores_per_worker=1, options=config.uwsgi_opt(),
               engine=None, stats=None, socket_fds=[], buffer=config.buffer_size, loop_name=None,
               masterpid=os.getppid())  # a spooler always runs under a master
    _runtime.spooler_dir = spoolers.slots[slot]
    mark_ready()
    install()


def i_am_the_spooler() -> Optional[bool]:
    """True in a spooler process, None elsewhere (uWSGI's values)."""
    return True if _runtime.spooler_dir is not None else None


def spooler_dir() -> bytes:
    """In a spooler process, the directory it serves (bytes); ``ValueError`` elsewhere, as in
    uWSGI.  Exists only with ``--spooler`` (as the other spooler functions)."""
    if _runtime.spooler_dir is None:
        raise ValueError("This process is not a spooler")
    return os.fsencode(_runtime.spooler_dir)


def mark_ready() -> None:
    """From now on ``uwsgi.ready()`` is True in this process."""
    _runtime.ready = True


def ready() -> Optional[bool]:
    """True once the instance is up, None before (uWSGI's values).

    uWSGI sets its flag after binding the sockets and loading the app, right before it
    spawns the workers: so it is None while the app is imported by the master (or by the
    single worker without one) and True in every worker, mule and spooler, and at import
    time with ``--lazy-apps``.
    """
    return True if _runtime.ready else None


# -- identity -----------------------------------------------------------------------------


def worker_id() -> int:
    """This worker's id (1-based; 0 would be the master)."""
    return _runtime.worker_id


from gateway.mules.api import (  # noqa: E402,F401
    farm_get_msg,
    farm_msg,
    in_farm,
    mule_file,
    mule_get_msg,
    mule_id,
    mule_msg,
    mule_msg_recv_size,
)


def masterpid() -> int:
    """The master's pid; 0 while gateway runs without a master (single worker)."""
    return _runtime.masterpid


def total_requests() -> int:
    """Requests this instance finished so far: every worker's under a master (uWSGI's
    ``workers[0].requests``), this worker's without one."""
    if _runtime.workers is not None:
        return sum(int(w.get("requests", 0)) for w in _runtime.workers())
    stats = _runtime.stats
    return stats.requests if stats is not None else 0


def request_id() -> int:
    """Requests the calling core finished before the current one (uWSGI's per-core counter,
    counted when a request ends: 0 in a core's first request)."""
    core = loop_engine.current_core()
    if core is None:  # a --threads thread: the core that handed it the request
        environ = _current_env()
        engine = _runtime.engine
        core_id = environ.get("uwsgi.core") if environ is not None else None
        if core_id is None or engine is None:
            return 0
        core = engine.cores[core_id]
    return core.requests - 1 if core.in_request else core.requests


def micros() -> int:
    return int(time.time() * 1_000_000)


def mem() -> Tuple[int, int]:
    """(rss, vsz) of this process in bytes, from /proc."""
    from gateway.logformat import process_memory

    return process_memory()


#: Set by a worker under a master: ``hook(core_id, seconds)`` for set_user_harakiri.
_user_harakiri_hook: Optional[Callable[[int, float], None]] = None


def set_user_harakiri_hook(hook: Optional[Callable[[int, float], None]]) -> None:
    """The worker's side of :func:`set_user_harakiri` (its cores' deadlines)."""
    global _user_harakiri_hook
    _user_harakiri_hook = hook


def set_user_harakiri(seconds: int) -> None:
    """uWSGI's: the caller's current task must be over within ``seconds`` (0: no limit of its own).

    In a request (a core, or an app thread with ``--threads``) under a master, the request
    gets a harakiri deadline of its own, beside ``--harakiri``: past it, a request suspended
    on the loop is cancelled (``HarakiriTimeout`` where it waits) and one blocking its worker
    gets the worker killed by the master, with the usual ``HARAKIRI`` lines; the deadline ends
    with the request.  In a mule or a spooler, the process dumps its stacks and exits past the
    deadline (its master respawns it), as uWSGI's mule and spooler harakiri.  Elsewhere
    (a single worker without a master) nothing watches it, as ``--harakiri`` needs a master.
    """
    seconds = int(seconds)
    core = loop_engine.current_core()
    core_id: Optional[int] = core.id if core is not None else None
    if core_id is None and _runtime.worker_id > 0:
        from gateway.server.current_request import environ_or_none

        environ = environ_or_none()  # an app thread (--threads) records its request's environ
        core_id = environ.get("uwsgi.core") if environ is not None else None
    if core_id is not None:
        if _user_harakiri_hook is not None:
            _user_harakiri_hook(core_id, seconds)
        return None
    if _runtime.spooler_dir is not None:
        from gateway.spooler import runner

        if runner.current is not None:
            runner.current.arm_harakiri(seconds)
            return None
    if _runtime.spooler_dir is not None or mule_id():
        import faulthandler

        if seconds > 0:
            faulthandler.dump_traceback_later(seconds, exit=True, file=sys.stderr)
        else:
            faulthandler.cancel_dump_traceback_later()
    return None


def workers() -> Tuple[Dict[str, Any], ...]:
    """One dict per worker: every worker's, from the shared scoreboard, under a master;
    only this one without."""
    if _runtime.workers is not None:
        return _runtime.workers()
    stats = _runtime.stats
    engine = _runtime.engine
    rss, vsz = mem()
    busy = engine is not None and engine.free_cores < len(engine.cores)
    return (
        {
            "id": _runtime.worker_id,
            "pid": os.getpid(),
            "requests": stats.requests if stats else 0,
            "delta_requests": stats.requests if stats else 0,
            "signals": 0,
            "exceptions": stats.exceptions if stats else 0,
            "status": b"busy" if busy else b"idle",
            "rss": rss,
            "vsz": vsz,
            "running_time": 0,
            "last_spawn": started_on,
            "respawn_count": 0,
            "tx": stats.tx if stats else 0,
            "avg_rt": 0,
            "apps": worker_apps(stats.app_list() if stats else ()),
        },
    )


def workers_from_board(board: Any, slots: Optional[Callable[[], List[int]]]) -> Tuple[Dict[str, Any], ...]:
    """``workers()`` under a master: every worker's dict, read from the shared scoreboard
    (``slots()``: the current workers' slots), in a worker or a mule alike."""
    out = []
    for slot in (slots() if slots is not None else []):
        snap = board.snapshot(slot)
        snap["id"] = (slot - 1) % max(board.workers // 2, 1) + 1
        snap["status"] = snap["status"].encode()
        # uWSGI's uwsgi.workers() counts the respawns only (its stats server, the spawns)
        snap["respawn_count"] = max(snap["respawn_count"] - 1, 0)
        snap.pop("cores", None)
        snap["apps"] = worker_apps(board.app_list(slot))
        out.append(snap)
    return tuple(out)


def worker_apps(apps: Iterable[Dict[str, Any]]) -> Tuple[Dict[str, Any], ...]:
    """The ``apps`` of a worker's ``workers()`` dict from the stats' ``apps`` (uWSGI's keys
    and types: ``mountpoint`` and ``chdir`` as bytes, plus ``interpreter`` and ``callable``,
    addresses in uWSGI, 0 here)."""
    return tuple({"id": app["id"], "modifier1": app["modifier1"], "mountpoint": app["mountpoint"].encode(),
                  "startup_time": app["startup_time"], "interpreter": 0, "callable": 0,
                  "requests": app["requests"], "exceptions": app["exceptions"], "chdir": app["chdir"].encode()}
                 for app in apps)


def accepting(flag: int = 1) -> None:
    """Mark this worker accepting (or not, with 0) in the scoreboard, as uWSGI's
    ``uwsgi.accepting()``: what ``workers()`` and the stats show as ``accepting``.  It does
    not start or stop accepting connections; returns None, as uWSGI."""
    setter = getattr(_runtime.stats, "set_accepting", None)
    if setter is not None:
        setter(bool(int(flag)))
    return None


def log(message: Union[str, bytes]) -> bool:
    """Write a line to the server log (uWSGI's ``uwsgi.log``)."""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    gen_log.warning("%s", message)
    return True


def setprocname(name: str) -> None:
    """This process's name in ``ps`` and ``top`` (Linux; see :mod:`gateway.process.procname`)."""
    from gateway.process.procname import set_process_title

    set_process_title(name if isinstance(name, str) else bytes(name).decode("utf-8", "replace"))


def stop() -> Optional[bool]:
    """Stop the instance as uWSGI does, with SIGQUIT to the master: gateway's master shuts down
    at once (its workers get SIGKILL, the caller's request included; send SIGTERM to
    ``masterpid()`` for a graceful stop).  Without a master this worker gets SIGQUIT: it
    stops gracefully (no new requests, the ones in flight finish).  True, or None when the
    signal could not be sent (logged)."""
    pid = _runtime.masterpid or os.getpid()
    try:
        os.kill(pid, _signal.SIGQUIT)
    except OSError as e:
        gen_log.error("uwsgi.stop(): kill(%d, SIGQUIT): %s", pid, e)
        return None
    return True


def listen_queue(id: int = 0) -> int:
    """Connections waiting in the accept queue of socket ``id`` (the order of the socket
    options), read now from Linux ``TCP_INFO`` (uWSGI's master refreshes its copy once a
    second); 0 for a UNIX socket.  ``ValueError`` for an unknown id, as in uWSGI."""
    from gateway.api_args import int_arg
    from gateway.stats import listen_queue as _queue

    n = int_arg(id, "listen_queue")
    if not 0 <= n < len(sockets):
        raise ValueError("unable to find socket %d" % n)
    try:
        sock = _socket.socket(fileno=sockets[n])
    except OSError:
        return 0
    try:
        if sock.family not in (_socket.AF_INET, _socket.AF_INET6):
            return 0
        return _queue(sock)
    finally:
        sock.detach()


def logsize() -> int:
    """The size of the ``--logto`` file in bytes (read now; uWSGI's master refreshes it once a
    second); 0 without one, as in uWSGI."""
    path = opt.get("logto") or opt.get("daemonize") or opt.get("daemonize2")
    if isinstance(path, list):
        path = path[-1]
    if not isinstance(path, (bytes, str)):
        return 0
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def alarm(name: Union[str, bytes], message: Union[str, bytes]) -> bool:
    """Raise the ``--alarm`` ``name`` with ``message`` (uWSGI's ``uwsgi.alarm``): the master
    runs it, with its anti-flood.  False (and nothing sent) without a master or an ``--alarm``,
    or for a message longer than ``--alarm-msg-size`` (uWSGI ignores them silently and
    returns None); an unknown name is logged once by the master."""
    from gateway.process import channel

    if isinstance(name, str):
        name = name.encode("utf-8")
    if isinstance(message, str):
        message = message.encode("utf-8")
    if not isinstance(name, bytes) or not isinstance(message, bytes):
        raise TypeError("uwsgi.alarm(name, message): str or bytes")
    from gateway import alarms

    alarm_set = alarms.current  # the master's, inherited at fork (None: no --alarm)
    ch = channel.current()
    if ch is None or alarm_set is None or len(message) > alarm_set.msg_size or b"\0" in name:
        return False
    return bool(ch.send("alarm", name + b"\0" + message))


def chain_reload() -> bool:
    """Ask the master for a chain reload (one worker at a time); False without a master."""
    from gateway.process import channel

    ch = channel.current()
    return bool(ch is not None and ch.send("chain_reload"))


def reload() -> bool:
    """Gracefully reload the instance (the master's SIGHUP: new workers re-import the app,
    the old ones finish their requests); False without a master, as in uWSGI."""
    pid = _runtime.masterpid
    if not pid:
        return False
    try:
        os.kill(pid, _signal.SIGHUP)
    except OSError:
        return False
    return True


# -- RPC ----------------------------------------------------------------------------------


def register_rpc(name: Union[str, bytes], func: Callable[..., Any], argc: int = 0) -> bool:
    """Register ``func`` as RPC function ``name`` (local to this worker)."""
    _rpc_registry.register(name, func, argc)
    return True


def rpc_list() -> Tuple[bytes, ...]:
    return _rpc_registry.names()


def call(func: Union[str, bytes], *args: Any) -> Optional[bytes]:
    """Call a registered RPC function in this process: its bytes result, or None for
    "no result".  An unknown function or an exception raises (``gateway.rpc.RPCError``
    subclasses) unless ``--rpc-none-on-failure`` asks for uWSGI's None."""
    return _rpc.uwsgi_call(func, *args)


def rpc(node: Union[str, bytes, None], func: Union[str, bytes], *args: Any) -> Optional[bytes]:
    """uWSGI RPC: ``node`` None or empty calls locally (as :func:`call`), else ``host:port``
    or a UNIX socket path over the uwsgi protocol (modifier1 173).

    From a request only the calling core waits; from a plain thread, only that thread;
    on the IOLoop itself it raises ``gateway.rpc.RPCWouldBlock`` (``await
    gateway.rpc.call_async(...)`` there).  Failures raise distinct ``gateway.rpc.RPCError``
    subclasses unless ``--rpc-none-on-failure`` asks for uWSGI's None.
    """
    return _rpc.uwsgi_rpc(node, func, *args)


# -- suspension (tornado engine) ---------------------------------------------------------


def suspend() -> bool:
    """Give up this core: perform the wait registered by ``async_sleep``/``wait_fd_*``,
    or else yield one IOLoop iteration (never hangs, unlike uWSGI's tornado engine)."""
    loop_engine.suspend()
    return True


green_schedule = suspend


def async_sleep(seconds: float) -> bytes:
    """Register a sleep for the next ``suspend()`` / ``yield``; returns ``b""``."""
    core = _core("async_sleep")
    core.pending = lambda: loop_engine.sleep(float(seconds))
    return b""


class _FdWaits:
    """The fd waits registered for the next suspension point (``core.pending``).

    uWSGI lets a core register several (``wait_fd_read(ws_fd, 3)`` then
    ``wait_fd_read(redis_fd)``, its websocket chat example): the core wakes when any
    is ready (``ready_fd()`` tells which) or after the last non-zero timeout given
    (``ready_fd() == -1``).  The fd of this request's websocket (``connection_fd()``)
    is not polled (its transport owns it): it is "ready" when a message is pending or
    the websocket ended, and while waiting on it the greenlet holds no core.  Nor is a
    raw connection's (after ``send(data)``): it is ready when the client sent bytes or
    left (:meth:`gateway.api_sockets.RawConnection.watch`).
    """

    def __init__(self, core: Any) -> None:
        self.core = core
        self.waits: List[Tuple[int, bool]] = []
        self.timeout: Optional[float] = None

    def add(self, fd: int, timeout: float, reader: bool) -> None:
        self.waits.append((fd, reader))
        if timeout:
            self.timeout = float(timeout)

    def __call__(self) -> None:
        core = self.core
        io_loop = core.engine.io_loop
        w = loop_engine.Waiter()
        registered: List[int] = []
        ws = None
        raw = None
        body = None
        try:
            for fd, reader in self.waits:
                ws_here = _websocket_server.websocket_for_fd(fd) if reader else None
                if ws_here is not None:
                    ws = ws_here
                    ws.watch(functools.partial(w.fire, fd))
                    continue
                body_here = body_watch_for_fd(fd) if reader else None
                if body_here is not None:  # chunked_read_nb()'s loop: the body's next bytes
                    body = body_here
                    body.watch(functools.partial(w.fire, fd))
                    continue
                raw_here = _api_sockets.raw_connection_for_fd(fd) if reader else None
                if raw_here is not None:
                    raw = raw_here
                    raw.watch(functools.partial(w.fire, fd))
                    continue
                io_loop.add_handler(fd, lambda fd, ev: w.fire(fd), io_loop.READ if reader else io_loop.WRITE)
                registered.append(fd)
            try:
                if ws is not None:
                    fired = core.engine.wait_parked(w, self.timeout)
                else:
                    fired = w.wait(self.timeout)
            except loop_engine.CoreTimeout:
                fired = -1
        finally:
            if ws is not None:
                ws.watch(None)
            if raw is not None:
                raw.watch(None)
            if body is not None:
                body.watch(None)
            for fd in registered:
                io_loop.remove_handler(fd)
        current = loop_engine.current_core()
        if current is not None:
            current.ready_fd = fired


def _fd_wait(what: str, fd: int, timeout: float, reader: bool) -> bytes:
    core = _core(what)
    core.ready_fd = -1
    pending = core.pending
    if not isinstance(pending, _FdWaits):
        pending = _FdWaits(core)
        core.pending = pending
    pending.add(fd.fileno() if hasattr(fd, "fileno") else int(fd), timeout, reader)
    return b""


def wait_fd_read(fd: int, timeout: float = 0) -> bytes:
    """Register a wait for ``fd`` readable (performed by the next ``suspend()``/``yield``);
    several registrations before one ``suspend()`` wait for whichever comes first."""
    return _fd_wait("wait_fd_read", fd, timeout, True)


def wait_fd_write(fd: int, timeout: float = 0) -> bytes:
    """Register a wait for ``fd`` writable (performed by the next ``suspend()``/``yield``)."""
    return _fd_wait("wait_fd_write", fd, timeout, False)


def connection_fd() -> int:
    """The fd of this request's client connection (uWSGI's ``connection_fd()``); with a
    websocket, ``wait_fd_read()`` on it waits for its next message."""
    return _websocket_server.connection_fd()


def ready_fd() -> int:
    """The fd that woke this core from its last fd wait, or -1 (timeout / none)."""
    core = loop_engine.current_core()
    return core.ready_fd if core is not None else -1


def _core(what: str) -> Any:
    core = loop_engine.current_core()
    if core is None:
        raise loop_engine.NotInCore("uwsgi.%s() must be called from a request (an async core)" % what)
    return core


# -- Erlang (gateway.erlang.api; imported on first use) -------------------------------------


def _erlang_api() -> types.ModuleType:
    from gateway.erlang import api

    return api


def erlang_connect(node: Any, *args: Any, **kw: Any) -> Any:
    return _erlang_api().erlang_connect(node, *args, **kw)


def erlang_close(handle: Any) -> Any:
    return _erlang_api().erlang_close(handle)


def erlang_rpc(node: Any, module: Any, function: Any, args: Any = (), timeout: Optional[float] = None) -> Any:
    return _erlang_api().erlang_rpc(node, module, function, args, timeout=timeout)


def erlang_send_message(node: Any, name_or_pid: Any, message: Any) -> Any:
    return _erlang_api().erlang_send_message(node, name_or_pid, message)


def erlang_recv_message(node: Any, timeout: Optional[float] = None) -> Any:
    return _erlang_api().erlang_recv_message(node, timeout=timeout)


def erlang_register_process(name: Any, func: Callable[..., Any]) -> Any:
    return _erlang_api().erlang_register_process(name, func)


def install_mule_msg_hook(func: Callable[[bytes], Any]) -> None:
    """Add ``func`` to the hooks a mule's message loop calls with each message (after
    ``mule_msg_hook``, each in the order installed), as uWSGI's ``mule_msg_extra_hooks``."""
    mule_msg_extra_hooks.append(func)
    return None


# -- what uWSGI answers without the feature behind it ----------------------------------------


def i_am_the_lord(legion: Union[str, bytes]) -> bool:
    """False: gateway has no legions (``--legion`` is refused), so this instance is the lord
    of none, uWSGI's answer for a legion it does not know."""
    _legion_name(legion, "i_am_the_lord")
    return False


def lord_scroll(legion: Union[str, bytes]) -> None:
    """None: no legion, no lord's scroll (uWSGI's answer for an unknown legion)."""
    _legion_name(legion, "lord_scroll")
    return None


def scrolls(legion: Union[str, bytes]) -> None:
    """None: no legion, no scrolls (uWSGI's answer for an unknown legion)."""
    _legion_name(legion, "scrolls")
    return None


def _legion_name(legion: Any, what: str) -> None:
    if not isinstance(legion, (str, bytes)):
        raise TypeError("%s() argument must be str, not %s" % (what, type(legion).__name__))


def embedded_data(name: Union[str, bytes]) -> bytes:
    """uWSGI returns data linked into its binary (``_binary_NAME_start``); gateway has no
    binary to link into, so every name is unknown: uWSGI's ``ValueError``."""
    if not isinstance(name, (str, bytes)):
        raise TypeError("embedded_data() argument must be str, not %s" % type(name).__name__)
    raise ValueError("unable to find symbol %s" % (os.fsdecode(name),))


def offload(*args: Any) -> bytes:
    """``b""`` and nothing else, as in uWSGI 2.0.31, whose body of this call is commented
    out; a file is offloaded by returning ``wsgi.file_wrapper`` with ``--offload-threads``."""
    return b""


def install() -> None:
    """Make ``import uwsgi`` / ``import uwsgidecorators`` resolve to gateway's modules."""
    sys.modules["uwsgi"] = sys.modules[__name__]
    from gateway import uwsgidecorators

    sys.modules["uwsgidecorators"] = uwsgidecorators


def run_postfork_hooks() -> None:
    """Run ``uwsgi.post_fork_hook`` (which ``uwsgidecorators`` points at its chain).

    A hook that raises is logged on ``gateway.app`` and the worker goes on serving,
    as uWSGI does (it prints the exception and clears it).
    """
    hook = getattr(sys.modules[__name__], "post_fork_hook", None)
    if hook is not None:
        try:
            hook()
        except Exception:
            from gateway.logs import app_log

            app_log.exception("error in a postfork hook")


def run_atexit() -> None:
    hook = getattr(sys.modules[__name__], "atexit", None)
    if hook is not None:
        try:
            hook()
        except Exception:
            from gateway.logs import app_log

            app_log.exception("error in uwsgi.atexit")


def _current_env() -> Optional[Dict[str, Any]]:
    from gateway.server.current_request import environ_or_none

    return environ_or_none()


if not TYPE_CHECKING:  # (a module __getattr__ would make every name of this module "exist" for mypy)

    def __getattr__(name: str) -> Any:
        """``uwsgi.env``: the environ of the request the caller serves, as uWSGI sets it for
        each request (here per core, and per thread with ``--threads``, where uWSGI has none);
        absent outside a request, as in uWSGI."""
        if name == "env":
            environ = _current_env()
            if environ is not None:
                return environ
        raise AttributeError("module %r has no attribute %r" % (__name__, name))

    def __dir__() -> List[str]:
        names = list(globals())
        if _current_env() is not None:
            names.append("env")
        return sorted(names)
