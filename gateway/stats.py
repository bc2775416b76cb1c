"""``--stats ADDR``: uWSGI's stats server, in the master, rendering the scoreboard as JSON.

One JSON document per connection, then close, exactly as uWSGI's master does
(``telnet 127.0.0.1 9191``, ``uwsgitop 127.0.0.1:9191``).  ``ADDR`` with a ``:`` is
TCP (``127.0.0.1:9191``, ``:9191``), anything else a UNIX socket path.  With
``--stats-http`` the server first waits for the client's request bytes (bounded by
``--socket-timeout``) and answers with HTTP headers (``uwsgitop http://...``).

The document has uWSGI's shape (``reference/uwsgi-stats-sample.json``): ``version``,
``listen_queue`` (the accept queue of the fullest socket, from Linux ``TCP_INFO``),
``pid``, ``uid``, ``gid``, ``cwd``, ``locks`` (subsystems: ``caches``, ``metrics``),
``sockets`` and ``workers`` with their ``cores`` (the current request's vars while
``in_request``), then what the master's ``stats_hooks`` add: ``spoolers``, ``daemons``
and ``crons`` when there are any (uWSGI's keys).  Every number comes from
the shared scoreboard, so rendering costs the workers nothing.

Everything runs in the master's ``selectors`` loop, non-blocking: a slow reader is
written to as its socket drains, and dropped after ``--socket-timeout``.
"""

from __future__ import annotations

import functools
import json
import os
import selectors
import socket
import struct
import time
from typing import TYPE_CHECKING, Any, Dict, Optional

from gateway import UWSGI_COMPAT_VERSION
from gateway.logs import gen_log

if TYPE_CHECKING:  # pragma: no cover
    from gateway.process.master import Master


DEFAULT_LOCKS = ("user 0", "signal", "filemon", "timer", "rbtimer", "cron", "rpc", "snmp")


def listen_queue(sock: socket.socket) -> int:
    """Connections waiting in ``sock``'s accept queue (Linux ``tcpi_unacked``), or 0."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except (OSError, AttributeError):
        return 0
    if len(info) < 28:
        return 0
    return struct.unpack_from("I", info, 24)[0]


def is_loopback(addr: str) -> bool:
    if ":" not in addr:
        return True  # a UNIX socket
    host = addr.rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


class StatsServer:
    """The stats listener of one master (``master`` provides the scoreboard and workers)."""

    def __init__(self, master: Master, address: str, *, http: bool = False, minified: bool = False,
                 timeout: float = 4.0) -> None:
        self.master = master
        self.spec = address
        self.http = http
        self.minified = minified
        self.timeout = timeout
        self.sel: Optional[selectors.BaseSelector] = None
        self.sock = self._bind(address)
        self._pending: Dict[int, Any] = {}
        if not is_loopback(address):
            gen_log.warning("*** the stats server on %s is reachable beyond this machine: it shows "
                            "request vars to anyone; bind it to 127.0.0.1 or a UNIX socket ***", address)

    def announce(self) -> None:
        """uWSGI's line, which its master prints once the first workers are spawned."""
        gen_log.info("*** Stats server enabled on %s fd: %d ***", self.address, self.sock.fileno())

    def _bind(self, address: str) -> socket.socket:
        from gateway.server.listeners import ListenError

        try:
            return self._bind_or_raise(address)
        except OSError as e:
            raise ListenError("cannot bind the stats server on %s: %s" % (address, e.strerror or e)) from None

    def _bind_or_raise(self, address: str) -> socket.socket:
        if ":" in address:
            from gateway.server.listeners import parse_address

            host, port = parse_address(address)
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.path.exists(address) and not os.path.isfile(address):
                try:
                    os.unlink(address)
                except OSError:
                    pass
            sock.bind(address)
        sock.listen(16)
        sock.setblocking(False)
        return sock

    @property
    def address(self) -> str:
        if self.sock.family == socket.AF_UNIX:
            return self.spec
        from gateway.server.listeners import bound_address

        return bound_address(self.sock)

    # -- selectors plumbing -----------------------------------------------------------------

    def attach(self, sel: selectors.BaseSelector) -> None:
        self.sel = sel
        sel.register(self.sock, selectors.EVENT_READ, ("reader", self._accept))

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                gen_log.warning("stats server: accept failed: %s", e)
                return
            conn.setblocking(False)
            state = {"conn": conn, "out": b"", "deadline": time.monotonic() + self.timeout}
            self._pending[conn.fileno()] = state
            if self.http:
                self.sel.register(conn, selectors.EVENT_READ, ("reader", lambda s=state: self._read_request(s)))  # type: ignore[union-attr]
            else:
                state["out"] = self.render()
                self.sel.register(conn, selectors.EVENT_WRITE, ("reader", lambda s=state: self._flush(s)))  # type: ignore[union-attr]
            self.master.call_later(self.timeout, functools.partial(self._expire, state))

    def _read_request(self, state: Dict[str, Any]) -> None:
        conn = state["conn"]
        try:
            conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        body = self.render()
        state["out"] = (b"HTTP/1.0 200 OK\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\n"
                        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
        self.sel.modify(conn, selectors.EVENT_WRITE, ("reader", lambda s=state: self._flush(s)))  # type: ignore[union-attr]

    def _flush(self, state: Dict[str, Any]) -> None:
        conn = state["conn"]
        try:
            sent = conn.send(state["out"])
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(state)
            return
        state["out"] = state["out"][sent:]
        if not state["out"]:
            self._drop(state)

    def _expire(self, state: Dict[str, Any]) -> None:
        if state["conn"].fileno() in self._pending and self._pending[state["conn"].fileno()] is state:
            self._drop(state)

    def _drop(self, state: Dict[str, Any]) -> None:
        conn = state["conn"]
        fd = conn.fileno()
        if fd < 0:
            return
        self._pending.pop(fd, None)
        try:
            self.sel.unregister(conn)  # type: ignore[union-attr]
        except (KeyError, ValueError):
            pass
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def close(self) -> None:
        for state in list(self._pending.values()):
            self._drop(state)
        if self.sel is not None:
            try:
                self.sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass
        self.sock.close()
        from gateway.process import vacuum

        if self.sock.family == socket.AF_UNIX and not vacuum.owns(self.spec):  # --vacuum's, with its line
            try:
                os.unlink(self.spec)
            except OSError:
                pass

    def close_in_child(self) -> None:
        """In a forked child: close our descriptors without touching the master's selector."""
        for state in list(self._pending.values()):
            state["conn"].close()
        self.sock.close()

    def render(self) -> bytes:
        return render(self.master, self.minified)


def document(master: "Master") -> Dict[str, Any]:
    """The stats document of ``master``'s instance (the stats server's, the ``file`` pusher's)."""
    sockets = master.sockets
    queues = [listen_queue(s) for s in sockets]
    lq = max(queues) if queues else 0
    doc: Dict[str, Any] = {
        "version": UWSGI_COMPAT_VERSION,
        "listen_queue": lq,
        "listen_queue_errors": 0,
        "signal_queue": 0,
        "load": lq,
        "pid": master.pid,
        "uid": os.getuid(),
        "gid": os.getgid(),
        "cwd": os.getcwd(),
        "locks": [{name: 0} for name in DEFAULT_LOCKS],
    }
    subs = getattr(master, "subsystems", None)
    if subs is not None:
        # Caches, locks and metrics live in the subsystems' shared memory.
        doc["locks"] = subs.stats_locks()
        caches = subs.stats_caches()
        if caches is not None:
            doc["caches"] = caches
        metrics = subs.stats_metrics()
        if metrics is not None and not master.config.stats_no_metrics:
            doc["metrics"] = metrics
    backlog = int(master.config.listen or 100)
    from gateway.server.listeners import SHARED, listen_address, socket_protocol

    # max_queue: uWSGI reads it with TCP_INFO, so a UNIX socket shows 0
    doc["sockets"] = [
        {"name": listen_address(s), "proto": socket_protocol(s), "queue": q,
         "max_queue": 0 if s.family == socket.AF_UNIX else backlog,
         "shared": 1 if s in SHARED else 0,
         "can_offload": 1 if getattr(master.config, "offload_threads", 0) else 0}
        for s, q in zip(sockets, queues)
    ]
    workers = []
    board = master.board
    for wid, proc in sorted(master.workers.items()):
        snap = board.snapshot(master.slot(wid, proc.generation))
        snap["id"] = wid
        if subs is not None:
            snap["signals"] = subs.worker_signals(wid)
        cores = snap.pop("cores")
        snap["apps"] = board.app_list(master.slot(wid, proc.generation))
        if not getattr(master.config, "stats_no_cores", False):  # --stats-no-cores: uWSGI leaves the key out
            snap["cores"] = cores
        workers.append(snap)
    doc["workers"] = workers
    for section in list(master.stats_hooks):
        try:
            section(doc)
        except Exception:
            gen_log.exception("error in a stats section")
    return doc


def render(master: "Master", minified: bool = False) -> bytes:
    """:func:`document` as JSON: uWSGI's tab-indented form, or one line with ``--stats-minified``."""
    doc = document(master)
    if minified:
        return json.dumps(doc, separators=(",", ":")).encode()
    return json.dumps(doc, indent="\t", separators=(",", ":")).encode()
