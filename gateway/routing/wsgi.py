"""The WSGI layer that runs the ``--route*`` chain in front of the apps (and the static files).

Created in each worker (:mod:`gateway.process.worker`), so it runs for every protocol::

    app = Router(StaticFiles(app, ...), compile_chain(cfg.in_order(*ROUTE_OPTIONS)), worker_id=1)

It turns an :class:`~gateway.routing.rules.Outcome` into WSGI: the app is called (its
response headers changed by ``addheader``/``delheader``), or the action's answer or file
is sent, or the request ends without a response (``break`` with nothing to say: the
runner cuts the connection, as uWSGI closes it).  ``log:`` lines go to the server log;
``donotlog`` and "a rule answered" are left in the environ for the request runner
(``gateway.donotlog``, ``gateway.routed``).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from gateway.logs import gen_log
from gateway.routing.actions import RouteState
from gateway.routing.rules import RouteChain
from gateway.routing.vars import Services
from gateway.server.static_files import file_response
from gateway.server.static_policy import DEFAULT_POLICY, FilePolicy
from gateway.server.wsgi_input import ClientDisconnected

__all__ = ["RouteBreak", "Router"]


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


class Router:
    """The WSGI layer (see the module docstring)."""

    def __init__(self, app: Callable, chain: RouteChain, worker_id: int = 1,
                 policy: FilePolicy = DEFAULT_POLICY) -> None:
        self.app = app
        self.chain = chain
        self.worker_id = worker_id
        self.services: Services = SubsystemServices()
        #: types, --static-expires*, --static-gzip*: for files served by ``static:`` as for --static-map's
        self.policy = policy

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        outcome = self.chain.run(environ, self.worker_id, self.services)
        state = outcome.state
        for line in state.logs:
            gen_log.info("%s", line)
        if state.donotlog:
            environ["gateway.donotlog"] = True
        if outcome.routed:
            environ["gateway.routed"] = True
        respond = _edit_headers(start_response, state) if state.add_headers or state.del_headers else start_response
        if outcome.kind == "app":
            return self.app(environ, respond)
        if outcome.kind == "answer":
            assert outcome.answer is not None
            respond(outcome.answer.status, list(outcome.answer.headers))
            return [outcome.answer.body]
        if outcome.kind == "file":
            try:
                st = os.stat(outcome.path)
            except OSError:
                st = None
            result = file_response(environ, respond, outcome.path, st, self.policy) if st is not None else None
            if result is not None:
                return result
            respond("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
            return [b"Not Found"]
        raise RouteBreak("a route ended the request without a response")


def _edit_headers(start_response: Callable, state: RouteState) -> Callable:
    removed = state.del_headers
    added = state.add_headers

    def respond(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Callable:
        kept = [(name, value) for name, value in headers if name.lower() not in removed] if removed else list(headers)
        return start_response(status, kept + added, exc_info)
    return respond
