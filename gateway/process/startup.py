"""Startup actions on the operating system: ``--flock*``, ``--file-write``, ``--prio``,
``--never-swap``, ``--limit-nproc`` and ``--binsh``.

* ``--flock FILE`` / ``--flock-wait FILE`` (and ``--flock2`` / ``--flock-wait2``, once
  the log file is set up): a write lock on the whole FILE, taken with ``fcntl`` as uWSGI
  does (so a uWSGI instance and gateway exclude each other), held by the master for its
  whole life.  FILE must exist.  ``--flock`` exits when another process holds it, with
  uWSGI's message; ``--flock-wait`` waits for it.  As every ``fcntl`` lock it belongs to
  this process: the children do not hold it, and it is released if the process closes any
  descriptor of FILE (an app in the master should not open the lock file);
* ``--file-write FILE=VALUE``: VALUE and a newline written to FILE (truncated), before
  privileges are dropped (``/proc`` and ``/sys`` tunables);
* ``--prio N``: the nice value, after the drop (uWSGI's place, so lowering it needs the
  drop not to have happened... or root: a refusal is logged, as in uWSGI);
* ``--never-swap``: ``mlockall(MCL_CURRENT | MCL_FUTURE)`` through ``ctypes`` (there is no
  Python binding); children inherit nothing of it (locks are not inherited across
  ``fork``), so every child calls it again right after the fork.  Once ``--uid`` dropped
  root, locked pages count against ``RLIMIT_MEMLOCK``: with a limit gateway cannot lift,
  the combination is refused at startup (the workers could not allocate memory);
* ``--limit-nproc N``: ``RLIMIT_NPROC`` (soft and hard) before the drop, and uWSGI's
  adjustment: fewer workers when the limit leaves no room for them and the master;
* ``--binsh SHELL``: the first executable SHELL runs exec hooks, daemons and cron commands.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import resource
from typing import Any, Dict, List, Optional

__all__ = ["StartupError", "adjusted_workers", "binsh", "configure_shell", "file_write", "lock_file",
           "lock_memory", "memlock_unlimited", "set_limit_nproc", "set_priority"]

#: ``mlockall`` flags (Linux, every architecture gateway runs on).
MCL_CURRENT = 1
MCL_FUTURE = 2
#: The shell when ``--binsh`` names none that is executable.
DEFAULT_SHELL = "/bin/sh"

#: The descriptors of the files locked by ``--flock*``: open as long as the process lives.
_held: Dict[str, int] = {}
_shells: List[str] = []


class StartupError(Exception):
    """A startup action that failed; the message names the option."""


def lock_file(path: str, wait: bool, option: str, log: Any) -> None:
    """Lock ``path`` (``fcntl`` write lock, whole file) and keep it; wait for it or fail."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as e:
        raise StartupError("--%s %s: %s" % (option, path, e.strerror or e)) from None
    try:
        if wait:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
                log.info("waiting for the lock on %s ...", path)
                fcntl.lockf(fd, fcntl.LOCK_EX)  # blocks in the kernel: no polling
        else:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno in (errno.EACCES, errno.EAGAIN):
                    raise StartupError("uWSGI ERROR: %s is locked by another instance" % path) from None
                raise
    except OSError as e:
        os.close(fd)
        raise StartupError("--%s %s: %s" % (option, path, e.strerror or e)) from None
    except BaseException:
        os.close(fd)
        raise
    old = _held.pop(path, None)
    _held[path] = fd
    if old is not None:
        os.close(old)


def file_write(spec: str, log: Any) -> None:
    """``FILE=VALUE``: write VALUE and a newline to FILE."""
    path, _, value = spec.partition("=")
    log.info('writing "%s" to "%s" ...', value, path)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(value + "\n")
    except OSError as e:
        raise StartupError("--file-write %s: %s" % (path, e.strerror or e)) from None


def set_priority(prio: int, log: Any) -> None:
    """``--prio``: this process's nice value (children inherit it); a refusal is logged."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, prio)
    except OSError as e:
        log.warning("--prio %d: setpriority() failed: %s", prio, e.strerror or e)
        return
    log.info("scheduler priority set to %d", prio)


def memlock_unlimited() -> bool:
    """Lift ``RLIMIT_MEMLOCK`` to unlimited if allowed; is it unlimited now?

    Locked pages count against that limit once a process has no ``CAP_IPC_LOCK`` (after
    ``--uid`` dropped root): with ``MCL_FUTURE`` its next allocation would fail."""
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (OSError, ValueError):
        pass
    return resource.getrlimit(resource.RLIMIT_MEMLOCK)[0] == resource.RLIM_INFINITY


def lock_memory(log: Any) -> bool:
    """``--never-swap``: ``mlockall`` this process's pages, current and future; a refusal is
    logged (as uWSGI) and False returned."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
        err = ctypes.get_errno()
        log.warning("--never-swap: mlockall() failed: %s (it needs CAP_IPC_LOCK or a larger "
                    "RLIMIT_MEMLOCK)", os.strerror(err))
        return False
    return True


def set_limit_nproc(limit: int, log: Any) -> None:
    """``--limit-nproc``: ``RLIMIT_NPROC`` soft and hard; a refusal is logged (as uWSGI)."""
    log.info("limiting number of processes to %d...", limit)
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    except (OSError, ValueError) as e:
        log.warning("--limit-nproc %d: setrlimit() failed: %s", limit, getattr(e, "strerror", None) or e)


def adjusted_workers(workers: int, master: bool, log: Any) -> int:
    """uWSGI's check: with a process limit below workers + master, limit - 1 workers."""
    soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    if soft == resource.RLIM_INFINITY:
        return workers
    if soft < workers + int(master):
        workers = max(1, soft - 1)
        log.warning("!!! number of workers adjusted to %d due to system limits !!!", workers)
    return workers


def configure_shell(candidates: List[str]) -> None:
    """``--binsh``: the shells to try, in order."""
    _shells[:] = list(candidates)


def binsh(shells: Optional[List[str]] = None) -> str:
    """The first executable of the ``--binsh`` shells, else ``/bin/sh``."""
    for shell in _shells if shells is None else shells:
        if os.path.isfile(shell) and os.access(shell, os.X_OK):
            return shell
    return DEFAULT_SHELL
