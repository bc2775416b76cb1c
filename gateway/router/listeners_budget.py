"""A router process's listening sockets under ``--max-connections``.

The HTTP router and the FastRouter accept through the loop's own server
(:class:`~gateway.server.accept.LoopServer`, on a dup of each listening socket).  At the
budget of client connections the servers are closed, the listening sockets kept: the next
clients wait in the listen queue (or go to another router process) until a connection
closes, instead of taking every descriptor of the process.  One log line per
:data:`LOG_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any, Callable, List, Optional, Set

from gateway.logs import gen_log
from gateway.server.accept import LoopServer

__all__ = ["BudgetedListeners"]

#: Seconds between two "budget reached" lines of one process.
LOG_INTERVAL = 10.0


class BudgetedListeners:
    """``BudgetedListeners(loop, limit, count, label)``: ``count()`` is the process's client
    connections now; call :meth:`check` after each one opens or closes.  ``limit`` 0: no budget."""

    def __init__(self, loop: Any, limit: int, count: Callable[[], int], label: str) -> None:
        self.loop = loop
        self.limit = limit
        self.count = count
        self.label = label
        self.servers: List[LoopServer] = []
        self.accepting = False
        self.full = False
        self._logged = float("-inf")
        self._tasks: Set[Any] = set()

    def add(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol], backlog: int,
            tls: Optional[ssl.SSLContext] = None, handshake_timeout: float = 60.0,
            shutdown_timeout: float = 2.0) -> None:
        self.servers.append(LoopServer(self.loop, sock, factory, backlog, self._tasks, tls=tls,
                                       handshake_timeout=handshake_timeout, shutdown_timeout=shutdown_timeout))

    async def open(self) -> None:
        """Start accepting on every listener (connections are accepted once this returns)."""
        self.accepting = True
        for server in self.servers:
            if self.full or not self.accepting:  # clients of the listeners already open filled
                break  # the budget (the rest opens when one closes, see check), or a stop came
            await server.open()

    def check(self) -> None:
        """Close the servers at the budget, open them again below it (unless stopped)."""
        if not self.limit:
            return
        n = self.count()
        if n >= self.limit:
            if not self.full:
                self.full = True
                for server in self.servers:
                    server.toggle(False)
                now = self.loop.time()
                if now - self._logged >= LOG_INTERVAL:
                    self._logged = now
                    gen_log.warning("%s *** %d client connections open (--max-connections %d): not accepting "
                                    "new ones until one closes ***", self.label, n, self.limit)
        elif self.full:
            self.full = False
            if self.accepting:
                for server in self.servers:
                    server.toggle(True)

    def stop(self) -> None:
        """Stop accepting for good (a graceful stop): a budget freed later reopens nothing."""
        self.accepting = False
        for server in self.servers:
            server.toggle(False)
