"""What we send on a connection: messages to pids and names, exits, replies.

:class:`Sending` is the part of :class:`~.connection.Connection` that builds
packets (control terms of frequent sends are cached per connection, as encoded
bytes) and hands them to its ``write``; it adapts to what the peer negotiated
(``SEND_SENDER``, ``EXIT_PAYLOAD``).
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, Optional

from ..logs import app_log
from . import dist, etf
from .dist import NO_PAYLOAD
from .errors import ErlangError, NodeDown
from .terms import A_EMPTY, RawTerm

Atom = etf.Atom
Pid = etf.Pid
_PACK_LEN = struct.Struct(">I").pack
#: Encoded control terms kept per connection before the cache starts over.
CTRL_CACHE_SIZE = 256


class Sending:
    """Builds and writes our messages; the connection provides ``write``."""

    _send_sender: bool  # the peer takes SEND_SENDER (else plain SEND)
    _exit_payload: bool  # the peer takes PAYLOAD_EXIT / PAYLOAD_MONITOR_P_EXIT
    _ctrl_cache: Dict[Any, bytes]

    def write(self, data: bytes) -> None:  # pragma: no cover - Connection.write
        raise NotImplementedError

    def _ctrl(self, key: Any, control: tuple) -> bytes:
        """Encode ``control`` and cache it under ``key``."""
        ctrl = etf.encode(control)
        if len(self._ctrl_cache) >= CTRL_CACHE_SIZE:
            self._ctrl_cache.clear()
        self._ctrl_cache[key] = ctrl
        return ctrl

    def send_ctrl(self, control: tuple, payload: Any = NO_PAYLOAD) -> None:
        self.write(dist.encode_message(control, payload))

    def send_to_pid(self, sender: Pid, to: Pid, msg: Any) -> None:
        """``to ! msg`` from our process ``sender``."""
        if self._send_sender:
            ctrl = self._ctrl_cache.get((sender, to)) or self._ctrl((sender, to), (dist.SEND_SENDER, sender, to))
            self.write(dist.encode_prefixed(ctrl, msg))
        else:
            self.send_ctrl((dist.SEND, A_EMPTY, to), msg)

    def send_to_name(self, sender: Pid, name: Atom, msg: Any) -> None:
        """``{name, Peer} ! msg`` from our process ``sender``."""
        self.write(self.encode_to_name(sender, name, msg))

    def encode_to_name(self, sender: Pid, name: Atom, msg: Any) -> bytes:
        """The packet of ``{name, Peer} ! msg`` (``msg`` may be a :class:`RawTerm`)."""
        key = (sender, name, dist.REG_SEND)
        ctrl = self._ctrl_cache.get(key) or self._ctrl(key, (dist.REG_SEND, sender, A_EMPTY, name))
        if msg.__class__ is RawTerm:
            body = b"p" + ctrl + msg
            return _PACK_LEN(len(body)) + body
        return dist.encode_prefixed(ctrl, msg)

    def encode_exit(self, sender: Pid, to: Pid, reason: Any) -> bytes:
        """A link broke: our ``sender`` died with ``reason``."""
        if self._exit_payload:
            return dist.encode_message((dist.PAYLOAD_EXIT, sender, to), reason)
        return dist.encode_message((dist.EXIT, sender, to, reason))

    def encode_monitor_exit(self, target: Any, watcher: Pid, ref: Any, reason: Any) -> bytes:
        """The process ``target`` (pid or name) that ``watcher`` monitors with ``ref`` is gone."""
        if self._exit_payload:
            return dist.encode_payload_monitor_exit(target, watcher, ref, reason)
        return dist.encode_message((dist.MONITOR_P_EXIT, target, watcher, ref, reason))

    def send_exit(self, sender: Pid, to: Pid, reason: Any) -> None:
        self.write(self.encode_exit(sender, to, reason))

    def send_monitor_exit(self, target: Any, watcher: Pid, ref: Any, reason: Any) -> None:
        self.write(self.encode_monitor_exit(target, watcher, ref, reason))

    def reply(self, sender: Pid, to: Pid, msg: Any, fallback: Optional[Callable[[BaseException], Any]] = None) -> None:
        """Send a reply ``msg``; if it cannot be encoded, log it and send
        ``fallback(error)`` instead (when given).  A closed connection loses it."""
        try:
            self.send_to_pid(sender, to, msg)
        except NodeDown:
            pass
        except (etf.ETFError, TypeError, ValueError) as e:
            app_log.error("erlang: cannot encode the reply to %r: %s", to, e)
            if fallback is not None:
                try:
                    self.send_to_pid(sender, to, fallback(e))
                except ErlangError:
                    pass
