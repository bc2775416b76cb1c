"""Erlang calling Python: ``rpc:call(ThisNode, AnyModule, name, Args)`` -> ``register_rpc``.

The function name is looked up in :data:`gateway.rpc.registry` (the module is
ignored, as uWSGI did) and the function runs as the node's ``call_mode`` says:
inline in a greenlet core (the default; a blocking function stalls the loop but
the tick watchdog keeps the connections alive) or in the thread pool.  Two wire paths reach us:

* **erpc** (every ``rpc:call``/``erpc:call``/``rpc:cast`` from OTP 25+): a
  ``SPAWN_REQUEST`` for ``erpc:execute_call/4`` (args ``[ResRef, M, F, A]``) or
  ``erpc:execute_cast/3`` (args ``[M, F, A]``).  We answer ``SPAWN_REPLY`` with a
  fresh pid, run the function, then signal the monitor with the reason Erlang's
  ``erpc`` expects: ``{ResRef, return, Value}`` on success,
  ``{ResRef, error, Reason, Stack}`` on failure, so ``rpc:call`` returns ``Value``
  or ``{badrpc, {'EXIT', {Reason, Stack}}}`` exactly as against an Erlang node.  An
  unknown name is Erlang's ``undef``: ``{badrpc, {'EXIT', {undef, [{M, F, A, []}]}}}``.
* **rex** (``rpc:block_call``, OTP <= 24 callers, C nodes): ``REG_SEND`` to ``rex``
  of ``{'$gen_call', {From, Tag}, {call | block_call, M, F, A, GL}}`` (answered
  ``{Tag, Result}``), the C-node form ``{From, {call, M, F, A, GL}}`` (answered
  ``{rex, Result}``), ``{'$gen_cast', {cast, M, F, A, GL}}`` and
  ``{From, features_request}`` (answered ``{features_reply, Node, [erpc]}``).
  Failures come back as ``{badrpc, {'EXIT', ...}}``.

A Python exception becomes the reason ``{python, <<"ExceptionClass">>,
<<"message">>}`` with the stack ``[{M, F, Arity, []}]``; it is logged once, with
its traceback, on ``gateway.app``.  When ``max_pending`` functions are already
queued the call fails at once with reason ``system_limit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Protocol, Tuple

from .. import rpc
from ..logs import app_log, gen_log
from . import dist, etf
from .connection import Spawned
from .errors import NodeDown
from .terms import (
    A_BADRPC,
    A_CALL,
    A_ERROR,
    A_GEN_CALL,
    A_GEN_CAST,
    A_NORMAL,
    A_REX,
    A_SYSTEM_LIMIT,
    A_USER,
    exception_reason,
    to_atom,
)

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection


class NodeLike(Protocol):
    """What rex needs of the node (:class:`~.node.Node` is one): rex never imports it."""

    atom: etf.Atom

    @property
    def max_pending(self) -> int: ...

    @property
    def threaded(self) -> bool: ...

    def new_pid(self) -> etf.Pid: ...

    def call_python(self, func: Callable[..., Any], args: Tuple[Any, ...], on_done: Callable[[bool, Any], None]) -> bool: ...


Atom = etf.Atom
Pid = etf.Pid
Reference = etf.Reference

# rex's own atoms (the ones other modules speak too are in .terms)
A_ERPC = Atom("erpc")
A_EXECUTE_CALL = Atom("execute_call")
A_EXECUTE_CAST = Atom("execute_cast")
A_RETURN = Atom("return")
A_UNDEF = Atom("undef")
A_EXIT_TAG = Atom("EXIT")
A_MONITOR = Atom("monitor")
A_LINK = Atom("link")
A_FEATURES_REPLY = Atom("features_reply")
CALL_OPS = ("call", "block_call")


def lookup(name: Any) -> Optional[Callable[..., Any]]:
    """The ``register_rpc`` function for an Erlang function name (atom or string)."""
    if isinstance(name, list):  # a string sent as a list of character codes
        try:
            name = etf.to_str(name)
        except Exception:
            return None
    if not isinstance(name, (str, bytes)):
        return None
    try:
        return rpc.registry.lookup(name)  # read each time: the registry is per worker
    except (TypeError, ValueError):
        return None


def _stack(module: Any, function: Any, args: Any) -> list:
    arity = len(args) if isinstance(args, list) else 0
    return [(module, function, arity, [])]


# ---------------------------------------------------------------------- erpc (SPAWN_REQUEST)


def spawn_request(node: "NodeLike", conn: "Connection", ctrl: tuple, args: Any) -> None:
    """``{29, ReqId, From, GroupLeader, {M, F, Arity}, Opts}`` + argument list."""
    _, req_id, frm, _gl, mfa, opts = ctrl[:6]
    opts = opts if isinstance(opts, list) else []
    monitor = A_MONITOR in opts
    link = A_LINK in opts
    pid = node.new_pid()
    flags = (1 if link else 0) | (2 if monitor else 0)
    spawned = Spawned(pid, req_id, frm, monitor, link)
    conn.spawned[pid] = spawned
    conn.spawned_by_req[req_id] = spawned
    # SPAWN_REPLY is held while the function runs: a function that finishes at once
    # (inline, without waiting) sends it in the same write as its result (one
    # syscall instead of two); else it goes out as soon as call_python returns.
    spawned.reply = dist.encode_spawn_reply(req_id, frm, flags, pid)
    if node.threaded:
        # threads mode: send it before the hand-off, or the loop's write would fight
        # the worker for the GIL (measured: ~15% fewer calls/s)
        _send_spawn_reply(conn, spawned)

    if mfa == (A_ERPC, A_EXECUTE_CALL, 4) and isinstance(args, list) and len(args) == 4:
        res_ref, m, f, a = args
        func = lookup(f)
        if func is None or not isinstance(a, list):
            _finish(conn, spawned, (res_ref, A_ERROR, A_UNDEF, [(m, f, a, [])]))
            return

        def done(ok: bool, value: Any) -> None:
            reason: tuple
            if ok:
                reason = (res_ref, A_RETURN, value)
                fallback = lambda e: (res_ref, A_ERROR, exception_reason(e), _stack(m, f, a))  # noqa: E731
            else:
                reason = (res_ref, A_ERROR, exception_reason(value), _stack(m, f, a))
                fallback = None
            _finish(conn, spawned, reason, fallback)

        if not node.call_python(func, tuple(a), done):
            _overloaded(node, f)
            _finish(conn, spawned, (res_ref, A_ERROR, A_SYSTEM_LIMIT, _stack(m, f, a)))
        elif spawned.reply is not None:
            _send_spawn_reply(conn, spawned)
        return

    if mfa == (A_ERPC, A_EXECUTE_CAST, 3) and isinstance(args, list) and len(args) == 3:
        m, f, a = args
        func = lookup(f)
        if func is None or not isinstance(a, list):
            _finish(conn, spawned, (A_UNDEF, [(m, f, a, [])]))
            return
        if not node.call_python(func, tuple(a), lambda ok, value: _finish(conn, spawned, A_NORMAL)):
            _overloaded(node, f)
            _finish(conn, spawned, A_SYSTEM_LIMIT)
        elif spawned.reply is not None:
            _send_spawn_reply(conn, spawned)
        return

    # Anything else: Erlang would spawn a process that dies with undef.
    if isinstance(mfa, tuple) and len(mfa) == 3:
        m, f = mfa[0], mfa[1]
    else:
        m, f = A_ERPC, A_UNDEF
    _finish(conn, spawned, (A_UNDEF, [(m, f, args, [])]))


def _send_spawn_reply(conn: "Connection", spawned: Spawned) -> None:
    try:
        conn.write_spawned(spawned)
    except NodeDown:
        pass


def _finish(conn: "Connection", spawned: Spawned, reason: Any, fallback: Optional[Callable[[BaseException], Any]] = None) -> None:
    """The spawned "process" ends with ``reason``: tell its monitor and link.

    Runs on the loop or in a worker thread (``call_mode="threads"``): it only pops
    from dicts and writes to the connection, both safe there.
    """
    conn.spawned.pop(spawned.pid, None)
    conn.spawned_by_req.pop(spawned.req_id, None)
    if conn.closed:
        return
    try:
        data = b""
        if spawned.monitor:
            try:
                data = conn.encode_monitor_exit(spawned.pid, spawned.requester, spawned.req_id, reason)
            except (etf.ETFError, TypeError, ValueError) as e:
                if fallback is None:
                    raise
                app_log.error("erlang: cannot encode the result for %r: %s", spawned.requester, e)
                data = conn.encode_monitor_exit(spawned.pid, spawned.requester, spawned.req_id, fallback(e))
        if spawned.link and reason != A_NORMAL:
            try:
                data += conn.encode_exit(spawned.pid, spawned.requester, reason)
            except (etf.ETFError, TypeError, ValueError) as e:
                if fallback is None:
                    raise
                data += conn.encode_exit(spawned.pid, spawned.requester, fallback(e))
        conn.write_spawned(spawned, data)
    except NodeDown:
        pass


def _overloaded(node: "NodeLike", f: Any) -> None:
    gen_log.warning(
        "erlang: %d Python calls already pending (--erlang-max-calls): refusing rpc %r with system_limit",
        node.max_pending,
        f,
    )


# ---------------------------------------------------------------------- rex (REG_SEND)


def rex_message(node: "NodeLike", conn: "Connection", frm: Any, msg: Any) -> None:
    """A message to our ``rex``: gen_server calls/casts and the C-node forms."""
    if msg.__class__ is not tuple:
        return
    if len(msg) == 3 and msg[0] == A_GEN_CALL:
        caller = msg[1]
        if caller.__class__ is tuple and len(caller) == 2 and caller[0].__class__ is Pid:
            to, tag = caller
            _rex_call(node, conn, msg[2], lambda result: _reply(conn, to, (tag, result), lambda e: (tag, _badrpc_exc(e))))
        return
    if len(msg) == 2 and msg[0] == A_GEN_CAST:
        req = msg[1]
        if req.__class__ is tuple and len(req) >= 4 and req[0] == "cast":
            _rex_call(node, conn, (A_CALL,) + req[1:], lambda result: None)
        return
    if len(msg) == 2 and msg[0].__class__ is Pid:
        to, req = msg
        if req == "features_request":
            _reply(conn, to, (A_FEATURES_REPLY, node.atom, [A_ERPC]))
            return
        _rex_call(node, conn, req, lambda result: _reply(conn, to, (A_REX, result), lambda e: (A_REX, _badrpc_exc(e))))


def _rex_call(node: "NodeLike", conn: "Connection", req: Any, reply: Callable[[Any], None]) -> None:
    if req.__class__ is not tuple or len(req) < 4 or req[0] not in CALL_OPS:
        if req.__class__ is tuple and req:
            gen_log.info("erlang: rex request %r from %s is not supported", req[0], conn.peer_name)
        return
    m, f, a = req[1], req[2], req[3]
    func = lookup(f)
    if func is None or not isinstance(a, list):
        reply((A_BADRPC, (A_EXIT_TAG, (A_UNDEF, [(m, f, a, [])]))))
        return

    def done(ok: bool, value: Any) -> None:
        if ok:
            reply(value)
        else:
            reply((A_BADRPC, (A_EXIT_TAG, (exception_reason(value), _stack(m, f, a)))))

    if not node.call_python(func, tuple(a), done):
        _overloaded(node, f)
        reply((A_BADRPC, (A_EXIT_TAG, (A_SYSTEM_LIMIT, _stack(m, f, a)))))


def refuse(conn: "Connection", msg: Any) -> None:
    """A rex request whose arguments did not decode (too deep, a refused atom):
    answer ``{badrpc, {'EXIT', system_limit}}`` to whoever the readable part names."""
    if msg.__class__ is not tuple:
        return
    answer = (A_BADRPC, (A_EXIT_TAG, A_SYSTEM_LIMIT))
    if len(msg) == 3 and msg[0] == A_GEN_CALL:
        caller = msg[1]
        if caller.__class__ is tuple and len(caller) == 2 and caller[0].__class__ is Pid:
            _reply(conn, caller[0], (caller[1], answer))
    elif len(msg) == 2 and msg[0].__class__ is Pid:
        _reply(conn, msg[0], (A_REX, answer))


def _badrpc_exc(exc: BaseException) -> tuple:
    return (A_BADRPC, (A_EXIT_TAG, exception_reason(exc)))


def _reply(conn: "Connection", to: Pid, msg: Any, fallback: Optional[Callable[[BaseException], Any]] = None) -> None:
    conn.reply(conn.pid, to, msg, fallback)


# ---------------------------------------------------------------------- Python -> Erlang rex


_GEN_CALL_HEAD = b"\x83h\x03" + etf.encode_body(A_GEN_CALL) + b"h\x02"
_CALL_HEAD = b"h\x05" + etf.encode_body(A_CALL)
_USER_TAIL = etf.encode_body(A_USER)
_MF_CACHE: Dict[Tuple[Any, Any], bytes] = {}


def encode_rex_call(pid: Pid, ref: Reference, module: Any, function: Any, args: Any) -> bytes:
    """``{'$gen_call', {Pid, Ref}, {call, M, F, Args, user}}`` encoded (131 included),
    spliced from cached pieces: what every ``erlang_rpc`` sends to a peer's rex."""
    key = (module, function)
    mf = _MF_CACHE.get(key)
    if mf is None:
        mf = etf.encode_body(to_atom(module)) + etf.encode_body(to_atom(function))
        if len(_MF_CACHE) < 4096:
            _MF_CACHE[key] = mf
    enc = etf.encode_body
    return b"".join(
        (_GEN_CALL_HEAD, enc(pid), enc(ref), _CALL_HEAD, mf, enc(args if args.__class__ is list else list(args)), _USER_TAIL)
    )
