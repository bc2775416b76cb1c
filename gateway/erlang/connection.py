"""One distribution connection: its socket, framing, writes under a lock, mailbox.

A :class:`Connection` drives its non-blocking socket on the loop (a reader, a
writer only while output is pending), runs the handshake machine until the peer
is authenticated, then feeds :class:`~.dist.DistReader` and hands each message to
the node's router.  Writes come from any thread under ``wlock`` (see the class
docstring), so the synchronous API and the tick watchdog write directly.  After
an exchange it may busy-poll the socket (``--erlang-busy-poll``) before the loop
sleeps in epoll.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Optional, Set, Tuple

from ..logs import gen_log
from . import dist, etf
from . import flags as dflags
from . import handshake as hs
from .calls import Waiting
from .errors import AuthenticationFailed, ConnectionRejected, ErlangError, ErlangProtocolError, NodeDown
from .sending import Sending

if TYPE_CHECKING:  # pragma: no cover
    from .node import Node

Atom = etf.Atom
Pid = etf.Pid
Reference = etf.Reference

#: Bytes asked of the kernel per read.  Not more: ``sock.recv(n)`` allocates n
#: bytes first, and past glibc's mmap threshold (128 KiB) that costs an
#: mmap/munmap pair per read (measured 10 us per recv of 256 KiB, 1 us of 64 KiB).
READ_SIZE = 64 * 1024
#: Reads one busy poll may handle before the loop gets its turn again.
BUSY_POLL_ROUNDS = 64
#: Seconds one busy poll may take in all (spinning and handling what it read):
#: then HTTP and the other connections get their turn.
BUSY_POLL_BUDGET = 1e-3
#: Messages handled per loop turn and connection; the rest waits for the next
#: turn (reading pauses meanwhile), so a flood of calls cannot starve HTTP.
MAX_EVENTS_PER_TURN = 32
_monotonic = time.monotonic


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


class Spawned:
    """An Erlang-spawned "process" running a Python function for an rpc."""

    __slots__ = ("pid", "req_id", "requester", "monitor", "link", "reply")

    def __init__(self, pid: Pid, req_id: Any, requester: Pid, monitor: bool, link: bool) -> None:
        self.pid = pid
        self.req_id = req_id
        self.requester = requester
        self.monitor = monitor
        self.link = link
        # the SPAWN_REPLY packet while it is held back (see :func:`.rex.spawn_request`)
        self.reply: Optional[bytes] = None


class Connection(Sending):
    """One distribution connection (either role) and its per-peer state.

    The connection drives its non-blocking socket itself (a reader on the loop, a
    writer only while output is pending) rather than through an asyncio transport,
    because more than the loop thread writes to it:

    * every write goes through :meth:`write`, which holds ``wlock`` while it sends
      (or, when the kernel takes only part, queues the rest in ``_wbuf``, later
      packets behind it, until the loop's writer drains it), so packets never
      interleave, whoever writes;
    * other threads use :meth:`write` too: the synchronous API sends its request
      itself (see :func:`.calls.rpc_blocking`) instead of hopping to the loop first;
    * the tick watchdog (:class:`~.watchdog.TickWatchdog`) ticks from its own thread while the
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
        # messages read but left for later loop turns (MAX_EVENTS_PER_TURN); reading
        # is paused while there are some
        self._backlog: Optional[Deque[Any]] = None
        self._paused = False
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
        self._setup_timer: Optional[asyncio.TimerHandle] = None
        self.last_read = self.last_write = _monotonic()
        self.pid = node.new_pid()
        # Python -> Erlang calls waiting for {Ref, Result}: ref -> future
        self.calls: Dict[Reference, Waiting] = {}
        self.mailbox: Deque[Any] = collections.deque()
        self.receivers: Deque[Waiting] = collections.deque()
        # remote monitors of our processes: ref -> (watcher pid, target pid or name)
        self.monitors: Dict[Any, Tuple[Pid, Any]] = {}
        # links between remote pids and ours: (remote, ours)
        self.links: Set[Tuple[Pid, Pid]] = set()
        # rpc functions Erlang spawned on us, by their pid and by the spawn ReqId
        self.spawned: Dict[Pid, Spawned] = {}
        self.spawned_by_req: Dict[Any, Spawned] = {}
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
        self._setup_timer = self.loop.call_later(self.node.handshake_timeout, self._handshake_expired)
        if self.role is hs.Role.INITIATOR:
            try:
                self.write(self.handshake.initiate())
            except NodeDown:
                pass

    def _on_readable(self) -> None:
        # Handling a read-ahead may read ahead again (a core's poll_answer): every
        # stashed byte goes before what the socket holds now, or packets reorder.
        while self._stash is not None:
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
        if self.last_write != wrote and not self._woke and not self.node.calls.threaded:
            self._busy_poll(sock)

    def poll_answer(self) -> None:
        """We (a coroutine or core on the loop thread) just sent a request: poll the
        socket for up to ``busy_poll`` seconds.  What arrives is kept in ``_stash``
        and handed to :meth:`data_received` by a loop callback (in order: the reader
        drains the stash first), so the loop does not sleep in epoll and get woken
        up for the answer; the caller then waits as usual."""
        sock = self.sock
        if sock is None or self._stash is not None or self._backlog is not None:
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
        stop = end - budget + BUSY_POLL_BUDGET
        for _ in range(BUSY_POLL_ROUNDS):
            if self._backlog is not None or _monotonic() >= stop:
                return  # enough for this turn: the loop (HTTP included) goes first
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
        if self._setup_timer is not None:
            self._setup_timer.cancel()
            self._setup_timer = None
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
        if self._backlog is not None:  # behind what earlier turns left
            self._backlog.extend(events)
            return
        if len(events) > MAX_EVENTS_PER_TURN:
            self._backlog = collections.deque(events)
            self._pause_reading()
            self._handle_backlog()
            return
        self._handle(events)

    def _handle_backlog(self) -> None:
        """Handle the next ``MAX_EVENTS_PER_TURN`` messages of the backlog; the
        loop runs everything else ready (HTTP included) before the next batch."""
        backlog = self._backlog
        if backlog is None or self.closed:
            self._backlog = None
            return
        popleft = backlog.popleft
        self._handle([popleft() for _ in range(min(MAX_EVENTS_PER_TURN, len(backlog)))])
        if backlog and not self.closed:
            self.loop.call_soon(self._handle_backlog)
            return
        self._backlog = None
        if not self.closed:
            self._resume_reading()

    def _pause_reading(self) -> None:
        if not self._paused and self.sock is not None:
            self._paused = True
            self.loop.remove_reader(self.fd)

    def _resume_reading(self) -> None:
        if self._paused and self.sock is not None:
            self._paused = False
            self.loop.add_reader(self.fd, self._on_readable)

    def _handle(self, events: Any) -> None:
        dispatch = self.node.router.dispatch
        for ev in events:
            if ev.__class__ is dist.Message:
                try:
                    dispatch(self, ev)
                except Exception as e:  # a bug or a term of an unexpected shape: one message lost
                    gen_log.info("erlang: could not handle %r from %s: %s", ev.control, self.peer_name, e, exc_info=True)
            elif ev is dist.TICK:
                self.write(dist.TICK_BYTES)
            else:
                self.node.router.bad_message(self, ev)
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

    def _handshake_expired(self) -> None:
        self._setup_timer = None
        if not self.established and not self.closed:
            gen_log.info(
                "erlang: closing a connection %s %s: no handshake within %.3gs (--erlang-handshake-timeout)",
                "to" if self.role is hs.Role.INITIATOR else "from",
                self.peer_name or self._address(),
                self.node.handshake_timeout,
            )
            self.abort(NodeDown("handshake with %s timed out" % (self.peer_name or self._address())))

    def _address(self) -> str:
        try:
            return "%s:%d" % self.sock.getpeername()[:2]  # type: ignore[union-attr]
        except (OSError, AttributeError, TypeError):
            return "an unknown address"

    def _handshake_data(self, data: bytes) -> None:
        try:
            out, events = self.handshake.receive_data(data)
        except ErlangError as e:
            if isinstance(e, AuthenticationFailed) and self.role is hs.Role.ACCEPTOR:
                # what Erlang's dist_util logs for a wrong cookie
                gen_log.error(
                    "erlang: ** Connection attempt from node %s rejected. Invalid challenge reply. **",
                    self.handshake.peer_name,
                )
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
        try:
            self.peer_atom = self.node.atoms.pin(ev.peer_name)  # its pids always decode
        except etf.ETFError:
            self.peer_atom = Atom(ev.peer_name)
        self.peer_flags = ev.peer_flags
        self.peer_creation = ev.peer_creation
        self._send_sender = bool(ev.peer_flags & dflags.SEND_SENDER)
        self._exit_payload = bool(ev.peer_flags & dflags.EXIT_PAYLOAD)
        self.reader = dist.DistReader(self.node.max_packet, self.node.atoms, ev.peer_name)
        self.established = True
        if self._setup_timer is not None:
            self._setup_timer.cancel()
            self._setup_timer = None
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

    def write_spawned(self, spawned: Spawned, data: bytes = b"") -> None:
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
