"""The incoming-message router: each decoded distribution message to its handler.

:meth:`Router.dispatch` runs on the loop for every message a connection decodes.
Answers to our own calls complete their waiters; messages to a connection's pid
fill its mailbox; ``rex`` and ``SPAWN_REQUEST`` go to :mod:`.rex`; ``net_kernel``
answers ``net_adm:ping``; registered names run their Python callables; monitors
and links get Erlang's answers (``noproc`` for what does not exist).
"""

from __future__ import annotations

import collections
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Tuple

from ..logs import gen_log
from . import dist, etf, rex
from .errors import ErlangProtocolError, NodeDown
from .terms import A_ERROR, A_NOPROC, A_SYSTEM_LIMIT, A_YES, NODE_PROCESSES, as_gen_call, exception_reason

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection
    from .node import Node

Pid = etf.Pid
Reference = etf.Reference


class Process:
    """A registered name served by a Python callable, and its mailbox.

    ``mailbox`` holds ``(connection, message)`` pairs not handled yet; ``running``
    is True while a handler runs (or waits) for one of them."""

    __slots__ = ("name", "func", "pid", "mailbox", "running", "pumping")

    def __init__(self, name: str, func: Callable[[Any], Any], pid: Pid) -> None:
        self.name = name
        self.func = func
        self.pid = pid
        self.mailbox: Deque[Tuple["Connection", Any]] = collections.deque()
        self.running = False
        self.pumping = False  # Router._pump is on the stack (loop thread)


class Router:
    """Routes the messages of every connection of ``node``."""

    def __init__(self, node: "Node") -> None:
        self.node = node
        #: registered names served by Python callables, and their pids' names
        self.processes: Dict[str, Process] = {}
        self.pid_names: Dict[Pid, str] = {}

    # ---- registered processes

    def register(self, name: str, func: Callable[[Any], Any]) -> Pid:
        """Serve the registered name ``name`` with ``func``; its pid."""
        if not isinstance(name, str) or not name:
            raise ValueError("Erlang process name must be a non-empty str")
        if len(name) > etf.MAX_ATOM_CHARS:
            raise ValueError("Erlang process name longer than %d characters" % etf.MAX_ATOM_CHARS)
        if name in NODE_PROCESSES:
            raise ValueError("%r is served by the node itself and cannot be registered" % name)
        if not callable(func):
            raise TypeError("erlang_register_process(%r): %r is not callable" % (name, func))
        self.node.atoms.pin(name)
        proc = self.processes.get(name)
        if proc is None:
            proc = self.processes[name] = Process(name, func, self.node.new_pid())
            self.pid_names[proc.pid] = name
        proc.func = func
        return proc.pid

    def unregister(self, name: str) -> bool:
        """Forget ``name``: its queued messages go, its monitors fire ``noproc``."""
        proc = self.processes.pop(name, None)
        if proc is None:
            return False
        proc.mailbox.clear()  # the process is gone, and its messages with it
        pid = proc.pid
        self.pid_names.pop(pid, None)
        for conn in self.node.connections():
            for ref, (watcher, target) in list(conn.monitors.items()):
                if target == name or target == pid:
                    del conn.monitors[ref]
                    try:
                        conn.send_monitor_exit(target, watcher, ref, A_NOPROC)
                    except NodeDown:
                        pass
        return True

    # ---- incoming

    def bad_message(self, conn: "Connection", ev: dist.BadMessage) -> None:
        """A message whose payload did not decode (nested past ``max_depth``, an atom
        the full table refused, garbage): answer whoever waits for it at once, with
        an error, as far as the decodable part tells who that is."""
        gen_log.info("erlang: dropped a message from %s: %s", conn.peer_name, ev.reason)
        ctrl = ev.control
        if not ctrl:
            return
        op = dist.TRACE_TOKEN_OPS.get(ctrl[0], ctrl[0])
        if op == dist.SPAWN_REQUEST and len(ctrl) >= 3:
            # rpc:call/erpc: the spawn failed; the caller gets {badrpc, ...} / an erpc error
            conn.write(dist.encode_spawn_reply(ctrl[1], ctrl[2], 0, A_SYSTEM_LIMIT))
            return
        try:
            payload = etf.decode_shallow(ev.packet, ev.offset, atoms=self.node.atoms)
        except etf.ETFError:
            payload = None
        if op in (dist.SEND_SENDER, dist.SEND, dist.ALIAS_SEND) and len(ctrl) >= 3:
            if self._fail_call(conn, ctrl[2] if op == dist.ALIAS_SEND else payload, ev.reason):
                return
            if ctrl[2] == conn.pid and len(conn.calls) == 1:
                # only one call can be the addressee: fail it rather than let it time out
                self._fail_call(conn, next(iter(conn.calls)), ev.reason)
            return
        if op == dist.REG_SEND and len(ctrl) >= 4 and payload is not None:
            name = ctrl[3]
            if name == "rex":
                rex.refuse(conn, payload)
            elif name in self.processes:
                gen_call = as_gen_call(payload)
                if gen_call is not None:
                    (to, tag), _ = gen_call
                    conn.reply(self.processes[name].pid, to, (tag, (A_ERROR, A_SYSTEM_LIMIT)))

    def _fail_call(self, conn: "Connection", key: Any, reason: str) -> bool:
        """Fail our call waiting on ``key`` (a reference, or an ``{Ref, _}`` answer)."""
        if key.__class__ is tuple and len(key) == 2:
            key = key[0]
        if key.__class__ is not Reference:
            return False
        fut = conn.calls.pop(key, None)
        if fut is None:
            return False
        if not fut.done():
            fut.set_exception(ErlangProtocolError(reason))
        return True

    def dispatch(self, conn: "Connection", msg: dist.Message) -> None:
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
            rex.spawn_request(self.node, conn, ctrl, msg.payload)
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
            self.dispatch(conn, dist.Message((plain,) + tuple(ctrl[1:-1]), msg.payload))
        elif op in (dist.EXIT, dist.EXIT2, dist.PAYLOAD_EXIT, dist.PAYLOAD_EXIT2):
            # Python processes ignore exit signals; a broken link is forgotten.
            conn.links.discard((ctrl[1], ctrl[2]))
        # MONITOR_P_EXIT, SPAWN_REPLY, UNLINK_ID_ACK, GROUP_LEADER, NODE_LINK: nothing to do

    def _deliver(self, conn: "Connection", to: Any, payload: Any) -> None:
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
        if to.__class__ is not Pid or not self.node.is_ours(to):
            return  # another incarnation of ours (or garbage): dropped, as Erlang does
        name = self.pid_names.get(to)
        if name is not None:
            self._to_process(conn, name, None, payload)
            return
        conn.deliver(payload)

    def _deliver_alias(self, conn: "Connection", alias: Any, payload: Any) -> None:
        fut = conn.calls.pop(alias, None)
        if fut is not None:
            conn._woke = True
            if not fut.done() and payload.__class__ is tuple and len(payload) == 2:
                fut.set_result(payload[1])
            return
        conn.deliver(payload)

    def _reg_send(self, conn: "Connection", frm: Any, name: Any, payload: Any) -> None:
        if name == "rex":
            rex.rex_message(self.node, conn, frm, payload)
        elif name == "net_kernel":
            self._net_kernel(conn, payload)
        elif name in self.processes:
            self._to_process(conn, name, frm, payload)
        else:
            self._unregistered(conn, frm, name, payload)

    def _net_kernel(self, conn: "Connection", payload: Any) -> None:
        # net_adm:ping/1: {'$gen_call', {From, Tag}, {is_auth, Node}} -> yes (pong)
        if payload.__class__ is tuple and len(payload) == 3 and payload[0] == "$gen_call":
            frm = payload[1]
            req = payload[2]
            if frm.__class__ is tuple and len(frm) == 2 and req.__class__ is tuple and req and req[0] == "is_auth":
                conn.send_to_pid(conn.pid, frm[0], (frm[1], A_YES))

    def _to_process(self, conn: "Connection", name: str, frm: Any, payload: Any) -> None:
        """Queue a message for a registered process and run its handler if idle.

        Erlang mailbox semantics: each process handles its messages one at a time,
        in arrival order; they are queued (never dropped) while it is busy."""
        proc = self.processes.get(name)
        if proc is None:
            return
        proc.mailbox.append((conn, payload))
        if not proc.running:
            self._pump(proc)

    def _pump(self, proc: "Process") -> None:
        """Start handlers for ``proc``'s queued messages, one at a time (loop thread).

        A handler that finishes at once (inline, not waiting) lets the loop go on
        with the next message; one that waits (or runs in a thread) calls back here
        through the loop when it is done."""
        calls = self.node.calls
        mailbox = proc.mailbox
        proc.pumping = True
        try:
            while mailbox and not proc.running:
                conn, payload = mailbox.popleft()
                proc.running = True
                gen_call = as_gen_call(payload)
                if gen_call is not None:
                    args = (gen_call[1],)
                    done = self._gen_call_done(proc, conn, gen_call[0])
                else:
                    args = (payload,)
                    done = self._message_done(proc)
                if not calls.call(proc.func, args, done, bounded=False):  # the node is stopping
                    proc.running = False
                    mailbox.clear()
        finally:
            proc.pumping = False

    def _finished(self, proc: "Process") -> None:
        """A handler of ``proc`` returned (any thread): the next message may run."""
        proc.running = False
        if not proc.mailbox:
            return
        if threading.get_ident() != self.node._thread_id:
            self.node.loop.call_soon_threadsafe(self._pump, proc)
        elif not proc.pumping:  # else the pump on the stack goes on with the next one
            self.node.loop.call_soon(self._pump, proc)

    def _message_done(self, proc: "Process") -> Callable[[bool, Any], None]:
        def done(ok: bool, value: Any) -> None:
            self._finished(proc)

        return done

    def _gen_call_done(self, proc: "Process", conn: "Connection", frm: Any) -> Callable[[bool, Any], None]:
        to, tag = frm

        def done(ok: bool, value: Any) -> None:
            if not ok:
                value = (A_ERROR, exception_reason(value))
            conn.reply(proc.pid, to, (tag, value), lambda e: (tag, (A_ERROR, exception_reason(e))))
            self._finished(proc)

        return done

    def _unregistered(self, conn: "Connection", frm: Any, name: Any, payload: Any) -> None:
        """A message for a name nobody registered: ``uwsgi.erlang_func`` if the app
        set one (its non-None result goes back to the sender, as uWSGI 0.9 did),
        else the connection's mailbox."""
        legacy = getattr(sys.modules.get("uwsgi"), "erlang_func", None)
        if legacy is None or not callable(legacy):
            conn.deliver(payload)
            return

        def done(ok: bool, value: Any) -> None:
            if ok and value is not None and frm.__class__ is Pid:
                conn.reply(conn.pid, frm, value)

        if not self.node.call_python(legacy, (payload,), done):
            self._overloaded("a message", name)

    def _monitor(self, conn: "Connection", watcher: Pid, target: Any, ref: Any) -> None:
        if self._alive(conn, target):
            conn.monitors[ref] = (watcher, target)
        else:
            conn.send_monitor_exit(target, watcher, ref, A_NOPROC)

    def _link(self, conn: "Connection", frm: Pid, to: Any) -> None:
        if self._alive(conn, to):
            conn.links.add((frm, to))
        else:
            conn.send_exit(to, frm, A_NOPROC)

    def _alive(self, conn: "Connection", target: Any) -> bool:
        node = self.node
        if target.__class__ is Pid:
            if not node.is_ours(target):
                return False
            return target == conn.pid or target in self.pid_names or target in conn.spawned
        return target in NODE_PROCESSES or target in self.processes

    def _overloaded(self, what: str, name: Any) -> None:
        gen_log.warning(
            "erlang: too many Python calls pending (--erlang-max-calls %d): dropped %s to %s",
            self.node.max_pending,
            what,
            name,
        )
