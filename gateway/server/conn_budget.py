"""``--max-connections``: how many client connections one worker holds at once.

The head of a request is parsed in the loop before a core is taken (a slow client never
pins a core), so the cores do not bound the connections as they do in uWSGI's async
modes: a peer opening connections faster than ``--socket-timeout`` closes the silent
ones would otherwise take descriptors and memory until the worker's ``accept`` fails
with ``EMFILE``.  At the budget the worker stops accepting (the kernel's listen queue
holds the next clients, other workers sharing the socket take them) and accepts again
once a connection closes; one log line per :data:`LOG_INTERVAL`.
"""

from __future__ import annotations

import resource
import time
from typing import Any, List

from gateway.logs import gen_log

#: Seconds between two "connection budget reached" log lines of one worker.
LOG_INTERVAL = 10.0
#: Descriptors kept for the app, logs, pipes and upstream connections when the budget
#: is derived from the descriptor limit.
FD_RESERVE = 64


def default_limit(per_connection: int = 1) -> int:
    """The budget when ``--max-connections`` is 0: the soft descriptor limit less
    :data:`FD_RESERVE`, divided by the descriptors one connection takes (a router's client
    also holds a connection to a worker), at least 16; so accepting stops before ``accept``
    fails."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 65536
    return max(16, (soft - FD_RESERVE) // per_connection)


class ConnectionBudget:
    """One per worker, shared by its listeners (:class:`~gateway.server.conn_server.ConnectionServer`
    registers itself); :meth:`check` after every open and close keeps the engine's accept
    hold in step with the count."""

    def __init__(self, engine: Any, limit: int) -> None:
        self.engine = engine
        self.limit = limit
        self.servers: List[Any] = []
        self.full = False
        #: how many times the budget was reached (the stats document)
        self.reached = 0
        self._logged = float("-inf")

    def count(self) -> int:
        """Open connections, TLS handshakes in progress included."""
        return sum(len(server.connections) + len(server.handshakes) for server in self.servers)

    def check(self) -> None:
        """Hold or release accepting by the current count."""
        n = self.count()
        if n >= self.limit:
            if not self.full:
                self.full = True
                self.reached += 1
                self.engine.hold_accepting(True, "max-connections")
                now = time.monotonic()
                if now - self._logged >= LOG_INTERVAL:
                    self._logged = now
                    gen_log.warning("*** %d client connections open (--max-connections %d): not accepting "
                                    "new ones until one closes ***", n, self.limit)
        elif self.full:
            self.full = False
            self.engine.hold_accepting(False, "max-connections")
