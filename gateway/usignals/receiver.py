"""The worker side of uWSGI signals: handlers, and running them in async cores.

Handlers live in the worker that registered them (``uwsgi.register_signal`` also
records the target and "worker N has a handler" in the shared table, for the
master's routing).  A signal arriving from the master (or from the local router
without a master) is handed to :meth:`loop_engine.Engine.submit`: the handler runs
in a core on the worker's IOLoop, queued like a request when every core is busy, so
it may itself wait (``loop_engine.wait``, ``uwsgi.lock``...) without blocking
anything; a signal a core waits for in ``uwsgi.signal_wait`` is handed to that core,
which runs the handler itself (so a worker of one core, its core waiting, is not
deadlocked behind its own wait).  A handler that raises is logged on ``gateway.app`` and the worker serves
on.
"""

from __future__ import annotations

import errno
import os
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from gateway.logs import app_log, gen_log
from gateway.usignals.table import SignalTable


class ThreadWaiter:
    """What ``signal_wait`` waits on in a request thread (``--threads``: not an async core):
    a core :class:`loop_engine.Waiter`'s ``done``/``fire``/``wait`` on a ``threading.Event``
    (fired from the worker's IOLoop, waited on by the request's thread)."""

    __slots__ = ("_event", "_value")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._value: Any = None

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def fire(self, value: Any = None) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    def wait(self) -> Any:
        self._event.wait()
        return self._value


class SignalReceiver:
    """One per worker process (created after fork by :meth:`attach`)."""

    def __init__(self, table: SignalTable) -> None:
        self.table = table
        self.wid = 0
        self.handlers: Dict[int, Tuple[str, Callable[[int], Any]]] = {}
        self.engine: Any = None
        self.io_loop: Any = None
        self.fd: Optional[int] = None
        self.local_route: Optional[Callable[[int], Any]] = None
        self.waiters: List[Any] = []
        self.last_received = -1

    def attach(self, wid: int, io_loop: Any, engine: Any, fd: Optional[int],
               local_route: Optional[Callable[[int], Any]] = None) -> None:
        """Start receiving: ``fd`` is this worker's end of its signal socketpair (None
        without a master, where ``local_route`` routes raised signals in-process)."""
        self.wid = wid
        self.io_loop = io_loop
        self.engine = engine
        self.fd = fd
        self.local_route = local_route
        for sig, (target, _) in self.handlers.items():  # registered before attach (at import)
            self.table.register(sig, target, wid)
        if fd is not None:
            os.set_blocking(fd, False)
            io_loop.add_handler(fd, self._on_readable, io_loop.READ)

    def detach(self) -> None:
        if self.fd is not None and self.io_loop is not None:
            try:
                self.io_loop.remove_handler(self.fd)
            except Exception:
                pass

    # -- registration -----------------------------------------------------------------

    def register(self, sig: int, target: str, handler: Callable[[int], Any]) -> None:
        sig &= 0xFF
        if sig in self.handlers and not self.wid and self.fd is None and self.io_loop is None:
            # the master (importing the app), as uWSGI: a second handler for a number the app
            # already uses is a clash of two modules, reported instead of replacing the first
            gen_log.warning("[uwsgi-signal] you cannot re-register a signal as the master !!!")
            raise ValueError("unable to register signal")
        self.handlers[sig] = (target, handler)
        if self.wid:
            self.table.register(sig, target, self.wid)
        gen_log.info("[uwsgi-signal] signum %d registered (wid: %d modifier1: 0 target: %s)",
                     sig, self.wid, target or "default, any worker")

    def registered(self, sig: int) -> bool:
        return (sig & 0xFF) in self.handlers

    # -- raising ------------------------------------------------------------------------

    def raise_signal(self, sig: int) -> bool:
        """``uwsgi.signal(n)``: ask the master to route it (or route it here); False if
        it could not be handed over."""
        sig &= 0xFF
        if self.fd is not None:
            try:
                os.write(self.fd, bytes((sig,)))
                return True
            except BlockingIOError:
                gen_log.warning("*** SIGNAL QUEUE IS FULL: signal %d dropped ***", sig)
            except OSError as e:
                gen_log.warning("could not send signal %d to the master: %s", sig, e.strerror or e)
            return False
        if self.local_route is not None and self.io_loop is not None:
            self.io_loop.add_callback(self.local_route, sig)
            return True
        gen_log.warning("signal %d raised before the worker started: dropped", sig)
        return False

    # -- receiving ----------------------------------------------------------------------

    def _on_readable(self, fd: int, events: int) -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EINTR:
                gen_log.warning("[uwsgi-signal] read(): %s", e.strerror or e)
            return
        if not data:
            self.detach()
            return
        for sig in data:
            self.deliver(sig)

    def deliver(self, sig: int) -> bool:
        """Hand ``sig`` to a core waiting for it in ``signal_wait``, which runs its handler
        itself (uWSGI's ``signal_wait`` reads the signal and runs the handler in the waiting
        request); else run the handler in a core (from the IOLoop)."""
        for i, (want, w) in enumerate(self.waiters):
            if (want is None or want == sig) and not w.done:
                del self.waiters[i]
                w.fire(sig)
                return True
        if sig not in self.handlers:
            gen_log.warning("error managing signal %d on worker %d: no handler registered", sig, self.wid)
            return False
        self.engine.submit(self.handle, sig)
        return True

    def handle(self, sig: int) -> None:
        """Run the handler of ``sig`` here (a core; nothing if it has none: a signal
        ``signal_wait`` received without a handler, as uWSGI)."""
        self.last_received = sig
        entry = self.handlers.get(sig)
        if entry is None:
            return
        self.table.count_handled(self.wid)
        try:
            entry[1](sig)
        except Exception:
            app_log.exception("error in the handler of uWSGI signal %d (worker %d)", sig, self.wid)
