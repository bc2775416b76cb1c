"""``--wait-for-fs/file/dir/mountpoint``, ``--wait-for-interface``, ``--wait-for-socket``:
bounded waits at startup, for what the instance needs and something else brings up.

Each wait checks its condition, then sleeps :data:`POLL_INTERVAL` and checks again, up to
its timeout (``--wait-for-fs-timeout``, ``--wait-for-interface-timeout``,
``--wait-for-socket-timeout``; 60 seconds by default, and for ``0``, as uWSGI).  The lines
follow uWSGI's: ``waiting for /data (max 60 seconds) ...``, then ``/data found`` or
``/data unavailable after 60 seconds`` (and the start fails)::

    gateway --wait-for-mountpoint /data --wait-for-socket 127.0.0.1:5432 ...

The checks are plain functions of the path, name or address, so they are tested alone.
"""

from __future__ import annotations

import functools
import os
import socket
import stat
import time
from typing import Any, Callable, List, Tuple

__all__ = ["POLL_INTERVAL", "WaitFailed", "interface_exists", "is_mountpoint", "path_ready",
           "socket_accepts", "wait_for", "waits_before_drop"]

#: Seconds between two checks (uWSGI checks once a second).
POLL_INTERVAL = 0.25
#: Seconds one connection attempt of ``--wait-for-socket`` may take.
CONNECT_TIMEOUT = 1.0
#: uWSGI's timeout when none (or 0) is given.
DEFAULT_TIMEOUT = 60


class WaitFailed(Exception):
    """What was waited for did not come in time; the message says which and how long."""


def path_ready(path: str, kind: str = "fs") -> bool:
    """``kind`` ``fs``: ``path`` exists; ``file``: it is a regular file; ``dir``: a directory."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if kind == "file":
        return stat.S_ISREG(mode)
    if kind == "dir":
        return stat.S_ISDIR(mode)
    return True


def is_mountpoint(path: str) -> bool:
    """A directory whose device differs from its parent's (uWSGI's test; ``/`` counts)."""
    try:
        here = os.stat(path)
        parent = os.stat(os.path.join(path, ".."))
    except OSError:
        return False
    if not stat.S_ISDIR(here.st_mode):
        return False
    return here.st_dev != parent.st_dev or here.st_ino == parent.st_ino


def interface_exists(name: str) -> bool:
    """Does the network interface ``name`` exist (``if_nametoindex``, as uWSGI)?"""
    try:
        return socket.if_nametoindex(name) > 0
    except OSError:
        return False


def socket_accepts(address: str, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Does a connection to ``address`` (``host:port``, or a UNIX socket path) succeed?"""
    try:
        if "/" in address or ":" not in address:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: Any = address
        else:
            host, _, port = address.rpartition(":")
            host = host.strip("[]") or "127.0.0.1"
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            target = (host, int(port))
    except (OSError, ValueError):
        return False
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect(target)
        except OSError:
            return False
    return True


def wait_for(what: str, check: Callable[[], bool], timeout: float, log: Any, found: str = "found",
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
    """Check until ``check()`` is true, sleeping between checks; :class:`WaitFailed` after ``timeout``."""
    timeout = timeout or DEFAULT_TIMEOUT
    log.info("waiting for %s (max %d seconds) ...", what, timeout)
    deadline = clock() + timeout
    while not check():
        left = deadline - clock()
        if left <= 0:
            raise WaitFailed("%s unavailable after %d seconds" % (what, timeout))
        sleep(min(POLL_INTERVAL, left))
    log.info("%s %s", what, found)


def _fs_waits(cfg: Any) -> List[Tuple[str, Callable[[], bool], str]]:
    waits: List[Tuple[str, Callable[[], bool], str]] = []
    for option, kind in (("wait_for_fs", "fs"), ("wait_for_file", "file"), ("wait_for_dir", "dir")):
        for path in getattr(cfg, option):
            waits.append((path, functools.partial(path_ready, path, kind), "found"))
    for path in cfg.wait_for_mountpoint:
        waits.append((path, functools.partial(is_mountpoint, path), "mounted"))
    return waits


def waits_before_drop(cfg: Any, log: Any) -> None:
    """The interface waits, then the filesystem ones (uWSGI's order, before the drop)."""
    for name in cfg.wait_for_interface:
        wait_for("interface %s" % name, functools.partial(interface_exists, name), cfg.wait_for_interface_timeout,
                 log, found="found")
    for what, check, found in _fs_waits(cfg):
        wait_for(what, check, cfg.wait_for_fs_timeout, log, found=found)


def socket_waits(cfg: Any, log: Any) -> None:
    """``--wait-for-socket``: after the drop, before the app is loaded (uWSGI's place)."""
    for address in cfg.wait_for_socket:
        wait_for(address, functools.partial(socket_accepts, address), cfg.wait_for_socket_timeout, log,
                 found="ready")
