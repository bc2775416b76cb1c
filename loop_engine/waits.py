"""Suspending calls for code running in an async core: futures, fds, sleeps.

:func:`wait` is the helper uWSGI never had: plain WSGI code waits for any Tornado or
asyncio future (or coroutine, or other awaitable) without callback plumbing::

    def application(environ, start_response):
        response = loop_engine.wait(AsyncHTTPClient().fetch(url), timeout=5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [response.body]

Only the calling core is suspended; the worker's other cores and the IOLoop keep
running.  All of these raise :class:`~loop_engine.NotInCore` outside a core.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any, Optional

from tornado import gen
from tornado.ioloop import IOLoop

from loop_engine.cores import Waiter, _require_core
from loop_engine.errors import CoreTimeout, NotInCore


def wait(awaitable: Any, timeout: Optional[float] = None) -> Any:
    """Suspend the current core until ``awaitable`` completes; return its result or raise.

    ``awaitable`` may be a Tornado or asyncio future, a ``concurrent.futures.Future``,
    a coroutine or any awaitable.  On timeout raises :class:`CoreTimeout` (a
    ``TimeoutError``); a coroutine we wrapped in a task is then cancelled, a future
    the caller handed in is left alone (it may be shared).
    """
    try:
        g = _require_core("loop_engine.wait()")
    except NotInCore:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()  # never awaited by anyone: do not leak a warning
        raise
    created = asyncio.iscoroutine(awaitable)
    if isinstance(awaitable, concurrent.futures.Future):
        # Completed on another thread: hop onto the loop before touching the core.
        fut = asyncio.wrap_future(awaitable, loop=g.core.engine.asyncio_loop)
    else:
        fut = gen.convert_yielded(awaitable)
    if not fut.done():
        w = Waiter()
        fut.add_done_callback(w.fire)
        try:
            w.wait(timeout)
        except CoreTimeout:
            fut.remove_done_callback(w.fire)
            if created:
                fut.cancel()
            raise
        except BaseException:
            fut.remove_done_callback(w.fire)
            raise
    del g
    return fut.result()


def _wait_fd(fd: Any, events: int, timeout: Optional[float], what: str) -> None:
    _require_core(what)
    io_loop = IOLoop.current()
    w = Waiter()
    io_loop.add_handler(fd, lambda fd, ev: w.fire(), events)
    try:
        w.wait(timeout)
    finally:
        io_loop.remove_handler(fd)


def wait_fd_read(fd: Any, timeout: Optional[float] = None) -> None:
    """Suspend until ``fd`` (an int or an object with ``fileno()``) is readable.

    Raises CoreTimeout after ``timeout`` seconds.  The fd must not be registered with
    the IOLoop by anybody else at the same time (the IOLoop allows one handler per fd).
    """
    _wait_fd(fd, IOLoop.READ, timeout, "wait_fd_read()")


def wait_fd_write(fd: Any, timeout: Optional[float] = None) -> None:
    """Suspend until ``fd`` is writable; see :func:`wait_fd_read`."""
    _wait_fd(fd, IOLoop.WRITE, timeout, "wait_fd_write()")
