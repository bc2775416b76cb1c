"""How a router process (``--http``, ``--fastrouter``) stops: on a signal, or when its parent
is gone.

The first stop closes the listeners and the subscription servers, closes the idle client
connections, and lets the requests in flight finish for up to ``timeout`` seconds before the
loop stops; a second signal stops the loop at once.  Each router module keeps its own words
(``label``, ``what``) and its own timeout constant.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any, List, Optional

from gateway.logs import gen_log

__all__ = ["GracefulStop"]


class GracefulStop:
    """``stop = GracefulStop(loop, router, "[router]", "the HTTP router", 10.0)``: ``stop(sig)``
    as the signal handler, ``stop.watch_parent()`` from the router's once-a-second sweep;
    ``stop.transports`` the datagram endpoints to close with the listeners."""

    def __init__(self, loop: asyncio.AbstractEventLoop, router: Any, label: str, what: str,
                 timeout: float) -> None:
        self.loop = loop
        self.router = router
        self.label = label
        self.what = what
        self.timeout = timeout
        self.parent = os.getppid()
        self.stopping = False
        self.transports: List[Any] = []

    def __call__(self, sig: Optional[int] = None) -> None:
        loop = self.loop
        if self.stopping:
            if sig is not None and loop.is_running():
                gen_log.warning("%s second signal: exiting now", self.label)
                loop.stop()
            return
        self.stopping = True
        if sig is not None:
            gen_log.info("%s %s received: stopping %s (pid: %d)", self.label, signal.Signals(sig).name, self.what,
                         os.getpid())
        router = self.router
        router.stop_accepting()
        for transport in self.transports:
            transport.close()
        router.close_idle()
        deadline = loop.time() + self.timeout

        def check() -> None:
            busy = router.busy()
            if busy == 0 or loop.time() > deadline:
                if busy:
                    gen_log.warning("%s %d requests still in flight after %ss: exiting anyway", self.label, busy,
                                    self.timeout)
                router.close_all()
                loop.stop()
            else:
                loop.call_later(0.05, check)

        check()

    def watch_parent(self) -> None:
        """Stop when the parent (the master) is gone."""
        if os.getppid() != self.parent and not self.stopping:
            gen_log.warning("%s the parent process %d is gone: stopping", self.label, self.parent)
            self()
