"""Loading the app in the master, and loading it again on a graceful reload (SIGHUP).

uWSGI's default is to import the app once, in the master, before forking: workers
inherit it (copy-on-write) and start fast.  A reload must then import the app's *own*
code again, so new workers run what is now on disk, while installed libraries, the
standard library and compiled extensions stay loaded (many cannot be imported twice in
one process).  :func:`is_app_code` draws that line; :class:`AppReloader` does the rest,
including forgetting what the previous import registered (RPC functions, ``@postfork``
hooks, ``uwsgi.atexit``, Erlang processes, uWSGI signals and timers).
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any, List

from gateway.config.model import Config
from gateway.emperor.vassal import has_emperor
from gateway.logs import gen_log
from gateway.process.log_master import wants_log_master


class AppReloader:
    """The app, loaded in the master (uWSGI's default), and loaded again on reload.

    A reload forgets the app's own modules the previous load imported (so the new
    workers run the code now on disk; installed libraries, the standard library and
    compiled extensions stay loaded: many cannot be imported twice in one process) and
    what the app registered at import (RPC functions, ``@postfork`` hooks,
    ``uwsgi.atexit``, Erlang processes, signals), then imports it again.
    """

    def __init__(self, config: Config, sockets: List[socket.socket]) -> None:
        self.config = config
        self.sockets = sockets
        self.added: List[str] = []

    def load(self) -> Any:
        from gateway import uwsgi_module
        from gateway.app_loader import load_apps

        cfg = self.config
        uwsgi_module._configure(
            worker_id=0,
            processes=cfg.processes or 1,
            cores_per_worker=int(cfg.tornado or cfg.threads or 1),
            options=cfg.uwsgi_opt(),
            engine=None,
            stats=None,
            socket_fds=[s.fileno() for s in self.sockets],
            buffer=cfg.buffer_size,
            masterpid=os.getpid() if cfg.master or wants_log_master(cfg) or has_emperor() else 0,
        )
        uwsgi_module.install()
        before = set(sys.modules)
        try:
            return load_apps(cfg)
        finally:
            self.added = [name for name in sys.modules if name not in before]
            warn_loop_in_master()

    def reload(self) -> Any:
        from gateway import uwsgi_module, uwsgidecorators
        from gateway.rpc import registry

        for name in self.added:
            if is_app_code(name, sys.modules.get(name)):
                sys.modules.pop(name, None)
        registry.clear()
        del uwsgidecorators.postfork_chain[:]
        uwsgidecorators.spooler_functions.clear()
        uwsgi_module.spooler = uwsgidecorators.manage_spool_request  # type: ignore[attr-defined]
        uwsgi_module.atexit = None
        uwsgi_module.mule_msg_hook = None
        uwsgidecorators.mule_functions.clear()
        erlang_api = sys.modules.get("gateway.erlang.api")
        if erlang_api is not None:
            getattr(erlang_api, "_registered", {}).clear()
        from gateway import subsystems

        subs = subsystems.current
        saved = subs.forget_app_registrations() if subs is not None else None  # signals, timers
        try:
            return self.load()
        except BaseException:
            if subs is not None:
                subs.restore_app_registrations(saved)  # the old workers keep their timers
            raise


_LIBRARY_MARKERS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
_SERVER_PACKAGES = ("gateway", "loop_engine", "uwsgi", "uwsgidecorators")


def is_app_code(name: str, module: Any) -> bool:
    """True for a module of the app itself (a .py file outside the installed libraries and
    the standard library), which a reload must import again."""
    if module is None or name.split(".")[0] in _SERVER_PACKAGES:
        return False
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return False  # built-in, namespace package, compiled extension
    path = os.path.abspath(path)
    if any(marker in path for marker in _LIBRARY_MARKERS):
        return False
    stdlib = os.path.dirname(os.__file__)
    return not path.startswith(stdlib + os.sep)


def warn_loop_in_master() -> None:
    """An app that created an event loop at import time shares it with every worker."""
    import asyncio

    try:
        loop = asyncio.get_event_loop_policy()._local._loop  # type: ignore[attr-defined]
    except AttributeError:
        return
    if loop is not None:
        gen_log.warning(
            "the app created an event loop (IOLoop) while loading in the master: each worker "
            "runs its own fresh loop, so objects bound to that one will not work there; "
            "create them in a @postfork hook or use --lazy-apps")
