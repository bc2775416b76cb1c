"""The uwsgi request packet the HTTP router sends to a worker for one client request.

Mirrors what uWSGI's own router sends (``../shared/reference/uwsgi.md`` §1.8 and
``plugins/http/http.c``), in its order: ``REQUEST_METHOD``, ``PATH_INFO``
(percent-decoded), ``REQUEST_URI``, ``QUERY_STRING``, ``SERVER_PROTOCOL``,
``SCRIPT_NAME`` (empty), ``SERVER_NAME`` (the host name), ``SERVER_PORT`` (the
router's), ``UWSGI_ROUTER`` (``http``), ``HTTPS`` (``on`` behind ``--https``),
``REMOTE_ADDR`` and ``REMOTE_PORT`` (the client's), then one ``HTTP_*`` var per
request header and ``CONTENT_LENGTH``/``CONTENT_TYPE`` without the prefix.

Where we differ from uWSGI, on purpose:

* header names containing ``_`` are dropped (as ``--http-socket`` does: they
  would spoof the dashed name once mapped to CGI);
* repeated ``Cookie`` headers are merged with ``"; "`` (uWSGI: ``", "``), others with
  ``", "`` as uWSGI does, the same as ``--http-socket``, so the worker's environ is the
  same whichever door the request came through;
* ``Expect`` is not forwarded: the router answers ``100 Continue`` itself once a
  worker is connected;
* a chunked body is forwarded chunked (re-framed canonically by the router),
  without ``CONTENT_LENGTH`` and with ``HTTP_TRANSFER_ENCODING: chunked``; the
  worker de-chunks it (nginx always sends ``CONTENT_LENGTH``, so nothing changes
  for it).  uWSGI's router cannot forward chunked bodies unless
  ``--http-chunked-input`` puts the session in raw mode (the app then de-chunks
  with ``uwsgi.chunked_read()``).

Toward gateway's own workers (:mod:`gateway.router.pool`) a request whose body is
delimited also carries ``GATEWAY_KEEPALIVE=1`` (last), asking for a framed answer on
a connection that stays open; never toward other upstreams.

The header and the vars are assembled as one latin-1 string and encoded once (the vars block format
is :mod:`gateway.protocol.uwsgi`'s; its `encode_vars` checks the constant vars once).
"""

from __future__ import annotations

import socket
from typing import Dict, List, Optional, Tuple

from gateway.protocol.environ import decode_path, header_key
from gateway.protocol.http1 import Request
from gateway.protocol.uwsgi import KEEPALIVE_VAR, encode_vars

__all__ = ["VarsBuilder", "VarsTooLarge"]

class VarsTooLarge(Exception):
    """The vars block would exceed the worker's ``--buffer-size`` (or 65535)."""


# The packet is assembled as one latin-1 ``str`` and encoded once at the end: the parsed
# request is ``str`` already (latin-1 decoded, so character i is byte i), and one
# ``encode`` of the whole block costs less than one per value plus a ``struct.pack`` per
# length.  A u16 length is then two characters, low byte first.

#: Header name (as sent) -> the var's key with its length in front (``str``), or None (dropped).
_KEY_PREFIX: Dict[str, Optional[str]] = {}
_KEY_PREFIX_MAX = 2048
#: Vars the router writes itself from the parsed request, never from the header.
_OWN = ("HTTP_EXPECT", "CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING")
#: u16 lengths below this come from a table instead of two ``chr`` calls.
_LEN_TABLE = [chr(n & 0xFF) + chr(n >> 8) for n in range(4096)]


def _u16(n: int) -> str:
    """A u16 little-endian length as two latin-1 characters (only ever encoded when n <= 65535)."""
    if n < 4096:
        return _LEN_TABLE[n]
    return chr(n & 0xFF) + chr(n >> 8)


def _key(key: str) -> str:
    return _u16(len(key)) + key


def _pair(key: str, value: str) -> str:
    return _u16(len(key)) + key + _u16(len(value)) + value


def _key_prefix(name: str) -> Optional[str]:
    """The encoded key for header ``name`` (e.g. ``"\x0f\x00HTTP_USER_AGENT"``), None to drop it."""
    prefix = _KEY_PREFIX.get(name, "")
    if prefix != "":
        return prefix
    cgi = header_key(name)
    prefix = None if cgi is None or cgi in _OWN else _key(cgi)
    if len(_KEY_PREFIX) < _KEY_PREFIX_MAX:
        _KEY_PREFIX[name] = prefix
    return prefix


_K_METHOD = _key("REQUEST_METHOD")
_K_PATH = _key("PATH_INFO")
_K_URI = _key("REQUEST_URI")
_K_QUERY = _key("QUERY_STRING")
_K_PROTOCOL = _key("SERVER_PROTOCOL")
_K_REMOTE_ADDR = _key("REMOTE_ADDR")
_K_REMOTE_PORT = _key("REMOTE_PORT")
_K_SERVER_NAME = _key("SERVER_NAME")
_K_COOKIE = _key("HTTP_COOKIE")
_CONTENT_LENGTH = _key("CONTENT_LENGTH")
_CHUNKED = _pair("HTTP_TRANSFER_ENCODING", "chunked")
_KEEPALIVE = _pair(KEEPALIVE_VAR, "1")


class VarsBuilder:
    """Builds request packets for one listener: the constant vars are encoded once.

    ``max_size`` bounds the vars block (the worker's ``--buffer-size``; a bigger
    block would be refused there, and the client would see a 502 without a reason).
    """

    def __init__(
        self,
        server_port: str,
        *,
        https: bool = False,
        server_name: Optional[str] = None,
        modifier1: int = 0,
        modifier2: int = 0,
        max_size: int = 65535,
        extra_vars: Tuple[Tuple[str, str], ...] = (),
        server_name_from_host: bool = False,
        keep_slashes: bool = False,
    ) -> None:
        name = server_name if server_name is not None else socket.gethostname()
        name = name.encode("latin-1", "replace").decode("latin-1")
        #: --http-server-name-as-http-host: SERVER_NAME is each request's Host (the name without one)
        self._name_from_host = name if server_name_from_host else None
        static = [("SCRIPT_NAME", "")]
        if not server_name_from_host:
            static.append(("SERVER_NAME", name))
        static += [("SERVER_PORT", server_port), ("UWSGI_ROUTER", "http")]
        if https:
            static.append(("HTTPS", "on"))
        # encode_vars checks each pair (latin-1, sizes) once, here
        self._static = encode_vars(static).decode("latin-1")
        self._extra = encode_vars(extra_vars).decode("latin-1")
        self.modifier1 = modifier1
        self.modifier2 = modifier2
        self.max_size = min(max_size, 65535)
        #: --http-path-info-no-decode-slashes: %2F stays encoded in PATH_INFO
        self.keep_slashes = keep_slashes

    @staticmethod
    def encode_connection_vars(pairs: List[Tuple[str, str]]) -> str:
        """Vars every request of one connection carries (a TLS client's certificate), encoded
        once for :meth:`build`."""
        return encode_vars(pairs).decode("latin-1") if pairs else ""

    def build(self, req: Request, remote_addr: str, remote_port: str, keepalive: bool = False,
              connection_vars: str = "") -> bytes:
        """The 4-byte header and the vars block for ``req`` (its body follows unframed);
        ``keepalive`` adds the persistent-connection marker (gateway workers only);
        ``connection_vars``: the connection's own vars, encoded (:meth:`encode_connection_vars`)."""
        path = req.path
        if "%" in path or "/." in path:  # the common path has neither: no call
            path = decode_path(path, self.keep_slashes)
        u16 = _u16
        method = req.method
        target = req.target
        query = req.query
        version = req.version
        parts = [
            _K_METHOD, u16(len(method)), method,
            _K_PATH, u16(len(path)), path,
            _K_URI, u16(len(target)), target,
            _K_QUERY, u16(len(query)), query,
            _K_PROTOCOL, u16(len(version)), version,
            self._static,
            connection_vars,
            _K_REMOTE_ADDR, u16(len(remote_addr)), remote_addr,
            _K_REMOTE_PORT, u16(len(remote_port)), remote_port,
        ]
        seen: Dict[str, int] = {}
        cache = _KEY_PREFIX
        for name, value in req.headers:
            prefix = cache.get(name, "")
            if prefix == "":
                prefix = _key_prefix(name)
            if prefix is None:
                continue
            index = seen.get(prefix)
            if index is None:
                seen[prefix] = len(parts)
                parts += (prefix, u16(len(value)), value)
            else:  # a repeated header: merged into the first one's value
                value = parts[index + 2] + ("; " if prefix == _K_COOKIE else ", ") + value
                parts[index + 1] = u16(len(value))
                parts[index + 2] = value
        if self._name_from_host is not None:  # uWSGI's: the Host value as is (port included)
            name = next((value for key, value in req.headers if key.lower() == "host"), self._name_from_host)
            parts += (_K_SERVER_NAME, u16(len(name)), name)
        if req.content_length is not None:
            length = str(req.content_length)
            parts += (_CONTENT_LENGTH, u16(len(length)), length)
        elif req.chunked:
            parts.append(_CHUNKED)
        parts.append(self._extra)
        if keepalive:
            parts.append(_KEEPALIVE)
        block = "".join(parts)
        size = len(block)
        if size > self.max_size:
            raise VarsTooLarge(
                "the request's uwsgi vars block would be %d bytes, more than the worker's"
                " --buffer-size %d" % (size, self.max_size)
            )
        # every character is below 256 here: the request is latin-1 decoded, and any length
        # over 65535 (two characters, the second over 255) made the block too large above
        return (chr(self.modifier1) + u16(size) + chr(self.modifier2) + block).encode("latin-1")
