"""``--http-auto-gzip``: the router compresses an answer the app marked ``uWSGI-Encoding: gzip``.

uWSGI's rule (``plugins/http/keepalive.c``): the client accepts ``gzip`` (its
``Accept-Encoding`` names it), the worker's answer carries ``uWSGI-Encoding: gzip`` and no
``Content-Encoding``; the router then sends the body gzipped, with ``Content-Encoding: gzip``
and chunked framing.  :func:`wants_gzip` decides from the head's lines, :func:`gzip_head_lines`
rewrites them, and :class:`GzipRelay` (no I/O) turns the worker's body bytes, however
framed, into the bytes for the client::

    relay = GzipRelay(length=None, chunked=False, rechunk=True)
    out = relay.feed(b"hello")          # a gzip chunk, flushed (a stream is not held back)
    out += relay.finish()               # the gzip trailer, then the last chunk

Each piece is compressed with a sync flush, so a streamed answer reaches the client as
the app yields it (uWSGI deflates each read the same way).
"""

from __future__ import annotations

import zlib
from typing import List, Optional, Sequence

from gateway.protocol.upstream_response import ChunkedBody, UpstreamProtocolError

#: the compression level (zlib's default, as uWSGI's ``uwsgi_deflate_init``)
LEVEL = 6
_LAST_CHUNK = b"0\r\n\r\n"
_DROPPED = (b"uwsgi-encoding", b"content-length", b"transfer-encoding")


def client_accepts_gzip(headers: Sequence[tuple]) -> bool:
    """The request's ``Accept-Encoding`` names gzip (uWSGI looks for the word, as here)."""
    return any(name.lower() == "accept-encoding" and "gzip" in value.lower() for name, value in headers)


def wants_gzip(lines: Sequence[bytes]) -> bool:
    """The answer says ``uWSGI-Encoding: gzip`` and has no ``Content-Encoding``."""
    marked = False
    for line in lines:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-encoding":
            return False
        if key == b"uwsgi-encoding" and value.strip().lower().startswith(b"gzip"):
            marked = True
    return marked


def gzip_head_lines(lines: Sequence[bytes]) -> bytes:
    """The header block for the client: without ``uWSGI-Encoding`` (ours, not the client's)
    and the worker's framing, with ``Content-Encoding: gzip``; no final CRLF."""
    kept = [line for line in lines if line.partition(b":")[0].strip().lower() not in _DROPPED]
    kept.append(b"Content-Encoding: gzip")
    return b"\r\n".join(kept)


class GzipRelay:
    """The worker's body in (``length`` bytes, or ``chunked``, or up to its close), gzip out.

    ``rechunk``: frame the output in chunks (an HTTP/1.1 client); else it is close-delimited.
    :meth:`feed` raises :class:`UpstreamProtocolError` on a broken chunked body.
    """

    def __init__(self, length: Optional[int], chunked: bool, rechunk: bool, max_trailers: int = 65536) -> None:
        self._z = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # with the gzip header
        self.remaining = length
        self._chunks = ChunkedBody(max_trailers) if chunked else None
        self.rechunk = rechunk
        #: the body is complete (its length reached, or its last chunk); :meth:`finish` is due
        self.done = length == 0
        #: bytes the worker sent after the body's end (the connection is then not reusable)
        self.surplus = False

    def feed(self, data: bytes) -> bytes:
        """The bytes to send the client for ``data`` from the worker."""
        pieces: List[bytes]
        if self._chunks is not None:
            pieces = self._chunks.feed(data)
            self.done = self._chunks.done
        elif self.remaining is not None:
            if len(data) >= self.remaining:
                self.surplus = len(data) > self.remaining
                data = data[: self.remaining]
                self.done = True
            self.remaining -= len(data)
            pieces = [data]
        else:
            pieces = [data]
        payload = b"".join(pieces)
        if not payload:
            return b""
        return self._frame(self._z.compress(payload) + self._z.flush(zlib.Z_SYNC_FLUSH))

    def finish(self) -> bytes:
        """The gzip trailer (and the last chunk): the end of the client's body."""
        tail = self._frame(self._z.flush(zlib.Z_FINISH))
        return tail + _LAST_CHUNK if self.rechunk else tail

    @property
    def ends_at_eof(self) -> bool:
        """The worker's body is delimited by its close (no length, not chunked)."""
        return self._chunks is None and self.remaining is None

    def _frame(self, data: bytes) -> bytes:
        if not data:
            return b""
        return b"%x\r\n%b\r\n" % (len(data), data) if self.rechunk else data


__all__ = ["GzipRelay", "UpstreamProtocolError", "client_accepts_gzip", "gzip_head_lines", "wants_gzip"]
