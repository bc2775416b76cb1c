"""Exceptions raised by the loop engine."""

from __future__ import annotations


class CoreTimeout(TimeoutError):
    """A wait inside an async core ran out of time (``wait(..., timeout=)``, fd waits, sleeps)."""


class NotInCore(RuntimeError):
    """A suspending call was made outside an async core.

    Suspending only makes sense inside a request's greenlet: the IOLoop's own greenlet
    (callbacks, coroutines) cannot suspend without stopping every core of the worker.
    Coroutines should ``await`` instead.
    """


class EngineStopped(Exception):
    """Thrown into a suspended core when its engine shuts down."""
