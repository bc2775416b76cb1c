"""The Erlang C-node on the worker's IOLoop: its lifecycle, peers and public API.

One :class:`Node` per worker process (created after fork).  Everything here runs on
the loop's thread (except what is said below about writes and the two call modes);
the sans-IO machines (:mod:`.epmd`, :mod:`.handshake`, :mod:`.dist`) do the
protocol work, and the node's parts live in their own modules: :mod:`.connection`
(one per peer), :mod:`.router` (incoming messages), :mod:`.calls` (running Python
callables, waiting for Erlang), :mod:`.rex`, :mod:`.watchdog` (ticks).

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
  the loop thread is blocked, :class:`~.watchdog.TickWatchdog` (a thread) sends the ticks.
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
import itertools
import os
import secrets
import socket
import threading
from typing import Any, Callable, Dict, List, Optional, Set, Union

from .. import rpc
from ..logs import gen_log
from . import calls, dist, epmd, epmd_client, etf, rex
from . import flags as dflags
from . import handshake as hs
from . import names as nodenames
from .calls import CALL_MODES, DEFAULT_CALL_MODE, DEFAULT_MAX_CALLS, DEFAULT_RPC_THREADS, PythonCalls
from .connection import Connection
from .errors import (
    AuthenticationFailed,
    ConnectionRejected,
    ErlangError,
    ErlangProtocolError,
    ErlangTimeout,
    NodeDown,
)
from .router import Router
from .terms import A_REX, PROTOCOL_ATOMS, RawTerm, rpc_result, to_atom
from .watchdog import Ticks

Atom = etf.Atom
Pid = etf.Pid
Reference = etf.Reference

__all__ = ["CALL_MODES", "DEFAULT_CALL_MODE", "DEFAULT_RPC_THREADS", "Connection", "Node"]

#: Defaults of the named limits (the CLI exposes them as ``--erlang-*`` options).
DEFAULT_TIMEOUT = 30.0
DEFAULT_NET_TICKTIME = 60.0
DEFAULT_MAX_MAILBOX = 10000
DEFAULT_MAX_PENDING = DEFAULT_MAX_CALLS
#: Seconds a connection may spend in its handshake (Erlang's ``net_setuptime``, 7 s).
DEFAULT_HANDSHAKE_TIMEOUT = 7.0
#: Connections still in their handshake at once; more are closed at accept.
DEFAULT_MAX_HANDSHAKES = 64
#: Seconds to poll a connection for the peer's next packet before the loop sleeps,
#: after we answered it or sent it a call (0: never).  Like BEAM's scheduler
#: busy-wait: a sleep and wake-up through epoll costs about as much as a loopback
#: round trip, and a request/answer loop's next packet comes within tens of us.
DEFAULT_BUSY_POLL = 50e-6


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
    seconds), ``net_ticktime`` (as Erlang's kernel parameter), ``handshake_timeout``
    (seconds a connection may spend in its handshake) and ``max_handshakes``
    (accepted connections in their handshake at once).
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
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        max_handshakes: int = DEFAULT_MAX_HANDSHAKES,
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
        for known in PROTOCOL_ATOMS + (self.full,):
            self.atoms.pin(known)
        self.max_packet = max_packet
        self.rpc_threads = rpc_threads
        #: runs the Python callables Erlang calls (call_mode, rpc_threads, max_pending)
        self.calls = PythonCalls(self.loop, call_mode, rpc_threads, max_pending)
        self.busy_poll = max(float(busy_poll or 0.0), 0.0)
        self.max_mailbox = max_mailbox
        self.timeout = timeout
        self.net_ticktime = net_ticktime
        self.handshake_timeout = handshake_timeout
        self.max_handshakes = max_handshakes
        self._refusing = False  # accept() is closing connections past max_handshakes
        self.creation = 0
        self.port = 0
        self.running = False
        self._listener: Optional[socket.socket] = None
        self._epmd: Optional[epmd_client.EpmdClient] = None
        self._connections: Dict[str, Connection] = {}
        self._dialing: Dict[str, Connection] = {}
        self._connecting: Dict[str, "asyncio.Future[Connection]"] = {}
        self._all: Set[Connection] = set()
        self._pid_id = 0
        self._pid_serial = 0
        self._ref_base = secrets.randbits(32)
        self.router = Router(self)
        self.ticks = Ticks(self)
        self._ref_ids = itertools.count(1)
        self._thread_id: Optional[int] = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> "Node":
        """Listen, register with EPMD (connection kept open) and start ticking."""
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
            client, creation = await epmd_client.register(
                loop, self.epmd_host, self.epmd_port, self.name.alive, self.full, self.port, self.hidden, self.timeout
            )
        except BaseException:
            self._close_listener()
            raise
        self._epmd = client
        client.on_lost = self._epmd_lost
        self.creation = creation or (secrets.randbits(32) | 1)
        self.running = True
        for served in rpc.registry.names():  # the register_rpc names Erlang calls
            try:
                self.atoms.pin(served.decode("utf-8"))
            except (UnicodeDecodeError, etf.ETFError):
                pass
        self.calls.start()
        self.ticks.start()
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
            if self._handshaking() >= self.max_handshakes:
                sock.close()
                if not self._refusing:
                    self._refusing = True
                    gen_log.warning(
                        "erlang: %d connections of %s are still in their handshake (--erlang-max-handshakes): "
                        "closing new ones until one finishes or times out",
                        self.max_handshakes,
                        self.full,
                    )
                continue
            self._refusing = False
            Connection(self, hs.Role.ACCEPTOR).attach(sock)

    def _handshaking(self) -> int:
        return sum(1 for c in self._all if not c.established and not c.closed and c.role is hs.Role.ACCEPTOR)

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
        self.ticks.stop()
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
        self.calls.close()
        await asyncio.sleep(0)

    # ------------------------------------------------------------------ for the other modules

    @property
    def call_mode(self) -> str:
        return self.calls.mode

    @property
    def max_pending(self) -> int:
        return self.calls.max_pending

    @property
    def threaded(self) -> bool:
        return self.calls.threaded

    def call_python(self, func: Callable[..., Any], args: Any, on_done: Callable[[bool, Any], None]) -> bool:
        """Run ``func(*args)`` as ``call_mode`` says (:meth:`.calls.PythonCalls.call`)."""
        return self.calls.call(func, args, on_done)

    def connections(self) -> List[Connection]:
        """The peers' connections (a copy: any thread may iterate it)."""
        return list(self._connections.values())

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
            port = await epmd_client.port_please(self.loop, host, self.epmd_port, target.alive, peer)
            conn = Connection(self, hs.Role.INITIATOR, expected_peer=peer)
            self._dialing[peer] = conn
            self._all.add(conn)
            try:
                sock = await self._open(host, port)
            except OSError as e:
                self._all.discard(conn)
                if self._dialing.get(peer) is conn:
                    del self._dialing[peer]
                raise NodeDown("cannot connect to %s at %s:%d: %s" % (peer, host, port, e)) from None
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

    # ------------------------------------------------------------------ processes

    def register_process(self, name: str, func: Callable[[Any], Any]) -> Pid:
        """Make ``{name, ThisNode} ! Msg`` call ``func(Msg)`` (see ``call_mode``), one
        message at a time, in order (:meth:`.router.Router.register`).

        A ``gen_server:call({name, ThisNode}, Req)`` calls ``func(Req)`` and replies
        with its return value.  Returns the pid standing for the name.
        """
        return self.router.register(name, func)

    def unregister_process(self, name: str) -> bool:
        return self.router.unregister(name)

    def registered_names(self) -> List[str]:
        return list(self.router.processes)

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
        timeout = calls.check_rpc(self, args, timeout)
        loop = self.loop
        deadline = loop.time() + timeout
        conn = self._connections.get(peer)
        if conn is None or conn.closed:
            conn = await self.connect(peer, timeout)
        fut = loop.create_future()
        ref = self.rex_call(conn, module, function, args, fut)
        if self.busy_poll:
            conn.poll_answer()
        handle = loop.call_at(deadline, calls.expire_rpc, conn, ref, fut, peer, module, function, timeout)
        try:
            result = await fut
        finally:
            handle.cancel()
        return rpc_result(result)

    def rex_call(self, conn: Connection, module: Any, function: Any, args: Any, waiter: Any) -> Reference:
        """Send ``{'$gen_call', {Self, Ref}, {call, M, F, A, user}}`` to the peer's rex;
        ``waiter`` (anything with ``done``/``set_result``/``set_exception``) gets the
        answer.  Any thread (refs are atomic, writes locked)."""
        ref = self.new_ref()
        pid = conn.pid
        data = conn.encode_to_name(pid, A_REX, RawTerm(rex.encode_rex_call(pid, ref, module, function, args)))
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
        """:meth:`rpc` for a thread other than the loop's, on an established ``conn``
        (:func:`.calls.rpc_blocking`)."""
        return calls.rpc_blocking(self, conn, module, function, args, timeout)

    def rpc_in_core(
        self, conn: Connection, module: str, function: str, args: Union[list, tuple] = (), timeout: Optional[float] = None
    ) -> Any:
        """:meth:`rpc` for an async core on an established ``conn`` (:func:`.calls.rpc_in_core`)."""
        return calls.rpc_in_core(self, conn, module, function, args, timeout)

    def send_now(self, conn: Connection, dest: Any, msg: Any) -> None:
        """:meth:`send` on an established ``conn``, from any thread, without waiting."""
        if dest.__class__ is Pid:
            conn.send_to_pid(conn.pid, dest, msg)
        elif isinstance(dest, str):
            conn.send_to_name(conn.pid, to_atom(dest), msg)
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
        handle = self.loop.call_later(max(timeout, 0.0), calls.expire_recv, conn, fut, peer, timeout)
        try:
            return await fut
        finally:
            handle.cancel()

    def recv_blocking(self, conn: Connection, timeout: Optional[float] = None) -> Any:
        """:meth:`recv` for another thread than the loop's, on an established ``conn``."""
        return calls.recv_blocking(self, conn, timeout)

    def recv_in_core(self, conn: Connection, timeout: Optional[float] = None) -> Any:
        """:meth:`recv` for an async core, on an established ``conn``."""
        return calls.recv_in_core(self, conn, timeout)

    def self_pid(self, peer: str) -> Optional[Pid]:
        """The pid our messages to ``peer`` come from (None if not connected)."""
        conn = self._connections.get(peer)
        return conn.pid if conn is not None else None


