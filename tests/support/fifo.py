"""Writing to a server's ``--master-fifo``, as ``echo r > FIFO`` does."""

from __future__ import annotations

import os


def say(fifo: str, text: str) -> None:
    """Write ``text`` to the FIFO ``fifo`` (its reader, the master, must be there)."""
    fd = os.open(str(fifo), os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
