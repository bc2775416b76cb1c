"""Async cores: the per-request greenlets of a worker, and how a core suspends and resumes.

A *core* is a slot for one in-flight request (uWSGI's ``--tornado N`` gives N of them).
Each request runs in a fresh :class:`CoreGreenlet` whose parent is the *hub*, the
greenlet that runs the IOLoop.  Suspending a core means switching to the hub; resuming
it means a loop callback switching back into the core's greenlet.  That is exactly what
the seed pattern does by hand::

    me = greenlet.getcurrent()
    IOLoop.current().add_future(fut, lambda f: me.switch())
    me.parent.switch()          # me.parent is the hub

A stray ``me.switch()`` left behind by a finished request must never wake up an
unrelated request.  uWSGI's greenlet plugin gets that from a fresh greenlet per
request (the stray switch lands on a dead greenlet, a no-op); creating one costs
about a third of a hello-world request here, so the engine reuses a greenlet, but
only one whose request suspended nothing but :class:`Waiter` waits (which ignore
switches that are not theirs, as does the idle wait between requests).  A request
that suspended by hand, as above, still ends its greenlet (:func:`switch_in` sees it).

:class:`Waiter` is the one primitive every suspending call is built on: a one-shot
event a core waits on, fired from the loop, with an optional timeout.  It survives
spurious resumes (a stray ``switch()`` into a core that waits on something else):
the core just goes back to sleep.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Optional

import greenlet

from loop_engine.errors import CoreTimeout, NotInCore

if TYPE_CHECKING:  # pragma: no cover
    from loop_engine.engine import Engine

getcurrent = greenlet.getcurrent


class Core:
    """One async core: its id, counters and the request it runs (if any)."""

    __slots__ = (
        "id",
        "engine",
        "greenlet",
        "requests",
        "switches",
        "exceptions",
        "in_request",
        "request_start",
        "info",
        "pending",
        "ready_fd",
    )

    def __init__(self, core_id: int, engine: "Engine") -> None:
        self.id = core_id
        self.engine = engine
        self.greenlet: Optional[CoreGreenlet] = None
        self.requests = 0
        self.switches = 0
        self.exceptions = 0
        self.in_request = False
        self.request_start = 0.0
        #: Free slot for the server: what this core is doing (e.g. the environ), for stats.
        self.info: Any = None
        #: A wait registered for the next suspension point (uWSGI's ``async_sleep`` /
        #: ``wait_fd_read`` then ``suspend()`` or ``yield``); see :func:`suspend`.
        self.pending: Any = None
        #: The fd that woke this core from its last fd wait, -1 after a timeout.
        self.ready_fd = -1

    def __repr__(self) -> str:
        state = "busy" if self.in_request else "idle"
        return "<Core %d %s requests=%d>" % (self.id, state, self.requests)


class CoreGreenlet(greenlet.greenlet):  # type: ignore[misc]  # greenlet ships no type information
    """The greenlet of a request on a core.  ``parent`` is the hub.

    The engine reuses it for a later request only while :attr:`reusable` (see
    ``Engine._run_requests``).
    """

    __slots__ = ("core", "busy", "in_waiter", "reusable", "work")

    def __init__(self, run: Any, parent: greenlet.greenlet, core: Core) -> None:
        super().__init__(run, parent)
        self.core = core
        #: running a request (False while idle between requests)
        self.busy = False
        #: suspended inside :meth:`Waiter.wait`
        self.in_waiter = False
        #: no suspension of this greenlet so far was a hand-written ``parent.switch()``
        self.reusable = True
        #: ``(func, args)`` of the request the engine hands it next
        self.work: Any = None


def switch_in(g: CoreGreenlet, *args: Any) -> Any:
    """``g.switch(*args)`` from the hub, noting how ``g`` gave control back: a greenlet
    that suspended outside a :class:`Waiter` (the seed's ``me.parent.switch()``) may
    have wake-ups pending from its app, so it must never serve another request.

    Every way the engine and :class:`Waiter` resume a core goes through here, so the
    first hand-written suspension of a request is always seen (before it, nothing but
    us could resume the greenlet)."""
    result = g.switch(*args)
    if g.busy and not g.in_waiter and not g.dead:
        g.reusable = False
    return result


def current_core() -> Optional[Core]:
    """The core the caller runs in, or None outside any core (e.g. in a loop callback)."""
    g = getcurrent()
    return g.core if isinstance(g, CoreGreenlet) else None


def in_core() -> bool:
    """True when called from inside an async core, i.e. where suspending is allowed."""
    return isinstance(getcurrent(), CoreGreenlet)


def _require_core(what: str) -> CoreGreenlet:
    g = getcurrent()
    if not isinstance(g, CoreGreenlet):
        raise NotInCore(
            "%s must be called from an async core (inside a request); "
            "loop callbacks and coroutines should await instead" % what
        )
    return g


class Waiter:
    """A one-shot event that suspends the current core until :meth:`fire` or a timeout.

    Create it in the core, hand ``fire`` (or ``throw``) to whatever will complete it
    (a loop callback, a future's done callback, a protocol's ``data_received``), then
    call :meth:`wait`.  ``fire`` may be called before ``wait``; the value is kept.
    Firing from the hub switches into the core at once (no extra loop iteration);
    firing from another core schedules the switch on the loop.  Firing from another
    OS thread (a thread pool, ``--threads``) goes through the loop's thread-safe
    ``call_soon_threadsafe`` and completes on the loop, so the waiter's state is only
    ever touched by the loop's thread.
    """

    __slots__ = ("_g", "_done", "_value", "_exc", "_waiting")

    def __init__(self) -> None:
        self._g = _require_core("a Waiter")
        self._done = False
        self._value: Any = None
        self._exc: Optional[BaseException] = None
        self._waiting = False

    @property
    def done(self) -> bool:
        return self._done

    def fire(self, value: Any = None) -> None:
        """Complete the wait with ``value``.  Later calls are ignored."""
        g = self._g
        if getcurrent() is not g.parent and threading.get_ident() != g.core.engine.thread_id:
            g.core.engine.asyncio_loop.call_soon_threadsafe(self.fire, value)
            return
        if self._done:
            return
        self._done = True
        self._value = value
        if self._waiting:
            self._resume()

    def throw(self, exc: BaseException) -> None:
        """Complete the wait by raising ``exc`` in the core.  Later calls are ignored."""
        g = self._g
        if getcurrent() is not g.parent and threading.get_ident() != g.core.engine.thread_id:
            g.core.engine.asyncio_loop.call_soon_threadsafe(self.throw, exc)
            return
        if self._done:
            return
        self._done = True
        self._exc = exc
        if self._waiting:
            self._resume()

    def _resume(self) -> None:
        g = self._g
        cur = getcurrent()
        if cur is g.parent:
            switch_in(g, self)
        else:
            g.core.engine.asyncio_loop.call_soon(switch_in, g, self)

    def wait(self, timeout: Optional[float] = None) -> Any:
        """Suspend until fired; return the value, raise the thrown exception or CoreTimeout."""
        if not self._done:
            g = self._g
            if getcurrent() is not g:
                raise RuntimeError("Waiter.wait() called from another greenlet than its creator")
            handle = None
            if timeout is not None:
                handle = g.core.engine.asyncio_loop.call_later(
                    max(timeout, 0.0), self.throw, CoreTimeout("timed out after %.3gs" % timeout)
                )
            self._waiting = True
            hub_switch = g.parent.switch
            g.in_waiter = True
            try:
                while hub_switch() is not self:
                    # A stray switch() into this core (e.g. an app callback left behind):
                    # we are still waiting, go back to sleep.
                    if self._done:
                        break
            finally:
                g.in_waiter = False
                self._waiting = False
                if handle is not None:
                    handle.cancel()
        if self._exc is not None:
            raise self._exc
        return self._value


def sleep(seconds: float) -> None:
    """Suspend the current core for ``seconds``; other cores and callbacks keep running."""
    w = Waiter()
    handle = w._g.core.engine.asyncio_loop.call_later(max(seconds, 0.0), w.fire)
    try:
        w.wait()
    finally:
        handle.cancel()


def schedule() -> None:
    """Yield one IOLoop iteration: let other cores and callbacks run, then continue."""
    w = Waiter()
    w._g.core.engine.asyncio_loop.call_soon(w.fire)
    w.wait()


def suspend() -> None:
    """Give up the core at a suspension point.

    Runs the wait registered in ``core.pending`` (if any), else yields one loop
    iteration.  Unlike uWSGI's tornado engine, a bare suspend never hangs the core.
    """
    g = _require_core("suspend()")
    core = g.core
    pending = core.pending
    if pending is not None:
        core.pending = None
        pending()
    else:
        schedule()
