"""The few OpenSSL context settings Python's ``ssl`` does not expose, called through ``ctypes``.

uWSGI sets a session timeout (``--ssl-sessions-timeout``), a verification depth
(``--ssl-verify-depth``) and a session id context (``--https-session-context``) on its
``SSL_CTX``; the ``ssl`` module has no setter for any of them.  The ``SSL_CTX *`` of an
:class:`ssl.SSLContext` is the first field after the object header (CPython's
``PySSLContext``), and the functions are looked up in the OpenSSL the ``_ssl`` extension
itself loaded.  Before any write, the pointer is checked: OpenSSL's own
``SSL_CTX_get_options`` must read back exactly ``ctx.options``; otherwise (another Python
implementation, a statically linked ``_ssl``) :class:`NativeUnavailable` is raised and the
caller refuses the option by name, instead of guessing.

The same applies, after an SNI switch, to the connection's verify mode and depth (OpenSSL's
``SSL_set_SSL_CTX`` keeps the ones of the context the connection started with; uWSGI copies
them over, as nginx does): :func:`adopt_verify`.
"""

from __future__ import annotations

import ctypes
import ssl
import sys
from typing import Any, Optional

__all__ = ["NativeUnavailable", "adopt_verify", "available", "set_session_id_context",
           "set_session_timeout", "set_verify_depth"]

#: OpenSSL's SSL_MAX_SID_CTX_LENGTH
MAX_SESSION_ID_CONTEXT = 32


class NativeUnavailable(Exception):
    """The OpenSSL functions, or the context's pointer, cannot be reached safely here."""


_lib: Any = None
_loaded = False
#: the CPython versions whose ``PySSLContext``/``PySSLSocket`` start as read here
_LAYOUT_KNOWN = sys.implementation.name == "cpython" and (3, 8) <= sys.version_info[:2] <= (3, 14)


def _load() -> Any:
    global _lib, _loaded
    if not _loaded:
        _loaded = True
        try:
            import _ssl

            lib = ctypes.CDLL(_ssl.__file__)
            p = ctypes.c_void_p
            lib.SSL_CTX_get_options.restype, lib.SSL_CTX_get_options.argtypes = ctypes.c_uint64, [p]
            lib.SSL_CTX_set_timeout.restype, lib.SSL_CTX_set_timeout.argtypes = ctypes.c_long, [p, ctypes.c_long]
            lib.SSL_CTX_get_timeout.restype, lib.SSL_CTX_get_timeout.argtypes = ctypes.c_long, [p]
            lib.SSL_CTX_set_verify_depth.restype, lib.SSL_CTX_set_verify_depth.argtypes = None, [p, ctypes.c_int]
            lib.SSL_CTX_get_verify_depth.restype, lib.SSL_CTX_get_verify_depth.argtypes = ctypes.c_int, [p]
            lib.SSL_CTX_get_verify_mode.restype, lib.SSL_CTX_get_verify_mode.argtypes = ctypes.c_int, [p]
            lib.SSL_CTX_set_session_id_context.restype = ctypes.c_int
            lib.SSL_CTX_set_session_id_context.argtypes = [p, ctypes.c_char_p, ctypes.c_uint]
            lib.SSL_get_SSL_CTX.restype, lib.SSL_get_SSL_CTX.argtypes = p, [p]
            lib.SSL_set_verify.restype, lib.SSL_set_verify.argtypes = None, [p, ctypes.c_int, p]
            lib.SSL_set_verify_depth.restype, lib.SSL_set_verify_depth.argtypes = None, [p, ctypes.c_int]
        except (ImportError, OSError, AttributeError):
            return None
        _lib = lib
    return _lib


def _ctx_pointer(ctx: ssl.SSLContext) -> "tuple[Any, int]":
    if not _LAYOUT_KNOWN:
        raise NativeUnavailable("not known for %s %d.%d" % ((sys.implementation.name,) + sys.version_info[:2]))
    lib = _load()
    if lib is None:
        raise NativeUnavailable("OpenSSL's functions are not reachable from Python's ssl module here")
    if not isinstance(ctx, ssl.SSLContext):
        raise NativeUnavailable("not an ssl.SSLContext")
    pointer = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
    if not pointer or lib.SSL_CTX_get_options(pointer) != ctx.options:
        raise NativeUnavailable("this Python's ssl module does not lay out its contexts as CPython's")
    return lib, pointer


def available() -> bool:
    """True when the settings below can be applied in this interpreter."""
    try:
        _ctx_pointer(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    except NativeUnavailable:
        return False
    return True


def set_session_timeout(ctx: ssl.SSLContext, seconds: int) -> None:
    """``SSL_CTX_set_timeout``: how long a cached session may be resumed."""
    lib, pointer = _ctx_pointer(ctx)
    lib.SSL_CTX_set_timeout(pointer, seconds)


def session_timeout(ctx: ssl.SSLContext) -> int:
    lib, pointer = _ctx_pointer(ctx)
    return int(lib.SSL_CTX_get_timeout(pointer))


def set_verify_depth(ctx: ssl.SSLContext, depth: int) -> None:
    """``SSL_CTX_set_verify_depth``: the longest client certificate chain accepted."""
    lib, pointer = _ctx_pointer(ctx)
    lib.SSL_CTX_set_verify_depth(pointer, depth)


def verify_depth(ctx: ssl.SSLContext) -> int:
    lib, pointer = _ctx_pointer(ctx)
    return int(lib.SSL_CTX_get_verify_depth(pointer))


def set_session_id_context(ctx: ssl.SSLContext, name: bytes) -> None:
    """``SSL_CTX_set_session_id_context`` (at most :data:`MAX_SESSION_ID_CONTEXT` bytes)."""
    if len(name) > MAX_SESSION_ID_CONTEXT:
        raise ValueError("at most %d bytes" % MAX_SESSION_ID_CONTEXT)
    lib, pointer = _ctx_pointer(ctx)
    if lib.SSL_CTX_set_session_id_context(pointer, name, len(name)) != 1:
        raise ValueError("refused by OpenSSL")


def _ssl_pointer(conn: Any) -> Optional[int]:
    """The ``SSL *`` of an :class:`ssl.SSLObject`/:class:`ssl.SSLSocket` (CPython's
    ``PySSLSocket``: header, the socket weakref, then ``SSL *``)."""
    import _ssl

    inner = getattr(conn, "_sslobj", None)
    if type(inner) is not getattr(_ssl, "_SSLSocket", None):
        return None
    value = ctypes.c_void_p.from_address(id(inner) + object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)).value
    return value or None


def adopt_verify(conn: Any, ctx: ssl.SSLContext) -> bool:
    """After ``conn.context = ctx`` in an SNI callback: give the connection ``ctx``'s verify mode
    and depth (uWSGI's and nginx's SNI step); False when it could not be done safely."""
    try:
        lib, ctx_pointer = _ctx_pointer(ctx)
    except NativeUnavailable:
        return False
    ssl_pointer = _ssl_pointer(conn)
    if ssl_pointer is None or lib.SSL_get_SSL_CTX(ssl_pointer) != ctx_pointer:
        return False  # not the layout expected: touch nothing
    lib.SSL_set_verify(ssl_pointer, lib.SSL_CTX_get_verify_mode(ctx_pointer), None)
    lib.SSL_set_verify_depth(ssl_pointer, lib.SSL_CTX_get_verify_depth(ctx_pointer))
    return True
