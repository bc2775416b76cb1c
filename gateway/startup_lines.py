"""uWSGI's startup lines, where their facts are gateway's: what the instance runs on and with.

uWSGI describes its environment as it starts, and people (and scripts) read those lines to
check a deployment: the limits, the sockets, the mode.  gateway prints the same lines, in
uWSGI's order, with its own values (this machine, this process's limits, its sockets and
descriptors, its Python)::

    *** Starting gateway 0.1.0 (64bit) on [Sat Dec  5 07:50:10 2026] ***
    os: Linux-6.1.0 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1
    nodename: web1
    machine: x86_64
    detected number of CPU cores: 2
    current working directory: /srv/app
    writing pidfile to /run/app.pid
    *** WARNING: you are running uWSGI without its master process manager ***
    your processes number limit is 96369
    your memory page size is 4096 bytes
    detected max file descriptor number: 1024
    - async cores set to 100 - fd table size: 1024
    thunder lock: disabled (you can enable it with --thunder-lock)
    uwsgi socket 0 bound to TCP address 127.0.0.1:8000 fd 3
    Python version: 3.11.7 (main, ...) [GCC 12.2.0]
    Python main interpreter initialized at 0x7f3a5c2b0ca0
    python threads support enabled
    your server socket listen backlog is limited to 100 connections
    your mercy for graceful operations on workers is 60 seconds
    *** Operational MODE: async ***
    WSGI app 0 (mountpoint='') ready in 0 seconds on interpreter 0x7f3a5c2b0ca0 pid: 42 (default app)
    enabled greenlet engine
    spawned uWSGI worker 1 (and the only) (pid: 42, cores: 100)

Each line's value is read where uWSGI reads it, but the lines are held (:func:`hold`) and
logged together (:func:`flush`) once every option was accepted, right before the app is
loaded: a refused configuration is still one ``gateway: ...`` line (uWSGI prints its banner
first), and gateway's own lines of that phase (a deprecation warning, ``--route`` dumps) come
before the banner instead of after it.

The lines about uWSGI's build are left out, having no counterpart here: ``compiled with
version``, ``clock source``, ``pcre jit``, ``detected binary path``, ``lock engine``, ``mapped N
bytes (N KB) for N cores`` (uWSGI's per-core buffers) and ``*** uWSGI is running in multiple
interpreter mode ***``.  The first line names gateway and its version, not uWSGI's.
"""

from __future__ import annotations

import glob
import os
import resource
import socket
import struct
import sys
import time
from typing import Any, Dict, List, Sequence

from gateway.logs import gen_log

__all__ = ["config_lines", "first_lines", "chdir_lines", "limit_lines", "name_socket", "shared_socket_lines", "socket_lines", "router_lines", "python_lines",
           "pythonpath_lines", "server_lines", "app_loaded_lines",
           "hold", "banner_held", "flush", "log_lines"]

#: The pidfile options whose writing uWSGI announces, in its order
_PIDFILES = ("pidfile", "safe-pidfile")


#: Lines held until the instance is known to start (:func:`flush`)
_held: List[str] = []


#: Where the lines uWSGI prints right after its banner go in :data:`_held` (the shared sockets')
_early = [0]


def hold(lines: Sequence[str], early: bool = False) -> None:
    """Keep ``lines`` (their values read now) for :func:`flush`: a configuration refused at
    startup stays one ``gateway: ...`` line, without the banner before it.  ``early``: lines
    uWSGI prints right after the banner (``--shared-socket``'s), though made later here."""
    if early:
        _held[_early[0]:_early[0]] = lines
        _early[0] += len(lines)
    else:
        _held.extend(lines)


def banner_held() -> None:
    """The banner was held: the ``early`` lines go after it."""
    _early[0] = len(_held)


def flush() -> None:
    """Log the held lines: the options were all accepted, the app is about to be loaded."""
    log_lines(_held)
    del _held[:]
    _early[0] = 0


def log_lines(lines: Sequence[str]) -> None:
    for line in lines:
        gen_log.info("%s", line)


#: uWSGI's names of the config formats whose reading it announces (not XML's)
_FORMAT_LABELS = {"ini": "INI", "yaml": "YAML", "json": "JSON"}


def config_lines(cfg: Any) -> List[str]:
    """``[uWSGI] getting INI configuration from FILE`` for each config file read (``--ini``,
    ``--yaml``, ``--json``, an ``--include``/``--inherit`` of those, a lone ``FILE.ini``)."""
    from gateway.config.files import format_of
    from gateway.config.ini import split_spec
    from gateway.config.options import find

    lines = []
    for entry in cfg.sources:
        option = find(entry.key)
        if option is None or option.name not in ("ini", "yaml", "json", "include", "inherit"):
            continue
        file = split_spec(str(entry.value))[0]
        label = _FORMAT_LABELS.get(option.name if option.name in _FORMAT_LABELS else format_of(file) or "")
        if label and file:  # ":section" alone reads the last file again, unannounced (uWSGI)
            lines.append("[uWSGI] getting %s configuration from %s" % (label, file))
    return lines


def first_lines(cfg: Any) -> List[str]:
    """The banner, the machine and the directory (uWSGI's first lines, before its limits)."""
    from gateway import __version__

    uname = os.uname()
    lines = ["*** Starting gateway %s (%dbit) on [%s] ***" % (__version__, struct.calcsize("P") * 8,
                                                           time.ctime()),
             "os: %s-%s %s" % (uname.sysname, uname.release, uname.version),
             "nodename: %s" % uname.nodename,
             "machine: %s" % uname.machine,
             "detected number of CPU cores: %d" % (os.cpu_count() or 1),
             "current working directory: %s" % os.getcwd()]
    for name in _PIDFILES:
        if cfg.get(name):
            lines.append("writing pidfile to %s" % cfg.get(name))
    return lines


def limit_lines(cfg: Any, master: bool) -> List[str]:
    """The master warning and the process limits (after ``--limit-nproc``/``--limit-as`` apply)."""
    lines = []
    if not master:
        lines.append("*** WARNING: you are running uWSGI without its master process manager ***")
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    if nproc != resource.RLIM_INFINITY:
        lines.append("your processes number limit is %d" % nproc)
    address_space = resource.getrlimit(resource.RLIMIT_AS)[1]
    if address_space != resource.RLIM_INFINITY:
        lines.append("your process address space limit is %d bytes (%d MB)"
                     % (address_space, address_space // 1024 // 1024))
    lines.append("your memory page size is %d bytes" % resource.getpagesize())
    max_fd = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    lines.append("detected max file descriptor number: %d" % max_fd)
    if int(cfg.tornado or 0) > 1:
        lines.append("- async cores set to %d - fd table size: %d" % (int(cfg.tornado), max_fd))
    lines.append("thunder lock: enabled" if cfg.thunder_lock
                 else "thunder lock: disabled (you can enable it with --thunder-lock)")
    return lines


#: The address each socket was bound from, as given (uWSGI names a socket so: ``:9090``)
_names: Dict[int, str] = {}
#: The ``--shared-socket`` addresses, by index
_shared: Dict[int, str] = {}


def name_socket(sock: socket.socket, spec: str) -> None:
    """Remember that ``sock`` was bound from ``spec`` (for :func:`socket_lines`)."""
    _names[sock.fileno()] = spec


def shared_socket_lines(index: int, spec: str, sock: socket.socket) -> List[str]:
    """``--shared-socket``: ``uwsgi shared socket 0 bound to TCP address ADDRESS fd N``."""
    if sock.family == socket.AF_UNIX:
        kind = "UNIX"
    else:
        kind = "TCP6" if sock.family == socket.AF_INET6 else "TCP"
    _shared[index] = spec
    return ["uwsgi shared socket %d bound to %s address %s fd %d" % (index, kind, spec, sock.fileno())]


def socket_lines(sockets: Sequence[socket.socket], mapped: bool = False) -> List[str]:
    """``uwsgi socket N bound to TCP address ADDRESS fd N`` for each worker socket, named as
    it was given (a port 0 as the one the kernel chose, ``(port auto-assigned)``); with
    ``mapped``, the lines of the ones that are ``--shared-socket``'s (``=N``) instead."""
    lines = []
    for index, sock in enumerate(sockets):
        given = _names.get(sock.fileno())
        if (given or "").startswith("=") != mapped:
            continue
        if mapped:
            shared = int(str(given)[1:])
            lines.append("uwsgi socket %d mapped to shared socket %d (%s) fd %d"
                         % (index, shared, _shared.get(shared, given), sock.fileno()))
            continue
        if sock.family == socket.AF_UNIX:
            name = sock.getsockname()
            if isinstance(name, bytes):
                name = "@" + name[1:].decode("utf-8", "replace")  # abstract
            lines.append("uwsgi socket %d bound to UNIX address %s fd %d" % (index, given or name, sock.fileno()))
            continue
        host, port = sock.getsockname()[:2]
        six = sock.family == socket.AF_INET6
        address, auto = "[%s]:%d" % (host, port) if six else "%s:%d" % (host, port), ""
        if given and "," not in given:
            if given.endswith(":0"):
                auto = " (port auto-assigned)"
            else:
                address = given
        lines.append("uwsgi socket %d bound to %s address %s%s fd %d"
                     % (index, "TCP6" if six else "TCP", address, auto, sock.fileno()))
    return lines


def chdir_lines(cfg: Any) -> List[str]:
    """``--chdir`` done, then ``--pidfile2``/``--safe-pidfile2`` (written after the drop)."""
    lines = ["chdir() to %s" % cfg.chdir] if cfg.chdir else []
    for name in ("pidfile2", "safe-pidfile2"):
        if cfg.get(name):
            lines.append("writing pidfile to %s" % cfg.get(name))
    return lines


def router_lines(specs: Sequence[str], sockets: Sequence[socket.socket],
                 subscription: Sequence[socket.socket] = ()) -> List[str]:
    """The HTTP router's sockets (``--http`` named as given, ``--https`` and the others by
    address): ``uWSGI http bound on ADDRESS fd N``, then its subscription servers'."""
    from gateway.server.listeners import listen_address

    lines = []
    for index, sock in enumerate(sockets):
        name = specs[index] if index < len(specs) else listen_address(sock)
        lines.append("uWSGI http bound on %s fd %d" % (name, sock.fileno()))
    for sock in subscription:
        lines.append("uWSGI http subscription server bound on %s fd %d" % (listen_address(sock), sock.fileno()))
    return lines


def python_lines(cfg: Any) -> List[str]:
    """The Python plugin's lines: the version, the ``--virtualenv``, the interpreter (named by
    its ``sys`` module's address, as the ``WSGI app 0 ... on interpreter 0x...`` line names
    it), threads always on."""
    lines = ["Python version: %s" % sys.version.replace("\n", " ")]
    if cfg.virtualenv:
        if os.path.isfile(os.path.join(cfg.virtualenv, "pyvenv.cfg")):
            lines.append("PEP 405 virtualenv detected: %s" % cfg.virtualenv)
        lines.append("Set PythonHome to %s" % cfg.virtualenv)
    lines += ["Python main interpreter initialized at 0x%x" % id(sys), "python threads support enabled"]
    return lines


def pythonpath_lines(cfg: Any) -> List[str]:
    """``added DIR/ to pythonpath.`` for each ``--pythonpath`` entry (a glob: each match,
    directories marked with a slash, as uWSGI's ``GLOB_MARK``)."""
    lines = []
    for entry in cfg.pythonpath:
        matches = sorted(glob.glob(entry))
        for path in matches or [entry]:
            if matches and os.path.isdir(path) and not path.endswith("/"):
                path += "/"
            lines.append("added %s to pythonpath." % path)
    return lines


def server_lines(cfg: Any, sockets: Sequence[socket.socket], numproc: int) -> List[str]:
    """The listen backlog, the workers' mercy and the operational mode (uWSGI's rules)."""
    lines = []
    if sockets:
        lines.append("your server socket listen backlog is limited to %d connections" % int(cfg.listen or 100))
    lines.append("your mercy for graceful operations on workers is %d seconds" % int(cfg.worker_reload_mercy))
    threads, cores = int(cfg.threads or 1), int(cfg.tornado or 1)
    if not numproc:
        mode = "no-workers"
    elif threads > 1:
        mode = "preforking+threaded" if numproc > 1 else "threaded"
    elif cores > 1:
        mode = "preforking+async" if numproc > 1 else "async"
    else:
        mode = "preforking" if numproc > 1 else "single process"
    lines.append("*** Operational MODE: %s ***" % mode)
    return lines + pythonpath_lines(cfg)


def app_loaded_lines(cfg: Any) -> List[str]:
    """After the app is loaded (in the master, or in each worker with ``--lazy-apps``): the
    greenlet plugin's line."""
    return ["enabled greenlet engine"] if cfg.greenlet else []
