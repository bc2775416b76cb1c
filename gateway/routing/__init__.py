"""uWSGI's internal routing: ``--route*`` rules run in the worker before the apps, and
the ``--error-route*``, ``--response-route*``, ``--final-route*`` chains around the response.

* :mod:`gateway.routing.vars`: ``$N`` and ``${VAR}``/``${name[ARG]}`` expansion;
* :mod:`gateway.routing.conditions`: the ``--route-if`` conditions;
* :mod:`gateway.routing.actions`: the actions (``rewrite``, ``redirect``, ``basicauth``...);
* :mod:`gateway.routing.rules`: the chain, compiled from the options and run per request;
* :mod:`gateway.routing.wsgi`: the WSGI layer that applies an outcome;
* :mod:`gateway.routing.response`: the later chains and the response header options
  (``--del-header``, ``--collect-header``, ``--pull-header``), run by the one WSGI runner.

All but the last two are free of WSGI and sockets, and tested as plain functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict

from gateway.routing.conditions import RouteSyntaxError
from gateway.routing.rules import PHASES, ROUTE_OPTIONS, RouteChain, compile_chain, phase_options

if TYPE_CHECKING:  # pragma: no cover
    from gateway.config import Config

__all__ = ["ROUTE_OPTIONS", "RouteChain", "RouteSyntaxError", "chain_from_config", "chains_from_config",
           "compile_chain"]


def chain_from_config(cfg: "Config") -> RouteChain:
    """The chain of every ``--route*`` option of ``cfg``, in the order given (empty if none);
    RouteSyntaxError names the bad rule."""
    return compile_chain(cfg.in_order(*ROUTE_OPTIONS))


def chains_from_config(cfg: "Config") -> Dict[str, RouteChain]:
    """Every chain of ``cfg`` by phase (``request``, ``error``, ``response``, ``final``; empty
    ones included); RouteSyntaxError names the bad rule."""
    return {phase: compile_chain(cfg.in_order(*phase_options(phase))) for phase in PHASES}
