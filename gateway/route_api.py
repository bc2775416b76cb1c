"""``uwsgi.route(name, args)``: run one internal-routing action on the current request.

::

    uwsgi.route("log", "${REQUEST_URI} from ${REMOTE_ADDR}")   # 0: go on (UWSGI_ROUTE_NEXT)
    uwsgi.route("setpathinfo", "/other")                      # the environ's PATH_INFO changes
    uwsgi.route("addheader", "X-Served-By: app")              # 0: added to the response's headers
    if uwsgi.route("basicauth", "realm:user:pass") == 2:      # 2: the 401 went out
        return []
    uwsgi.route("nosuchaction", "")                           # -1

As uWSGI 2.0.31's ``uwsgi_route_api_func`` (``core/routing.c``): the action is built from
``args`` as a ``--route`` rule's would be (same code: :mod:`gateway.routing.actions`, with
``${VAR}`` expansion), run once, and its code returned: 0 next, 1 continue, 2 break, -1 when
no such action exists or its arguments are refused (logged).

The actions that answer (``return``, ``break`` with a status, ``redirect*``, ``static*``,
``basicauth*`` without credentials, ``cache`` on a hit) write their response at once, as
uWSGI's do, and give 2: the app then returns without calling ``start_response`` (what it
returns is dropped).  ``send``/``send-crnl`` write their bytes as body (a ``200 OK`` head
first when the app has not called ``start_response``).  ``addheader``/``delheader``
(``remheader``) edit the response's headers until they are sent (uWSGI's additional and
removed headers).  Not run (-1, logged): ``clearheaders``/``resetheaders``/``disableheaders``
(response-chain actions), the response transformations (``gzip``, ``tofile``...: a ``--route``
rule adds them) and an answer once the app has called ``start_response``.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from gateway.body_api import respond_callables
from gateway.logs import gen_log
from gateway.routing.actions import (
    ACTIONS,
    BREAK,
    CONTINUE,
    NEXT,
    TRANSFORM_ACTIONS,
    Answer,
    Goto,
    RouteState,
    ServeFile,
    compile_action,
)
from gateway.routing.conditions import RouteSyntaxError
from gateway.routing.vars import RequestView
from gateway.server.current_request import current_environ
from gateway.server.wsgi_call import ROUTE_HEADER_EDITS

#: uWSGI's return codes (``UWSGI_ROUTE_*``)
ROUTE_NEXT, ROUTE_CONTINUE, ROUTE_BREAK, ROUTE_ERROR = 0, 1, 2, -1

#: response-chain actions that ``uwsgi.route()`` does not run
NOT_IN_ROUTE_API = frozenset({"clearheaders", "resetheaders", "disableheaders"})

Headers = List[Tuple[str, str]]


class HeaderEdits:
    """The ``addheader``/``delheader`` edits waiting for ``start_response`` (called with the
    app's headers, returns the ones to send: the removed names dropped, the added lines last)."""

    def __init__(self) -> None:
        self.add: Headers = []
        self.remove: Set[str] = set()

    def __call__(self, headers: Iterable[Tuple[str, str]]) -> Headers:
        kept = [(n, v) for n, v in headers if n.lower() not in self.remove] if self.remove else list(headers)
        return kept + self.add


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError("route() argument %s must be str, not %s" % (what, type(value).__name__))
    return value


def _services() -> Any:
    from gateway.routing.wsgi import SubsystemServices

    return SubsystemServices()


def _edit_headers(response: Any, state: RouteState) -> None:
    """``addheader``/``delheader``: into the edits ``start_response`` applies, or into the head
    already made when the app called it (lost once the head is sent, as in uWSGI)."""
    if response.headers_sent:
        return
    if response.status is None:
        edits = response.environ.get(ROUTE_HEADER_EDITS)
        if edits is None:
            edits = response.environ[ROUTE_HEADER_EDITS] = HeaderEdits()
        edits.remove |= state.del_headers
        edits.add = [(n, v) for n, v in edits.add if n.lower() not in state.del_headers] + state.add_headers
        return
    lines = response.head.split(b"\r\n")
    status, lines = lines[0], [line for line in lines[1:] if line]
    if state.del_headers:
        drop = {name.encode("latin-1") for name in state.del_headers}
        kept = [line for line in lines if line.split(b":", 1)[0].strip().lower() not in drop]
        if b"content-length" in drop:
            response.content_length = None
        lines = kept
    lines += [("%s: %s" % (n, v)).encode("latin-1") for n, v in state.add_headers]
    if response.settings.response_phases is not None or response.transform is not None:
        # the response chains and the transformations make the head again from these
        notes = response.note()
        notes.app_headers = [(n, v) for n, v in notes.app_headers if n.lower() not in state.del_headers]
        notes.app_headers += state.add_headers
    response.head = b"\r\n".join([status] + lines) + b"\r\n"
    response.headers_count = len(lines)


def _answer(environ: Dict[str, Any], response: Any, result: Any) -> bool:
    """Write an action's answer as the response; False (logged) once the app has started one."""
    if response.status is not None:
        gen_log.error("uwsgi.route(): the action answers the request, but the app already called "
                      "start_response: nothing sent")
        return False
    start_response, write = respond_callables(environ)
    if isinstance(result, Answer):
        start_response(result.status, list(result.headers))
        write(result.body)
        return True
    from gateway.server.static_files import file_response

    assert isinstance(result, ServeFile)
    try:
        st: Optional[os.stat_result] = os.stat(result.path)
    except OSError:
        st = None
    body = file_response(environ, start_response, result.path, st) if st is not None else None
    if body is None:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        write(b"Not Found")
        return True
    try:
        for chunk in body:
            write(chunk)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return True


def route(name: str, args: str) -> int:
    """Run routing action ``name`` with ``args`` on the current request; its code (see the
    module docstring).  ``SystemError`` outside a request, as uWSGI."""
    name = _text(name, "1")
    args = _text(args, "2")
    environ: Dict[str, Any] = current_environ("route")
    if name not in ACTIONS:
        return ROUTE_ERROR  # uWSGI: no router by that name, silently
    if name in NOT_IN_ROUTE_API:
        gen_log.error("uwsgi.route(%r): a response-chain action, not supported by gateway's route(): use an "
                      "--error-route or --response-route rule", name)
        return ROUTE_ERROR
    if name in TRANSFORM_ACTIONS:
        # its step would go into a state that nothing reads: the body would pass untransformed
        gen_log.error("uwsgi.route(%r): a response transformation, not supported by gateway's route(): use a "
                      "--route rule", name)
        return ROUTE_ERROR
    try:
        action = compile_action(name + ":" + args)
    except RouteSyntaxError as e:
        gen_log.error("uwsgi.route(%r, %r): %s", name, args, e)
        return ROUTE_ERROR
    from gateway import uwsgi_module

    worker_id = uwsgi_module.worker_id() or 1
    state = RouteState(environ, worker_id)
    result = action(state, RequestView(environ, (), worker_id, _services()))
    for line in state.logs:
        gen_log.info("%s", line)
    if state.donotlog:
        environ["gateway.donotlog"] = True
    response = environ.get("gateway.response")
    if response is not None and (state.add_headers or state.del_headers):
        _edit_headers(response, state)
    if state.sent and response is not None:  # send/send-crnl: body bytes, at once
        start_response, write = respond_callables(environ)
        if response.status is None:
            start_response("200 OK", [])
        for data in state.sent:
            write(data)
    if result is NEXT or isinstance(result, Goto):  # a goto outside a chain goes nowhere (uWSGI: NEXT)
        return ROUTE_NEXT
    if result is CONTINUE:
        return ROUTE_CONTINUE
    if result is BREAK:
        return ROUTE_BREAK
    if response is None or not _answer(environ, response, result):
        return ROUTE_ERROR
    return ROUTE_BREAK
