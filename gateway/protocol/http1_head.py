"""The pieces of an HTTP/1.x request head, validated: pure functions the parser (``http1.py``) calls.

Each either returns what the parser needs or raises :class:`~gateway.protocol.errors.RemoteProtocolError`
with the status to answer (``status_hint``) and a message naming the offending bytes (``show``).

Decisions (RFC 9112 unless said otherwise):

* **Line endings**: CRLF, and a bare LF is accepted as a line terminator
  anywhere in a head, a chunk-size line or trailers (§2.2 "MAY"; h11 and nginx
  do the same).  A bare CR anywhere is rejected (400): it is the ambiguity
  request smuggling feeds on.
* **Leading empty lines** before a request line are skipped, at most
  ``max_leading_empty_lines`` of them (§2.2).
* **Request line**: exactly ``method SP target SP version``.  Method must be a
  token; ``CONNECT`` gets 501 (we are a gateway for applications, not a
  tunnel).  Version ``HTTP/1.1`` or ``HTTP/1.0``; any other ``HTTP/x.y`` gets
  505, anything else 400.  Targets: origin-form (``/p?q``), absolute-form
  (``http://host/p?q``: ``path="/p"``, ``query="q"``, ``host="host"``, the Host
  header is then ignored as §3.2.2 says) and ``*`` for ``OPTIONS`` only.
  Userinfo in an absolute-form target is refused, and so is an authority that
  is not ``host[:port]`` (RFC 3986 §3.2: a reg-name, an IPv4 address or a
  bracketed IP literal, e.g. ``s://]ufd/`` or an unterminated ``http://[::1``),
  whatever the scheme.  A ``#fragment`` (which RFC 9112 §3.2 does not allow in
  any form: fragments never leave the client) is cut from ``path`` and
  ``query`` and kept in ``target``, as nginx does (uWSGI passes it on in
  ``QUERY_STRING``).  Bytes >= 0x80 are allowed in the target (clients send
  raw UTF-8); CTLs, spaces and tabs are not.
* **Header fields**: the name must be a token, with no whitespace before the
  colon (§5.1); obs-fold continuation lines are refused (§5.2); values may hold
  visible ASCII, SP, HTAB and obs-text, with surrounding SP/HTAB stripped.
  More than one ``Host`` or ``Content-Type`` is refused (a second
  ``Content-Type`` cannot be merged into a list: which one is the body?); a
  missing ``Host`` in HTTP/1.1 is only
  refused with ``require_host=True`` (RFC 9112 §3.2 says MUST, uWSGI does not
  care; the default follows uWSGI).  A ``Host`` that is not ``host[:port]``
  (RFC 9110 §7.2: ``/``, ``@``, spaces...) or whose host holds ``..`` is 400, as
  in nginx (uWSGI passes any value on, and ``HTTP_HOST`` ends up in paths).
* **Body framing** (§6.3): ``Transfer-Encoding`` together with
  ``Content-Length`` is 400; ``Transfer-Encoding`` in HTTP/1.0 is 400; a
  coding list whose final coding is not ``chunked``, that holds an empty
  element (``,chunked``) or applies ``chunked`` twice is 400 (the length cannot
  be determined); a known-good list with other codings before ``chunked``
  (``gzip, chunked``) is 501 (§6.1: a coding we do not implement).
  ``Content-Length`` must be decimal digits; duplicates (or a list such as
  ``5, 5``) are merged when identical, else 400 (RFC 9110 §8.6), and the
  merged value is what ``headers`` then carries, once (``Content-Length: 5``),
  so an app reading ``CONTENT_LENGTH`` sees one number; values above
  ``MAX_CONTENT_LENGTH`` are 400.  No ``Content-Length`` and no
  ``Transfer-Encoding``: no body.
"""

from __future__ import annotations

import ipaddress
import re
from typing import List, Tuple

from .errors import RemoteProtocolError

#: Content-Length values above this are refused (400) whatever ``max_body`` is.
MAX_CONTENT_LENGTH = 2**63 - 1

# Bytes that may appear inside a head line: HTAB, SP..~, obs-text.  Deleting
# them from a head leaves only the CR/LF of line ends and forbidden bytes, so
# one C-level translate() both validates every byte and counts the lines.
PLAIN = bytes([9]) + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
# Slow path only: find the offending character to name it in the error.
BAD_CHAR = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")
ABSOLUTE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)(.*)", re.S)
# RFC 3986 §3.2.2-3.2.3 authority without userinfo: host [":" port], host being a
# bracketed IP literal (checked further by valid_ip_literal) or a reg-name.
AUTHORITY = re.compile(r"(\[[^\]]*\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?")


def show(data: str | bytes | bytearray, limit: int = 48) -> str:
    """A short, log-safe rendering of client bytes for an error message."""
    if isinstance(data, bytearray):
        data = bytes(data)
    shown = repr(data[:limit])
    return shown + "..." if len(data) > limit else shown


def find_blank_line(buf: bytes | bytearray, start: int, limit: int) -> int:
    """Index just past the first empty line (LF or CRLF) that starts after a line end.

    Searches ``buf[start:limit]``; returns -1 when there is none yet.
    """
    crlf = buf.find(b"\n\r\n", start, limit)
    lf = buf.find(b"\n\n", start, crlf + 1 if crlf >= 0 else limit)
    if lf >= 0:
        return lf + 2
    if crlf >= 0:
        return crlf + 3
    return -1


def split_block(block: bytes | bytearray, what: str) -> list[str]:
    """Validate every byte of a head or trailer block and split it into lines.

    ``block`` ends with its blank line; the returned lines do not include it.
    Accepts CRLF and bare LF line ends; a bare CR or a control character is a
    400 naming the line.
    """
    residue = block.translate(None, PLAIN)
    text = block.decode("latin-1")
    lines = text.split("\r\n")
    if len(residue) != 2 * len(lines) - 2 or residue.count(b"\r\n") != len(lines) - 1:
        # Not just CRLFs: bare LFs, a bare CR or a control character.  (The
        # residue alone cannot tell "\r...\n" from "\r\n": count the split too.)
        lines = text.replace("\r\n", "\n").split("\n")
        for number, line in enumerate(lines, 1):
            bad = BAD_CHAR.search(line)
            if bad is None:
                continue
            if bad.group() == "\r":
                raise RemoteProtocolError(
                    f"client sent a bare CR in line {number} of the {what}: {show(line)}"
                )
            raise RemoteProtocolError(
                f"client sent a control character {bad.group()!r} in line {number}"
                f" of the {what}: {show(line)}"
            )
    del lines[-2:]
    return lines


def parse_content_length(value: str, previous: int | None) -> int:
    """Parse one Content-Length field value, merged with an earlier one."""
    if value.isdecimal() and len(value) <= 19:
        # isdecimal() on a latin-1 string means ASCII 0-9 only.
        length = int(value)
    else:
        elements = {e.strip(" \t") for e in value.split(",")}
        if len(elements) != 1:
            raise RemoteProtocolError(f"client sent conflicting Content-Length values: {show(value)}")
        element = elements.pop()
        if not (element.isdecimal() and len(element) <= 19):
            raise RemoteProtocolError(f"client sent an invalid Content-Length: {show(value)}")
        length = int(element)
    if length > MAX_CONTENT_LENGTH:
        raise RemoteProtocolError(f"client sent a Content-Length too large to be real: {show(value)}")
    if previous is not None and previous != length:
        raise RemoteProtocolError(
            f"client sent conflicting Content-Length headers: {previous} and {length}"
        )
    return length


def merge_content_length(headers: List[Tuple[str, str]], length: int | None) -> List[Tuple[str, str]]:
    """The fields with every Content-Length replaced by one holding the merged ``length``, in place
    of the first: the framing the parser decided on is the only one the app can see."""
    merged: List[Tuple[str, str]] = []
    for name, value in headers:
        if len(name) == 14 and name.lower() == "content-length":
            if length is None:
                continue
            value = str(length)
            length = None
        merged.append((name, value))
    return merged


def check_transfer_encoding(te: str, content_length: int | None, http11: bool) -> None:
    """Accept exactly ``chunked`` (case-insensitive), or raise per RFC 9112 §6."""
    if content_length is not None:
        raise RemoteProtocolError(
            "client sent both Transfer-Encoding and Content-Length (RFC 9112 §6.3)"
        )
    if not http11:
        raise RemoteProtocolError("client sent Transfer-Encoding in an HTTP/1.0 request")
    codings = [c.strip(" \t").lower() for c in te.split(",")]
    if codings == ["chunked"]:
        return
    if "" in codings:
        raise RemoteProtocolError(f"client sent a malformed Transfer-Encoding: {show(te)}")
    if codings[-1] != "chunked" or codings.count("chunked") > 1:
        raise RemoteProtocolError(
            f"client sent a Transfer-Encoding whose final coding is not a single chunked: {show(te)}"
        )
    raise RemoteProtocolError(
        f"client sent a transfer coding we do not implement: {show(te)}", 501
    )


def bad_request_line(line: str) -> RemoteProtocolError:
    parts = line.split(" ")
    if len(parts) == 3:
        method, target, version = parts
        if VERSION.fullmatch(version):
            return RemoteProtocolError(f"client sent an unsupported HTTP version: {show(version)}", 505)
        return RemoteProtocolError(f"client sent an invalid HTTP version: {show(version)}")
    return RemoteProtocolError(f"client sent a malformed request line: {show(line)}")


def check_method(method: str) -> None:
    if method == "CONNECT":
        raise RemoteProtocolError("client sent CONNECT: tunnelling is not supported", 501)
    if TOKEN.fullmatch(method) is None:
        raise RemoteProtocolError(f"client sent an invalid request method: {show(method)}")


def split_other_target(method: str, target: str) -> tuple[str, str, str | None]:
    """(path, query, authority) of a target that is not a plain origin-form one."""
    if "\t" in target:
        raise RemoteProtocolError(f"client sent a tab in the request target: {show(target)}")
    if target[:1] == "/":
        path, _, query = target.partition("#")[0].partition("?")
        return path, query, None
    if target == "*":
        if method != "OPTIONS":
            raise RemoteProtocolError(f"client sent the '*' target with method {show(method)}")
        return "*", "", None
    absolute = ABSOLUTE.fullmatch(target)
    if absolute is None:
        raise RemoteProtocolError(
            f"client sent a request target that is neither origin-form, absolute-form"
            f" nor '*': {show(target)}"
        )
    _, authority, rest = absolute.groups()
    if not authority or not valid_host(authority):
        raise RemoteProtocolError(
            f"client sent an absolute-form target without a valid authority: {show(target)}"
        )
    path, _, query = rest.partition("#")[0].partition("?")
    if path[:1] != "/":
        path = "/" + path
    return path, query, authority


def valid_host(value: str) -> bool:
    """Whether a ``Host`` value (or an absolute-form authority) is ``host[:port]``.

    RFC 9110 §7.2 (``uri-host [":" port]``, empty allowed), plus nginx's rule that a
    host holding ``..`` is invalid: apps and routes build paths from ``HTTP_HOST``
    (``setdocroot:/srv/${HTTP_HOST}``), so neither a ``/`` nor a ``..`` may reach them.
    """
    if not value:
        return True
    match = AUTHORITY.fullmatch(value)
    if match is None:
        return False
    host = match.group(1)
    if host[0] == "[":
        return valid_ip_literal(host[1:-1])
    return ".." not in host


def valid_ip_literal(inside: str) -> bool:
    """The inside of ``[...]`` in an authority: an IPv6 address or an IPvFuture (RFC 3986 §3.2.2)."""
    if inside[:1] in ("v", "V"):
        return re.fullmatch(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+", inside) is not None
    try:
        ipaddress.IPv6Address(inside)
    except ValueError:
        return False
    return True
