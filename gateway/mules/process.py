"""Inside a mule: what the process does after the master forked it.

A mule is a plain blocking process (no IOLoop, no cores): it waits in ``poll()`` on
its queues, and runs app code synchronously.  :func:`run_mule` is the
:class:`~gateway.process.master.ChildSpec` target:

1. SIGTERM/SIGINT/SIGHUP end it (uWSGI's ``end_me``), SIGUSR1/SIGUSR2/SIGPIPE are
   ignored, and it asks the kernel for SIGKILL when the master dies (as uWSGI's
   ``PR_SET_PDEATHSIG``);
2. per-process state of the shared subsystems (caches, locks, metrics, signal table);
   with ``--lazy-apps`` the mule loads the app itself (the master has none to share);
3. the ``uwsgi.post_fork_hook`` chain: ``@postfork`` functions, and ``@mule(n)``,
   ``@muleloop(n)``, ``@mulemsg(n)``, ``@farm(name)`` bodies for this mule;
4. its script (``--mule=FILE.py`` runs as ``__main__``; ``module:callable`` is
   called), and the mule exits when it returns (the master respawns it);
5. otherwise the message loop: every message goes to ``uwsgi.mule_msg_hook`` (set by
   ``@mulefunc``), or is logged as uWSGI does when there is none; uWSGI signals
   targeted at this mule run their handler here.  A hook or handler that raises is
   logged and the loop goes on.
"""

from __future__ import annotations

import functools
import importlib
import os
import runpy
import select
import signal
import socket
import sys
import time
from typing import Any, List, Optional

from gateway.config.model import Config
from gateway.logs import app_log, gen_log
from gateway.mules.queues import Queue
from gateway.mules.spec import SHARED

#: The MuleRuntime of this process (None outside a mule).
runtime: Optional["MuleRuntime"] = None

PR_SET_PDEATHSIG = 1


class MuleRuntime:
    """One mule's view of the queues; :meth:`get_msg` is ``uwsgi.mule_get_msg``."""

    def __init__(self, mules: Any, mid: int, master_sock: Optional[socket.socket] = None) -> None:
        self.mules = mules
        self.mid = mid
        self.farms = mules.farms_of(mid)
        self.master_sock = master_sock
        qs = mules.queues
        self.own = qs.messages[("mule", mid)]
        self.shared = qs.messages[SHARED]
        self.farm_queues = [qs.messages[("farm", i)] for i in self.farms]
        self.signal_queues = [qs.signals[SHARED], qs.signals[("mule", mid)]] + \
            [qs.signals[("farm", i)] for i in self.farms]

    def get_msg(self, signals: bool = True, farms: bool = True, buffer_size: int = 65536,
                timeout: int = -1) -> Optional[bytes]:
        """Wait for the next message for this mule (its own queue, the shared one, its
        farms'): the message; ``b""`` after ``timeout`` seconds (-1: forever); None
        after handling a uWSGI signal that came first (``signals``), as uWSGI's
        ``mule_get_msg`` does."""
        order: List[Queue] = [self.own, self.shared]
        sig_queues = self.signal_queues if signals else []
        msg_queues = order + (self.farm_queues if farms else [])
        return self._wait(msg_queues, sig_queues, buffer_size, timeout)

    def farm_get_msg(self) -> Optional[bytes]:
        """``uwsgi.farm_get_msg()``: the next message of one of this mule's farms."""
        if not self.farm_queues:
            return None
        return self._wait(self.farm_queues, [], 65536, -1)

    def _wait(self, msg_queues: List[Queue], sig_queues: List[Queue], size: int, timeout: float) -> Optional[bytes]:
        poller = select.poll()
        by_fd = {}
        for q in sig_queues + msg_queues:
            fd = q.recv_end.fileno()
            by_fd[fd] = q
            poller.register(fd, select.POLLIN)
        master_fd = -1
        if self.master_sock is not None:
            master_fd = self.master_sock.fileno()
            poller.register(master_fd, select.POLLIN)
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        while True:
            wait = -1 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            events = poller.poll(wait)
            if not events:
                if deadline is not None and time.monotonic() >= deadline:
                    return b""
                continue
            ready = {fd for fd, _ in events}
            if master_fd in ready:
                self._check_master()
            for q in msg_queues[:2]:  # uWSGI's order: its own queue, the shared one, signals, farms
                if q.recv_end.fileno() in ready:
                    data = q.get(size)
                    if data is not None:
                        return data
            for q in sig_queues:
                if q.recv_end.fileno() in ready:
                    got = q.get(16)
                    if got:
                        for sig in got:
                            self.handle_signal(sig)
                        return None
            for q in msg_queues[2:]:
                if q.recv_end.fileno() in ready:
                    data = q.get(size)
                    if data is not None:
                        return data

    def _check_master(self) -> None:
        sock = self.master_sock
        if sock is None:
            return
        try:
            data = sock.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            gen_log.warning("uWSGI mule %d braying: my master died, i will follow him...", self.mid)
            raise SystemExit(0)

    def handle_signal(self, sig: int) -> None:
        """Run the handler of uWSGI signal ``sig`` (registered by the app in the master,
        or in this mule)."""
        from gateway import subsystems

        subs = subsystems.current
        receiver = subs.receiver if subs is not None else None
        entry = receiver.handlers.get(sig) if receiver is not None else None
        if entry is None:
            gen_log.warning("error managing signal %d on mule %d", sig, self.mid)
            return
        self.mules.arm_harakiri(self.mid, sig)  # --mule-harakiri: around the handler, as uWSGI
        try:
            entry[1](sig)
        except Exception:
            app_log.exception("error in the handler of uWSGI signal %d (mule %d)", sig, self.mid)
        finally:
            self.mules.disarm_harakiri(self.mid)

    def dispatch(self, message: bytes) -> None:
        """The message loop's handling of one message: ``uwsgi.mule_msg_hook(message)``, then
        each hook of ``uwsgi.install_mule_msg_hook()`` in turn."""
        from gateway import uwsgi_module

        hook = getattr(uwsgi_module, "mule_msg_hook", None)
        extra = uwsgi_module.mule_msg_extra_hooks  # uwsgi.install_mule_msg_hook(): after the hook, as uWSGI
        if hook is None and not extra:
            gen_log.info("*** mule %d received a %d bytes message ***", self.mid, len(message))
            return
        for func in ([hook] if hook is not None else []) + extra:
            try:
                func(message)
            except Exception:
                app_log.exception("error in uwsgi.mule_msg_hook (mule %d)", self.mid)

    def message_loop(self) -> int:
        """The plain mule: messages and signals, forever."""
        while True:
            message = self.get_msg(True, True, self.mules.recv_size, -1)
            if message is not None:
                self.dispatch(message)


def _end_me(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _die_with_master() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the master channel's EOF still ends the message loop
        pass


def run_mule(mules: Any, mid: int, cfg: Config, sockets: List[socket.socket], board: Any = None) -> int:
    """The ChildSpec target of mule ``mid`` (see the module docstring); its exit status."""
    global runtime
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _end_me)
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    _die_with_master()
    from gateway import subsystems, uwsgi_module
    from gateway.process import channel

    ch = channel.current()
    runtime = MuleRuntime(mules, mid, ch.sock if ch is not None else None)
    mules.disarm_harakiri(mid)  # a deadline left by the mule this one replaces
    subs = subsystems.current
    if subs is not None:
        subs.caches.after_fork(0)
        subs.locks.after_fork()
        if subs.queue is not None:
            subs.queue.after_fork()
        subs.metrics.after_fork()
        subs.table.after_fork()
        from gateway.usignals.receiver import SignalReceiver

        receiver = subs.receiver or SignalReceiver(subs.table)
        subs.receiver = receiver
        # uwsgi.signal(n) in a mule: its signal socket carries the request to the master
        receiver.fd = mules.queues.signals[("mule", mid)].recv_end.fileno()
    uwsgi_module.mark_ready()  # mules start after the master's uwsgi_notify_ready
    if board is not None:  # uwsgi.workers() and total_requests() see the workers, as uWSGI's mules
        uwsgi_module._runtime.workers = functools.partial(uwsgi_module.workers_from_board, board,
                                                          board.current_slots)
    if cfg.lazy_apps:
        from gateway.process.app_reload import AppReloader

        AppReloader(cfg, sockets).load()  # the master has no app to share
    uwsgi_module.install()
    uwsgi_module.run_postfork_hooks()
    from gateway import hooks

    hooks.run_in_child(cfg, "as-mule")
    script = mules.scripts[mid - 1]
    if script:
        _run_script(script)
        return 0
    return runtime.message_loop()


def _run_script(script: str) -> None:
    """``--mule=FILE.py`` (run as ``__main__``) or ``--mule=module:callable`` (called)."""
    if script.endswith(".py"):
        path = os.path.abspath(script)
        sys.argv = [path]
        runpy.run_path(path, run_name="__main__")
        return
    if ":" in script:
        modname, _, attr = script.partition(":")
        func = getattr(importlib.import_module(modname), attr)
        func()
        return
    gen_log.warning("mule %d: %r is neither a .py file nor module:callable: running the message loop",
                    runtime.mid if runtime else 0, script)
    if runtime is not None:
        runtime.message_loop()
