"""The Erlang C-node on the worker's IOLoop: EPMD, listener, peers, ticks, processes.

One :class:`Node` per worker process.  Everything here runs on the loop's thread
(except what is said below about writes and the two call modes); the sans-IO machines (:mod:`.epmd`, :mod:`.handshake`, :mod:`.dist`) do the
protocol work and this module only moves bytes and keeps state:

* **EPMD**: ``start()`` opens a listening socket on an ephemeral port, registers it
  with the local EPMD (ALIVE2) and *keeps that connection open* for the node's life
  (closing it unregisters the name).  The creation EPMD returns goes into every pid
  and reference we make.
* **Peers**: one :class:`Connection` per peer node, accepted or dialled on demand
  (PORT_PLEASE2 to the peer host's EPMD).  It drives its non-blocking socket with a
  reader on the IOLoop's own asyncio loop, and writes at once under a lock, from any
  thread (see :class:`Connection` for why and how that stays packet-safe).
  Concurrent connects to one node share one attempt; two nodes dialling each other
  at once follow Erlang's rule (the greater name keeps its own attempt).
* **Ticks**: every received tick is answered; a tick is sent after ``net_ticktime/4``
  seconds of write silence; a peer silent for ``net_ticktime`` is dropped
  (``noconnection``: its pending calls fail with :class:`~.errors.NodeDown`).  While
  the loop thread is blocked, :class:`_TickWatchdog` (a thread) sends the ticks.
* **Processes**: each connection has its own pid (the ``from`` of what Python
  sends, the address of its mailbox); ``rex`` and ``net_kernel`` answer as on an
  Erlang node; names registered with :meth:`Node.register_process` are Python
  callables.  Monitors and links are minimal but correct: unknown targets answer
  ``noproc`` at once, ``UNLINK_ID`` is acknowledged, and Python pids ignore exit
  signals.
* **Calling Python code** (``call_mode``): ``"inline"`` (default) runs each callable
  at once in a greenlet core on the loop: no thread hop (3-4x the calls/s of the
  pool), and it may suspend with ``loop_engine.wait`` or the ``uwsgi.erlang_*``
  functions.  A function that *blocks* stalls the worker's loop (HTTP included)
  while it runs, but not the Erlang connections: the watchdog keeps ticking them.
  ``"threads"`` runs callables in a pool of ``rpc_threads`` threads, so blocking
  functions stall nothing.

Python calling Erlang goes through the coroutines :meth:`Node.rpc`,
:meth:`Node.send`, :meth:`Node.recv`; :mod:`.api` wraps them for WSGI code, with
shortcuts on an established connection: :meth:`Node.rpc_in_core` (a core sleeps on
a Waiter), :meth:`Node.rpc_blocking` (a thread writes its request and sleeps on a
lock) and :meth:`Node.send_now` (a send never waits).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import queue
import secrets
import socket
import struct
import sys
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Set, Tuple, Union

from greenlet import getcurrent
from loop_engine import Core, CoreGreenlet, CoreTimeout, Waiter

from . import dist, epmd, etf
from . import flags as dflags
from . import handshake as hs
from . import names as nodenames
from .dist import NO_PAYLOAD
from .errors import (
    AuthenticationFailed,
    BadRPC,
    ConnectionRejected,
    EPMDError,
    ErlangError,
    ErlangProtocolError,
    ErlangTimeout,
    NodeDown,
)
from ..logs import app_log, gen_log

Atom = etf.Atom
Pid = etf.Pid
Reference = etf.Reference

#: Defaults of the named limits (the CLI exposes them as ``--erlang-*`` options).
DEFAULT_TIMEOUT = 30.0
DEFAULT_NET_TICKTIME = 60.0
DEFAULT_MAX_MAILBOX = 10000
DEFAULT_MAX_PENDING = 1024
DEFAULT_RPC_THREADS = 8
#: How Python callables (rpc functions, registered processes) run: "inline" in a
#: greenlet core on the loop (a tick watchdog thread keeps the connections alive
#: while one blocks) or in "threads" (a pool of ``rpc_threads``).
CALL_MODES = ("inline", "threads")
DEFAULT_CALL_MODE = "inline"
#: Seconds to poll a connection for the peer's next packet before the loop sleeps,
#: after we answered it or sent it a call (0: never).  Like BEAM's scheduler
#: busy-wait: a sleep and wake-up through epoll costs about as much as a loopback
#: round trip, and a request/answer loop's next packet comes within tens of us.
DEFAULT_BUSY_POLL = 50e-6

A_EMPTY = Atom("")
A_REX = Atom("rex")
A_NET_KERNEL = Atom("net_kernel")
A_USER = Atom("user")
A_CALL = Atom("call")
A_GEN_CALL = Atom("$gen_call")
A_BADRPC = Atom("badrpc")
A_NOPROC = Atom("noproc")
A_NOCONNECTION = Atom("noconnection")
A_NORMAL = Atom("normal")

_CALLBACK_ERRORS = (Exception,)
#: Bytes asked of the kernel per read.  Not more: ``sock.recv(n)`` allocates n
#: bytes first, and past glibc's mmap threshold (128 KiB) that costs an
#: mmap/munmap pair per read (measured 10 us per recv of 256 KiB, 1 us of 64 KiB).
READ_SIZE = 64 * 1024
#: Reads one busy poll may handle before the loop gets its turn again.
BUSY_POLL_ROUNDS = 64
_monotonic = time.monotonic


def _now(loop: asyncio.AbstractEventLoop) -> float:
    return loop.time()



def _poll_recv(recv: Callable[[int], bytes], end: float) -> Optional[bytes]:
    """Spin on a non-blocking ``recv`` until data (b"" = EOF) or ``end`` (then None).

    The busy poll of :meth:`Connection.poll_answer` and ``_busy_poll``; other
    ``OSError`` propagate."""
    while True:
        try:
            return recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            if _monotonic() >= end:
                return None

class _EpmdClient(asyncio.Protocol):
    """One EPMD exchange: send a request, collect the reply, parse it incrementally."""

    def __init__(self, request: bytes, parse: Callable[[bytes], Any], keep_open: bool) -> None:
        self.request = request
        self.parse = parse
        self.keep_open = keep_open
        self.buf = b""
        self.result: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
        self.transport: Optional[asyncio.Transport] = None
        self.on_lost: Optional[Callable[[Optional[BaseException]], None]] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.result.done():
            return
        self.buf += data
        try:
            parsed = self.parse(self.buf)
        except ErlangError as e:
            self.result.set_exception(e)
            return
        if parsed is not None:
            self.result.set_result(parsed)
            if not self.keep_open and self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if not self.result.done():
            if self.buf:
                try:
                    parsed = self.parse(self.buf)
                except ErlangError as e:
                    self.result.set_exception(e)
                    return
                if parsed is not None:
                    self.result.set_result(parsed)
                    return
            self.result.set_exception(
                ErlangProtocolError("EPMD closed the connection before answering (%d bytes)" % len(self.buf), "epmd")
            )
        elif self.on_lost is not None:
            self.on_lost(exc)


class _Spawned:
    """An Erlang-spawned "process" running a Python function for an rpc."""

    __slots__ = ("pid", "req_id", "requester", "monitor", "link", "reply")

    def __init__(self, pid: Pid, req_id: Any, requester: Pid, monitor: bool, link: bool) -> None:
        self.pid = pid
        self.req_id = req_id
        self.requester = requester
        self.monitor = monitor
        self.link = link
        # the SPAWN_REPLY packet while it is held back (see rex.spawn_request)
        self.reply: Optional[bytes] = None


class Connection:
    """One distribution connection (either role) and its per-peer state.

    The connection drives its non-blocking socket itself (a reader on the loop, a
    writer only while output is pending) rather than through an asyncio transport,
    because more than the loop thread writes to it:

    * every write goes through :meth:`write`, which holds ``wlock`` while it sends
      (or, when the kernel takes only part, queues the rest in ``_wbuf``, later
      packets behind it, until the loop's writer drains it), so packets never
      interleave, whoever writes;
    * other threads use :meth:`write` too: the synchronous API sends its request
      itself (see :meth:`Node.rpc_blocking`) instead of hopping to the loop first;
    * the tick watchdog (:class:`_TickWatchdog`) ticks from its own thread while the
      loop is blocked: under ``wlock`` it pushes out what ``_wbuf`` holds and adds
      the 4 zero bytes only when nothing is left there, i.e. on a packet boundary.
    """

    def __init__(self, node: "Node", role: hs.Role, expected_peer: Optional[str] = None) -> None:
        self.node = node
        self.loop = node.loop
        self.role = role
        self.sock: Optional[socket.socket] = None
        self.fd = -1
        # Serialises every send on the socket and every change of _wbuf / sock / closed.
        self.wlock = threading.Lock()
        # Bytes the kernel has not taken yet (whole packets, the first one maybe
        # partly sent); while it is non-empty every write queues behind it.
        self._wbuf: Deque[bytes] = collections.deque()
        self._writing = False  # the loop's writer is registered (loop thread only)
        self._closing = False  # close once _wbuf is drained
        self._lost_scheduled = False
        self._woke = False  # a read completed a local call / fed a mailbox (busy poll)
        self._stash: Optional[bytes] = None  # read by poll_answer, not yet handled
        self.peer_name: Optional[str] = expected_peer
        self.peer_atom: Optional[Atom] = None
        self.peer_flags = 0
        self.peer_creation = 0
        self.established = False
        self.closed = False
        self.close_reason: Optional[BaseException] = None
        self.handshake = hs.Handshake(
            role,
            node.full,
            node.cookie,
            node.flags,
            node.creation,
            expected_peer=expected_peer,
            status_policy=node._status_for,
            max_packet=hs.DEFAULT_MAX_PACKET,
        )
        self.reader: Optional[dist.DistReader] = None
        self.handshake_done: "asyncio.Future[Connection]" = self.loop.create_future()
        self.last_read = self.last_write = _monotonic()
        self.pid = node.new_pid()
        # Python -> Erlang calls waiting for {Ref, Result}: ref -> future
        self.calls: Dict[Reference, "asyncio.Future[Any]"] = {}
        self.mailbox: Deque[Any] = collections.deque()
        self.receivers: Deque["asyncio.Future[Any]"] = collections.deque()
        # remote monitors of our processes: ref -> (watcher pid, target pid or name)
        self.monitors: Dict[Any, Tuple[Pid, Any]] = {}
        # links between remote pids and ours: (remote, ours)
        self.links: Set[Tuple[Pid, Pid]] = set()
        # rpc functions Erlang spawned on us, by their pid and by the spawn ReqId
        self.spawned: Dict[Pid, _Spawned] = {}
        self.spawned_by_req: Dict[Any, _Spawned] = {}
        self.handles = 0
        self._send_sender = True
        self._exit_payload = True
        self._ctrl_cache: Dict[Any, bytes] = {}

    # ---- socket

    def attach(self, sock: socket.socket) -> None:
        """Start driving ``sock`` (connected; either role).  Loop thread."""
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.sock = sock
        self.fd = sock.fileno()
        self.node._all.add(self)
        self.loop.add_reader(self.fd, self._on_readable)
        if self.role is hs.Role.INITIATOR:
            try:
                self.write(self.handshake.initiate())
            except NodeDown:
                pass

    def _on_readable(self) -> None:
        if self._stash is not None:
            self._drain_stash()
        sock = self.sock
        if sock is None:
            return
        try:
            data = sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._close_now(e)
            return
        if not data:
            self._close_now(None)
            return
        if not self.node.busy_poll:
            self.data_received(data)
            return
        wrote = self.last_write
        self._woke = False
        self.data_received(data)
        if self.last_write != wrote and not self._woke and self.node._pool is None:
            self._busy_poll(sock)

    def poll_answer(self) -> None:
        """We (a coroutine or core on the loop thread) just sent a request: poll the
        socket for up to ``busy_poll`` seconds.  What arrives is kept in ``_stash``
        and handed to :meth:`data_received` by a loop callback (in order: the reader
        drains the stash first), so the loop does not sleep in epoll and get woken
        up for the answer; the caller then waits as usual."""
        sock = self.sock
        if sock is None or self._stash is not None:
            return
        try:
            data = _poll_recv(sock.recv, _monotonic() + self.node.busy_poll)
        except OSError as e:
            self.loop.call_soon(self._write_failed, e)
            return
        if data is None:
            return
        self._stash = data
        self.loop.call_soon(self._drain_stash)

    def _drain_stash(self) -> None:
        data, self._stash = self._stash, None
        if data is None or self.sock is None:
            return
        if not data:
            self._close_now(None)
            return
        self.data_received(data)

    def _busy_poll(self, sock: socket.socket) -> None:
        """We just answered the peer and woke nobody here: it is likely to send again
        within microseconds (an rpc:call loop, a ping-pong), so poll the socket for
        up to ``busy_poll`` seconds before going back to sleep in the loop, as BEAM's
        schedulers busy-wait.  A sleep/wake-up through epoll costs more than the
        round trip itself on loopback.  Bounded: at most ``BUSY_POLL_ROUNDS`` reads,
        then the loop gets its turn; never after a read that woke a local waiter
        (its coroutine or core must run now), never in the threads call mode."""
        budget = self.node.busy_poll
        recv = sock.recv
        end = _monotonic() + budget
        for _ in range(BUSY_POLL_ROUNDS):
            if self._stash is not None:
                # a core waiting inside what we just handled read ahead (poll_answer):
                # that data must be handled first, by the loop
                return
            try:
                data = _poll_recv(recv, end)
            except OSError as e:
                self._close_now(e)
                return
            if data is None:
                return
            if not data:
                self._close_now(None)
                return
            self.last_read = _monotonic()
            wrote = self.last_write
            self._woke = False
            self.data_received(data)
            if self.sock is None or self.last_write == wrote or self._woke:
                return
            end = _monotonic() + budget

    def _close_now(self, exc: Optional[BaseException]) -> None:
        """Close the socket at once (pending output dropped); ``connection_lost``
        follows in a later loop iteration, as with a transport.  Loop thread."""
        with self.wlock:
            sock, self.sock = self.sock, None
            self.closed = True
            self._wbuf.clear()
        if sock is not None:
            self.loop.remove_reader(self.fd)
            if self._writing:
                self._writing = False
                self.loop.remove_writer(self.fd)
            sock.close()
        if not self._lost_scheduled:
            self._lost_scheduled = True
            self.loop.call_soon(self.connection_lost, exc)

    def data_received(self, data: bytes) -> None:
        self.last_read = _monotonic()
        reader = self.reader
        if reader is None:
            self._handshake_data(data)
            return
        try:
            events = reader.receive_data(data)
        except ErlangProtocolError as e:
            gen_log.info("erlang: closing the connection to %s: %s", self.peer_name, e)
            self.abort(e)
            return
        dispatch = self.node._dispatch
        for ev in events:
            if ev.__class__ is dist.Message:
                try:
                    dispatch(self, ev)
                except Exception as e:  # a bug or a term of an unexpected shape: one message lost
                    gen_log.info("erlang: could not handle %r from %s: %s", ev.control, self.peer_name, e, exc_info=True)
            elif ev is dist.TICK:
                self.write(dist.TICK_BYTES)
            else:
                self.node._bad_message(self, ev)
            if self.closed:
                return

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.closed = True
        reason = self.close_reason
        if reason is None:
            if not self.established:
                try:
                    self.handshake.receive_data(b"")
                except ErlangError as e:
                    reason = e
                except RuntimeError:
                    pass
            if reason is None:
                reason = NodeDown("connection to %s lost%s" % (self.peer_name, ": %s" % exc if exc else ""))
        self.close_reason = reason
        if not self.handshake_done.done():
            self.handshake_done.set_exception(reason)
            self.handshake_done.exception()  # retrieved: the connect() waiter may be gone
        self.node._connection_lost(self, reason)

    # ---- handshake

    def _handshake_data(self, data: bytes) -> None:
        try:
            out, events = self.handshake.receive_data(data)
        except ErlangError as e:
            self.abort(e)
            return
        except RuntimeError:
            return
        if out:
            self.write(out)
        for ev in events:
            if isinstance(ev, hs.Established):
                self._on_established(ev)
            elif isinstance(ev, hs.Rejected):
                self.close_reason = ConnectionRejected(
                    "we refused %s: %s (%s)" % (ev.peer_name, ev.status, ev.reason), ev.status
                )
                if ev.status == "not_allowed":
                    gen_log.info("erlang: refused node %s: %s", ev.peer_name, ev.reason)
                self.close(self.close_reason)
                return

    def _on_established(self, ev: hs.Established) -> None:
        self.peer_name = ev.peer_name
        self.peer_atom = Atom(ev.peer_name)
        self.peer_flags = ev.peer_flags
        self.peer_creation = ev.peer_creation
        self._send_sender = bool(ev.peer_flags & dflags.SEND_SENDER)
        self._exit_payload = bool(ev.peer_flags & dflags.EXIT_PAYLOAD)
        self.reader = dist.DistReader(self.node.max_packet, self.node.atoms, ev.peer_name)
        self.established = True
        if not self.node._connection_established(self):
            return
        if not self.handshake_done.done():
            self.handshake_done.set_result(self)
        leftover = self.handshake.leftover
        if leftover:
            self.data_received(leftover)

    # ---- output

    def write(self, data: bytes) -> None:
        """Send ``data`` (whole packets) now, or queue it behind pending output.

        Any thread may call it.  Raises :class:`NodeDown` once the connection closed.
        """
        with self.wlock:
            if not self._send_locked(data):
                return
        self._want_writer()

    def write_spawned(self, spawned: "_Spawned", data: bytes = b"") -> None:
        """Write ``data`` (an rpc's end), preceded by its SPAWN_REPLY if that is still
        held: taken and written under ``wlock``, so the reply always goes first."""
        with self.wlock:
            reply = spawned.reply
            if reply is not None:
                spawned.reply = None
                data = reply + data
            if not data or not self._send_locked(data):
                return
        self._want_writer()

    def _send_locked(self, data: bytes) -> bool:
        """Send or queue ``data`` (``wlock`` held); True if the loop's writer is needed."""
        sock = self.sock
        if sock is None:
            raise NodeDown("not connected to %s" % self.peer_name)
        self.last_write = _monotonic()
        if self._wbuf:
            self._wbuf.append(data)
            return False
        try:
            n = sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as e:
            # broken: the loop closes it; this packet is lost with the connection
            self.loop.call_soon_threadsafe(self._write_failed, e)
            return False
        if n == len(data):
            return False
        self._wbuf.append(data[n:] if n else data)
        return True

    def _want_writer(self) -> None:
        if threading.get_ident() == self.node._thread_id:
            self._start_writer()
        else:
            self.loop.call_soon_threadsafe(self._start_writer)

    def _write_failed(self, exc: BaseException) -> None:
        if not self.closed:
            self._close_now(exc)

    def _start_writer(self) -> None:
        if not self._writing and self.sock is not None and self._wbuf:
            self._writing = True
            self.loop.add_writer(self.fd, self._on_writable)

    def _flush_locked(self) -> Optional[BaseException]:
        """Push ``_wbuf`` into the kernel as far as it goes (``wlock`` held)."""
        wbuf = self._wbuf
        sock = self.sock
        while wbuf and sock is not None:
            if len(wbuf) > 1:
                data = b"".join(wbuf)
                wbuf.clear()
                wbuf.append(data)
            data = wbuf[0]
            try:
                n = sock.send(data)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                return e
            if n == len(data):
                wbuf.popleft()
            else:
                wbuf[0] = data[n:]
                return None
        return None

    def _on_writable(self) -> None:
        with self.wlock:
            err = self._flush_locked()
            drained = not self._wbuf
        if err is not None:
            self._close_now(err)
            return
        if drained:
            if self._writing:
                self._writing = False
                self.loop.remove_writer(self.fd)
            if self._closing:
                self._close_now(None)

    def watchdog_tick(self) -> bool:
        """From the watchdog thread: push out pending output, then send a tick if the
        stream is then on a packet boundary.  True if a tick went out (or is queued)."""
        with self.wlock:
            sock = self.sock
            if sock is None:
                return False
            if self._wbuf:
                before = sum(len(b) for b in self._wbuf)
                if self._flush_locked() is not None:
                    return False
                if self._wbuf:  # still mid-packet: no tick can go in (bytes that moved count as traffic)
                    if sum(len(b) for b in self._wbuf) < before:
                        self.last_write = _monotonic()
                    return False
            try:
                n = sock.send(dist.TICK_BYTES)
            except OSError:
                return False
            self.last_write = _monotonic()
            if n == 4:
                return True
            # the kernel took part of the tick: the rest goes next, before anything else
            self._wbuf.append(dist.TICK_BYTES[n:])
        self.loop.call_soon_threadsafe(self._start_writer)
        return True

    def abort(self, reason: BaseException) -> None:
        if self.close_reason is None:
            self.close_reason = reason
        if not self.closed:
            self._close_now(None)

    def close(self, reason: Optional[BaseException] = None) -> None:
        """Close once pending output went out.  Loop thread."""
        if self.close_reason is None:
            self.close_reason = reason or NodeDown("connection to %s closed by us" % self.peer_name)
        if self.closed:
            return
        if self._wbuf:
            self._closing = True
            self._start_writer()
        else:
            self._close_now(None)

    def send_ctrl(self, control: tuple, payload: Any = NO_PAYLOAD) -> None:
        self.write(dist.encode_message(control, payload))

    def send_to_pid(self, sender: Pid, to: Pid, msg: Any) -> None:
        """``to ! msg`` from our process ``sender``."""
        if self._send_sender:
            key = (sender, to)
            ctrl = self._ctrl_cache.get(key)
            if ctrl is None:
                ctrl = etf.encode((dist.SEND_SENDER, sender, to))
                if len(self._ctrl_cache) > 256:
                    self._ctrl_cache.clear()
                self._ctrl_cache[key] = ctrl
            self.write(dist.encode_prefixed(ctrl, msg))
        else:
            self.send_ctrl((dist.SEND, A_EMPTY, to), msg)

    def send_to_name(self, sender: Pid, name: Atom, msg: Any) -> None:
        """``{name, Peer} ! msg`` from our process ``sender``."""
        self.write(self.encode_to_name(sender, name, msg))

    def encode_to_name(self, sender: Pid, name: Atom, msg: Any) -> bytes:
        """The packet of ``{name, Peer} ! msg`` (``msg`` may be a :class:`_RawTerm`)."""
        key = (sender, name, 6)
        ctrl = self._ctrl_cache.get(key)
        if ctrl is None:
            ctrl = etf.encode((dist.REG_SEND, sender, A_EMPTY, name))
            if len(self._ctrl_cache) > 256:
                self._ctrl_cache.clear()
            self._ctrl_cache[key] = ctrl
        if msg.__class__ is _RawTerm:
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

    # ---- mailbox

    def deliver(self, msg: Any) -> None:
        self._woke = True
        receivers = self.receivers
        while receivers:
            fut = receivers.popleft()
            if not fut.done() and fut.set_result(msg) is not False:  # False: a thread gave up
                return
        if len(self.mailbox) >= self.node.max_mailbox:
            gen_log.warning(
                "erlang: mailbox for %s is full (%d messages, see erlang_max_mailbox): dropping a message",
                self.peer_name,
                len(self.mailbox),
            )
            return
        self.mailbox.append(msg)


class _CoreEngine:
    """What a :class:`loop_engine.Core` needs of an engine to suspend and resume."""

    __slots__ = ("asyncio_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.asyncio_loop = loop


_JOB = object()
_IDLE = object()


class _CallGreenlet(CoreGreenlet):
    """The greenlet core of inline calls (see :meth:`Node._core_main`)."""

    __slots__ = ("suspended",)

    def __init__(self, run: Any, parent: Any, core: Core) -> None:
        super().__init__(run, parent, core)
        self.suspended = False


class _WorkerPool:
    """``call_mode="threads"``: ``size`` daemon threads taking jobs from a SimpleQueue.

    A job's ``on_done`` runs in the worker (it writes the reply to the connection
    itself, which is thread-safe), so finishing a call costs no hop back to the loop.
    """

    def __init__(self, node: "Node", size: int) -> None:
        self.jobs: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self.closed = False
        self.threads = [
            threading.Thread(target=self._work, args=(node._run_call,), name="erlang-rpc-%d" % i, daemon=True)
            for i in range(size)
        ]
        for t in self.threads:
            t.start()

    def _work(self, run: Callable[..., None]) -> None:
        get = self.jobs.get
        while True:
            job = get()
            if job is None:
                return
            run(*job)

    def close(self) -> None:
        self.closed = True
        for _ in self.threads:
            self.jobs.put(None)


class _TickWatchdog(threading.Thread):
    """Keeps the distribution connections ticking while the loop thread is blocked.

    Every ``net_ticktime/8`` it looks at each connection's last write.  The loop
    itself ticks a connection after ``net_ticktime/4`` of silence (checked every
    ``net_ticktime/8``), so a connection silent for ``3/8`` of it means the loop is
    stuck (a blocking function called inline, a blocking WSGI app in a core): the
    watchdog then writes the tick itself (:meth:`Connection.watchdog_tick`, under
    the connection's write lock, only on a packet boundary).  Erlang drops a peer
    silent for 3/4..5/4 of ``net_ticktime``; our silence stays under 1/2 of it.

    Why a tick from this thread cannot corrupt the stream:

    1. every send on a connection's socket happens under its ``wlock``: the loop's
       and other threads' :meth:`Connection.write`, the loop's writer callback, and
       this watchdog.  Nothing else touches the socket for writing;
    2. ``_wbuf`` holds the unsent end of the stream (its first item may be a packet
       partly taken by the kernel, the others are whole packets) and while it is not
       empty every writer appends to it instead of sending, so bytes leave in the
       order they were written;
    3. the watchdog sends the 4 zero bytes only once ``_wbuf`` is empty *after* it
       flushed it under the lock, i.e. when the kernel holds every byte of every
       packet written so far: the next byte starts a packet.  If the kernel takes
       only part of the tick, the rest goes into ``_wbuf``, so (2) still holds;
    4. the socket is closed (``sock`` set to None) under ``wlock`` too, so no thread
       can send on a closed (or reused) descriptor.

    It needs the GIL to run, which a blocked thread releases (sleeping, waiting on
    I/O or a lock) and pure-Python code yields every switch interval; a C extension
    holding the GIL for longer than ``net_ticktime`` would starve it (as it would
    starve any thread).  Reading is the loop's alone: a blocked loop reads nothing,
    so when it resumes its tick timer gives every peer a fresh ``net_ticktime``
    before judging silence.
    """

    def __init__(self, node: "Node") -> None:
        super().__init__(name="erlang-ticks", daemon=True)
        self.node = node
        self.stopped = threading.Event()
        self.ticks = 0  # ticks sent by the watchdog (for tests and logs)

    def run(self) -> None:
        node = self.node
        interval = max(node.net_ticktime / 8.0, 0.05)
        limit = node.net_ticktime * 3.0 / 8.0
        stalled_since = 0.0
        while not self.stopped.wait(interval):
            now = _monotonic()
            sent = 0
            for conn in list(node._connections.values()):
                if conn.established and not conn.closed and now - conn.last_write >= limit:
                    if conn.watchdog_tick():
                        sent += 1
            self.ticks += sent
            late = now - node._tick_due
            if late > limit and sent:
                if not stalled_since:
                    stalled_since = node._tick_due
                    gen_log.warning(
                        "erlang: the loop of %s has been blocked for %.1fs (a Python function running inline?); "
                        "ticking its %d connection(s) from the watchdog thread",
                        node.full,
                        late,
                        sent,
                    )
            elif late <= limit and stalled_since:
                gen_log.info("erlang: the loop of %s was blocked for %.1fs", node.full, now - stalled_since)
                stalled_since = 0.0

    def stop(self) -> None:
        self.stopped.set()


class Node:
    """A hidden (by default) Erlang node living on ``io_loop``.

    ``name`` is ``alive``, ``alive@host`` or ``alive@ip`` (see :mod:`.names`);
    ``cookie`` the shared secret.  The limits are named parameters:
    ``max_atoms`` (atoms decoded from peers), ``max_packet`` (bytes of one
    received packet), ``call_mode`` ("inline" or "threads", see the module
    docstring), ``rpc_threads`` (the pool's threads in "threads" mode; 0 means
    "inline", as it did before ``call_mode``), ``busy_poll`` (seconds a connection is polled
    after we answered it, before the loop sleeps: see :meth:`Connection._busy_poll`;
    0 turns it off), ``max_pending``
    (Python callables queued or running at once), ``max_mailbox`` (messages kept
    per connection for :meth:`recv`), ``timeout`` (default per-call timeout,
    seconds) and ``net_ticktime`` (as Erlang's kernel parameter).
    """

    def __init__(
        self,
        name: str,
        cookie: Union[str, bytes],
        *,
        io_loop: Any = None,
        hidden: bool = True,
        bind_address: Optional[str] = None,
        epmd_host: str = "127.0.0.1",
        epmd_port: Optional[int] = None,
        hostname: Optional[str] = None,
        max_atoms: int = etf.MAX_ATOMS,
        max_packet: int = dist.DEFAULT_MAX_PACKET,
        rpc_threads: int = DEFAULT_RPC_THREADS,
        call_mode: str = DEFAULT_CALL_MODE,
        busy_poll: float = DEFAULT_BUSY_POLL,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_mailbox: int = DEFAULT_MAX_MAILBOX,
        timeout: float = DEFAULT_TIMEOUT,
        net_ticktime: float = DEFAULT_NET_TICKTIME,
    ) -> None:
        self.name = nodenames.parse(name, hostname or socket.gethostname())
        self.full = self.name.full
        self.atom = Atom(self.full)
        self.cookie = cookie.encode("utf-8") if isinstance(cookie, str) else bytes(cookie)
        self.hidden = hidden
        self.flags = dflags.our_flags(visible=not hidden)
        if io_loop is not None:
            self.loop: asyncio.AbstractEventLoop = getattr(io_loop, "asyncio_loop", io_loop)
        else:
            self.loop = asyncio.get_event_loop()
        self.bind_address = bind_address
        self.epmd_host = epmd_host
        self.epmd_port = epmd_port or int(os.environ.get("ERL_EPMD_PORT", epmd.DEFAULT_PORT))
        self.atoms = etf.AtomTable(max_atoms)
        self.max_packet = max_packet
        self.rpc_threads = rpc_threads
        if call_mode not in CALL_MODES:
            raise ValueError("call_mode must be one of %s, not %r" % (", ".join(CALL_MODES), call_mode))
        #: rpc_threads=0 meant "on the loop" before call_mode existed: it still does
        self.call_mode = "inline" if rpc_threads <= 0 else call_mode
        self.busy_poll = max(float(busy_poll or 0.0), 0.0)
        self.max_pending = max_pending
        self.max_mailbox = max_mailbox
        self.timeout = timeout
        self.net_ticktime = net_ticktime
        self.creation = 0
        self.port = 0
        self.running = False
        self._listener: Optional[socket.socket] = None
        self._epmd: Optional[_EpmdClient] = None
        self._connections: Dict[str, Connection] = {}
        self._dialing: Dict[str, Connection] = {}
        self._connecting: Dict[str, "asyncio.Future[Connection]"] = {}
        self._all: Set[Connection] = set()
        self._processes: Dict[str, Callable[[Any], Any]] = {}
        self._process_pids: Dict[str, Pid] = {}
        self._pid_names: Dict[Pid, str] = {}
        self._pid_id = 0
        self._pid_serial = 0
        self._ref_base = secrets.randbits(32)
        self._pool: Optional[_WorkerPool] = None
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._core_engine = _CoreEngine(self.loop)
        self._idle_cores: List[_CallGreenlet] = []
        self._watchdog: Optional[_TickWatchdog] = None
        self._ref_ids = itertools.count(1)
        self._tick_handle: Optional[asyncio.TimerHandle] = None
        self._tick_due = 0.0
        self._thread_id: Optional[int] = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> "Node":
        """Listen, register with EPMD (connection kept open) and start ticking."""
        import threading

        self._thread_id = threading.get_ident()
        loop = self.loop
        addr = self.bind_address or self._default_bind_address()
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((addr, 0))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._listener = sock
        loop.add_reader(sock.fileno(), self._accept)
        try:
            client = _EpmdClient(
                epmd.encode_alive2_req(self.port, self.name.alive, hidden=self.hidden),
                epmd.parse_alive2_response,
                keep_open=True,
            )
            try:
                await asyncio.wait_for(
                    loop.create_connection(lambda: client, self.epmd_host, self.epmd_port), self.timeout
                )
            except (OSError, asyncio.TimeoutError) as e:
                raise EPMDError(
                    "cannot reach EPMD at %s:%d to register %s: %s (is epmd running? `epmd -daemon`)"
                    % (self.epmd_host, self.epmd_port, self.full, e or "timeout")
                ) from None
            resp = await asyncio.wait_for(client.result, self.timeout)
            if resp.result != 0:
                if client.transport is not None:
                    client.transport.close()
                raise EPMDError(
                    "EPMD refused to register %s (result %d): the name is already in use" % (self.full, resp.result)
                )
        except BaseException:
            self._close_listener()
            raise
        self._epmd = client
        client.on_lost = self._epmd_lost
        self.creation = resp.creation or (secrets.randbits(32) | 1)
        self.running = True
        if self.call_mode == "threads":
            self._pool = _WorkerPool(self, self.rpc_threads)
        self._schedule_ticks()
        self._watchdog = _TickWatchdog(self)
        self._watchdog.start()
        return self

    def _accept(self) -> None:
        listener = self._listener
        for _ in range(16):
            if listener is None:
                return
            try:
                sock, _addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and friends: try again on the next readiness
                gen_log.warning("erlang: accept() failed: %s", e)
                return
            Connection(self, hs.Role.ACCEPTOR).attach(sock)

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            self.loop.remove_reader(listener.fileno())
            listener.close()

    def _default_bind_address(self) -> str:
        host = self.name.host
        if nodenames.is_ip(host):
            return host
        if host == "localhost":
            return "127.0.0.1"
        return "0.0.0.0"

    def _epmd_lost(self, exc: Optional[BaseException]) -> None:
        if self.running:
            gen_log.error(
                "erlang: the EPMD connection of %s was lost%s: peers can no longer find this node by name",
                self.full,
                " (%s)" % exc if exc else "",
            )

    async def stop(self) -> None:
        """Unregister from EPMD, close every connection and the listener."""
        self.running = False
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        if self._epmd is not None and self._epmd.transport is not None:
            self._epmd.transport.close()
        self._epmd = None
        self._close_listener()
        for conn in list(self._all):
            conn.close(NodeDown("node %s is stopping" % self.full))
        for fut in self._connecting.values():
            if not fut.done():
                fut.set_exception(NodeDown("node %s is stopping" % self.full))
                fut.exception()
        self._connecting.clear()
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        await asyncio.sleep(0)

    # ------------------------------------------------------------------ identifiers

    def new_pid(self) -> Pid:
        """A fresh pid of ours (id < 2^15, serial < 2^13: valid without V4_NC too)."""
        self._pid_id += 1
        if self._pid_id >= 0x8000:
            self._pid_id = 1
            self._pid_serial = (self._pid_serial + 1) & 0x1FFF
        return Pid(self.atom, self._pid_id, self._pid_serial, self.creation)

    def new_ref(self) -> Reference:
        """A fresh reference of ours (3 words, the first < 2^18, like OTP's)."""
        n = next(self._ref_ids)  # atomic: threads make refs too
        return Reference(self.atom, self.creation, (n & 0x3FFFF, (n >> 18) & 0xFFFFFFFF, self._ref_base))

    def is_ours(self, term: Any) -> bool:
        """A pid/ref naming this incarnation of this node."""
        return term.node == self.full and term.creation == self.creation

    # ------------------------------------------------------------------ connections

    def _status_for(self, peer_name: str) -> str:
        if not self.running:
            return "not_allowed"
        if peer_name == self.full:
            return "not_allowed"
        try:
            peer = nodenames.parse(peer_name)
        except ValueError:
            return "not_allowed"
        if peer.long != self.name.long:
            return "not_allowed"
        if peer_name in self._connections:
            return "alive"
        dialing = self._dialing.get(peer_name)
        if dialing is not None and not dialing.established:
            status = hs.simultaneous_status(self.full, peer_name)
            if status == "ok_simultaneous":
                # The peer's attempt wins: drop ours; connect() waits for this one.
                self._dialing.pop(peer_name, None)
                dialing.close(ConnectionRejected("simultaneous connect: %s keeps its own" % peer_name, "nok"))
            return status
        return "ok"

    def _connection_established(self, conn: Connection) -> bool:
        name = conn.peer_name
        assert name is not None
        old = self._connections.get(name)
        if old is not None and old is not conn:
            old.close(NodeDown("connection to %s replaced by a new one" % name))
        self._connections[name] = conn
        if self._dialing.get(name) is conn:
            del self._dialing[name]
        fut = self._connecting.pop(name, None)
        if fut is not None and not fut.done():
            fut.set_result(conn)
        return True

    def _connection_lost(self, conn: Connection, reason: BaseException) -> None:
        self._all.discard(conn)
        name = conn.peer_name
        if name is not None:
            if self._connections.get(name) is conn:
                del self._connections[name]
            if self._dialing.get(name) is conn:
                del self._dialing[name]
        if not conn.established:
            return
        err = reason if isinstance(reason, ErlangError) else NodeDown(str(reason))
        if not isinstance(err, NodeDown) and not isinstance(err, ErlangProtocolError):
            err = NodeDown("connection to %s lost: %s" % (name, err))
        calls, conn.calls = conn.calls, {}
        for fut in list(calls.values()):
            if not fut.done():
                fut.set_exception(err)
        while conn.receivers:
            fut = conn.receivers.popleft()
            if not fut.done():
                fut.set_exception(err)
        conn.spawned.clear()
        conn.spawned_by_req.clear()

    async def connect(self, peer: str, timeout: Optional[float] = None) -> Connection:
        """The connection to ``peer`` (a full node name), dialling it if needed."""
        conn = self._connections.get(peer)
        if conn is not None and not conn.closed:
            return conn
        if not self.running:
            raise NodeDown("node %s is not running" % (self.full,))
        fut = self._connecting.get(peer)
        if fut is None:
            fut = self.loop.create_future()
            self._connecting[peer] = fut
            self.loop.create_task(self._dial(peer, fut))
        timeout = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            raise ErlangTimeout("connecting to %s took more than %.3gs" % (peer, timeout)) from None

    async def _dial(self, peer: str, fut: "asyncio.Future[Connection]") -> None:
        conn: Optional[Connection] = None
        try:
            try:
                target = nodenames.parse(peer)
            except ValueError as e:
                raise NodeDown("cannot connect to %r: %s" % (peer, e)) from None
            if "@" not in peer:
                raise NodeDown("cannot connect to %r: a full node name (name@host) is needed" % peer)
            if target.long != self.name.long:
                raise NodeDown(
                    "cannot connect to %s: it is a %s name and we (%s) use %s names"
                    % (peer, "long" if target.long else "short", self.full, "long" if self.name.long else "short")
                )
            host = target.host
            try:
                client = _EpmdClient(epmd.encode_port_please2_req(target.alive), epmd.parse_port2_response, False)
                await self.loop.create_connection(lambda: client, host, self.epmd_port)
                resp = await client.result
            except OSError as e:
                raise NodeDown("cannot reach EPMD on %s to find %s: %s" % (host, peer, e)) from None
            if resp.result != 0:
                raise NodeDown("node %s is not registered in EPMD on %s" % (peer, host))
            conn = Connection(self, hs.Role.INITIATOR, expected_peer=peer)
            self._dialing[peer] = conn
            self._all.add(conn)
            try:
                sock = await self._open(host, resp.port)
            except OSError as e:
                self._all.discard(conn)
                if self._dialing.get(peer) is conn:
                    del self._dialing[peer]
                raise NodeDown("cannot connect to %s at %s:%d: %s" % (peer, host, resp.port, e)) from None
            if conn.closed:  # dropped meanwhile (simultaneous connect, stop())
                sock.close()
                self._all.discard(conn)
                raise ConnectionRejected("connection to %s dropped while dialling" % peer, "nok")
            conn.attach(sock)
            await conn.handshake_done
        except ConnectionRejected as e:
            if e.status == "nok" or (conn is not None and isinstance(conn.close_reason, ConnectionRejected)):
                # Simultaneous connect: the peer's own attempt will complete fut.
                return
            self._fail_connect(peer, fut, e)
        except (AuthenticationFailed, ErlangError) as e:
            self._fail_connect(peer, fut, e)
        except Exception as e:  # pragma: no cover - unexpected
            self._fail_connect(peer, fut, NodeDown("cannot connect to %s: %s" % (peer, e)))

    async def _open(self, host: str, port: int) -> socket.socket:
        """A connected non-blocking TCP socket to ``host:port`` (each address in turn)."""
        infos = await self.loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        err: Optional[OSError] = None
        for family, type_, proto, _, addr in infos:
            sock = socket.socket(family, type_, proto)
            sock.setblocking(False)
            try:
                await self.loop.sock_connect(sock, addr)
            except OSError as e:
                sock.close()
                err = e
                continue
            except BaseException:
                sock.close()
                raise
            return sock
        raise err or OSError("no address for %s" % host)

    def _fail_connect(self, peer: str, fut: "asyncio.Future[Connection]", err: BaseException) -> None:
        if self._connecting.get(peer) is fut:
            del self._connecting[peer]
        if not fut.done():
            fut.set_exception(err)
            fut.exception()

    def disconnect(self, peer: str) -> None:
        conn = self._connections.get(peer)
        if conn is not None:
            conn.close(NodeDown("connection to %s closed by erlang_close()" % peer))

    def connected_nodes(self) -> List[str]:
        return [name for name, c in self._connections.items() if c.established and not c.closed]

    # ------------------------------------------------------------------ ticks

    def _schedule_ticks(self) -> None:
        interval = max(self.net_ticktime / 8.0, 0.05)
        self._tick_due = _monotonic() + interval
        self._tick_handle = self.loop.call_later(interval, self._on_tick_timer)

    def _on_tick_timer(self) -> None:
        if not self.running:
            return
        now = _monotonic()
        quarter = self.net_ticktime / 4.0
        late = now - self._tick_due
        if late > max(quarter, 1.0):
            # The loop itself was blocked: nothing could be read meanwhile, so the
            # silence says nothing about the peers.  Give them a fresh period.
            for conn in self._connections.values():
                conn.last_read = max(conn.last_read, now - quarter)
        for conn in list(self._connections.values()):
            if conn.closed:
                continue
            if now - conn.last_read > self.net_ticktime:
                gen_log.info("erlang: %s did not tick for %.1fs: disconnecting", conn.peer_name, now - conn.last_read)
                conn.abort(NodeDown("%s stopped answering (net_ticktime %.3gs)" % (conn.peer_name, self.net_ticktime)))
                continue
            if now - conn.last_write >= quarter:
                try:
                    conn.write(dist.TICK_BYTES)
                except NodeDown:
                    pass
        self._schedule_ticks()

    # ------------------------------------------------------------------ processes

    def register_process(self, name: str, func: Callable[[Any], Any]) -> Pid:
        """Make ``{name, ThisNode} ! Msg`` call ``func(Msg)`` (see ``call_mode``).

        A ``gen_server:call({name, ThisNode}, Req)`` calls ``func(Req)`` and replies
        with its return value.  Returns the pid standing for the name.
        """
        if not isinstance(name, str) or not name:
            raise ValueError("Erlang process name must be a non-empty str")
        if len(name) > etf.MAX_ATOM_CHARS:
            raise ValueError("Erlang process name longer than %d characters" % etf.MAX_ATOM_CHARS)
        if name in ("rex", "net_kernel"):
            raise ValueError("%r is served by the node itself and cannot be registered" % name)
        if not callable(func):
            raise TypeError("erlang_register_process(%r): %r is not callable" % (name, func))
        self._processes[name] = func
        pid = self._process_pids.get(name)
        if pid is None:
            pid = self._process_pids[name] = self.new_pid()
            self._pid_names[pid] = name
        return pid

    def unregister_process(self, name: str) -> bool:
        if self._processes.pop(name, None) is None:
            return False
        pid = self._process_pids.pop(name, None)
        if pid is not None:
            self._pid_names.pop(pid, None)
        for conn in list(self._connections.values()):
            for ref, (watcher, target) in list(conn.monitors.items()):
                if target == name or target == pid:
                    del conn.monitors[ref]
                    try:
                        conn.send_monitor_exit(target, watcher, ref, A_NOPROC)
                    except NodeDown:
                        pass
        return True

    def registered_names(self) -> List[str]:
        return list(self._processes)

    def _alive(self, conn: Connection, target: Any) -> bool:
        if target.__class__ is Pid:
            if not self.is_ours(target):
                return False
            return target == conn.pid or target in self._pid_names or target in conn.spawned
        return target in ("rex", "net_kernel") or target in self._processes

    # ------------------------------------------------------------------ calling Python

    def call_python(
        self,
        func: Callable[..., Any],
        args: Tuple[Any, ...],
        on_done: Callable[[bool, Any], None],
    ) -> bool:
        """Run ``func(*args)``, then ``on_done(ok, value_or_exc)``.

        ``call_mode`` "inline": in a fresh greenlet core on the loop thread, at once
        (``on_done`` runs in that greenlet, maybe after the function waited with
        ``loop_engine.wait``).  "threads": in the worker pool, and ``on_done`` runs in
        the worker thread too, so it may only write to connections (thread-safe) and
        pop from dicts.  Returns False (and calls nothing) when ``max_pending`` calls
        are already running.  Exceptions are logged once to ``gateway.app``.
        """
        if self._pending >= self.max_pending:
            return False
        pool = self._pool
        if pool is None:
            with self._pending_lock:
                self._pending += 1
            parent = getcurrent()
            if isinstance(parent, CoreGreenlet):
                parent = parent.parent
            idle = self._idle_cores
            g = idle.pop() if idle else None
            if g is None or g.parent is not parent or g.dead:
                g = _CallGreenlet(self._core_main, parent, Core(0, self._core_engine))
            else:
                core = g.core
                core.pending = None
                core.ready_fd = -1
            if g.switch(_JOB, func, args, on_done) is _IDLE:
                # finished without suspending: nothing can hold a wake-up for it, reuse it
                if len(idle) < 32:
                    idle.append(g)
            else:
                g.suspended = True  # parked in a wait: it ends with this call
            return True
        if pool.closed:
            return False
        with self._pending_lock:
            self._pending += 1
        pool.jobs.put((func, args, on_done))
        return True

    def _core_main(self, mark: Any, func: Callable[..., Any], args: Tuple[Any, ...], on_done: Callable[[bool, Any], None]) -> None:
        """Body of an inline call's greenlet: run calls until one suspends.

        A greenlet whose call never switched away is offered back to
        :meth:`call_python` (switching ``_IDLE`` to it); one that waited ends with
        its call, so a stray wake-up can never land in a later call.
        """
        g = getcurrent()
        while True:
            if mark is _JOB:
                self._run_call(func, args, on_done)
                if g.suspended:
                    return
            job = g.parent.switch(_IDLE)
            if job.__class__ is tuple and len(job) == 4:
                mark, func, args, on_done = job
            else:  # a stray switch() into an idle core: ignore it
                mark = None

    def _run_call(self, func: Callable[..., Any], args: Tuple[Any, ...], on_done: Callable[[bool, Any], None]) -> None:
        """Body of a call (greenlet or worker thread)."""
        try:
            value = func(*args)
        except Exception as e:
            app_log.error("erlang: %s raised", _describe(func), exc_info=True)
            ok, value = False, e
        else:
            ok = True
        with self._pending_lock:
            self._pending -= 1
        try:
            on_done(ok, value)
        except Exception:
            gen_log.error("erlang: failed to deliver the result of %s", _describe(func), exc_info=True)


    # ------------------------------------------------------------------ incoming

    def _bad_message(self, conn: Connection, ev: dist.BadMessage) -> None:
        gen_log.info("erlang: dropped a message from %s: %s", conn.peer_name, ev.reason)
        ctrl = ev.control
        if ctrl and ctrl[0] in (dist.SEND_SENDER, dist.SEND) and len(ctrl) >= 3:
            to = ctrl[2]
            if to == conn.pid and len(conn.calls) == 1:
                # only one call can be the addressee: fail it rather than let it time out
                ref, fut = conn.calls.popitem()
                if not fut.done():
                    fut.set_exception(ErlangProtocolError(ev.reason))

    def _dispatch(self, conn: Connection, msg: dist.Message) -> None:
        ctrl = msg.control
        op = ctrl[0]
        if op == dist.SEND_SENDER:
            self._deliver(conn, ctrl[2], msg.payload)
        elif op == dist.REG_SEND:
            self._reg_send(conn, ctrl[1], ctrl[3], msg.payload)
        elif op == dist.SEND:
            self._deliver(conn, ctrl[2], msg.payload)
        elif op == dist.ALIAS_SEND:
            self._deliver_alias(conn, ctrl[2], msg.payload)
        elif op == dist.SPAWN_REQUEST:
            _rex().spawn_request(self, conn, ctrl, msg.payload)
        elif op == dist.MONITOR_P:
            self._monitor(conn, ctrl[1], ctrl[2], ctrl[3])
        elif op == dist.DEMONITOR_P:
            ref = ctrl[3]
            conn.monitors.pop(ref, None)
            spawned = conn.spawned_by_req.get(ref)
            if spawned is not None:
                spawned.monitor = False
        elif op == dist.LINK:
            self._link(conn, ctrl[1], ctrl[2])
        elif op == dist.UNLINK_ID:
            _, uid, frm, to = ctrl
            conn.links.discard((frm, to))
            conn.send_ctrl((dist.UNLINK_ID_ACK, uid, to, frm))
        elif op == dist.UNLINK:
            conn.links.discard((ctrl[1], ctrl[2]))
        elif op in dist.TRACE_TOKEN_OPS:
            plain = dist.TRACE_TOKEN_OPS[op]
            self._dispatch(conn, dist.Message((plain,) + tuple(ctrl[1:-1]), msg.payload))
        elif op in (dist.EXIT, dist.EXIT2, dist.PAYLOAD_EXIT, dist.PAYLOAD_EXIT2):
            # Python processes ignore exit signals; a broken link is forgotten.
            conn.links.discard((ctrl[1], ctrl[2]))
        # MONITOR_P_EXIT, SPAWN_REPLY, UNLINK_ID_ACK, GROUP_LEADER, NODE_LINK: nothing to do

    def _deliver(self, conn: Connection, to: Any, payload: Any) -> None:
        if to == conn.pid:
            if payload.__class__ is tuple and len(payload) == 2:
                fut = conn.calls.pop(payload[0], None) if payload[0].__class__ is Reference else None
                if fut is not None:
                    conn._woke = True
                    if not fut.done():
                        fut.set_result(payload[1])
                    return
            conn.deliver(payload)
            return
        if to.__class__ is not Pid or not self.is_ours(to):
            return  # another incarnation of ours (or garbage): dropped, as Erlang does
        name = self._pid_names.get(to)
        if name is not None:
            self._to_process(conn, name, None, payload)
            return
        conn.deliver(payload)

    def _deliver_alias(self, conn: Connection, alias: Any, payload: Any) -> None:
        fut = conn.calls.pop(alias, None)
        if fut is not None:
            conn._woke = True
            if not fut.done() and payload.__class__ is tuple and len(payload) == 2:
                fut.set_result(payload[1])
            return
        conn.deliver(payload)

    def _reg_send(self, conn: Connection, frm: Any, name: Any, payload: Any) -> None:
        if name == "rex":
            _rex().rex_message(self, conn, frm, payload)
        elif name == "net_kernel":
            self._net_kernel(conn, payload)
        elif name in self._processes:
            self._to_process(conn, name, frm, payload)
        else:
            self._unregistered(conn, frm, name, payload)

    def _net_kernel(self, conn: Connection, payload: Any) -> None:
        # net_adm:ping/1: {'$gen_call', {From, Tag}, {is_auth, Node}} -> yes (pong)
        if payload.__class__ is tuple and len(payload) == 3 and payload[0] == "$gen_call":
            frm = payload[1]
            req = payload[2]
            if frm.__class__ is tuple and len(frm) == 2 and req.__class__ is tuple and req and req[0] == "is_auth":
                conn.send_to_pid(conn.pid, frm[0], (frm[1], Atom("yes")))

    def _to_process(self, conn: Connection, name: str, frm: Any, payload: Any) -> None:
        func = self._processes.get(name)
        if func is None:
            return
        sender = self._process_pids.get(name, conn.pid)
        gen_call = _as_gen_call(payload)
        if gen_call is not None:
            (to, tag), request = gen_call

            def reply(ok: bool, value: Any) -> None:
                if not ok:
                    value = (Atom("error"), _exception_term(value))
                _safe_send(conn, sender, to, (tag, value), lambda e: (tag, (Atom("error"), _exception_term(e))))

            if not self.call_python(func, (request,), reply):
                gen_log.warning("erlang: too many Python calls pending (max %d): dropped a call to %s", self.max_pending, name)
            return
        if not self.call_python(func, (payload,), _ignore_result):
            gen_log.warning("erlang: too many Python calls pending (max %d): dropped a message to %s", self.max_pending, name)

    def _unregistered(self, conn: Connection, frm: Any, name: Any, payload: Any) -> None:
        """A message for a name nobody registered: ``uwsgi.erlang_func`` if the app
        set one (its non-None result goes back to the sender, as uWSGI 0.9 did),
        else the connection's mailbox."""
        legacy = getattr(sys.modules.get("uwsgi"), "erlang_func", None)
        if legacy is None or not callable(legacy):
            conn.deliver(payload)
            return

        def done(ok: bool, value: Any) -> None:
            if ok and value is not None and frm.__class__ is Pid:
                _safe_send(conn, conn.pid, frm, value)

        if not self.call_python(legacy, (payload,), done):
            gen_log.warning("erlang: too many Python calls pending (max %d): dropped a message to %s", self.max_pending, name)

    def _monitor(self, conn: Connection, watcher: Pid, target: Any, ref: Any) -> None:
        if self._alive(conn, target):
            conn.monitors[ref] = (watcher, target)
        else:
            conn.send_monitor_exit(target, watcher, ref, A_NOPROC)

    def _link(self, conn: Connection, frm: Pid, to: Any) -> None:
        if self._alive(conn, to):
            conn.links.add((frm, to))
        else:
            conn.send_exit(to, frm, A_NOPROC)

    # ------------------------------------------------------------------ Python -> Erlang

    async def rpc(
        self,
        peer: str,
        module: str,
        function: str,
        args: Union[list, tuple] = (),
        timeout: Optional[float] = None,
    ) -> Any:
        """``rpc:call(peer, module, function, args)`` through the peer's ``rex``.

        Raises :class:`BadRPC` for ``{badrpc, Reason}``, :class:`ErlangTimeout`,
        :class:`NodeDown`, :class:`AuthenticationFailed`.
        """
        if not isinstance(args, (list, tuple)):
            raise TypeError("erlang_rpc args must be a list (the function's arguments), not %s" % type(args).__name__)
        timeout = self.timeout if timeout is None else timeout
        loop = self.loop
        deadline = loop.time() + timeout
        conn = self._connections.get(peer)
        if conn is None or conn.closed:
            conn = await self.connect(peer, timeout)
        fut = loop.create_future()
        ref = self._rex_call(conn, module, function, args, fut)
        if self.busy_poll:
            conn.poll_answer()
        handle = loop.call_at(deadline, _expire, conn, ref, fut, peer, module, function, timeout)
        try:
            result = await fut
        finally:
            handle.cancel()
        if result.__class__ is tuple and len(result) == 2 and result[0] == "badrpc":
            raise BadRPC(result[1])
        return result

    def _rex_call(self, conn: Connection, module: Any, function: Any, args: Any, waiter: Any) -> Reference:
        """Send ``{'$gen_call', {Self, Ref}, {call, M, F, A, user}}`` to the peer's rex;
        ``waiter`` (anything with ``done``/``set_result``/``set_exception``) gets the
        answer.  Any thread (refs are atomic, writes locked)."""
        ref = self.new_ref()
        pid = conn.pid
        data = conn.encode_to_name(pid, A_REX, _RawTerm(encode_rex_call(pid, ref, module, function, args)))
        conn.calls[ref] = waiter
        try:
            conn.write(data)
        except BaseException:
            conn.calls.pop(ref, None)
            raise
        return ref

    def ready(self, peer: str) -> Optional[Connection]:
        """The established connection to ``peer``, or None (then connect first)."""
        conn = self._connections.get(peer)
        if conn is None or conn.closed or not conn.established:
            return None
        return conn

    def rpc_blocking(
        self, conn: Connection, module: str, function: str, args: Union[list, tuple] = (), timeout: Optional[float] = None
    ) -> Any:
        """:meth:`rpc` for a thread other than the loop's, on an established ``conn``.

        The calling thread encodes and writes the request itself and sleeps on a
        lock the loop releases when the answer arrives: no task, no hop to the loop.
        """
        if not isinstance(args, (list, tuple)):
            raise TypeError("erlang_rpc args must be a list (the function's arguments), not %s" % type(args).__name__)
        timeout = self.timeout if timeout is None else timeout
        call = _BlockingCall()
        ref = self._rex_call(conn, module, function, args, call)
        if not call.lock.acquire(True, max(timeout, 0.0)):
            conn.calls.pop(ref, None)
            if call.give_up():
                raise ErlangTimeout("rpc %s:%s on %s: no answer within %.3gs" % (module, function, conn.peer_name, timeout))
        return _rpc_result(call.result())

    def rpc_in_core(
        self, conn: Connection, module: str, function: str, args: Union[list, tuple] = (), timeout: Optional[float] = None
    ) -> Any:
        """:meth:`rpc` for an async core (a request, an inline call) on an established
        ``conn``: the core sleeps on a :class:`loop_engine.Waiter` the answer fires."""
        if not isinstance(args, (list, tuple)):
            raise TypeError("erlang_rpc args must be a list (the function's arguments), not %s" % type(args).__name__)
        timeout = self.timeout if timeout is None else timeout
        call = _CoreCall()
        ref = self._rex_call(conn, module, function, args, call)
        if self.busy_poll:
            conn.poll_answer()
        try:
            result = call.waiter.wait(max(timeout, 0.0))
        except CoreTimeout:
            conn.calls.pop(ref, None)
            raise ErlangTimeout(
                "rpc %s:%s on %s: no answer within %.3gs" % (module, function, conn.peer_name, timeout)
            ) from None
        return _rpc_result(result)

    def send_now(self, conn: Connection, dest: Any, msg: Any) -> None:
        """:meth:`send` on an established ``conn``, from any thread, without waiting."""
        if dest.__class__ is Pid:
            conn.send_to_pid(conn.pid, dest, msg)
        elif isinstance(dest, str):
            conn.send_to_name(conn.pid, _atom(dest), msg)
        elif isinstance(dest, tuple) and len(dest) == 3 and all(isinstance(x, int) for x in dest):
            conn.send_to_pid(conn.pid, Pid(conn.peer_atom or Atom(conn.peer_name or ""), dest[0], dest[1], dest[2]), msg)
        else:
            raise TypeError("destination must be a process name, a Pid or an (id, serial, creation) tuple, not %r" % (dest,))

    async def send(self, peer: str, dest: Any, msg: Any, timeout: Optional[float] = None) -> None:
        """Send ``msg`` to ``dest`` on ``peer``: a registered name (str/Atom), a
        :class:`~.etf.Pid`, or a uWSGI-style ``(id, serial, creation)`` tuple."""
        conn = self._connections.get(peer)
        if conn is None or conn.closed:
            conn = await self.connect(peer, timeout)
        self.send_now(conn, dest, msg)

    async def recv(self, peer: str, timeout: Optional[float] = None) -> Any:
        """The next message queued on the connection to ``peer`` (waiting up to ``timeout``)."""
        conn = self._connections.get(peer)
        if conn is None or conn.closed:
            conn = await self.connect(peer, timeout)
        if conn.mailbox:
            return conn.mailbox.popleft()
        timeout = self.timeout if timeout is None else timeout
        fut = self.loop.create_future()
        conn.receivers.append(fut)
        if self.busy_poll:
            conn.poll_answer()
        handle = self.loop.call_later(max(timeout, 0.0), _expire_recv, conn, fut, peer, timeout)
        try:
            return await fut
        finally:
            handle.cancel()

    def recv_blocking(self, conn: Connection, timeout: Optional[float] = None) -> Any:
        """:meth:`recv` for another thread than the loop's, on an established ``conn``."""
        mailbox = conn.mailbox
        try:
            return mailbox.popleft()
        except IndexError:
            pass
        timeout = self.timeout if timeout is None else timeout
        call = _BlockingCall()
        conn.receivers.append(call)
        # a message may have been queued between our look and our registration
        if mailbox and not call.finished:
            self.loop.call_soon_threadsafe(_feed_receivers, conn)
        if not call.lock.acquire(True, max(timeout, 0.0)):
            try:
                conn.receivers.remove(call)
            except ValueError:
                pass
            if call.give_up():
                raise ErlangTimeout("no message from %s within %.3gs" % (conn.peer_name, timeout))
        return call.result()

    def recv_in_core(self, conn: Connection, timeout: Optional[float] = None) -> Any:
        """:meth:`recv` for an async core, on an established ``conn``."""
        if conn.mailbox:
            return conn.mailbox.popleft()
        timeout = self.timeout if timeout is None else timeout
        call = _CoreCall()
        conn.receivers.append(call)
        if self.busy_poll:
            conn.poll_answer()
        try:
            return call.waiter.wait(max(timeout, 0.0))
        except CoreTimeout:
            try:
                conn.receivers.remove(call)
            except ValueError:
                pass
            raise ErlangTimeout("no message from %s within %.3gs" % (conn.peer_name, timeout)) from None

    def self_pid(self, peer: str) -> Optional[Pid]:
        """The pid our messages to ``peer`` come from (None if not connected)."""
        conn = self._connections.get(peer)
        return conn.pid if conn is not None else None


# ---------------------------------------------------------------------- helpers


def _expire(conn: Connection, ref: Any, fut: "asyncio.Future[Any]", peer: str, module: str, function: str, timeout: float) -> None:
    conn.calls.pop(ref, None)
    if not fut.done():
        fut.set_exception(ErlangTimeout("rpc %s:%s on %s: no answer within %.3gs" % (module, function, peer, timeout)))


class _BlockingCall:
    """A call waited for by a thread: the loop releases ``lock`` with the answer.

    ``set_result`` returns False if the thread gave up (timed out) first, so a
    message offered to it can go to the next receiver instead of being lost.
    """

    __slots__ = ("lock", "state", "finished", "abandoned", "value", "exc")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.state = threading.Lock()
        self.finished = False
        self.abandoned = False
        self.value: Any = None
        self.exc: Optional[BaseException] = None

    def done(self) -> bool:
        return self.finished or self.abandoned

    def set_result(self, value: Any) -> bool:
        with self.state:
            if self.finished or self.abandoned:
                return False
            self.value = value
            self.finished = True
        self.lock.release()
        return True

    def set_exception(self, exc: BaseException) -> bool:
        with self.state:
            if self.finished or self.abandoned:
                return False
            self.exc = exc
            self.finished = True
        self.lock.release()
        return True

    def give_up(self) -> bool:
        """The waiting thread timed out: True unless the answer came first."""
        with self.state:
            if self.finished:
                return False
            self.abandoned = True
            return True

    def result(self) -> Any:
        if self.exc is not None:
            raise self.exc
        return self.value


class _CoreCall:
    """A call waited for by an async core (a :class:`loop_engine.Waiter`)."""

    __slots__ = ("waiter",)

    def __init__(self) -> None:
        self.waiter = Waiter()

    def done(self) -> bool:
        return self.waiter.done

    def set_result(self, value: Any) -> None:
        self.waiter.fire(value)

    def set_exception(self, exc: BaseException) -> None:
        self.waiter.throw(exc)


def _expire_recv(conn: Connection, fut: "asyncio.Future[Any]", peer: str, timeout: float) -> None:
    try:
        conn.receivers.remove(fut)
    except ValueError:
        pass
    if not fut.done():
        fut.set_exception(ErlangTimeout("no message from %s within %.3gs" % (peer, timeout)))


def _feed_receivers(conn: Connection) -> None:
    """Hand queued messages to waiting receivers (after a race with a thread)."""
    mailbox, receivers = conn.mailbox, conn.receivers
    while mailbox and receivers:
        fut = receivers.popleft()
        if not fut.done() and fut.set_result(mailbox[0]) is not False:
            mailbox.popleft()


class _RawTerm(bytes):
    """An already encoded term (version byte included)."""

    __slots__ = ()


_PACK_LEN = struct.Struct(">I").pack
_GEN_CALL_HEAD = b"\x83h\x03" + etf.encode_body(A_GEN_CALL) + b"h\x02"
_CALL_HEAD = b"h\x05" + etf.encode_body(A_CALL)
_USER_TAIL = etf.encode_body(A_USER)
_MF_CACHE: Dict[Tuple[Any, Any], bytes] = {}


def encode_rex_call(pid: Pid, ref: Reference, module: Any, function: Any, args: Any) -> bytes:
    """``{'$gen_call', {Pid, Ref}, {call, M, F, Args, user}}`` encoded (131 included),
    spliced from cached pieces: what every ``erlang_rpc`` sends."""
    key = (module, function)
    mf = _MF_CACHE.get(key)
    if mf is None:
        mf = etf.encode_body(_atom(module)) + etf.encode_body(_atom(function))
        if len(_MF_CACHE) < 4096:
            _MF_CACHE[key] = mf
    enc = etf.encode_body
    return b"".join(
        (_GEN_CALL_HEAD, enc(pid), enc(ref), _CALL_HEAD, mf, enc(args if args.__class__ is list else list(args)), _USER_TAIL)
    )


def _rpc_result(result: Any) -> Any:
    if result.__class__ is tuple and len(result) == 2 and result[0] == "badrpc":
        raise BadRPC(result[1])
    return result


def _rex() -> Any:
    """:mod:`.rex` (it imports this module, so it is imported on first use)."""
    global _rex_module
    if _rex_module is None:
        from . import rex

        _rex_module = rex
    return _rex_module


_rex_module: Any = None


def _atom(name: Any) -> Atom:
    if name.__class__ is Atom:
        return name
    if isinstance(name, bytes):
        name = name.decode("utf-8")
    if not isinstance(name, str):
        raise TypeError("expected an atom name (str), got %r" % (name,))
    return Atom(name)


def _as_gen_call(payload: Any) -> Optional[Tuple[Tuple[Any, Any], Any]]:
    """``{'$gen_call', {From, Tag}, Request}`` -> ((From, Tag), Request), else None."""
    if payload.__class__ is tuple and len(payload) == 3 and payload[0] == "$gen_call":
        frm = payload[1]
        if frm.__class__ is tuple and len(frm) == 2 and frm[0].__class__ is Pid:
            return frm, payload[2]
    return None


def _exception_term(exc: BaseException) -> tuple:
    """A Python exception as an Erlang term: ``{python, <<"Class">>, <<"message">>}``."""
    return (Atom("python"), type(exc).__name__, str(exc))


def _safe_send(conn: Connection, sender: Pid, to: Pid, msg: Any, fallback: Any = None) -> None:
    """Send a reply; if it cannot be encoded, log it and send ``fallback`` instead."""
    try:
        conn.send_to_pid(sender, to, msg)
    except NodeDown:
        pass
    except (etf.ETFError, TypeError, ValueError) as e:
        app_log.error("erlang: cannot encode the reply to %r: %s", to, e)
        if fallback is not None:
            try:
                conn.send_to_pid(sender, to, fallback(e))
            except ErlangError:
                pass


def _ignore_result(ok: bool, value: Any) -> None:
    pass


def _describe(func: Any) -> str:
    return getattr(func, "__qualname__", None) or repr(func)
