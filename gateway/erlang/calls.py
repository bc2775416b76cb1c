"""The call machinery: Python functions Erlang calls, and Python waiting for Erlang.

Erlang calling Python (rpc functions, registered processes) goes through
:class:`PythonCalls`, which runs each callable as the node's ``call_mode`` says:
``"inline"`` in a greenlet core on the loop (no thread hop; the callable may
suspend with ``loop_engine.wait`` or the ``uwsgi.erlang_*`` functions) or
``"threads"`` in a pool of daemon threads (a blocking callable stalls nothing).
At most ``max_pending`` calls run or wait at once (``--erlang-max-calls``).

Python waiting for Erlang outside a coroutine has two flavours on an established
connection: :func:`rpc_blocking` / :func:`recv_blocking` for a thread other than
the loop's (it writes its request itself and sleeps on a lock the loop releases:
no hop to the loop) and :func:`rpc_in_core` / :func:`recv_in_core` for an async
core (it sleeps on a :class:`loop_engine.Waiter`).  A waiter is whatever sits in
``Connection.calls`` / ``Connection.receivers``: an asyncio future, a
:class:`BlockingCall` or a :class:`CoreCall`, all with ``done`` /
``set_result`` / ``set_exception``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Protocol, Tuple, Union, cast

from greenlet import getcurrent

from loop_engine import Core, CoreGreenlet, CoreTimeout, Waiter

from ..logs import gen_log
from ..rpc import apply as rpc_apply
from .errors import ErlangTimeout
from .terms import rpc_result

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection
    from .node import Node

#: How Python callables (rpc functions, registered processes) run: "inline" in a
#: greenlet core on the loop (a tick watchdog thread keeps the connections alive
#: while one blocks) or in "threads" (a pool of ``rpc_threads``).
CALL_MODES = ("inline", "threads")
DEFAULT_CALL_MODE = "inline"
DEFAULT_RPC_THREADS = 8
#: Python calls from Erlang running or waiting at once (``--erlang-max-calls``);
#: past it an rpc answers ``system_limit`` at once.
DEFAULT_MAX_CALLS = 10000

OnDone = Callable[[bool, Any], None]


class Waiting(Protocol):
    """Whoever waits for an answer or a message on a connection (``Connection.calls``,
    ``Connection.receivers``): an asyncio future, a :class:`BlockingCall` or a
    :class:`CoreCall`.  ``set_result`` returns False when a thread gave up first."""

    def done(self) -> bool: ...

    def set_result(self, value: Any) -> Optional[bool]: ...

    def set_exception(self, exc: BaseException) -> Optional[bool]: ...


class _CoreEngine:
    """What a :class:`loop_engine.Core` needs of an engine to suspend and resume."""

    __slots__ = ("asyncio_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.asyncio_loop = loop


_JOB = object()
_IDLE = object()


class _CallGreenlet(CoreGreenlet):
    """The greenlet core of inline calls (see :meth:`PythonCalls._core_main`)."""

    __slots__ = ("suspended",)

    def __init__(self, run: Any, parent: Any, core: Core) -> None:
        super().__init__(run, parent, core)
        self.suspended = False


class WorkerPool:
    """``call_mode="threads"``: ``size`` daemon threads taking jobs from a SimpleQueue.

    A job's ``on_done`` runs in the worker (it writes the reply to the connection
    itself, which is thread-safe), so finishing a call costs no hop back to the loop.
    """

    def __init__(self, run: Callable[..., None], size: int) -> None:
        self.jobs: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self.closed = False
        self.threads = [
            threading.Thread(target=self._work, args=(run,), name="erlang-rpc-%d" % i, daemon=True)
            for i in range(size)
        ]
        for t in self.threads:
            t.start()

    def _work(self, run: Callable[..., None]) -> None:
        get = self.jobs.get
        while True:
            job = get()
            if job is None:
                return
            run(*job)

    def close(self) -> None:
        self.closed = True
        for _ in self.threads:
            self.jobs.put(None)


class PythonCalls:
    """Runs the Python callables Erlang calls (see the module docstring).

    ``mode`` is "inline" or "threads"; ``threads`` the pool's size (0 means
    "inline", as it did before ``call_mode`` existed); ``max_pending`` the bound
    of calls running or waiting at once.  The pool starts with :meth:`start`
    (after fork, in the worker) and ends with :meth:`close`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, mode: str, threads: int, max_pending: int) -> None:
        if mode not in CALL_MODES:
            raise ValueError("call_mode must be one of %s, not %r" % (", ".join(CALL_MODES), mode))
        self.mode = "inline" if threads <= 0 else mode
        self.threads = threads
        self.max_pending = max_pending
        self.pending = 0
        self._lock = threading.Lock()
        self._engine = _CoreEngine(loop)
        self._idle: List[_CallGreenlet] = []
        self._pool: Optional[WorkerPool] = None

    @property
    def threaded(self) -> bool:
        """True while the thread pool runs the calls (``call_mode="threads"``)."""
        return self._pool is not None

    def start(self) -> None:
        if self.mode == "threads" and self._pool is None:
            self._pool = WorkerPool(self._run_call, self.threads)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def set_mode(self, mode: str, threads: int = DEFAULT_RPC_THREADS) -> None:
        """Switch a running node between the modes (benchmarks)."""
        self.close()
        self.mode, self.threads = mode, threads
        self.start()

    def call(self, func: Callable[..., Any], args: Tuple[Any, ...], on_done: OnDone, bounded: bool = True) -> bool:
        """Run ``func(*args)``, then ``on_done(ok, value_or_exc)``.

        "inline": in a fresh greenlet core on the loop thread, at once (``on_done``
        runs in that greenlet, maybe after the function waited with
        ``loop_engine.wait``).  "threads": in the worker pool, and ``on_done`` runs in
        the worker thread too, so it may only write to connections (thread-safe) and
        pop from dicts.  Returns False (and calls nothing) when ``max_pending`` calls
        are already running, unless ``bounded`` is False (a registered process's
        handler: its mailbox already bounds it to one call).  Exceptions are logged
        once to ``gateway.app``.
        """
        if bounded and self.pending >= self.max_pending:
            return False
        pool = self._pool
        if pool is None:
            with self._lock:
                self.pending += 1
            parent = getcurrent()
            if isinstance(parent, CoreGreenlet):
                parent = parent.parent
            idle = self._idle
            g = idle.pop() if idle else None
            if g is None or g.parent is not parent or g.dead:
                # a Core needs only its engine's asyncio_loop to suspend and resume
                g = _CallGreenlet(self._core_main, parent, Core(0, cast(Any, self._engine)))
            else:
                core = g.core
                core.pending = None
                core.ready_fd = -1
            if g.switch(_JOB, func, args, on_done) is _IDLE:
                # finished without suspending: nothing can hold a wake-up for it, reuse it
                if len(idle) < 32:
                    idle.append(g)
            else:
                g.suspended = True  # parked in a wait: it ends with this call
            return True
        if pool.closed:
            return False
        with self._lock:
            self.pending += 1
        pool.jobs.put((func, args, on_done))
        return True

    def _core_main(self, mark: Any, func: Callable[..., Any], args: Tuple[Any, ...], on_done: OnDone) -> None:
        """Body of an inline call's greenlet: run calls until one suspends.

        A greenlet whose call never switched away is offered back to :meth:`call`
        (switching ``_IDLE`` to it); one that waited ends with its call, so a stray
        wake-up can never land in a later call.
        """
        g = getcurrent()
        while True:
            if mark is _JOB:
                self._run_call(func, args, on_done)
                if g.suspended:
                    return
            job = g.parent.switch(_IDLE)
            if job.__class__ is tuple and len(job) == 4:
                mark, func, args, on_done = job
            else:  # a stray switch() into an idle core: ignore it
                mark = None

    def _run_call(self, func: Callable[..., Any], args: Tuple[Any, ...], on_done: OnDone) -> None:
        """Body of a call (greenlet or worker thread)."""
        try:
            value = rpc_apply(func, args, "erlang: %s" % describe(func))  # the one invocation path (gateway.rpc)
        except Exception as e:
            ok, value = False, e
        else:
            ok = True
        with self._lock:
            self.pending -= 1
        try:
            on_done(ok, value)
        except Exception:
            gen_log.error("erlang: failed to deliver the result of %s", describe(func), exc_info=True)


def describe(func: Any) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


# ---------------------------------------------------------------------- waiting for Erlang


class BlockingCall:
    """A call waited for by a thread: the loop releases ``lock`` with the answer.

    ``set_result`` returns False if the thread gave up (timed out) first, so a
    message offered to it can go to the next receiver instead of being lost.
    """

    __slots__ = ("lock", "state", "finished", "abandoned", "value", "exc")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.state = threading.Lock()
        self.finished = False
        self.abandoned = False
        self.value: Any = None
        self.exc: Optional[BaseException] = None

    def done(self) -> bool:
        return self.finished or self.abandoned

    def set_result(self, value: Any) -> bool:
        return self._finish(value, None)

    def set_exception(self, exc: BaseException) -> bool:
        return self._finish(None, exc)

    def _finish(self, value: Any, exc: Optional[BaseException]) -> bool:
        with self.state:
            if self.finished or self.abandoned:
                return False
            self.value, self.exc = value, exc
            self.finished = True
        self.lock.release()
        return True

    def give_up(self) -> bool:
        """The waiting thread timed out: True unless the answer came first."""
        with self.state:
            if self.finished:
                return False
            self.abandoned = True
            return True

    def result(self) -> Any:
        if self.exc is not None:
            raise self.exc
        return self.value


class CoreCall:
    """A call waited for by an async core (a :class:`loop_engine.Waiter`)."""

    __slots__ = ("waiter",)

    def __init__(self) -> None:
        self.waiter = Waiter()

    def done(self) -> bool:
        return self.waiter.done

    def set_result(self, value: Any) -> None:
        self.waiter.fire(value)

    def set_exception(self, exc: BaseException) -> None:
        self.waiter.throw(exc)


def check_rpc(node: "Node", args: Any, timeout: Optional[float]) -> float:
    """The argument checks every rpc flavour shares; returns the timeout to use."""
    if not isinstance(args, (list, tuple)):
        raise TypeError("erlang_rpc args must be a list (the function's arguments), not %s" % type(args).__name__)
    return node.timeout if timeout is None else timeout


def rpc_timeout(module: Any, function: Any, peer: Optional[str], timeout: float) -> ErlangTimeout:
    return ErlangTimeout("rpc %s:%s on %s: no answer within %.3gs" % (module, function, peer, timeout))


def recv_timeout(peer: Optional[str], timeout: float) -> ErlangTimeout:
    return ErlangTimeout("no message from %s within %.3gs" % (peer, timeout))


def rpc_blocking(
    node: "Node", conn: "Connection", module: str, function: str, args: Union[list, tuple] = (), timeout: Optional[float] = None
) -> Any:
    """``Node.rpc`` for a thread other than the loop's, on an established ``conn``.

    The calling thread encodes and writes the request itself and sleeps on a
    lock the loop releases when the answer arrives: no task, no hop to the loop.
    """
    timeout = check_rpc(node, args, timeout)
    call = BlockingCall()
    ref = node.rex_call(conn, module, function, args, call)
    if not call.lock.acquire(True, max(timeout, 0.0)):
        conn.calls.pop(ref, None)
        if call.give_up():
            raise rpc_timeout(module, function, conn.peer_name, timeout)
    return rpc_result(call.result())


def rpc_in_core(
    node: "Node", conn: "Connection", module: str, function: str, args: Union[list, tuple] = (), timeout: Optional[float] = None
) -> Any:
    """``Node.rpc`` for an async core (a request, an inline call) on an established
    ``conn``: the core sleeps on a :class:`loop_engine.Waiter` the answer fires."""
    timeout = check_rpc(node, args, timeout)
    call = CoreCall()
    ref = node.rex_call(conn, module, function, args, call)
    if node.busy_poll:
        conn.poll_answer()
    try:
        result = call.waiter.wait(max(timeout, 0.0))
    except CoreTimeout:
        conn.calls.pop(ref, None)
        raise rpc_timeout(module, function, conn.peer_name, timeout) from None
    return rpc_result(result)


def recv_blocking(node: "Node", conn: "Connection", timeout: Optional[float] = None) -> Any:
    """``Node.recv`` for another thread than the loop's, on an established ``conn``."""
    mailbox = conn.mailbox
    try:
        return mailbox.popleft()
    except IndexError:
        pass
    timeout = node.timeout if timeout is None else timeout
    call = BlockingCall()
    conn.receivers.append(call)
    # a message may have been queued between our look and our registration
    if mailbox and not call.finished:
        node.loop.call_soon_threadsafe(feed_receivers, conn)
    if not call.lock.acquire(True, max(timeout, 0.0)):
        forget_receiver(conn, call)
        if call.give_up():
            raise recv_timeout(conn.peer_name, timeout)
    return call.result()


def recv_in_core(node: "Node", conn: "Connection", timeout: Optional[float] = None) -> Any:
    """``Node.recv`` for an async core, on an established ``conn``."""
    if conn.mailbox:
        return conn.mailbox.popleft()
    timeout = node.timeout if timeout is None else timeout
    call = CoreCall()
    conn.receivers.append(call)
    if node.busy_poll:
        conn.poll_answer()
    try:
        return call.waiter.wait(max(timeout, 0.0))
    except CoreTimeout:
        forget_receiver(conn, call)
        raise recv_timeout(conn.peer_name, timeout) from None


def forget_receiver(conn: "Connection", receiver: Any) -> None:
    try:
        conn.receivers.remove(receiver)
    except ValueError:
        pass


def expire_rpc(conn: "Connection", ref: Any, fut: "asyncio.Future[Any]", peer: str, module: str, function: str, timeout: float) -> None:
    """The timer of an rpc coroutine: forget the call, fail its future."""
    conn.calls.pop(ref, None)
    if not fut.done():
        fut.set_exception(rpc_timeout(module, function, peer, timeout))


def expire_recv(conn: "Connection", fut: "asyncio.Future[Any]", peer: str, timeout: float) -> None:
    """The timer of a recv coroutine: forget the receiver, fail its future."""
    forget_receiver(conn, fut)
    if not fut.done():
        fut.set_exception(recv_timeout(peer, timeout))


def feed_receivers(conn: "Connection") -> None:
    """Hand queued messages to waiting receivers (after a race with a thread)."""
    mailbox, receivers = conn.mailbox, conn.receivers
    while mailbox and receivers:
        fut = receivers.popleft()
        if not fut.done() and fut.set_result(mailbox[0]) is not False:
            mailbox.popleft()
