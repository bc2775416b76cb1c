"""The ``start_response`` contract of PEP 3333 as pure functions: validate, then serialise.

Everything a WSGI app hands to ``start_response`` is checked here, so a bad header
raises *inside the app* (where its traceback makes sense) instead of corrupting the
wire: status and headers must be native ``str``; no CR, LF or NUL anywhere (response
splitting); header names are tokens; everything encodes to latin-1; hop-by-hop
headers (``Upgrade``, ``TE``, ...) are the server's business (PEP 3333, "Other HTTP
Features").  Three of them are hints apps send anyway (``Connection: keep-alive`` on an
event stream, ``Connection: close``, ``Transfer-Encoding: chunked`` on a streamed body):
uWSGI passes them on, so such apps run there; here they are left out of the head, the
server frames the body itself, and ``Connection: close`` closes the connection after the
response (gunicorn does the same).

:func:`serialize_headers` returns the app's header block as bytes, plus what the
server needs for framing: the declared Content-Length, if any, and whether the app
asked for the connection to close.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Dict, List, Optional, Sequence, Tuple

HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    )
)

#: the hop-by-hop headers taken as hints and left out (see the module docstring)
_HINTS = frozenset(("connection", "keep-alive", "transfer-encoding"))


_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_VALID_NAMES: Dict[str, str] = {}


_STATUS_CODES: Dict[str, int] = {}


def status_code(status: str) -> int:
    """Validate a WSGI status string (``"200 OK"``) and return its code."""
    code = _STATUS_CODES.get(status) if type(status) is str else None
    if code is not None:
        return code
    if type(status) is not str:
        raise TypeError("WSGI status must be a str, not %s" % type(status).__name__)
    if len(status) < 4 or status[3] != " " or not status[:3].isdigit():
        if not (len(status) == 3 and status.isdigit()):
            raise ValueError("WSGI status %r is not of the form '200 OK'" % (status,))
    if "\r" in status or "\n" in status or "\0" in status:
        raise ValueError("WSGI status %r contains a control character" % (status,))
    code = int(status[:3])
    if code < 100:
        raise ValueError("WSGI status %r: the code must be >= 100" % (status,))
    if len(_STATUS_CODES) < 512:  # apps use a handful of distinct status lines
        _STATUS_CODES[status] = code
    return code


def with_reason(status: str, code: int) -> str:
    """``status`` with a reason phrase: an app's bare ``"404"`` (or ``"404 "``) becomes
    ``"404 Not Found"`` (``"599 Unknown"`` for a code without one), as uWSGI completes it.

    HTTP/1.1's status line needs the space after the code (RFC 9112 §4), and clients and
    proxies that read the phrase (logs, ``http.client``'s ``reason``) get the usual one.
    """
    if len(status) > 4:
        return status
    return "%d %s" % (code, reason_phrase(code) or "Unknown")


#: where uWSGI's table (``core/init.c``) says otherwise than Python's; codes it lacks
#: (``308``, ``423``...) get Python's phrase here, ``Unknown`` there
_UWSGI_PHRASES = {418: "I'm a teapot", 509: "Bandwidth Limit Exceeded"}


def reason_phrase(code: int) -> Optional[str]:
    """The reason phrase of ``code`` as uWSGI writes it (``418 I'm a teapot``), else Python's
    (for the codes uWSGI's table lacks); None for a code neither knows."""
    phrase = _UWSGI_PHRASES.get(code)
    if phrase is not None:
        return phrase
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return None


def _check_name(name: str) -> str:
    lower = _VALID_NAMES.get(name)
    if lower is not None:
        return lower
    if type(name) is not str:
        raise TypeError("WSGI header name %r must be a str, not %s" % (name, type(name).__name__))
    if not name or not _TOKEN_CHARS.issuperset(name):
        raise ValueError("WSGI header name %r is not a valid HTTP token" % (name,))
    lower = name.lower()
    if lower in HOP_BY_HOP and lower not in _HINTS:
        raise ValueError("WSGI apps must not set the hop-by-hop header %r (PEP 3333)" % (name,))
    if len(_VALID_NAMES) < 1024:
        _VALID_NAMES[name] = lower
    return lower


def serialize_headers(headers: Sequence[Tuple[str, str]]) -> Tuple[bytes, Optional[int], int, bool]:
    """Validate ``headers`` and return ``(block, content_length, count, close)``.

    ``block`` is ``b"Name: value\\r\\n"`` repeated, ready to follow a status line;
    ``close``: the app sent ``Connection: close`` (left out of the block, as ``Keep-Alive``,
    other ``Connection`` values and ``Transfer-Encoding: chunked`` are; any other
    ``Transfer-Encoding`` is refused).
    """
    if type(headers) is not list:
        if not isinstance(headers, (list, tuple)):
            raise TypeError("WSGI response headers must be a list, not %s" % type(headers).__name__)
    parts: List[str] = []
    content_length: Optional[int] = None
    close = False
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise TypeError("WSGI header %r must be a (name, value) tuple" % (item,))
        name, value = item
        lower = _check_name(name)
        if type(value) is not str:
            raise TypeError("WSGI header %r value %r must be a str, not %s" % (name, value, type(value).__name__))
        if "\n" in value or "\r" in value or "\0" in value:
            raise ValueError("WSGI header %r value %r contains CR, LF or NUL" % (name, value))
        if lower in _HINTS:
            if lower == "connection":
                close = close or "close" in [t.strip() for t in value.lower().split(",")]
            elif lower == "transfer-encoding" and value.strip().lower() != "chunked":
                raise ValueError("WSGI apps must not set Transfer-Encoding %r: the server frames the body" % (value,))
            continue
        if lower == "content-length":
            v = value.strip()
            if not v.isdigit() or not v.isascii():
                raise ValueError("WSGI header Content-Length %r is not a non-negative integer" % (value,))
            n = int(v)
            if content_length is not None and content_length != n:
                raise ValueError("WSGI response has two different Content-Length headers")
            content_length = n
        parts.append("%s: %s\r\n" % (name, value))
    try:
        block = "".join(parts).encode("latin-1")
    except UnicodeEncodeError as e:
        raise ValueError("WSGI response headers must be latin-1 encodable: %s" % e) from None
    return block, content_length, len(parts), close


def body_allowed(code: int, method: str) -> bool:
    """Whether a response may carry a body (RFC 9110: not for HEAD, 1xx, 204, 304)."""
    return not (method == "HEAD" or code < 200 or code == 204 or code == 304)
