"""The ``uwsgi.erlang_*`` functions, and ``start()``/``stop()`` for the worker.

Each worker runs its own node (see :mod:`.names` for the per-worker name).  The
worker calls :func:`start` once its IOLoop exists; the returned future resolves to
the :class:`~.node.Node` once EPMD registered it.

The functions below are what hosted code sees in the ``uwsgi`` module.  They are
synchronous, and work from three places:

* inside an async core (a WSGI request, or an RPC function / registered process
  running inline, the default ``call_mode``): they suspend only that core, the
  worker keeps serving;
* from another thread (e.g. a function in the ``threads`` call mode's pool): on an
  established connection the thread writes its request itself and sleeps on a
  lock the loop releases with the answer; otherwise (connecting first) they hand
  the work to the loop thread-safely.  Either way only that thread blocks;
* on the loop thread outside a core (a loop callback) they cannot wait without
  stopping the worker, so they raise ``loop_engine.NotInCore``; coroutines use the
  ``async`` variants (:func:`rpc`, :func:`connect`, :func:`send_message`,
  :func:`recv_message`) instead.  ``erlang_send_message`` on an established
  connection never waits, so it works anywhere.

Failures are distinct exceptions (:mod:`.errors`): ``NodeDown``,
``AuthenticationFailed``, ``ErlangTimeout`` (a ``TimeoutError``), ``BadRPC``
(``{badrpc, Reason}``, reason in ``.reason``), ``NodeNotRunning``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from typing import Any, Callable, Dict, Optional, Union

from ..config.model import Config
from ..logs import gen_log
from . import etf
from . import names as nodenames
from .errors import ErlangError, ErlangTimeout, NodeNotRunning
from .node import (
    DEFAULT_BUSY_POLL,
    DEFAULT_CALL_MODE,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_CALLS,
    DEFAULT_MAX_HANDSHAKES,
    DEFAULT_TIMEOUT,
    Node,
)

_node: Optional[Node] = None
_handles: Dict[str, int] = {}
#: Processes registered by the app (kept across node restarts, applied at start).
_registered: Dict[str, Callable[[Any], Any]] = {}
#: Extra seconds a thread waits beyond the call's own timeout before giving up.
_BRIDGE_SLACK = 5.0


class ErlangHandle:
    """A connection handle from :func:`erlang_connect` (uWSGI returned an fd).

    The node keeps one persistent connection per peer; handles share it and it is
    re-established on demand if the peer dropped.  ``node`` is the peer's name.
    Usable as a context manager (closes on exit).
    """

    __slots__ = ("node", "closed")

    def __init__(self, node: str) -> None:
        self.node = node
        self.closed = False

    def __repr__(self) -> str:
        return "<ErlangHandle %s%s>" % (self.node, " closed" if self.closed else "")

    def __enter__(self) -> "ErlangHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        erlang_close(self)

    def rpc(self, module: str, function: str, args: Any = (), timeout: Optional[float] = None) -> Any:
        return erlang_rpc(self, module, function, args, timeout)

    def send(self, dest: Any, msg: Any) -> None:
        erlang_send_message(self, dest, msg)

    def recv(self, timeout: Optional[float] = None) -> Any:
        return erlang_recv_message(self, timeout)


NodeOrHandle = Union[str, ErlangHandle]


# ---------------------------------------------------------------------- lifecycle


def _busy_poll_seconds(micros: Any) -> float:
    """``--erlang-busy-poll`` is in microseconds; None (not configured) is the default."""
    if micros is None:
        return DEFAULT_BUSY_POLL
    return max(float(micros), 0.0) / 1e6


def read_cookie(path: Optional[str] = None) -> str:
    """``~/.erlang.cookie`` without surrounding whitespace (what ``erl`` uses)."""
    path = path or os.path.join(os.path.expanduser("~"), ".erlang.cookie")
    try:
        with open(path, "r", encoding="latin-1") as f:
            cookie = f.read().strip()
    except OSError as e:
        raise ErlangError("no --erlang-cookie given and %s cannot be read: %s" % (path, e)) from None
    if not cookie:
        raise ErlangError("no --erlang-cookie given and %s is empty" % path)
    return cookie


def start(
    config: Optional[Config] = None,
    io_loop: Any = None,
    worker_id: int = 1,
    numproc: Optional[int] = None,
    **kwargs: Any,
) -> "asyncio.Future[Optional[Node]]":
    """Start this worker's node; the future resolves to it once EPMD registered it.

    ``config`` provides ``erlang``, ``erlang_cookie``, ``erlang_visible``,
    ``erlang_max_atoms``, ``erlang_max_packet``, ``erlang_rpc_threads``,
    ``erlang_call_mode``, ``erlang_busy_poll`` (microseconds), ``erlang_timeout``,
    ``erlang_max_calls``, ``erlang_handshake_timeout``, ``erlang_max_handshakes`` and
    ``processes``; keyword arguments (``name``, ``cookie``, ``visible``,
    ``max_atoms``, ``max_packet``, ``rpc_threads``, ``call_mode``, ``busy_poll``
    (seconds), ``timeout``, and
    any other :class:`~.node.Node` parameter such as ``net_ticktime``) override it,
    so tests can start a node without the CLI.  Without a name the future resolves
    to None.
    """
    global _node
    cfg = config if config is not None else Config.defaults()
    opts: Dict[str, Any] = {
        "name": cfg.erlang,
        "cookie": cfg.erlang_cookie,
        "visible": cfg.erlang_visible,
        "max_atoms": cfg.erlang_max_atoms or etf.MAX_ATOMS,
        "max_packet": cfg.erlang_max_packet or 64 * 1024 * 1024,
        "rpc_threads": cfg.erlang_rpc_threads,
        "call_mode": cfg.erlang_call_mode or DEFAULT_CALL_MODE,
        "busy_poll": _busy_poll_seconds(cfg.erlang_busy_poll),
        "timeout": cfg.erlang_timeout or DEFAULT_TIMEOUT,
        "max_pending": cfg.erlang_max_calls or DEFAULT_MAX_CALLS,
        "handshake_timeout": cfg.erlang_handshake_timeout or DEFAULT_HANDSHAKE_TIMEOUT,
        "max_handshakes": cfg.erlang_max_handshakes or DEFAULT_MAX_HANDSHAKES,
    }
    opts.update(kwargs)
    if numproc is None:
        numproc = int(cfg.processes or 1)
    loop = getattr(io_loop, "asyncio_loop", io_loop) if io_loop is not None else asyncio.get_event_loop()
    name = opts.pop("name")
    if not name:
        fut = loop.create_future()
        fut.set_result(None)
        return fut
    if _node is not None and _node.running:
        raise ErlangError("an Erlang node (%s) is already running in this process" % _node.full)
    cookie = opts.pop("cookie") or read_cookie()
    visible = opts.pop("visible")
    base = nodenames.parse(name, opts.get("hostname") or _hostname())
    full = nodenames.for_worker(base, worker_id, numproc).full
    node = Node(full, cookie, io_loop=loop, hidden=not visible, **opts)
    _node = node

    async def run() -> Node:
        try:
            await node.start()
            for pname, func in list(_registered.items()):
                node.register_process(pname, func)
        except BaseException:
            global _node
            if _node is node:
                _node = None
            raise
        gen_log.info(
            "erlang: node %s up (%s, port %d, creation %d)",
            node.full,
            "visible" if visible else "hidden",
            node.port,
            node.creation,
        )
        return node

    return asyncio.ensure_future(run(), loop=loop)


def stop() -> "asyncio.Future[None]":
    """Stop this worker's node (unregister from EPMD, close connections)."""
    global _node
    node, _node = _node, None
    _handles.clear()
    if node is None:
        fut = concurrent.futures.Future()  # type: ignore[var-annotated]
        fut.set_result(None)
        return asyncio.wrap_future(fut)
    return asyncio.ensure_future(node.stop(), loop=node.loop)


def current_node() -> Optional[Node]:
    """The running node of this worker, or None."""
    return _node


def node_name() -> Optional[str]:
    """This worker's full node name (``uwsgi.erlang_node``), or None."""
    return _node.full if _node is not None else None


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _require() -> Node:
    node = _node
    if node is None or not node.running:
        raise NodeNotRunning("no Erlang node runs in this worker (start the server with --erlang NAME)")
    return node


def _peer(node_or_handle: NodeOrHandle) -> str:
    if isinstance(node_or_handle, ErlangHandle):
        if node_or_handle.closed:
            raise ValueError("%r is closed" % node_or_handle)
        return node_or_handle.node
    if isinstance(node_or_handle, bytes):
        return node_or_handle.decode("utf-8")
    if isinstance(node_or_handle, str):
        return node_or_handle
    raise TypeError("expected an Erlang node name or a handle from erlang_connect(), not %r" % (node_or_handle,))


# ---------------------------------------------------------------------- async variants


async def connect(node: str, timeout: Optional[float] = None) -> ErlangHandle:
    n = _require()
    peer = _peer(node)
    await n.connect(peer, timeout)
    _handles[peer] = _handles.get(peer, 0) + 1
    return ErlangHandle(peer)


async def rpc(node: NodeOrHandle, module: str, function: str, args: Any = (), timeout: Optional[float] = None) -> Any:
    return await _require().rpc(_peer(node), module, function, args, timeout)


async def send_message(node: NodeOrHandle, dest: Any, msg: Any, timeout: Optional[float] = None) -> None:
    await _require().send(_peer(node), dest, msg, timeout)


async def recv_message(node: NodeOrHandle, timeout: Optional[float] = None) -> Any:
    return await _require().recv(_peer(node), timeout)


# ---------------------------------------------------------------------- sync (uwsgi module)


def _sync(make: Callable[[Node], Any], timeout: Optional[float]) -> Any:
    node = _require()
    if threading.get_ident() == node._thread_id:
        import loop_engine

        if loop_engine.in_core():
            return loop_engine.wait(make(node))
        raise loop_engine.NotInCore(
            "uwsgi.erlang_* functions wait for the network: call them from a request (an async core) "
            "or another thread; coroutines on the loop use the async variants in gateway.erlang.api"
        )
    limit = (node.timeout if timeout is None else timeout) + _BRIDGE_SLACK
    try:
        cf = asyncio.run_coroutine_threadsafe(make(node), node.loop)
    except RuntimeError as e:  # loop closed
        raise NodeNotRunning("the Erlang node's loop is not running: %s" % e) from None
    try:
        return cf.result(limit)
    except ErlangTimeout:
        raise
    except concurrent.futures.TimeoutError:
        cf.cancel()
        raise ErlangTimeout("no answer from the Erlang node's loop within %.3gs" % limit) from None


def _in_core() -> bool:
    import loop_engine

    return loop_engine.in_core()


def erlang_connect(node: str, timeout: Optional[float] = None) -> ErlangHandle:
    """Connect to ``node`` (``name@host``) and return a handle for reuse."""
    peer = _peer(node)

    async def run(n: Node) -> ErlangHandle:
        await n.connect(peer, timeout)
        _handles[peer] = _handles.get(peer, 0) + 1
        return ErlangHandle(peer)

    return _sync(run, timeout)


def erlang_close(handle: ErlangHandle) -> None:
    """Release a handle; the connection closes with the last handle to its node
    (unless calls are still in flight on it).  Closing twice is harmless."""
    if not isinstance(handle, ErlangHandle):
        raise TypeError("erlang_close() expects a handle from erlang_connect(), not %r" % (handle,))
    if handle.closed:
        return
    handle.closed = True
    peer = handle.node
    left = _handles.get(peer, 1) - 1
    if left > 0:
        _handles[peer] = left
        return
    _handles.pop(peer, None)
    node = _node
    if node is None or not node.running:
        return

    def close() -> None:
        if _handles.get(peer):
            return
        conn = node._connections.get(peer)
        if conn is not None and not conn.calls and not conn.receivers:
            node.disconnect(peer)

    node.loop.call_soon_threadsafe(close)


def erlang_rpc(
    node: NodeOrHandle, module: str, function: str, args: Any = (), timeout: Optional[float] = None
) -> Any:
    """``rpc:call(node, module, function, args)``; returns the decoded result.

    Raises ``BadRPC`` (``{badrpc, Reason}``), ``ErlangTimeout``, ``NodeDown``,
    ``AuthenticationFailed``.  ``timeout`` defaults to ``--erlang-timeout``.
    """
    peer = _peer(node)
    n = _require()
    conn = n.ready(peer)
    if conn is not None:  # the fast paths: no coroutine, no task, no hop
        if threading.get_ident() != n._thread_id:
            return n.rpc_blocking(conn, module, function, args, timeout)
        if _in_core():
            return n.rpc_in_core(conn, module, function, args, timeout)
    return _sync(lambda n: n.rpc(peer, module, function, args, timeout), timeout)


def erlang_send_message(node: NodeOrHandle, dest: Any, msg: Any) -> None:
    """Send ``msg`` to ``dest`` on ``node``: a registered name, a Pid, or a
    uWSGI-style ``(id, serial, creation)`` tuple (a pid on that node)."""
    peer = _peer(node)
    n = _require()
    conn = n.ready(peer)
    if conn is not None:  # connected: a send never waits, from any thread
        n.send_now(conn, dest, msg)
        return
    _sync(lambda n: n.send(peer, dest, msg), None)


def erlang_recv_message(node: NodeOrHandle, timeout: Optional[float] = None) -> Any:
    """The next message for our connection to ``node`` (sent to its pid, or to an
    unregistered name); raises ``ErlangTimeout`` after ``timeout`` seconds."""
    peer = _peer(node)
    n = _require()
    conn = n.ready(peer)
    if conn is not None:
        if threading.get_ident() != n._thread_id:
            return n.recv_blocking(conn, timeout)
        if _in_core():
            return n.recv_in_core(conn, timeout)
    return _sync(lambda n: n.recv(peer, timeout), timeout)


def erlang_register_process(name: str, func: Callable[[Any], Any]) -> None:
    """Make ``{name, ThisNode} ! Msg`` call ``func(Msg)`` (inline in a greenlet core,
    or in the thread pool, as ``--erlang-call-mode`` says); a
    ``gen_server:call({name, ThisNode}, Req)`` gets ``func(Req)`` as its reply."""
    if not isinstance(name, str) or not name:
        raise ValueError("Erlang process name must be a non-empty str")
    if not callable(func):
        raise TypeError("erlang_register_process(%r): %r is not callable" % (name, func))
    _registered[name] = func
    node = _node
    if node is None or not node.running:
        return  # applied when the node starts
    if threading.get_ident() == node._thread_id:
        node.register_process(name, func)
        return
    done: "concurrent.futures.Future[None]" = concurrent.futures.Future()

    def run() -> None:
        try:
            node.register_process(name, func)
        except BaseException as e:
            done.set_exception(e)
        else:
            done.set_result(None)

    node.loop.call_soon_threadsafe(run)
    done.result(node.timeout)


def erlang_unregister_process(name: str) -> bool:
    """Forget a registered name; monitors of it fire with ``noproc``."""
    found = _registered.pop(name, None) is not None
    node = _node
    if node is None or not node.running:
        return found
    if threading.get_ident() == node._thread_id:
        return node.unregister_process(name)
    cf = asyncio.run_coroutine_threadsafe(_aunregister(node, name), node.loop)
    return cf.result(node.timeout)


async def _aunregister(node: Node, name: str) -> bool:
    return node.unregister_process(name)


#: What the lead installs into the ``uwsgi`` module.
UWSGI_FUNCTIONS = {
    "erlang_connect": erlang_connect,
    "erlang_close": erlang_close,
    "erlang_rpc": erlang_rpc,
    "erlang_send_message": erlang_send_message,
    "erlang_recv_message": erlang_recv_message,
    "erlang_register_process": erlang_register_process,
    "erlang_unregister_process": erlang_unregister_process,
}
