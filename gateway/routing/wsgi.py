"""The WSGI layer that runs the ``--route*`` chain in front of the apps (and the static files).

Created in each worker (:mod:`gateway.process.worker`), so it runs for every protocol::

    app = Router(StaticFiles(app, ...), compile_chain(cfg.in_order(*ROUTE_OPTIONS)), worker_id=1)

It turns an :class:`~gateway.routing.rules.Outcome` into WSGI: the app is called (its
response headers changed by ``addheader``/``delheader``), or the action's answer or file
is sent, or the request ends without a response (``break`` with nothing to say: the
runner cuts the connection, as uWSGI closes it).  ``log:`` lines go to the server log;
``donotlog`` and "a rule answered" are left in the environ for the request runner
(``gateway.donotlog``, ``gateway.routed``).  :func:`outcome_response` and
:func:`note_outcome` serve the later chains too (:mod:`gateway.routing.response`); an answer
that is one of gateway's own errors (``static:``'s 404) gets its ``--error-page-404``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from gateway.logs import gen_log
from gateway.regular_files import open_regular
from gateway.routing.actions import RouteState
from gateway.routing.rules import Outcome, RouteChain
from gateway.routing.transforms import TRANSFORMS_KEY, TransformChain
from gateway.routing.vars import Services
from gateway.server.error_pages import managed_error
from gateway.server.static_files import file_body, file_response
from gateway.server.static_policy import DEFAULT_POLICY, FilePolicy
from gateway.server.wsgi_call import ROUTE_ADDED_HEADERS
from gateway.server.wsgi_input import ClientDisconnected

__all__ = ["NO_HEADERS", "RouteBreak", "Router", "note_outcome", "outcome_response"]

#: environ key: a ``disableheaders`` rule ran (the response goes out as its body alone)
NO_HEADERS = "gateway.no_headers"


class RouteBreak(ClientDisconnected):
    """A rule ended the request without a response: the runner cuts the connection (as for
    a vanished client: no 500, no traceback)."""


class SubsystemServices(Services):
    """Metrics, signals and caches of this process (:mod:`gateway.subsystems.api`)."""

    def metric(self, op: str, name: str, value: int) -> bool:
        from gateway.subsystems import api

        return bool(getattr(api, "metric_" + op)(name, value))

    def metric_get(self, name: str) -> int:
        from gateway.subsystems import api

        return api.metric_get(name)

    def signal(self, num: int) -> bool:
        from gateway.subsystems import api

        try:
            api.signal(num)
        except (ValueError, OSError):
            return False
        return True

    def set_logvar(self, environ: Dict[str, Any], key: bytes, value: bytes) -> None:
        from gateway.request_api import store_logvar

        try:
            store_logvar(environ, key, value)
        except ValueError as e:
            gen_log.warning("route logvar: %s", e)

    def harakiri(self, seconds: int) -> None:
        from gateway import uwsgi_module

        uwsgi_module.set_user_harakiri(seconds)

    def alarm(self, name: str, message: bytes) -> bool:
        from gateway import uwsgi_module

        return uwsgi_module.alarm(name, message)

    def cache_get(self, key: str, cache: Optional[str]) -> Optional[bytes]:
        from gateway.subsystems import api

        try:
            return api.cache_get(key, cache)
        except (ValueError, TypeError, OSError):
            return None

    def cache_update(self, key: str, value: bytes, expires: int, cache: Optional[str]) -> bool:
        from gateway.subsystems import api

        try:
            return bool(api.cache_update(key, value, expires, cache))
        except (ValueError, TypeError, OSError):
            return False


class Router:
    """The WSGI layer (see the module docstring)."""

    def __init__(self, app: Callable, chain: RouteChain, worker_id: int = 1,
                 policy: FilePolicy = DEFAULT_POLICY, del_headers: Sequence[str] = ()) -> None:
        self.app = app
        self.chain = chain
        self.worker_id = worker_id
        self.services: Services = SubsystemServices()
        #: types, --static-expires*, --static-gzip*: for files served by ``static:`` as for --static-map's
        self.policy = policy
        #: --del-header names (a ``fixcl`` transformation does not add a removed Content-Length)
        self.del_headers = frozenset(name.strip().lower() for name in del_headers)

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        outcome = self.chain.run(environ, self.worker_id, self.services)
        note_outcome(environ, outcome)
        if outcome.state.transforms:  # the response body goes through them (the runner drives it)
            environ[TRANSFORMS_KEY] = TransformChain(outcome.state.transforms,
                                                     self.del_headers | outcome.state.del_headers)
        state = outcome.state
        if state.add_headers:  # (the runner sends them after --add-header, on any response)
            environ[ROUTE_ADDED_HEADERS] = state.add_headers
        if outcome.kind == "app":
            respond = _edit_headers(start_response, state) if state.del_headers else start_response
            return self.app(environ, respond)
        return outcome_response(outcome, environ, start_response, self.policy)


def note_outcome(environ: Dict[str, Any], outcome: Outcome) -> None:
    """What a chain leaves besides the response: its ``log:`` lines (to the server log), a
    ``donotlog:`` and "a rule ended the request" (in the environ, for the request runner)."""
    state = outcome.state
    for line in state.logs:
        gen_log.info("%s", line)
    if state.donotlog:
        environ["gateway.donotlog"] = True
    if outcome.routed:
        environ["gateway.routed"] = True
    if state.disable_headers:
        environ[NO_HEADERS] = True


def outcome_response(outcome: Outcome, environ: Dict[str, Any], start_response: Callable,
                     policy: FilePolicy = DEFAULT_POLICY) -> Iterable[bytes]:
    """The response of an outcome that is not "call the app": an action's answer (with the
    chain's ``delheader``), a file, or RouteBreak for a request ended unanswered.  Shared by
    the request chain and the later ones (:mod:`gateway.routing.response`); the chain's
    ``addheader`` lines are the caller's, sent after ``--add-header`` as uWSGI does."""
    state = outcome.state
    respond = _edit_headers(start_response, state) if state.del_headers else start_response
    if outcome.kind == "answer":
        answer = outcome.answer
        assert answer is not None
        if answer.managed:
            return managed_error(int(answer.status[:3]), respond, answer.body)  # --error-page-404
        respond(answer.status, list(answer.headers))
        return [answer.body]
    if outcome.kind == "file" and outcome.file_head is not None:  # the file: action's own head
        try:
            fd, _ = open_regular(outcome.path)  # (a FIFO swapped in since the check: no blocking open)
        except OSError:
            return managed_error(404, respond)
        status, headers = outcome.file_head
        respond(status, list(headers))
        return file_body(environ, os.fdopen(fd, "rb"))
    if outcome.kind == "file":
        if policy.skipped(os.path.realpath(outcome.path)):  # --static-skip-ext: as a missing file
            return managed_error(404, respond)
        try:
            st = os.stat(outcome.path)
        except OSError:
            st = None
        result = file_response(environ, respond, outcome.path, st, policy) if st is not None else None
        if result is not None:
            return result
        return managed_error(404, respond)
    raise RouteBreak("a route ended the request without a response")


def _edit_headers(start_response: Callable, state: RouteState) -> Callable:
    """``start_response`` without the headers the chain's ``delheader`` rules name."""
    removed = state.del_headers

    def respond(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Callable:
        return start_response(status, [(name, value) for name, value in headers if name.lower() not in removed],
                              exc_info)
    return respond
