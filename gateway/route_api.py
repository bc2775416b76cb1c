"""``uwsgi.route(name, args)``: run one internal-routing action on the current request.

::

    uwsgi.route("log", "${REQUEST_URI} from ${REMOTE_ADDR}")   # 0: go on (UWSGI_ROUTE_NEXT)
    uwsgi.route("setpathinfo", "/other")                      # the environ's PATH_INFO changes
    uwsgi.route("metricinc", "uploads")                       # 0
    uwsgi.route("nosuchaction", "")                           # -1

As uWSGI 2.0.31's ``uwsgi_route_api_func`` (``core/routing.c``): the action is built from
``args`` as a ``--route`` rule's would be (same code: :mod:`gateway.routing.actions`, with
``$N``-less ``${VAR}`` expansion), run once, and its code returned: 0 next, 1 continue,
2 break, -1 when no such action exists or its arguments are refused (logged).

Difference: the actions that make or edit the response (``return``, ``redirect*``,
``static*``, ``send*``, ``basicauth*``, ``break`` with a status, ``addheader`` and the
other header actions, ``cache``) give -1 with a log line, nothing done; uWSGI writes their
response (or header) on the spot.  Use them in ``--route*`` rules, or answer from the app.
"""

from __future__ import annotations

from typing import Any, Dict

from gateway.logs import gen_log
from gateway.routing.actions import ACTIONS, BREAK, CONTINUE, NEXT, Goto, RouteState, compile_action
from gateway.routing.conditions import RouteSyntaxError
from gateway.routing.vars import RequestView
from gateway.server.current_request import current_environ

#: uWSGI's return codes (``UWSGI_ROUTE_*``)
ROUTE_NEXT, ROUTE_CONTINUE, ROUTE_BREAK, ROUTE_ERROR = 0, 1, 2, -1

#: actions whose effect is a response or a response header: not run by ``uwsgi.route()``
RESPONSE_ACTIONS = frozenset({
    "return", "break-with-status", "redirect", "redirect-302", "redirect-301", "redirect-permanent",
    "static", "static-next", "send", "send-crnl", "basicauth", "basicauth-next", "cache",
    "addheader", "delheader", "remheader", "clearheaders", "resetheaders", "disableheaders",
})


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError("route() argument %s must be str, not %s" % (what, type(value).__name__))
    return value


def _services() -> Any:
    from gateway.routing.wsgi import SubsystemServices

    return SubsystemServices()


def route(name: str, args: str) -> int:
    """Run routing action ``name`` with ``args`` on the current request; its code (see the
    module docstring).  ``SystemError`` outside a request, as uWSGI."""
    name = _text(name, "1")
    args = _text(args, "2")
    environ: Dict[str, Any] = current_environ("route")
    if name not in ACTIONS:
        return ROUTE_ERROR  # uWSGI: no router by that name, silently
    if name in RESPONSE_ACTIONS:
        gen_log.error("uwsgi.route(%r): an action that writes the response is not supported by gateway's "
                      "route(): use a --route rule or answer from the app", name)
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
    if result is NEXT or isinstance(result, Goto):  # a goto outside a chain goes nowhere (uWSGI: NEXT)
        return ROUTE_NEXT
    if result is CONTINUE:
        return ROUTE_CONTINUE
    if result is BREAK:
        return ROUTE_BREAK
    gen_log.error("uwsgi.route(%r, %r): the action answered the request, which gateway's route() does "
                  "not support", name, args)
    return ROUTE_ERROR
