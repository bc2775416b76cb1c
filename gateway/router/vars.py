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
* repeated headers are merged as ``--http-socket`` merges them (``Cookie`` with
  ``"; "``, others with ``","``), so the worker's environ is the same whichever
  door the request came through;
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

The packet header and vars are encoded by :mod:`gateway.protocol.uwsgi`'s codec.
"""

from __future__ import annotations

import socket
from typing import Dict, List, Optional, Tuple

from gateway.protocol.environ import decode_path, header_key
from gateway.protocol.http1 import Request
from gateway.protocol.uwsgi import KEEPALIVE_VAR, encode_header, encode_vars

__all__ = ["VarsBuilder", "VarsTooLarge"]

class VarsTooLarge(Exception):
    """The vars block would exceed the worker's ``--buffer-size`` (or 65535)."""


# Header name (as sent) -> its var name as bytes, or None (dropped).
_KEY_BYTES: Dict[str, Optional[bytes]] = {}
_KEY_BYTES_MAX = 2048
_KEEPALIVE = encode_vars([(KEEPALIVE_VAR.encode("latin-1"), b"1")])
#: Vars the router writes itself from the parsed request, never from the header.
_OWN = ("HTTP_EXPECT", "CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING")


def _key_bytes(name: str) -> Optional[bytes]:
    key = _KEY_BYTES.get(name, b"")
    if key != b"":
        return key
    cgi = header_key(name)
    encoded = None if cgi is None or cgi in _OWN else cgi.encode("latin-1")
    if len(_KEY_BYTES) < _KEY_BYTES_MAX:
        _KEY_BYTES[name] = encoded
    return encoded


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
    ) -> None:
        name = server_name if server_name is not None else socket.gethostname()
        static = [
            (b"SCRIPT_NAME", b""),
            (b"SERVER_NAME", name.encode("latin-1", "replace")),
            (b"SERVER_PORT", server_port.encode("latin-1")),
            (b"UWSGI_ROUTER", b"http"),
        ]
        if https:
            static.append((b"HTTPS", b"on"))
        self._static = encode_vars(static)
        self._extra = encode_vars(extra_vars)
        self.modifier1 = modifier1
        self.modifier2 = modifier2
        self.max_size = min(max_size, 65535)

    def build(self, req: Request, remote_addr: str, remote_port: str, keepalive: bool = False) -> bytes:
        """The 4-byte header and the vars block for ``req`` (its body follows unframed);
        ``keepalive`` adds the persistent-connection marker (gateway workers only)."""
        enc = "latin-1"
        path = req.path
        if "%" in path:
            path = decode_path(path)
        pairs: List[Tuple[bytes, bytes]] = [
            (b"REQUEST_METHOD", req.method.encode(enc)),
            (b"PATH_INFO", path.encode(enc)),
            (b"REQUEST_URI", req.target.encode(enc)),
            (b"QUERY_STRING", req.query.encode(enc)),
            (b"SERVER_PROTOCOL", req.version.encode(enc)),
        ]
        client = [(b"REMOTE_ADDR", remote_addr.encode(enc)), (b"REMOTE_PORT", remote_port.encode(enc))]
        seen: Dict[bytes, int] = {}
        cache = _KEY_BYTES
        for name, value in req.headers:
            key = cache.get(name, b"")
            if key == b"":
                key = _key_bytes(name)
            if key is None:
                continue
            index = seen.get(key)
            if index is None:
                seen[key] = len(client)
                client.append((key, value.encode(enc)))
            else:
                sep = b"; " if key == b"HTTP_COOKIE" else b","
                client[index] = (key, client[index][1] + sep + value.encode(enc))
        if req.content_length is not None:
            client.append((b"CONTENT_LENGTH", b"%d" % req.content_length))
        elif req.chunked:
            client.append((b"HTTP_TRANSFER_ENCODING", b"chunked"))
        parts = [encode_vars(pairs), self._static, encode_vars(client), self._extra]
        if keepalive:
            parts.append(_KEEPALIVE)
        body = b"".join(parts)
        size = len(body)
        if size > self.max_size:
            raise VarsTooLarge(
                "the request's uwsgi vars block would be %d bytes, more than the worker's"
                " --buffer-size %d" % (size, self.max_size)
            )
        return encode_header(self.modifier1, size, self.modifier2) + body
