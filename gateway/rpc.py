"""The uWSGI RPC function registry, shared by every caller of ``register_rpc``.

Functions registered with ``uwsgi.register_rpc(name, func)`` are looked up here by the
uwsgi RPC protocol (modifier1 173), by ``uwsgi.call``/``uwsgi.rpc(None, ...)`` and by
the Erlang C-node (``rpc:call(Node, AnyModule, name, Args)``; the module is ignored, as
uWSGI did).

Names are ``str`` on registration (bytes are accepted too, decoded as UTF-8: uWSGI issue
#959); lookups accept either.  At most :data:`MAX_FUNCTIONS` functions (``--rpc-max``,
default 64 as in uWSGI) and names of at most 255 bytes.  Re-registering a name replaces
the function, as in uWSGI.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Union

#: uWSGI's ``--rpc-max`` default.
MAX_FUNCTIONS = 64
MAX_NAME_BYTES = 255


class RPCRegistry:
    """A table of name -> (callable, argc).  One per worker process."""

    def __init__(self, max_functions: int = MAX_FUNCTIONS) -> None:
        self.max_functions = max_functions
        self._table: Dict[str, Tuple[Callable[..., Any], int]] = {}

    def register(self, name: Union[str, bytes], func: Callable[..., Any], argc: int = 0) -> bool:
        """Register ``func`` under ``name``; raise ``ValueError`` on a bad name or a full table."""
        key = _key(name)
        if not key:
            raise ValueError("RPC function name must not be empty")
        if len(key.encode("utf-8")) > MAX_NAME_BYTES:
            raise ValueError("RPC function name %r is longer than %d bytes" % (key, MAX_NAME_BYTES))
        if not callable(func):
            raise TypeError("RPC function %r is not callable" % key)
        if key not in self._table and len(self._table) >= self.max_functions:
            raise ValueError(
                "cannot register RPC function %r: the table is full (%d functions, see --rpc-max)"
                % (key, self.max_functions)
            )
        self._table[key] = (func, argc)
        return True

    def lookup(self, name: Union[str, bytes]) -> Optional[Callable[..., Any]]:
        """The function registered as ``name``, or None."""
        try:
            entry = self._table.get(_key(name))
        except UnicodeDecodeError:
            return None
        return entry[0] if entry else None

    def names(self) -> Tuple[bytes, ...]:
        """Registered names as bytes (what ``uwsgi.rpc_list()`` returns)."""
        return tuple(k.encode("utf-8") for k in self._table)

    def clear(self) -> None:
        self._table.clear()


def _key(name: Union[str, bytes]) -> str:
    if isinstance(name, (bytes, bytearray)):
        return bytes(name).decode("utf-8")
    if isinstance(name, str):
        return name
    raise TypeError("RPC function name must be str or bytes, not %s" % type(name).__name__)


#: The process-wide registry used by the ``uwsgi`` module, the RPC protocol and Erlang.
registry = RPCRegistry()
