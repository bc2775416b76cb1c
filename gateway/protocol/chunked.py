"""Chunked transfer coding for responses (RFC 9112 §7.1): frame body bytes as chunks.

Used when an HTTP/1.1 response has no Content-Length: each non-empty body
piece is sent as one chunk and the body ends with :data:`CHUNKED_END`.
(Decoding chunked *requests* is part of :mod:`gateway.protocol.http1`.)

>>> encode_chunk(b"hello")
b'5\\r\\nhello\\r\\n'
>>> encode_chunk(b"") + CHUNKED_END
b'0\\r\\n\\r\\n'
"""

from __future__ import annotations

__all__ = ["encode_chunk", "CHUNKED_END"]

#: The last chunk with no trailer fields: ends a chunked body.
CHUNKED_END = b"0\r\n\r\n"


def encode_chunk(data: bytes) -> bytes:
    """``data`` framed as one chunk; ``b""`` for empty data.

    An empty chunk would be the last-chunk marker and end the body early
    (WSGI apps may yield ``b""``), so empty input encodes to nothing.
    """
    if not data:
        return b""
    return b"%x\r\n%b\r\n" % (len(data), data)
