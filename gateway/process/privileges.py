"""``--uid`` / ``--gid``: drop root privileges after binding, before loading the app.

The order matters and follows uWSGI: sockets (privileged ports too), the stats socket
and shared memory are created as root; then the process enters ``--chroot DIR`` (if
given) and switches to the given group and user (names or numbers); then the app is
imported (so it never runs as root).  Workers inherit the dropped identity.

The supplementary groups are the user's from ``/etc/group`` (``initgroups``, as uWSGI),
none with ``--no-initgroups`` or without ``--uid``, exactly the ``--add-gid`` groups
when given.  ``--immediate-uid``/``--immediate-gid`` switch as soon as the configuration
is read (:func:`drop_immediately`); ``--master-as-root`` leaves the master as it is and
drops in each child after the fork instead (:func:`drop_in_child`).

Python itself often lives where the new user cannot read it (``/root/.pyenv`` here):
every module the server may import later is imported **before** the drop by
:func:`preload`, so a worker never fails on a lazy ``import`` after it.
"""

from __future__ import annotations

import grp
import importlib
import os
import pwd
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

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


def preload(everything: bool = False) -> None:
    """Import everything the server may need later, while Python's files are readable.

    ``everything`` (before a ``--chroot``, which hides gateway's own files too): every
    module of gateway and loop_engine, about 0.7 s."""
    for name in PRELOAD:
        importlib.import_module(name)
    for name in OPTIONAL:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    if everything:
        import pkgutil

        import gateway
        import loop_engine
        from gateway import uwsgi_module

        uwsgi_module.install()  # as the app's loading does: uwsgidecorators imports ``uwsgi``
        for package in (gateway, loop_engine):
            for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                try:
                    importlib.import_module(info.name)
                except ImportError:
                    pass  # an optional part


class Identity:
    """Where a drop goes, resolved while ``/etc/passwd`` and ``/etc/group`` are readable
    (before a ``--chroot``): uid and gid (-1: unchanged) and the supplementary groups
    (None: left alone, only when the process cannot change them)."""

    def __init__(self, uid: int, gid: int, groups: Optional[List[int]]) -> None:
        self.uid, self.gid, self.groups = uid, gid, groups


def resolve_identity(uid_spec: Optional[str], gid_spec: Optional[str], add_gids: Sequence[str] = (),
                     initgroups: bool = True) -> Identity:
    """``--uid``/``--gid``/``--add-gid``/``--no-initgroups`` -> an :class:`Identity`.

    The supplementary groups follow uWSGI: the ``--add-gid`` groups when given; else the
    user's groups from ``/etc/group`` (``initgroups``) when there is a user and
    ``--no-initgroups`` is not given; else none.  gateway's primary group is the user's
    when ``--gid`` is not given (uWSGI leaves it root's)."""
    uid = gid = -1
    name: Optional[str] = None
    if uid_spec:
        uid, gid = resolve_user(uid_spec)
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = None
    if gid_spec:
        gid = resolve_group(gid_spec)
    groups: Optional[List[int]] = None
    if gid >= 0 and os.geteuid() == 0:
        if add_gids:
            groups = []
            for spec in add_gids:
                try:
                    groups.append(resolve_group(spec))
                except PrivilegeError:
                    raise PrivilegeError("--add-gid %s: no such group" % spec) from None
        elif initgroups and name is not None:
            groups = sorted(set(os.getgrouplist(name, gid)))
        else:
            groups = [] if not initgroups or uid < 0 else [gid]
    return Identity(uid, gid, groups)


def enter_chroot(path: str, log: Any, workdir: str = "/") -> None:
    """``--chroot``: ``chroot(path)`` (root only), then ``chdir(workdir)`` inside it."""
    if os.geteuid() != 0:
        raise PrivilegeError("--chroot %s: cannot chroot() as non-root user" % path)
    try:
        os.chroot(path)
    except OSError as e:
        raise PrivilegeError("--chroot %s: %s" % (path, e.strerror or e)) from None
    log.info("chroot() to %s", path)
    try:
        os.chdir(workdir)
    except OSError as e:
        raise PrivilegeError("--chroot %s: cannot chdir() to %s inside it: %s"
                             % (path, workdir, e.strerror or e)) from None


def drop(uid_spec: Optional[str], gid_spec: Optional[str], log: Any, *, chroot: Optional[str] = None,
         chroot_workdir: str = "/", add_gids: Sequence[str] = (), initgroups: bool = True) -> None:
    """Enter ``chroot`` (if given), then switch to ``gid_spec`` and ``uid_spec`` (either may be
    None) with their supplementary groups; raise PrivilegeError."""
    if not uid_spec and not gid_spec and not chroot:
        return
    if chroot and os.geteuid() != 0:
        raise PrivilegeError("--chroot %s: cannot chroot() as non-root user" % chroot)
    preload(everything=bool(chroot))
    identity = resolve_identity(uid_spec, gid_spec, add_gids, initgroups)  # before the chroot
    if chroot:
        enter_chroot(chroot, log, chroot_workdir)
    uid, gid = identity.uid, identity.gid
    try:
        if gid >= 0:
            os.setgid(gid)
            log.info("setgid() to %d", gid)
            if identity.groups is not None:
                os.setgroups(identity.groups)
                for extra in identity.groups:
                    if extra != gid:
                        log.info("set additional group %d (%s)", extra, _group_name(extra))
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


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def drop_immediately(uid_spec: Optional[str], gid_spec: Optional[str], log: Any) -> None:
    """``--immediate-gid`` then ``--immediate-uid``: as soon as the configuration is read.

    As uWSGI: never to root (0 is refused), the group drop clears the supplementary
    groups, and the user drop keeps the primary group."""
    if not uid_spec and not gid_spec:
        return
    preload()
    if gid_spec:
        option = "--immediate-gid %s" % gid_spec
        try:
            gid = resolve_group(gid_spec)
        except PrivilegeError:
            raise PrivilegeError("%s: no such group" % option) from None
        if gid <= 0:
            raise PrivilegeError("%s: invalid gid %d (never root)" % (option, gid))
        try:
            os.setgid(gid)
            if os.geteuid() == 0:
                os.setgroups([])
        except OSError as e:
            raise PrivilegeError("%s: %s" % (option, e.strerror or e)) from None
        log.info("immediate gid: %d", os.getgid())
    if uid_spec:
        option = "--immediate-uid %s" % uid_spec
        try:
            uid = resolve_user(uid_spec)[0]
        except PrivilegeError:
            raise PrivilegeError("%s: no such user" % option) from None
        if uid <= 0:
            raise PrivilegeError("%s: invalid uid %d (never root)" % (option, uid))
        try:
            os.setuid(uid)
        except OSError as e:
            raise PrivilegeError("%s: %s" % (option, e.strerror or e)) from None
        log.info("immediate uid: %d", os.getuid())


def drop_in_child(cfg: "Config", log: Any, worker: bool) -> None:
    """``--master-as-root``: in a child just forked by the root master, enter ``--chroot`` and
    drop to ``--uid``/``--gid``; a worker then runs the ``as-user`` hooks (uWSGI runs them
    in each worker too).  A failure ends the child (the master respawns it)."""
    from gateway import hooks

    drop(cfg.uid, cfg.gid, log, chroot=cfg.chroot, add_gids=cfg.add_gid, initgroups=not cfg.no_initgroups)
    if worker:
        hooks.run_phase(cfg, "as-user")
