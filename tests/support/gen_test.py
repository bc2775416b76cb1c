"""Tests written as Tornado coroutines: the ``io_loop`` fixture and the ``@gen_test`` decorator.

The engine tests drive greenlet cores on a real IOLoop and wait for them by yielding their
futures::

    @gen_test(timeout=10)
    def test_something(io_loop):
        engine = Engine(4, io_loop)
        result = yield run_in_core(engine, body)

``gen_test`` turns such a generator (or an ``async def``) into a plain test function that runs
it to completion on the test's ``io_loop`` with ``run_sync``, failing it after ``timeout``
seconds.  This used to come from the pytest-tornado plugin, which is unmaintained: it imports
``pkg_resources`` (absent from a Python 3.12+ venv, so the whole suite failed to start there) and
declares its hooks with marks that pytest 10 removes.  A decorator needs no collection hook:
pytest sees an ordinary function, and its fixtures through ``functools.wraps``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterator

import pytest
import tornado.gen
import tornado.ioloop

__all__ = ["gen_test", "io_loop"]


def gen_test(timeout: float = 5.0) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Run the decorated generator or ``async def`` test on its ``io_loop`` fixture, within
    ``timeout`` seconds (``tornado.util.TimeoutError`` past it)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., None]:
        if "io_loop" not in inspect.signature(func).parameters:
            raise TypeError("%s: a @gen_test test takes the io_loop fixture" % func.__name__)
        coroutine = func if inspect.iscoroutinefunction(func) else tornado.gen.coroutine(func)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> None:
            kwargs["io_loop"].run_sync(lambda: coroutine(*args, **kwargs), timeout=timeout)

        return run

    return decorate


@pytest.fixture
def io_loop() -> Iterator[tornado.ioloop.IOLoop]:
    """A new IOLoop (made current) for one test, closed with its file descriptors after it."""
    loop = tornado.ioloop.IOLoop()
    loop.make_current()
    try:
        yield loop
    finally:
        loop.clear_current()
        loop.close(all_fds=True)
