"""uWSGI RPC: one function registry, one way to invoke a function, and the network client.

**Registry.** Functions registered with ``uwsgi.register_rpc(name, func)`` live in
:data:`registry` (one per worker process).  Three callers reach them, all through
:func:`invoke`/:func:`apply`, so a function behaves the same whichever way it is reached
(the same arguments, the same result rules, exceptions logged once on ``gateway.app``):

* local calls: ``uwsgi.call(name, *args)`` and ``uwsgi.rpc(None or "", name, *args)``;
* the uwsgi protocol (modifier1 173) on every ``--socket`` (``server/uwsgi_rpc.py``);
* Erlang's ``rpc:call(ThisNode, AnyModule, name, Args)`` (``gateway/erlang/rex.py``;
  Erlang terms in and out, so only :func:`apply` is shared there).

Names are ``str`` on registration (bytes are accepted too, decoded as UTF-8: uWSGI issue
#959); lookups accept either.  At most :data:`MAX_FUNCTIONS` functions (``--rpc-max``,
default 64 as in uWSGI) and names of at most 255 bytes.  Re-registering a name replaces
the function, as in uWSGI.

**Results.** A function returns ``bytes`` (also ``bytearray``/``memoryview``), ``str``
(sent as UTF-8), or ``None``/``b""`` meaning "no result" (the caller gets ``None``, as
from uWSGI).  Any other type is a failure of the function (:class:`RPCFunctionError`).

**Remote calls.** ``uwsgi.rpc("host:port" or "/unix/path", name, *args)`` opens one
connection per call (uWSGI servers close after each reply, so there is nothing to
reuse), sends a modifier1 173 request and reads the reply, each wait bounded by
``--socket-timeout``:

* from an async core (a request, an Erlang call): the socket waits on the worker's
  IOLoop and only that core is suspended;
* from a plain thread: that thread blocks (``select``), nothing else does;
* from the IOLoop itself (a callback or coroutine) it raises :class:`RPCWouldBlock`:
  ``await call_async(node, name, *args)`` there instead.

**Failures** raise distinct exceptions (all :class:`RPCError`): :class:`RPCUnknownFunction`,
:class:`RPCFunctionError`, :class:`RPCConnectionRefused`, :class:`RPCTimeout`,
:class:`RPCNoReply` (the peer closed without a reply: how a real uWSGI server answers an
unknown function, an exception or an empty result alike), :class:`RPCProtocolError`,
:class:`RPCArgumentError` (more than 254 arguments, a request over 64 KiB).  With
``--rpc-none-on-failure`` ``uwsgi.rpc``/``uwsgi.call`` return ``None`` instead, as uWSGI.
"""

from __future__ import annotations

import _socket as _csocket
import asyncio
import errno
import socket
from typing import TYPE_CHECKING, Any, Callable, Dict, Generator, Optional, Sequence, Tuple, Union

from gateway.logs import app_log
from gateway.protocol import uwsgi_rpc as wire
from gateway.socket_steps import READ, WRITE, StepTimeout, drive_async, drive_blocking, drive_in_core

if TYPE_CHECKING:  # pragma: no cover
    from loop_engine import Core

#: uWSGI's ``--rpc-max`` default.
MAX_FUNCTIONS = 64
MAX_NAME_BYTES = 255

Name = Union[str, bytes]


# ------------------------------------------------------------------------------ errors


class RPCError(Exception):
    """Base class of every RPC failure (``--rpc-none-on-failure`` maps them to ``None``)."""


class RPCUnknownFunction(RPCError, LookupError):
    """No function of that name is registered (locally, or on the peer)."""


class RPCFunctionError(RPCError):
    """The function raised (locally ``__cause__`` is its exception; remotely it was logged there)."""


class RPCConnectionRefused(RPCError, ConnectionRefusedError):
    """Nothing listens at the node's address (or the UNIX socket does not exist)."""


class RPCConnectionError(RPCError, ConnectionError):
    """Connecting to or talking with the node failed for another reason (reset, unreachable)."""


class RPCTimeout(RPCError, TimeoutError):
    """A wait (connect, send or reply) took longer than the timeout (``--socket-timeout``)."""


class RPCNoReply(RPCError, ConnectionError):
    """The peer closed the connection without sending a reply.

    A real uWSGI server does this for an unknown function, an exception in the function
    and an empty result alike (a gateway server replies with a distinct error instead).
    """


class RPCProtocolError(RPCError):
    """The peer's reply is not a valid RPC reply (truncated, garbage, over ``--rpc-max-reply``),
    or the peer said our request was malformed."""


class RPCArgumentError(RPCError, ValueError):
    """The call cannot be sent: more than 254 arguments, or name + arguments over 65535 bytes."""


class RPCWouldBlock(RPCError, RuntimeError):
    """``uwsgi.rpc`` to a remote node was called on the IOLoop itself (a callback or a coroutine):
    waiting there would stall every core.  ``await gateway.rpc.call_async(...)`` instead.
    Never mapped to ``None``: it is a programming error, not a failure of the call."""


# ------------------------------------------------------------------------------ settings


class Settings:
    """Per-worker client settings (the worker sets them from the options before the app loads)."""

    #: seconds per wait: connect, each send and each read (``--socket-timeout``)
    timeout: float = 4.0
    #: ``--rpc-none-on-failure``: uwsgi.rpc/uwsgi.call return None instead of raising
    none_on_failure: bool = False
    #: ``--rpc-max-reply``: the largest result a remote call accepts
    max_reply: int = 64 * 1024 * 1024


settings = Settings()


def configure(timeout: Optional[float] = None, none_on_failure: Optional[bool] = None,
              max_reply: Optional[int] = None, max_functions: Optional[int] = None) -> None:
    """Set the worker's RPC settings (only the given ones)."""
    if timeout is not None:
        settings.timeout = float(timeout)
    if none_on_failure is not None:
        settings.none_on_failure = bool(none_on_failure)
    if max_reply is not None:
        settings.max_reply = int(max_reply)
    if max_functions is not None:
        registry.max_functions = int(max_functions)


# ------------------------------------------------------------------------------ registry


class RPCRegistry:
    """A table of name -> (callable, argc).  One per worker process."""

    def __init__(self, max_functions: int = MAX_FUNCTIONS) -> None:
        self.max_functions = max_functions
        self._table: Dict[str, Tuple[Callable[..., Any], int]] = {}

    def register(self, name: Name, func: Callable[..., Any], argc: int = 0) -> bool:
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

    def lookup(self, name: Name) -> Optional[Callable[..., Any]]:
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


def _key(name: Name) -> str:
    if isinstance(name, (bytes, bytearray)):
        return bytes(name).decode("utf-8")
    if isinstance(name, str):
        return name
    raise TypeError("RPC function name must be str or bytes, not %s" % type(name).__name__)


#: The process-wide registry used by the ``uwsgi`` module, the RPC protocol and Erlang.
registry = RPCRegistry()


# ------------------------------------------------------------------------------ invocation


def apply(func: Callable[..., Any], args: Sequence[Any], label: Optional[str] = None) -> Any:
    """Call ``func(*args)``; an exception is logged once on ``gateway.app`` and re-raised.

    The one place every caller (local, uwsgi protocol, Erlang) runs a registered function;
    ``label`` names it in the log line (``"<label> raised"``, default the function's name).
    """
    try:
        return func(*args)
    except Exception:
        app_log.error("%s raised", label or _describe(func, None), exc_info=True)
        raise


def to_result(value: Any, name: Any = None) -> Optional[bytes]:
    """A function's return value as an RPC result: bytes, or None for "no result".

    ``str`` is sent as UTF-8; ``None`` and empty values are "no result"; other types
    raise :class:`RPCFunctionError` (logged once).
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        return value or None
    if isinstance(value, str):
        return value.encode("utf-8") or None
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value) or None
    message = "RPC function %s returned %s: must return bytes, str or None" % (_name(name), type(value).__name__)
    app_log.error("%s", message)
    raise RPCFunctionError(message)


def invoke(name: Name, args: Sequence[Any]) -> Optional[bytes]:
    """Run the registered function ``name`` here: its result (None = no result), or raise
    :class:`RPCUnknownFunction` / :class:`RPCFunctionError` (chained to the exception)."""
    func = registry.lookup(name)
    if func is None:
        raise RPCUnknownFunction("RPC function %s is not registered" % _name(name))
    try:
        value = func(*args)  # apply() inlined (same log line): this is every RPC call's path
    except Exception as e:
        app_log.error("RPC function %s raised", _name(name), exc_info=True)
        raise RPCFunctionError("RPC function %s raised %s: %s" % (_name(name), type(e).__name__, e)) from e
    if value.__class__ is bytes:
        return value or None
    return to_result(value, name)


def _name(name: Any) -> str:
    if isinstance(name, (bytes, bytearray)):
        return repr(bytes(name).decode("utf-8", "replace"))
    return repr(name)


def _describe(func: Callable[..., Any], name: Any) -> str:
    if name is not None:
        return _name(name)
    return "RPC function %s" % (getattr(func, "__qualname__", None) or repr(func))


# ------------------------------------------------------------------------------ remote calls


def call(node: Union[str, bytes, None], name: Name, *args: Any, timeout: Optional[float] = None) -> Optional[bytes]:
    """``uwsgi.rpc`` without the ``None``-on-failure option: the result, or raise an :class:`RPCError`.

    ``node`` None or empty runs the function here (:func:`invoke`).
    """
    if not node:
        return invoke(name, args)
    request = _request(name, args)
    address = node_address(node)
    wait = timeout if timeout is not None else settings.timeout
    from loop_engine import current_core

    core = current_core()
    if core is not None:
        return _run_in_core(core, address, request, name, wait)
    if asyncio._get_running_loop() is None:
        return _run_blocking(address, request, name, wait)
    raise RPCWouldBlock(
        "uwsgi.rpc(%r, %s) called from the IOLoop (a callback or coroutine): it would stall every core; "
        "use 'await gateway.rpc.call_async(...)' there" % (_text(node), _name(name))
    )


async def call_async(node: Union[str, bytes, None], name: Name, *args: Any, timeout: Optional[float] = None) -> Optional[bytes]:
    """The awaitable form of :func:`call`, for coroutines and loop callbacks."""
    if not node:
        return invoke(name, args)
    request = _request(name, args)
    address = node_address(node)
    wait = timeout if timeout is not None else settings.timeout
    sock = _socket(address)
    try:
        out = await drive_async(sock, _exchange(sock, address, request), wait)
    except StepTimeout as t:
        raise _timeout(address, name, wait, t.event) from None
    finally:
        sock.close()
    return _outcome(out, address, name)


def _request(name: Name, args: Sequence[Any]) -> bytes:
    try:
        return wire.encode_request(name, args)
    except (wire.TooManyArguments, wire.RequestTooLarge) as e:
        raise RPCArgumentError(str(e)) from None
    except TypeError as e:
        raise TypeError("uwsgi.rpc: %s" % e) from None


def _text(node: Union[str, bytes]) -> str:
    return node.decode("utf-8", "replace") if isinstance(node, (bytes, bytearray)) else str(node)


Address = Tuple[int, Any, str]
_addresses: Dict[Union[str, bytes], Address] = {}


def split_node(text: str) -> Tuple[str, Optional[int]]:
    """A node address as written -> ``(host, port)``, or ``(path, None)`` for a UNIX socket
    (a path or ``@abstract``); ``ValueError`` for a bad port.  Sans-IO: nothing resolved."""
    if ":" not in text or text.startswith(("/", ".", "@")):
        return text, None
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("uwsgi.rpc: bad node address %r (host:port, :port or a UNIX socket path)" % text)
    return host, int(port)


def node_address(node: Union[str, bytes]) -> Address:
    """``(family, sockaddr, text)`` for ``host:port``, ``:port`` (this host), ``[v6]:port``,
    a UNIX socket path or ``@abstract``.  Host names are resolved once per worker and cached."""
    cached = _addresses.get(node)
    if cached is not None:
        return cached
    text = _text(node)
    host, port = split_node(text)
    if port is None:
        path = "\0" + text[1:] if text.startswith("@") else text
        address: Address = (socket.AF_UNIX, path, text)
    else:
        host = host or "127.0.0.1"
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        try:
            family, _, _, _, sockaddr = socket.getaddrinfo(host, int(port), 0, socket.SOCK_STREAM)[0]
        except socket.gaierror as e:
            raise RPCConnectionError("uwsgi.rpc: cannot resolve %r: %s" % (host, e)) from None
        address = (family, sockaddr, text)
    if len(_addresses) < 256:
        _addresses[node] = address
    return address


def _socket(address: Address) -> Any:
    """A non-blocking stream socket in one syscall (no ``setblocking`` ioctl), the C-level
    ``_socket.socket`` (no Python wrapper to build and to close: this is per call)."""
    return _csocket.socket(address[0], _STREAM)


_STREAM = socket.SOCK_STREAM | getattr(socket, "SOCK_NONBLOCK", 0) | getattr(socket, "SOCK_CLOEXEC", 0)
_READ, _WRITE = READ, WRITE
_QUICKACK: int = getattr(socket, "TCP_QUICKACK", 0)  # Linux only
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK, errno.EALREADY)
_REFUSED = (errno.ECONNREFUSED, errno.ENOENT)


def _exchange(sock: Any, address: Address, request: bytes) -> Generator[str, None, Tuple[str, Any]]:
    """Connect, send ``request``, read the reply; yields ``_READ``/``_WRITE`` to wait for
    the socket (each driver waits its own way) and returns :meth:`ReplyParser.result`.

    Syscalls are what an RPC costs, so: no wait for the connect to complete before the
    first ``send`` (on loopback it has, and a ``send`` that cannot go yet says so), and no
    ``recv`` before the first wait for the reply.  The request is one ``send``, so Nagle
    never holds it and ``TCP_NODELAY`` is not needed.
    """
    if not _STREAM & getattr(socket, "SOCK_NONBLOCK", 0):
        sock.setblocking(False)  # no SOCK_NONBLOCK on this platform
    err = sock.connect_ex(address[1])
    if err and err not in _IN_PROGRESS:
        raise _connect_error(err, address)
    view = memoryview(request)
    while view:
        try:
            view = view[sock.send(view):]
        except BlockingIOError:
            yield _WRITE
        except OSError as e:
            so_error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or e.errno or 0
            if so_error in _REFUSED or so_error == errno.ECONNRESET and err:
                raise _connect_error(so_error, address) from None
            if so_error in (errno.ENOTCONN, errno.EPIPE) and err:
                yield _WRITE  # still connecting
                err = 0
                continue
            raise RPCConnectionError("uwsgi.rpc: sending to %s failed: %s" % (address[2], e)) from None
    # A uWSGI server writes the reply header and the result in two sends: with Nagle on its
    # side and delayed ACKs on ours, the result would wait ~40 ms for our ACK of the header.
    quickack = bool(_QUICKACK) and sock.family != socket.AF_UNIX
    parser = wire.ReplyParser(settings.max_reply)
    recv = sock.recv
    while True:
        if quickack:
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)  # Linux clears it as it goes
        yield _READ
        try:
            chunk = recv(65536)  # a 256 KiB recv costs an mmap/munmap pair
        except BlockingIOError:
            continue
        except ConnectionResetError:
            chunk = b""  # a uWSGI server that closes with our bytes unread sends RST
        except OSError as e:
            so_error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or e.errno or 0
            if so_error in _REFUSED:
                raise _connect_error(so_error, address) from None
            raise RPCConnectionError("uwsgi.rpc: reading from %s failed: %s" % (address[2], e)) from None
        try:
            out = parser.receive_data(chunk)
        except wire.RPCWireError as e:
            raise RPCProtocolError("uwsgi.rpc: bad reply from %s: %s" % (address[2], e)) from None
        if out is not None:
            return out


def _connect_error(err: int, address: Address) -> RPCError:
    message = "uwsgi.rpc: cannot connect to %s: %s" % (address[2], errno.errorcode.get(err, err))
    if err in _REFUSED:
        return RPCConnectionRefused(err, message)
    return RPCConnectionError(err, message)


def _timeout(address: Address, name: Name, wait: float, event: str) -> RPCTimeout:
    doing = "connecting or sending" if event is _WRITE else "waiting for the reply"
    return RPCTimeout("uwsgi.rpc(%r, %s): timed out after %gs %s" % (address[2], _name(name), wait, doing))


def _outcome(out: Tuple[str, Any], address: Address, name: Name) -> Optional[bytes]:
    status, value = out
    if status == "ok":
        return value or None
    if status == "closed":
        raise RPCNoReply(
            "uwsgi.rpc(%r, %s): the peer closed the connection without replying "
            "(a uWSGI peer does so for an unknown function, an exception or an empty result)"
            % (address[2], _name(name))
        )
    if value == wire.ERR_UNKNOWN:
        raise RPCUnknownFunction("RPC function %s is not registered on %s" % (_name(name), address[2]))
    if value == wire.ERR_RAISED:
        raise RPCFunctionError("RPC function %s raised on %s (see that node's log)" % (_name(name), address[2]))
    raise RPCProtocolError("uwsgi.rpc(%r, %s): the peer refused the request as malformed" % (address[2], _name(name)))


def _run_in_core(core: Core, address: Address, request: bytes, name: Name, wait: float) -> Optional[bytes]:
    sock = _socket(address)
    try:
        out = drive_in_core(core, sock, _exchange(sock, address, request), wait)
    except StepTimeout as t:
        raise _timeout(address, name, wait, t.event) from None
    finally:
        sock.close()
    return _outcome(out, address, name)


def _run_blocking(address: Address, request: bytes, name: Name, wait: float) -> Optional[bytes]:
    sock = _socket(address)
    try:
        out = drive_blocking(sock, _exchange(sock, address, request), wait)
    except StepTimeout as t:
        raise _timeout(address, name, wait, t.event) from None
    finally:
        sock.close()
    return _outcome(out, address, name)


def uwsgi_rpc(node: Union[str, bytes, None], name: Name, *args: Any) -> Optional[bytes]:
    """``uwsgi.rpc``: :func:`call`, or ``None`` on failure with ``--rpc-none-on-failure``."""
    if not settings.none_on_failure:
        return call(node, name, *args)
    try:
        return call(node, name, *args)
    except RPCWouldBlock:
        raise
    except RPCError:
        return None


def uwsgi_call(name: Name, *args: Any) -> Optional[bytes]:
    """``uwsgi.call``: a local :func:`invoke`, or ``None`` on failure with ``--rpc-none-on-failure``."""
    if not settings.none_on_failure:
        return invoke(name, args)
    try:
        return invoke(name, args)
    except RPCError:
        return None

