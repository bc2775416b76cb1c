"""The Tornado loop engine: N greenlet async cores on one IOLoop, and the accept policy.

This mirrors uWSGI's ``--tornado N --greenlet`` (``plugins/tornado/tornado.c`` with the
greenlet suspend engine) without its defects:

* Every listening socket is an IOLoop read handler; every request runs in a core
  (a greenlet whose parent is the loop's greenlet, the *hub*).
* When all N cores are busy the engine **stops accepting** (the listening fds are
  removed from the loop, so nothing spins) and logs one line; when a core frees, the
  oldest queued piece of work gets it first, then accepting resumes.  uWSGI busy-spins
  at 100 % CPU here (issue #723).
* ``schedule_fix`` is called in the core after every chunk a WSGI generator yields.
  The default re-queues the core as a loop callback and switches to the hub, so
  generators interleave with other cores and callbacks, exactly like uWSGI's tornado
  hook.  It is a plain attribute: assign another ``hook(core)`` to change the policy.

The engine never imports the server: work is any callable, listeners hand accepted
sockets to any callback.  One engine per worker process, created after fork on the
worker's own fresh IOLoop.
"""

from __future__ import annotations

import collections
import errno
import logging
import socket
import threading
import weakref
from typing import Any, Callable, Deque, List, Optional, Set, Tuple

import greenlet
from tornado.ioloop import IOLoop

from loop_engine.cores import Core, CoreGreenlet, Waiter, getcurrent, suspend, switch_in

log = logging.getLogger("loop_engine")

#: Accept at most this many connections per readiness event, so one busy listener
#: cannot starve the loop.
ACCEPT_BATCH = 64

#: Finished greenlets kept for the next requests (``Engine._run_requests``), at most.  A
#: request that never suspends needs one; more only serve bursts of suspended requests, and
#: each idle greenlet keeps ~20 KiB (its Python frame stack and saved C stack).
IDLE_GREENLETS = 64
#: The "all cores busy" line is logged at most once per this many seconds.
FULL_LOG_INTERVAL = 10.0
_ACCEPT_RETRY = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ECONNABORTED, errno.EPROTO, errno.EINTR)
_ACCEPT_BACKOFF = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def default_schedule_fix(core: Core) -> None:
    """uWSGI's tornado ``schedule_fix``: ``add_callback(core.switch)``, then switch to the loop.

    ``asyncio_loop.call_soon`` is used rather than ``IOLoop.add_callback``: same
    semantics on the loop's own thread, without the thread-safe wakeup write.
    """
    # A wait registered for this suspension point (`yield uwsgi.async_sleep(1)` style)
    # runs instead; otherwise one loop iteration: exactly what suspend() does.
    suspend()


#: What ``_start`` switches into a core greenlet: "your ``work`` is set, run it".
_WORK = object()


def _RESUME(waiter: Waiter) -> None:
    """Queue marker: "a parked greenlet wants a core back" (see Engine.wait_parked)."""
    raise AssertionError("_RESUME is a queue marker")

_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()
_schedule_fix: List[Callable[[Core], None]] = [default_schedule_fix]


def set_schedule_fix(hook: Optional[Callable[[Core], None]]) -> None:
    """Replace ``schedule_fix`` in every engine of this process, current and future.

    Apps call this at import time (the worker's engine already exists then)::

        loop_engine.set_schedule_fix(lambda core: None)   # never yield between chunks

    ``None`` restores :func:`default_schedule_fix`.
    """
    hook = hook or default_schedule_fix
    _schedule_fix[0] = hook
    for engine in list(_engines):
        engine.schedule_fix = hook


class _Listener:
    __slots__ = ("sock", "fd", "on_accept", "active", "backoff", "toggle", "batch")

    def __init__(self, sock: Optional[socket.socket], on_accept: Optional[Callable[[socket.socket, Any], None]],
                 toggle: Optional[Callable[[bool], None]] = None, batch: int = 0) -> None:
        self.sock = sock
        #: connections accepted per readable event at most
        self.batch = batch or ACCEPT_BATCH
        self.fd = sock.fileno() if sock is not None else -1
        self.on_accept = on_accept
        self.active = False
        self.backoff = 0.0
        #: set for listeners that accept by themselves (``add_accept_toggle``)
        self.toggle = toggle


class Engine:
    """N async cores on ``io_loop`` (the current IOLoop by default).

    ::

        engine = Engine(100)
        engine.add_listener(sock, on_accept)      # accept policy follows free cores
        engine.submit(handle_request, conn, req)   # runs now on a free core, or queued
        IOLoop.current().start()
    """

    def __init__(self, cores: int, io_loop: Optional[IOLoop] = None) -> None:
        if cores < 1:
            raise ValueError("an engine needs at least one core, got %r" % (cores,))
        self.io_loop = io_loop or IOLoop.current()
        self.asyncio_loop = self.io_loop.asyncio_loop  # type: ignore[attr-defined]
        self.cores: List[Core] = [Core(i, self) for i in range(cores)]
        # LIFO stack as in uWSGI: a lone client keeps reusing core N-1.
        self._free: List[Core] = list(self.cores)
        self._queue: Deque[Tuple[Callable[..., Any], Tuple[Any, ...]]] = collections.deque()
        self._listeners: List[_Listener] = []
        self._accept_paused = False
        #: :meth:`hold_accepting`: the reasons no listener accepts, whatever the free cores
        self._holds: Set[str] = set()
        self._drain_scheduled = False
        self._last_full_log = float("-inf")
        #: Greenlets whose last request is over, waiting for the next one (at most
        #: :data:`IDLE_GREENLETS`; see :meth:`_start`).
        self._idle: List[CoreGreenlet] = []
        self.hub: Optional[greenlet.greenlet] = None
        #: Called in the core after each chunk of a WSGI generator; see module docstring
        #: and :func:`set_schedule_fix`.
        self.schedule_fix: Callable[[Core], None] = _schedule_fix[0]
        #: Total pieces of work run (requests), for ``uwsgi.total_requests()`` and stats.
        self.total_requests = 0
        #: Greenlets waiting in :meth:`wait_parked`: alive, but holding no core.
        self.parked = 0
        #: Called as ``park_hook(core, True)`` just before a greenlet gives ``core`` back
        #: in :meth:`wait_parked`, and ``park_hook(core, False)`` once it holds ``core``
        #: again (bookkeeping such as a scoreboard or a harakiri clock); None: nothing.
        self.park_hook: Optional[Callable[[Core, bool], None]] = None
        self.stopped = False
        #: The thread running the loop (Waiters fired from any other thread hop onto it).
        self.thread_id = threading.get_ident()
        _engines.add(self)

    # -- cores -------------------------------------------------------------------

    @property
    def free_cores(self) -> int:
        return len(self._free)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, func: Callable[..., Any], *args: Any) -> bool:
        """Run ``func(*args)`` on a free core now (True), or queue it FIFO (False).

        Must be called from the hub (a loop callback).  ``func`` owns its errors: an
        exception escaping it is logged on the ``loop_engine`` logger and the core
        is released all the same.
        """
        free = self._free
        if free and not self._queue:
            self._start(free.pop(), func, args)
            if not free:
                self._pause_accepting()
            return True
        self._queue.append((func, args))
        self._pause_accepting()
        return False

    def _start(self, core: Core, func: Callable[..., Any], args: Tuple[Any, ...]) -> None:
        hub = getcurrent()
        if isinstance(hub, CoreGreenlet):  # called from a core: parent must still be the hub
            hub = hub.parent
        self.hub = hub
        idle = self._idle
        while idle:
            g = idle.pop()
            if g.parent is hub and not g.dead:
                break
        else:
            g = CoreGreenlet(self._run_requests, hub, core)
        g.core = core
        core.greenlet = g
        core.in_request = True
        g.busy = True
        # The request travels in an attribute, not as switch() arguments: greenlet keeps
        # the arguments of a greenlet's first switch alive for as long as it runs.
        g.work = (func, args)
        switch_in(g, _WORK)

    def _run_requests(self, mark: Any) -> None:
        """A core greenlet's life: run a request, then, if nothing can switch into this
        greenlet by mistake, wait idle for the next one (reusing a greenlet saves its
        creation and the 16 KiB ``mmap``/``munmap`` of its Python frame stack: about a
        third of a hello-world request's CPU).

        Reuse keeps the promise of a fresh greenlet per request (a stray ``me.switch()``
        left behind by a finished request never wakes up an unrelated one): a greenlet is
        reused only if every suspension of its request was a :class:`Waiter` wait (which
        ignores a switch that is not its own; so does the idle wait below), and its
        request did not end in an exception.  A request that suspended in the seed's
        hand-written way (``me.parent.switch()``), seen by :func:`switch_in`, ends its
        greenlet as before.
        """
        g: CoreGreenlet = getcurrent()
        hub: Any = g.parent
        while True:
            work, g.work = g.work, None
            clean = self._drive(g, g.core, work[0], work[1])
            work = None  # an idle greenlet holds nothing of its request
            g.busy = False
            if not (clean and g.reusable) or len(self._idle) >= IDLE_GREENLETS:
                return
            self._idle.append(g)
            while not (hub.switch() is _WORK and g.busy):
                pass  # a stray switch() into an idle greenlet: stay idle

    def _drive(self, g: CoreGreenlet, core: Core, func: Callable[..., Any], args: Tuple[Any, ...]) -> bool:
        """Run one request in ``g`` on ``core``; True unless it ended in an exception."""
        clean = False
        try:
            core.requests += 1
            self.total_requests += 1
            func(*args)
            clean = True
        except greenlet.GreenletExit:
            pass
        except BaseException:
            core = g.core
            core.exceptions += 1
            log.exception("unhandled exception in async core %d", core.id)
        finally:
            # The greenlet may have moved to another core while parked (wait_parked).
            core = g.core
            if core.id >= 0:
                self._release(core)
        return clean

    def _release(self, core: Core) -> None:
        """Give ``core`` back to the pool; queued work gets it from the hub."""
        core.in_request = False
        core.greenlet = None
        core.info = None
        core.pending = None
        self._free.append(core)
        if (self._queue or self._accept_paused) and not self._drain_scheduled:
            # Start queued work from the hub, not from this (possibly dying) greenlet.
            self._drain_scheduled = True
            self.asyncio_loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        free, queue = self._free, self._queue
        while free and queue:
            func, args = queue.popleft()
            if func is _RESUME:
                args[0].fire(free.pop())  # a parked greenlet takes the core back
            else:
                self._start(free.pop(), func, args)
        if free and not queue:
            self._resume_accepting()

    # -- parking -------------------------------------------------------------------

    def wait_parked(self, waiter: Waiter, timeout: Optional[float] = None) -> Any:
        """``waiter.wait(timeout)`` without holding a core while waiting.

        For waits that may last for ever and cost nothing meanwhile (a websocket
        waiting for its client's next message): the calling greenlet gives its core
        back to the pool, so N cores can serve other requests while any number of
        greenlets are parked, and takes a core again (the first free one, queued FIFO
        behind pending work when there is none) before returning or raising.  While
        parked, ``current_core()`` is a placeholder with ``id == -1``; after, the core
        may be another one than before.  ``engine.parked`` counts parked greenlets.
        """
        g = getcurrent()
        if not isinstance(g, CoreGreenlet) or g.core.engine is not self or g.core.id < 0:
            return waiter.wait(timeout)
        held = g.core
        spot = Core(-1, self)
        spot.greenlet = g
        spot.in_request = True
        spot.info = held.info
        spot.request_start = held.request_start
        g.core = spot
        if self.park_hook is not None:
            self.park_hook(held, True)
        self._release(held)
        self.parked += 1
        try:
            value = waiter.wait(timeout)
        except greenlet.GreenletExit:
            self.parked -= 1  # being killed: unwind on no core (_drive frees nothing)
            raise
        except BaseException:
            self.parked -= 1
            self._unpark(g, spot)
            raise
        self.parked -= 1
        self._unpark(g, spot)
        return value

    def _unpark(self, g: CoreGreenlet, spot: Core) -> None:
        free = self._free
        if free and not self._queue:
            core = free.pop()
        else:
            w = Waiter()
            self._queue.append((_RESUME, (w,)))
            self._pause_accepting()
            core = w.wait()
        core.greenlet = g
        core.in_request = True
        core.info = spot.info
        core.request_start = spot.request_start
        g.core = core
        if self.park_hook is not None:
            self.park_hook(core, False)
        if not free:
            self._pause_accepting()

    # -- listeners -------------------------------------------------------------------

    def add_listener(self, sock: socket.socket, on_accept: Callable[[socket.socket, Any], None],
                     batch: int = 0) -> Callable[[], None]:
        """Accept connections on ``sock`` while a core is free; returns the undo callable.

        ``on_accept(conn, address)`` runs in the hub for each accepted connection.  At most
        ``batch`` connections (default :data:`ACCEPT_BATCH`) are accepted per readable
        event.  ``batch=1`` is for a socket that several processes accept from: each takes
        one connection and goes back to its loop, so the least busy process, first back in
        ``accept``, takes the next one (a greedy batch lets one process take a whole burst
        of keep-alive connections and keep them).
        """
        sock.setblocking(False)
        return self._register(_Listener(sock, on_accept, batch=batch))

    def add_accept_toggle(self, toggle: Callable[[bool], None]) -> Callable[[], None]:
        """Follow the accept policy for a listener that accepts by itself (e.g. an asyncio
        server: uvloop accepts in C, much cheaper per connection than ``add_listener``):
        ``toggle(True)`` when it must accept, ``toggle(False)`` when every core is busy.
        Returns the undo callable."""
        return self._register(_Listener(None, None, toggle))

    def _register(self, lst: _Listener) -> Callable[[], None]:
        """Put ``lst`` under the accept policy (active now unless every core is busy);
        returns the callable that takes it out again."""
        self._listeners.append(lst)
        if not self._accept_paused:
            self._activate(lst)

        def remove() -> None:
            if lst in self._listeners:
                self._listeners.remove(lst)
                self._deactivate(lst)

        return remove

    def _activate(self, lst: _Listener) -> None:
        if not lst.active and not self._holds:
            if lst.toggle is not None:
                lst.toggle(True)
            else:
                self.io_loop.add_handler(lst.fd, lambda fd, events: self._accept(lst), IOLoop.READ)
            lst.active = True

    def _deactivate(self, lst: _Listener) -> None:
        if lst.active:
            if lst.toggle is not None:
                lst.toggle(False)
            else:
                self.io_loop.remove_handler(lst.fd)
            lst.active = False

    def _accept(self, lst: _Listener) -> None:
        assert lst.sock is not None and lst.on_accept is not None
        accept = lst.sock.accept
        on_accept = lst.on_accept
        for _ in range(lst.batch):
            if self._accept_paused or self._holds:
                return
            try:
                conn, addr = accept()
            except OSError as e:
                if e.errno in _ACCEPT_RETRY:
                    return
                if e.errno in _ACCEPT_BACKOFF:
                    self._backoff(lst, e)
                    return
                raise
            lst.backoff = 0.0
            try:
                on_accept(conn, addr)
            except Exception:
                log.exception("error setting up an accepted connection")
                conn.close()

    def _backoff(self, lst: _Listener, exc: OSError) -> None:
        # Out of fds: stop polling this listener for a while (10 ms doubling to 1 s)
        # instead of spinning on a readable socket we cannot accept from.
        lst.backoff = min(max(lst.backoff * 2, 0.01), 1.0)
        log.warning("accept() failed: %s; retrying in %.2fs", exc, lst.backoff)
        self._deactivate(lst)

        def retry() -> None:
            if lst in self._listeners and not self._accept_paused:
                self._activate(lst)

        self.io_loop.call_later(lst.backoff, retry)

    def _pause_accepting(self) -> None:
        if self._accept_paused:
            return
        self._accept_paused = True
        for lst in self._listeners:
            self._deactivate(lst)
        now = self.io_loop.time()
        if self._listeners and now - self._last_full_log >= FULL_LOG_INTERVAL:
            self._last_full_log = now
            log.warning(
                "*** all %d async cores are busy: not accepting new connections until one frees ***",
                len(self.cores),
            )

    def _resume_accepting(self) -> None:
        if not self._accept_paused:
            return
        self._accept_paused = False
        for lst in self._listeners:
            self._activate(lst)

    @property
    def accepting(self) -> bool:
        return not self._accept_paused and not self._holds

    def hold_accepting(self, held: bool, reason: str = "held") -> None:
        """Stop accepting new connections (``held``) or accept again, whatever the free cores:
        work in flight and connections already accepted go on (a suspended uWSGI worker
        finishes its request and takes no other).

        Each ``reason`` (a suspended worker, a full connection budget...) holds on its own:
        accepting resumes when the last one is released.
        """
        if held == (reason in self._holds):
            return
        was_held = bool(self._holds)
        if held:
            self._holds.add(reason)
        else:
            self._holds.discard(reason)
        if held and not was_held:
            for lst in self._listeners:
                self._deactivate(lst)
        elif not self._holds and not self._accept_paused:
            for lst in self._listeners:
                self._activate(lst)

    # -- shutdown ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop accepting; running and queued work finishes on its own.

        Queued work is a request already read from an accepted connection, waiting for a
        core: it is in flight, and a graceful stop owes it an answer.  How long the owner
        waits for all of it is the owner's bound (a worker's ``--worker-reload-mercy``).
        """
        self.stopped = True
        for lst in list(self._listeners):
            self._deactivate(lst)
        self._listeners.clear()
