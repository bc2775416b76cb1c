"""``--worker-exec PROGRAM`` / ``--worker-exec2 PROGRAM``: a worker becomes another program.

As uWSGI does, the worker ``execvp``-s PROGRAM (the whole value is the program: no shell, no
arguments) with its first socket made blocking and duplicated on descriptor 0, the way inetd
and FastCGI programs (``php-cgi``) expect their listening socket.  ``--honour-stdin`` keeps
descriptor 0 as it is.  ``--worker-exec`` replaces the worker before anything else runs in it;
``--worker-exec2`` once its ``--hook-post-fork`` hooks have run.  The inherited ``--safe-fd``
descriptors stay open in the program; gateway's own descriptors are close-on-exec.

Under a master the worker tells it ``ready`` first (the program serves the socket from then
on); the master stops and respawns the program as it does a worker.  O_NONBLOCK belongs to the
socket, shared by every process: all the workers run PROGRAM, as in uWSGI.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any, List, NoReturn, Sequence

from gateway.logs import gen_log

__all__ = ["become"]


def keep_safe_fds(fds: Sequence[int]) -> List[int]:
    """Make the open ``--safe-fd`` descriptors inheritable; the ones open, in order."""
    kept = []
    for fd in fds:
        try:
            os.set_inheritable(fd, True)
        except OSError:
            continue  # not open here: nothing to keep
        kept.append(fd)
    return kept


def become(program: str, sockets: Sequence[socket.socket], *, honour_stdin: bool, safe_fds: Sequence[int],
           worker_id: int = 1, channel: Any = None, option: str = "worker-exec") -> NoReturn:
    """Replace this worker with ``program``; exits 1 (logged) when it cannot be executed."""
    if sockets:
        first = sockets[0]
        first.setblocking(True)
        if first.fileno() != 0 and not honour_stdin:
            os.dup2(first.fileno(), 0)  # inheritable, unlike the original
    keep_safe_fds(safe_fds)
    if channel is not None:
        channel.send("ready", b"")
    gen_log.info("worker %d (pid: %d) runs %s (--%s)", worker_id, os.getpid(), program, option)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(program, [program])
    except OSError as e:
        gen_log.error("--%s %s: execvp(): %s", option, program, e.strerror or e)
    os._exit(1)

