"""The atoms and term shapes the node's modules share, defined once.

Constant atoms (``A_*``) are interned :class:`~.etf.Atom` values compared with
``==`` against decoded terms; the helpers recognise or build the few term shapes
that several modules speak: a ``gen_server`` call, a Python exception as an
Erlang reason, ``{badrpc, Reason}``, and an already encoded term.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from . import etf
from .errors import BadRPC

Atom = etf.Atom
Pid = etf.Pid

A_EMPTY = Atom("")
A_REX = Atom("rex")
A_NET_KERNEL = Atom("net_kernel")
A_USER = Atom("user")
A_CALL = Atom("call")
A_GEN_CALL = Atom("$gen_call")
A_GEN_CAST = Atom("$gen_cast")
A_BADRPC = Atom("badrpc")
A_NOPROC = Atom("noproc")
A_NORMAL = Atom("normal")
A_ERROR = Atom("error")
A_PYTHON = Atom("python")
A_YES = Atom("yes")
A_SYSTEM_LIMIT = Atom("system_limit")

#: Names the node serves itself: never registrable, always alive.
NODE_PROCESSES = ("rex", "net_kernel")

#: Atoms the node must always decode, however full a hostile peer made its atom
#: table: what the control messages, rpc, erpc, gen_server calls and
#: ``net_adm:ping`` it serves are made of (pinned in the table at start).
PROTOCOL_ATOMS = NODE_PROCESSES + (
    "", "true", "false", "undefined", "ok", "error", "yes", "no", "normal", "noproc", "noconnection",
    "$gen_call", "$gen_cast", "call", "block_call", "cast", "user", "is_auth", "features_request",
    "erpc", "execute_call", "execute_cast", "monitor", "link", "alias", "reply", "error_only",
    "badrpc", "EXIT", "undef", "return", "throw", "exit", "system_limit",
)


class RawTerm(bytes):
    """An already encoded term (version byte included), sent as is."""

    __slots__ = ()


def to_atom(name: Any) -> Atom:
    """``name`` (an :class:`Atom`, str or UTF-8 bytes) as an atom; TypeError otherwise."""
    if name.__class__ is Atom:
        return name
    if isinstance(name, bytes):
        name = name.decode("utf-8")
    if not isinstance(name, str):
        raise TypeError("expected an atom name (str), got %r" % (name,))
    return Atom(name)


def as_gen_call(payload: Any) -> Optional[Tuple[Tuple[Any, Any], Any]]:
    """``{'$gen_call', {From, Tag}, Request}`` -> ((From, Tag), Request), else None."""
    if payload.__class__ is tuple and len(payload) == 3 and payload[0] == "$gen_call":
        frm = payload[1]
        if frm.__class__ is tuple and len(frm) == 2 and frm[0].__class__ is Pid:
            return frm, payload[2]
    return None


def exception_reason(exc: BaseException) -> tuple:
    """A Python exception as an Erlang reason: ``{python, <<"Class">>, <<"message">>}``."""
    return (A_PYTHON, type(exc).__name__, str(exc))


def rpc_result(result: Any) -> Any:
    """The value of an ``rpc:call`` answer; raises :class:`BadRPC` for ``{badrpc, Reason}``."""
    if result.__class__ is tuple and len(result) == 2 and result[0] == "badrpc":
        raise BadRPC(result[1])
    return result
