"""The vassal's side of the Emperor's channel, in its master (uWSGI's ``has_emperor`` mode).

A gateway started with ``UWSGI_EMPEROR_FD`` in its environment (by gateway's Emperor, or by
uWSGI's) is a vassal: it runs a master even without ``--master`` (as uWSGI forces one), tells
the Emperor when the master is up (``1``; not again after a binary reload, as uWSGI), when the workers accept requests (``5``) and after
its first request (``17``, loyal: a loyal vassal is respawned without throttling), and obeys
its one-byte commands: ``1`` reloads (the master's SIGHUP reload when the configuration is the
same, otherwise a binary reload running the new one: :mod:`gateway.emperor.reexec`; one that
comes while an in-place reload still runs is remembered and runs when that one is over: the
Emperor has already taken the file's new time), ``2``
stops gracefully (SIGTERM's shutdown), ``0`` stops at once (SIGQUIT's).  When the channel closes (the
Emperor is gone) it stops gracefully: "lost connection with my emperor !!!".
With ``--heartbeat N`` the master also sends ``26`` every ``N`` seconds
(:mod:`gateway.emperor.heartbeat`), as does a sub-Emperor from its own loop.

Everything is non-blocking in the master's ``selectors`` loop; a write the Emperor cannot take
is dropped (the messages are hints, the Emperor also watches the process itself).  The
variable is removed from the environment and the descriptor made non-inheritable, so the
app's own subprocesses (an ``--attach-daemon`` running gateway) are not vassals too.
"""

from __future__ import annotations

import os
import selectors
import socket
import stat
import sys
from typing import Any, MutableMapping, Optional

from gateway.emperor import protocol
from gateway.emperor.heartbeat import Pulse
from gateway.logs import gen_log

#: Seconds between two looks at the scoreboard for the first request (the loyalty message).
LOYALTY_CHECK = 1.0


class EmperorLink:
    """The vassal's end of the socketpair (``fd``)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(False)
        self.sock.set_inheritable(False)
        self.loyal = False
        self.master: Any = None
        #: a reload came while another still ran: it runs when that one is over
        self.reload_pending = False
        #: ``--heartbeat``'s beats, when asked for
        self.pulse: Optional[Pulse] = None

    def send(self, byte: int) -> bool:
        """Send one message; False when the Emperor cannot take it now (or is gone)."""
        try:
            return self.sock.send(bytes((byte,))) == 1
        except OSError:
            return False

    # -- in a vassal's master --------------------------------------------------------------------

    def attach(self, master: Any) -> None:
        """A :data:`gateway.process.master.master_hooks` hook: watch the channel, announce."""
        self.master = master
        master.add_reader(self.sock, self._readable)
        master.on_ready(lambda: self.send(protocol.ACCEPTING))
        from gateway.emperor import reexec

        if not reexec.ORIGIN.reloaded:
            # as uWSGI (its ``notify_ready`` is not set up again after a reload): the Emperor
            # logs "has been spawned" once per spawn, not after each binary reload
            self.send(protocol.READY)
        master.call_later(LOYALTY_CHECK, self._check_loyalty)
        self._start_pulse(master.config, master.call_later)

    def _start_pulse(self, config: Any, schedule: Any) -> None:
        """``--heartbeat N``: one beat now, then one every N seconds from this loop."""
        interval = int(config.heartbeat or 0)
        if interval > 0:
            self.pulse = Pulse(interval, lambda: self.send(protocol.HEARTBEAT), schedule)
            self.pulse.start()

    def _check_loyalty(self) -> None:
        master = self.master
        if self.loyal or master.state == "stopping":
            return
        from gateway.process.scoreboard import W_REQUESTS

        if any(master.board.get(slot, W_REQUESTS) for slot in master.current_slots()):
            gen_log.info("announcing my loyalty to the Emperor...")
            self.loyal = self.send(protocol.LOYAL)
        if not self.loyal:
            master.call_later(LOYALTY_CHECK, self._check_loyalty)

    def _readable(self) -> None:
        try:
            data = self.sock.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._lost()
            return
        for byte in data:
            gen_log.info("received message %d from emperor", byte)
            if byte == protocol.RELOAD:
                self._reload()
            elif byte == protocol.GRACEFUL_STOP:
                self.master.reexec = None  # a stop wins over a binary reload under way
                self.master.shutdown(graceful=True, why="stop from the Emperor")
            elif byte == protocol.STOP:
                self.master.reexec = None
                self.master.shutdown(graceful=False, why="stop from the Emperor")

    def _reload(self) -> None:
        """The Emperor's reload: in place when the configuration is the same, otherwise a
        binary reload running the new one (:mod:`gateway.emperor.reexec`)."""
        from gateway.emperor import reexec

        master = self.master
        if master.state != "running":
            return
        changed, problem = reexec.config_changed(master.config)
        if problem is not None:
            gen_log.error("the new configuration does not load (%s): reloading the workers only", problem)
        if not changed:
            if master.reloading():
                if not self.reload_pending:
                    self.reload_pending = True
                    gen_log.info("reload from the Emperor while the previous one is still running: "
                                 "it follows when that one is over")
                    master.after_reload(self._pending_reload)
                return
            master.reload()
            return
        gen_log.info("binary reloading uWSGI...")
        master.reexec = lambda: reexec.execute(list(master.sockets), self.fd)
        master.shutdown(graceful=True, why="binary reload")

    def _pending_reload(self) -> None:
        self.reload_pending = False
        self._reload()  # the file may have changed meanwhile: in place or binary, as decided now

    def _lost(self) -> None:
        gen_log.error("lost connection with my emperor !!!")
        if self.pulse is not None:
            self.pulse.stop()
        try:
            self.master.remove_reader(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()
        self.master.reexec = None
        self.master.shutdown(graceful=True, why="lost Emperor")

    # -- in a sub-Emperor ---------------------------------------------------------------------------

    def attach_emperor(self, emperor: Any) -> None:
        """This vassal is itself an Emperor: loyal at once (as uWSGI), its parent's stop is its
        RAGNAROK and its parent's reload reloads every vassal."""
        gen_log.info("announcing my loyalty to the Emperor...")
        self.loyal = self.send(protocol.LOYAL)
        self._start_pulse(emperor.config, emperor.call_later)

        def readable() -> None:
            try:
                data = self.sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                gen_log.error("lost connection with my emperor !!!")
                if self.pulse is not None:
                    self.pulse.stop()
                emperor.sel.unregister(self.sock)
                self.sock.close()
                emperor.ragnarok()
                return
            for byte in data:
                if byte == protocol.RELOAD:
                    emperor.reload_all()
                elif byte in (protocol.STOP, protocol.GRACEFUL_STOP):
                    emperor.ragnarok()

        emperor.sel.register(self.sock, selectors.EVENT_READ, ("reader", readable))


def from_environ(environ: MutableMapping[str, str]) -> Optional[EmperorLink]:
    """The link named by ``UWSGI_EMPEROR_FD`` (removed from ``environ``), None without one;
    a value that is not an open socket is reported (on stderr: logging is not set up yet) and
    ignored."""
    raw = environ.pop(protocol.ENV_FD, None)
    if raw is None:
        return None
    try:
        fd = int(raw)
        if fd < 0 or not stat.S_ISSOCK(os.fstat(fd).st_mode):
            raise ValueError
    except (ValueError, OSError):
        sys.stderr.write("gateway: %s=%s is not an open socket: running without an Emperor\n" % (protocol.ENV_FD, raw))
        return None
    return EmperorLink(fd)


#: The link of this process (uWSGI's ``uwsgi.has_emperor``), set by the CLI.
current: Optional[EmperorLink] = None


def has_emperor() -> bool:
    return current is not None
