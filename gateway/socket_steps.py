"""Run a client exchange on a non-blocking socket from a core, a coroutine or plain code.

The uwsgi clients (`gateway.rpc` for ``uwsgi.rpc``, `gateway.subsystems.remote_cache`
for ``cache@host:port``) write their exchange once, as a generator that does the socket
calls (on a ``socket.socket`` or a C-level ``_socket.socket``) and yields `READ` or `WRITE` when the socket would block, and returns the outcome.
This module drives such a generator: `drive_in_core` parks the calling core (a request
never blocks the loop), `drive_async` awaits in the loop, `drive_blocking` polls (no loop:
the master, a thread).  Each wait is bounded: `StepTimeout` after ``wait`` seconds.
"""

from __future__ import annotations

import asyncio
import select
from typing import TYPE_CHECKING, Any, Generator, TypeVar

if TYPE_CHECKING:
    from loop_engine.cores import Core

READ, WRITE = "read", "write"

T = TypeVar("T")
Steps = Generator[str, None, T]


class StepTimeout(TimeoutError):
    """A wait of an exchange lasted more than its bound; ``event`` is what it waited for."""

    def __init__(self, wait: float, event: str) -> None:
        super().__init__("timed out after %gs" % wait)
        self.event = event


def drive_in_core(core: Core, sock: Any, steps: Steps[T], wait: float) -> T:
    """Run ``steps`` parking ``core`` (the current one) while ``sock`` is not ready."""
    from loop_engine import CoreTimeout
    from loop_engine.cores import Waiter

    loop = core.engine.asyncio_loop
    fd = sock.fileno()
    try:
        event = next(steps)
        while True:
            w = Waiter()
            if event is READ:
                loop.add_reader(fd, w.fire)
            else:
                loop.add_writer(fd, w.fire)
            try:
                w.wait(wait)
            except CoreTimeout:
                raise StepTimeout(wait, event) from None
            finally:
                (loop.remove_reader if event is READ else loop.remove_writer)(fd)
            event = steps.send(None)
    except StopIteration as stop:
        return stop.value


async def drive_async(sock: Any, steps: Steps[T], wait: float) -> T:
    """Run ``steps`` in the running loop, awaiting while ``sock`` is not ready."""
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    try:
        event = next(steps)
        while True:
            fut = loop.create_future()
            if event is READ:
                loop.add_reader(fd, _fire, fut)
            else:
                loop.add_writer(fd, _fire, fut)
            expire = loop.call_later(wait, _fire, fut, True)  # a timer, not a task per wait
            try:
                if await fut:
                    raise StepTimeout(wait, event)
            finally:
                expire.cancel()
                (loop.remove_reader if event is READ else loop.remove_writer)(fd)
            event = steps.send(None)
    except StopIteration as stop:
        return stop.value


def _fire(fut: "asyncio.Future[bool]", expired: bool = False) -> None:
    if not fut.done():
        fut.set_result(expired)


def drive_blocking(sock: Any, steps: Steps[T], wait: float) -> T:
    """Run ``steps`` blocking the calling thread in ``poll`` while ``sock`` is not ready."""
    try:
        event = next(steps)
        while True:
            poller = select.poll()
            poller.register(sock, select.POLLIN if event is READ else select.POLLOUT)
            if not poller.poll(wait * 1000):
                raise StepTimeout(wait, event)
            event = steps.send(None)
    except StopIteration as stop:
        return stop.value
