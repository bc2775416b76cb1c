"""``--uid`` / ``--gid``: drop root privileges after binding, before loading the app.

The order matters and follows uWSGI: sockets (privileged ports too), the stats socket
and shared memory are created as root; then the process switches to the given group
and user (names or numbers; supplementary groups are reset to that group); then the
app is imported (so it never runs as root).  Workers inherit the dropped identity.

Python itself often lives where the new user cannot read it (``/root/.pyenv`` here):
every module the server may import later is imported **before** the drop by
:func:`preload`, so a worker never fails on a lazy ``import`` after it.
"""

from __future__ import annotations

import grp
import importlib
import os
import pwd
from typing import TYPE_CHECKING, Any, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from gateway.config.model import Config

#: Modules the server imports lazily after start-up (workers, stats, threads, signals).
PRELOAD = (
    "asyncio", "concurrent.futures", "concurrent.futures.thread", "faulthandler", "json", "selectors",
    "traceback", "struct", "mmap", "ssl", "http.client",
    "tornado.ioloop", "tornado.platform.asyncio", "tornado.gen", "tornado.concurrent",
    "greenlet", "loop_engine",
    "gateway.process.worker", "gateway.process.master", "gateway.process.policy",
    "gateway.process.scoreboard", "gateway.process.channel", "gateway.stats",
    "gateway.server.http", "gateway.server.wsgi_call", "gateway.server.wsgi_input",
    "gateway.server.app_threads", "gateway.uwsgi_module",
    "gateway.app_loader", "gateway.rpc",
)
#: Imported when installed (optional speed-ups and optional parts of the server).
OPTIONAL = ("uvloop", "gateway.server.uwsgi", "gateway.server.websocket", "gateway.erlang.api",
            "gateway.router.main", "gateway.subsystems", "encodings.idna")


class PrivilegeError(Exception):
    """A user or group that does not exist, or a drop the kernel refused."""


def resolve_user(spec: str) -> Tuple[int, int]:
    """``"nobody"`` or ``"65534"`` -> (uid, that user's primary gid)."""
    try:
        entry = pwd.getpwnam(spec)
    except KeyError:
        if not spec.isdigit():
            raise PrivilegeError("--uid %s: no such user" % spec) from None
        uid = int(spec)
        try:
            return uid, pwd.getpwuid(uid).pw_gid
        except KeyError:
            return uid, -1
    return entry.pw_uid, entry.pw_gid


def resolve_group(spec: str) -> int:
    try:
        return grp.getgrnam(spec).gr_gid
    except KeyError:
        if not spec.isdigit():
            raise PrivilegeError("--gid %s: no such group" % spec) from None
        return int(spec)


def warn_if_root(config: Config, log: Any) -> None:
    """uWSGI's warning when serving as root without ``--uid``."""
    if os.geteuid() == 0 and not config.uid:
        log.warning("*** WARNING: you are running gateway as root !!! (use the --uid flag) ***")


def preload() -> None:
    """Import everything the server may need later, while Python's files are readable."""
    for name in PRELOAD:
        importlib.import_module(name)
    for name in OPTIONAL:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def drop(uid_spec: Optional[str], gid_spec: Optional[str], log: Any) -> None:
    """Switch to ``gid_spec`` then ``uid_spec`` (either may be None); raise PrivilegeError."""
    if not uid_spec and not gid_spec:
        return
    preload()
    uid = gid = -1
    if uid_spec:
        uid, gid = resolve_user(uid_spec)
    if gid_spec:
        gid = resolve_group(gid_spec)
    try:
        if gid >= 0:
            if os.geteuid() == 0:
                os.setgroups([gid])
            os.setgid(gid)
            log.info("setgid() to %d", gid)
        if uid >= 0:
            os.setuid(uid)
            log.info("setuid() to %d", uid)
    except OSError as e:
        raise PrivilegeError("cannot drop privileges to uid %s gid %s: %s"
                             % (uid_spec or "-", gid_spec or "-", e.strerror or e)) from None
    if uid != 0 and uid >= 0:
        try:
            os.setuid(0)
        except OSError:
            pass
        else:
            raise PrivilegeError("privileges could be regained after dropping them: refusing to run")
