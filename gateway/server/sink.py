"""The response-sink interface: what a protocol gives the one shared WSGI runner.

:func:`gateway.server.wsgi_call.run_request` runs a WSGI app for *any* protocol.  It
decides what the app said (status, headers, body chunks, errors, ``close()``) and
hands bytes to a :class:`ResponseSink`; the sink alone decides how they travel:

* the HTTP sink (:class:`gateway.server.http.HTTPConnection`) writes the status line
  from the request's version, adds ``Date`` and the framing (the app's
  Content-Length, a computed one for ``return [body]``, chunked on HTTP/1.1,
  close-delimited on 1.0) and keeps the connection alive when it can;
* the uwsgi sink (:class:`gateway.server.uwsgi.UwsgiConnection`) writes
  ``SERVER_PROTOCOL status`` and the app's headers verbatim (as uWSGI does, nothing
  added), never chunks, and ends the body by closing the connection.

The runner never looks inside a sink, and a sink never calls the app: the whole
contract is the methods below, called in this order from the request's core::

    send_head(resp, first, final)      once: status + headers (+ the first body bytes)
    send_body(data)                    0..n times
    finish()                           the body is complete      } exactly one
    send_error(status, reason) / abort()   the app failed        } of these
    request_done(ok)                   after stats and the log line: reuse or close

Any of them may suspend the current core (back-pressure) and may raise
:class:`~gateway.server.wsgi_input.ClientDisconnected`.  A response a ``disableheaders``
route rule stripped of its head skips ``send_head``: its body comes through ``send_body``
alone (unframed), and ``request_done(False)`` closes the connection after it.

A sink may also have ``offload_file(fobj, fd, offset, count, pool, close)``
(``--offload-threads``; both protocols get it from
:class:`gateway.server.file_offload.FileOffload`): the runner then hands it a
``wsgi.file_wrapper`` response over a regular file right after ``send_head`` and
returns, freeing the core; the sink sends the file from the loop and runs its own
``request_done`` when the file is out.  A sink without it gets the wrapper iterated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from gateway.server.wsgi_call import WSGIResponse


class ResponseSink(Protocol):
    """The protocol side of one request (see the module docstring for the call order)."""

    #: True once the peer is gone: the runner stops iterating the app's generator.
    closed: bool

    def send_head(self, resp: "WSGIResponse", first: bytes, final: bool) -> int:
        """Send the status line and headers of ``resp`` (``resp.head`` is
        ``b"200 OK\\r\\n"`` + the app's header lines), followed by ``first``, the first
        body bytes (already cut to the app's Content-Length), when ``resp.send_body``.
        ``final`` means ``first`` is the whole body (``return [body]``, or an empty
        response at the end).  Return the size of the head written, for the log line.
        """

    def send_body(self, data: bytes) -> None:
        """Send more body bytes (never empty; already cut to the Content-Length)."""

    def peer_parses_chunked(self) -> bool:
        """Whether the peer reads a body in HTTP/1.1 chunked framing (an HTTP/1.1 client, the
        router on a persistent connection): where it does not (nginx's ``uwsgi_pass``,
        FastCGI, SCGI, an HTTP/1.0 client), a ``chunked`` transformation is left out."""

    def finish(self) -> None:
        """The body is complete (HTTP: the last chunk; uwsgi: close the connection)."""

    def send_error(self, status: int, reason: str, detail: str = "") -> Tuple[int, int, int]:
        """Nothing was sent yet and the request failed: answer ``status`` and end the
        connection after it (``detail``: more text for the body, ``--catch-exceptions``'s
        traceback).  Return what the request log counts of it, :func:`answer_sizes`."""

    def abort(self) -> None:
        """The response failed after bytes went out: cut the connection so the peer sees
        a truncated response rather than a complete wrong one."""

    def detach(self) -> Any:
        """Hand the connection over (websocket upgrade): the protocol stops parsing and
        framing; return its transport.  ``request_done`` still runs at the end."""

    def request_done(self, ok: bool) -> None:
        """The request is over (``ok``: the response went out complete and correct):
        keep the connection for the next request, or close it."""


def answer_sizes(answer: bytes, body_sent: int) -> Tuple[int, int, int]:
    """``(headers, head bytes, body bytes)`` of an answer a sink wrote whole (an error),
    ``answer`` being its status line, headers, blank line and the ``body_sent`` bytes of body:
    the request log's ``N headers in B bytes`` and ``generated N bytes``, as for an app's."""
    head = len(answer) - body_sent
    return answer.count(b"\r\n", 0, head) - 2, head, body_sent


#: :func:`body_framing` kinds: the head says where the body ends (a Content-Length, or no
#: body at all), the body is chunked, or only the close of the connection ends it.
FRAMED, CHUNKED, TO_CLOSE = 0, 1, 2


def body_framing(resp: "WSGIResponse", first: bytes, final: bool, can_chunk: bool) -> Tuple[bytes, int]:
    """How a sink that keeps its connection frames ``resp``: ``(extra header lines, kind)``.

    Shared by the HTTP sink and the uwsgi sink of a persistent router connection, so the
    two cannot disagree: the app's Content-Length is kept; a ``return [body]`` (``final``)
    gets a computed one, also for ``HEAD`` (the length a ``GET`` would get); otherwise
    the body is chunked when ``can_chunk`` (an HTTP/1.1 peer), else it ends at the close.
    """
    if not resp.send_body:
        if resp.content_length is None and final and first and resp.code >= 200 and resp.code not in (204, 304):
            return b"Content-Length: %d\r\n" % len(first), FRAMED
        return b"", FRAMED
    if resp.content_length is not None:
        return b"", FRAMED
    if final:
        return b"Content-Length: %d\r\n" % len(first), FRAMED
    if resp.transform is not None and resp.transform.self_chunked:
        return b"", FRAMED  # a ``chunked`` transformation frames the body itself
    if can_chunk:
        return b"Transfer-Encoding: chunked\r\n", CHUNKED
    return b"", TO_CLOSE
