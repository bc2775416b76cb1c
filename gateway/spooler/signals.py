"""uWSGI signals with the target ``"spooler"``: the master writes the signal's byte on a
socketpair all spooler processes share (made before they fork), the first spooler to read it
runs the handler the app registered (at import time, in the master: every spooler inherits it),
between two tasks, as uWSGI's spooler does (``spooler_signal_pipe``); ``uwsgi.signal(n)`` in a
spooler travels the other way, to the master, which routes it."""

from __future__ import annotations

import socket
from typing import Any, Optional, Tuple

from gateway.logs import app_log, gen_log


class SpoolerSignals:
    """The shared socketpair: :meth:`route` on the master's side, :meth:`receive` on a spooler's."""

    def __init__(self) -> None:
        pair: Tuple[socket.socket, socket.socket] = socket.socketpair()
        self.master_end, self.spooler_end = pair
        self.master_end.setblocking(False)
        self.spooler_end.setblocking(False)

    def route(self, target: str, sig: int) -> Optional[int]:
        """The router's hook (``SignalRouter.extra_targets``): 1 if the signal is on its way to
        the spoolers, 0 if it could not be, None for a target that is not ``spooler``."""
        if target != "spooler":
            return None
        try:
            self.master_end.send(bytes((sig,)))
            return 1
        except OSError:  # (a full buffer: no spooler has read for a long time)
            gen_log.warning("could not deliver signal %d to the spooler", sig)
            return 0

    def fileno(self) -> int:
        """The spoolers' end, for their ``select``."""
        return self.spooler_end.fileno()

    def receive(self, pid: int) -> None:
        """In a spooler whose ``select`` found :meth:`fileno` readable: run the handlers of the
        signals waiting there (another spooler may have taken them first)."""
        from gateway import subsystems

        try:
            data = self.spooler_end.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        receiver = subsystems.current.receiver if subsystems.current is not None else None
        for sig in data:
            entry = receiver.handlers.get(sig) if receiver is not None else None
            if receiver is None or entry is None:
                gen_log.warning("error managing signal %d on spooler %d: no handler registered", sig, pid)
                continue
            receiver.last_received = sig
            try:
                entry[1](sig)
            except Exception:
                app_log.exception("error in the handler of uWSGI signal %d (spooler %d)", sig, pid)


    def raised(self) -> None:
        """In the master: a spooler raised signals (``uwsgi.signal(n)``): route them."""
        from gateway import subsystems

        try:
            data = self.master_end.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        if subsystems.current is not None:
            for sig in data:
                subsystems.current.router.route(sig)

    def in_spooler(self) -> None:
        """In a spooler process: ``uwsgi.signal(n)`` goes to the master through the pair."""
        from gateway import subsystems
        from gateway.usignals.receiver import SignalReceiver

        subs = subsystems.current
        if subs is not None:
            subs.receiver = subs.receiver or SignalReceiver(subs.table)
            subs.receiver.fd = self.fileno()


def attach(master: Any, router: Any) -> SpoolerSignals:
    """In the master, before the spoolers fork: the pair, the router's hook, and the master's
    reader of the signals the spoolers raise."""
    signals = SpoolerSignals()
    router.extra_targets.append(signals.route)
    master.add_reader(signals.master_end, signals.raised)
    return signals
