"""``--offload-threads``: a ``wsgi.file_wrapper`` response sent from the loop, the core free.

:meth:`gateway.server.wsgi_call.WSGIResponse.run` hands a file wrapper over a regular file
to its sink's ``offload_file`` (after ``send_head``) as soon as the app returns it, and
the request's core moves on.  :class:`FileOffload` is that method for every protocol's
connection: a task on the loop reads the file in :data:`OFFLOAD_BLOCK` blocks on the
offload threads (``os.pread``, so the loop never blocks on the disk) and writes them to
the transport, waiting for the drain between blocks (`ConnectionWaits.drained`, bounded
by ``--socket-timeout``).  The runner's ``request_done`` arrives while the file still
travels: :meth:`FileOffload.defer_request_done` keeps it, and the connection's own
``request_done`` runs once the file is out, so the protocol ends the response its usual
way (HTTP: keep-alive or close; uwsgi: close).  A file that could not be sent whole
(it shrank, the peer stopped reading or left, an error) aborts the connection, so the
peer sees a truncated response and never a complete wrong one.

Why threads and not ``sendfile``: uvloop's transports have no ``sendfile`` and the
connection is a transport; the blocks cross Python once, the core does not wait for them.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Optional

from gateway.logs import gen_log

#: Bytes read (by an offload thread) and written per step of an offloaded file.
OFFLOAD_BLOCK = 256 * 1024


class FileOffload:
    """Mixin for a connection that is also a `~gateway.server.sink.ResponseSink` and a
    `~gateway.server.stream_waits.ConnectionWaits`: adds ``offload_file``.

    The subclass calls `init_offload` in ``__init__`` and starts its ``request_done`` with
    ``if self.defer_request_done(ok): return``.
    """

    closed: bool
    transport: Optional[asyncio.Transport]

    def init_offload(self) -> None:
        self._offload_task: Optional[asyncio.Future] = None
        #: the runner's verdict while the file still travels (None: not given yet)
        self._offload_done: Optional[bool] = None

    def offload_file(self, fobj: Any, fd: int, offset: int, count: int, pool: Any,
                     close: Optional[Callable[[], Any]]) -> None:
        """Send ``count`` bytes of ``fd`` from ``offset`` after the head, from the loop:
        blocks are read by ``pool`` (the offload threads) and written with back-pressure;
        the request's core is already free.  ``close`` (the wrapper's) runs when the file
        is out (or the sending failed)."""
        self._offload_done = None
        # Keep a reference: the loop holds tasks weakly.
        self._offload_task = asyncio.ensure_future(self._send_file(fd, offset, count, pool, close))

    def defer_request_done(self, ok: bool) -> bool:
        """True if a file is still being sent: ``ok`` is kept and ``request_done`` runs
        again when the file is out."""
        if self._offload_task is None:
            return False
        self._offload_done = ok
        return True

    async def _send_file(self, fd: int, offset: int, count: int, pool: Any,
                         close: Optional[Callable[[], Any]]) -> None:
        loop = asyncio.get_running_loop()
        ok = False
        try:
            left = count
            while left > 0 and not self.closed:
                data = await loop.run_in_executor(pool, os.pread, fd, min(left, OFFLOAD_BLOCK), offset)
                if not data or self.closed:
                    break  # the file shrank (a short body) or the peer left
                self.transport.write(data)  # type: ignore[union-attr]
                offset += len(data)
                left -= len(data)
                if not await self.drained():  # type: ignore[attr-defined]
                    break
            ok = left == 0 and not self.closed
        except Exception:
            gen_log.exception("error sending an offloaded file")
        finally:
            if close is not None:
                try:
                    close()
                except Exception:
                    gen_log.exception("error in close() of the WSGI file wrapper")
            self._offload_task = None
            done, self._offload_done = self._offload_done, None
            if not ok:
                self.abort()  # type: ignore[attr-defined]
            if done is not None:
                self.request_done(done and ok)  # type: ignore[attr-defined]
