"""A process that rewrites shared memory in a loop while the test reads it (the
single-store tests of gateway.sharedmem.words and its users)."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Callable, Iterator


@contextlib.contextmanager
def writer_process(step: Callable[[], None], after_fork: Callable[[], None] = lambda: None) -> Iterator[int]:
    """Fork a child that runs ``after_fork()`` then ``step()`` forever; its pid inside the
    ``with`` block, SIGKILLed and reaped at its end."""
    pid = os.fork()
    if pid == 0:
        try:
            after_fork()
            while True:
                step()
        finally:
            os._exit(1)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
