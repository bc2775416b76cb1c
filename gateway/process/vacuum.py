"""``--vacuum``: the files the instance made, removed when its process exits, with uWSGI's lines.

Every file is registered here by the process that made it (the master, or the one worker
without a master); one ``atexit`` hook removes them in uWSGI's order and logs each as uWSGI's
``vacuum()`` does::

    VACUUM: pidfile removed.
    VACUUM: pidfile2 removed.
    VACUUM: safe pidfile removed.
    VACUUM: safe pidfile2 removed.
    VACUUM: unix socket /run/app.sock removed.
    VACUUM: unix socket /run/stats.sock (stats) removed.

A UNIX socket whose file was replaced meanwhile (another instance bound the path) is left,
with uWSGI's ``VACUUM WARNING: unix socket PATH changed inode. Skip removal``.  Unlike uWSGI, a
pidfile is removed only while it still holds this process's pid (uWSGI removes it whatever it
holds), and a forked child never removes the master's files.
"""

from __future__ import annotations

import atexit
import os
from typing import Any, Dict, List, Optional, Tuple

from gateway.logs import gen_log

__all__ = ["add_pidfile", "add_socket", "add_sockets", "add_stats_socket", "owns", "run"]

#: uWSGI's names for the pidfile options, in the order it removes them
PIDFILE_LABELS = {"pidfile": "pidfile", "pidfile2": "pidfile2",
                  "safe-pidfile": "safe pidfile", "safe-pidfile2": "safe pidfile2"}
_ORDER = list(PIDFILE_LABELS) + ["socket", "stats"]

#: path -> (kind, pid of the process that made it, (st_dev, st_ino) of a socket file or None)
_FILES: Dict[str, Tuple[str, int, Optional[Tuple[int, int]]]] = {}
_registered = [False]


def _add(path: str, kind: str, identity: Optional[Tuple[int, int]] = None) -> None:
    _FILES.pop(path, None)  # registered again (--daemonize2's rewrite): the newest owner, last
    _FILES[path] = (kind, os.getpid(), identity)
    if not _registered[0]:
        _registered[0] = True
        atexit.register(run)


def add_pidfile(name: str, path: str) -> None:
    """``--NAME PATH`` (``pidfile``, ``pidfile2``, ``safe-pidfile``, ``safe-pidfile2``,
    ``emperor-pidfile``) was just written by this process."""
    _add(path, name)


def add_socket(path: str) -> None:
    """A UNIX socket file this process just bound (its inode is remembered)."""
    st = os.stat(path)
    _add(path, "socket", (st.st_dev, st.st_ino))


def add_sockets(socks: List[Any]) -> None:
    """The UNIX sockets among ``socks`` (just bound by this process); TCP and abstract ones
    have no file to remove."""
    from gateway.server.listeners import unix_socket_file

    for sock in socks:
        path = unix_socket_file(sock)
        if path is not None:
            add_socket(path)


def add_stats_socket(path: str) -> None:
    """``--stats PATH``'s UNIX socket (the stats server leaves its removal to us)."""
    _add(path, "stats")


def owns(path: str) -> bool:
    """True if ``path`` is removed here at exit (its other owners must leave it)."""
    return path in _FILES


def run() -> None:
    """Remove what this process registered, in uWSGI's order, logging each."""
    pid = os.getpid()
    mine: List[Tuple[int, str, str, Optional[Tuple[int, int]]]] = [
        (_ORDER.index(kind) if kind in _ORDER else -1, path, kind, identity)
        for path, (kind, owner, identity) in _FILES.items() if owner == pid]
    for _, path, kind, identity in sorted(mine, key=lambda entry: entry[0]):
        _FILES.pop(path, None)
        if kind == "socket":
            _remove_socket(path, identity)
        elif kind != "stats":
            _remove_pidfile(path, PIDFILE_LABELS.get(kind), pid)
        elif _unlink(path):
            gen_log.info("VACUUM: unix socket %s (stats) removed.", path)


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as e:
        gen_log.warning("unlink(): %s [%s]", e.strerror or e, path)
        return False
    return True


def _remove_pidfile(path: str, label: Optional[str], pid: int) -> None:
    """Remove the pidfile if it still holds ``pid``; uWSGI's line for its four (``label``)."""
    try:
        with open(path, "rb") as f:
            if f.read().strip() != str(pid).encode():
                return  # a newer instance wrote it
    except OSError:
        return
    if _unlink(path) and label:
        gen_log.info("VACUUM: %s removed.", label)


def _remove_socket(path: str, identity: Optional[Tuple[int, int]]) -> None:
    try:
        st = os.stat(path)
    except OSError:
        return
    if identity is not None and (st.st_dev, st.st_ino) != identity:
        gen_log.info("VACUUM WARNING: unix socket %s changed inode. Skip removal", path)
        return
    if _unlink(path):
        gen_log.info("VACUUM: unix socket %s removed.", path)
