"""The routing chains around the response, and the response header options.

uWSGI walks three more chains besides ``--route*`` (core/routing.c, core/writer.c):

* ``--error-route*`` as soon as a response status is generated: for *every* response (the
  app's, a request rule's answer, gateway's own 500), not only errors; ``-status CODE``
  rules pick the statuses;
* ``--response-route*`` when the response headers are about to go out (once per request);
* ``--final-route*`` after the response went out, before the request log line.

The first two may change the headers (``addheader``, ``delheader``), replace the response
with an action's answer (``break:STATUS``, ``return``, ``redirect``, ``static``...; the
app's body is then dropped, as uWSGI ignores the body writes after it), or stop: the response
chain's ``break:`` sends the head as the rules left it without the body (as uWSGI), the error
chain's ends the request with nothing sent (the connection is closed).  A replacement made by
the error chain still goes through the response chain, as in uWSGI.

The header options act on the headers of the app (or of a replacement) before the chains
run, so the variables they fill are there for ``${VAR}`` in the rules:
``--del-header NAME`` drops them, ``--collect-header "NAME VAR"`` copies the value into the
request variable VAR, ``--pull-header "NAME VAR"`` copies and drops.  ``--add-header`` lines
and ``addheader`` rules are not subject to them (uWSGI adds both without a name check).

The one WSGI runner (:mod:`gateway.server.wsgi_call`) calls :meth:`ResponsePhases.head` just
before a head goes out and :meth:`ResponsePhases.final` after the response, so every
protocol gets the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from gateway.routing.rules import RouteChain
from gateway.routing.vars import NO_SERVICES, RESPONSE_KEYS, Services
from gateway.routing.wsgi import NO_HEADERS, note_outcome, outcome_response
from gateway.server.static_policy import DEFAULT_POLICY, FilePolicy
from gateway.server.wsgi_call import ROUTE_ADDED_HEADERS

if TYPE_CHECKING:  # pragma: no cover
    from gateway.config import Config

__all__ = ["HeaderRules", "Reply", "ResponsePhases", "phases_from_config"]

Headers = List[Tuple[str, str]]


class HeaderRules:
    """``--del-header``, ``--collect-header``, ``--pull-header`` (names in any case)."""

    def __init__(self, remove: Sequence[str] = (), collect: Sequence[str] = (), pull: Sequence[str] = ()) -> None:
        self.remove = frozenset(name.strip().lower() for name in remove)
        self.collect: Dict[str, List[str]] = {}
        self.pull: Dict[str, str] = {}
        for spec in collect:
            name, _, var = spec.strip().partition(" ")
            self.collect.setdefault(name.lower(), []).append(var.strip())
        for spec in pull:
            name, _, var = spec.strip().partition(" ")
            self.pull.setdefault(name.lower(), var.strip())  # uWSGI: the first --pull-header wins

    def __bool__(self) -> bool:
        return bool(self.remove or self.collect or self.pull)

    def apply(self, environ: Dict[str, Any], headers: Sequence[Tuple[str, str]]) -> Headers:
        """``headers`` without the removed and pulled ones; the collected and pulled values
        are set in ``environ`` (a header given twice: its first value, as uWSGI finds it)."""
        kept: Headers = []
        seen: set = set()
        for name, value in headers:
            lower = name.lower()
            if lower in self.remove:
                continue
            var = self.pull.get(lower)
            if var is not None:
                if var not in seen:
                    seen.add(var)
                    environ[var] = value
                continue
            for var in self.collect.get(lower, ()):
                if var not in seen:
                    seen.add(var)
                    environ[var] = value
            kept.append((name, value))
        return kept


@dataclass
class Reply:
    """What goes out: ``status`` and ``headers`` (the app's, edited), then ``--add-header``,
    then ``added`` (the chains' ``addheader`` lines, last as in uWSGI); ``body`` is None to
    send the app's own body, else the body of a replacement; ``cut``: send nothing, close;
    ``no_headers``: send the body without a status line and headers (then close)."""

    status: str
    headers: Headers
    body: Optional[Iterable[bytes]] = None
    cut: bool = False
    added: Headers = field(default_factory=list)
    #: ``disableheaders`` (in any chain before): send the body alone, no head
    no_headers: bool = False


class ResponsePhases:
    """The error, response and final chains plus the header rules of one worker."""

    def __init__(self, error: RouteChain, response: RouteChain, final: RouteChain,
                 header_rules: Optional[HeaderRules] = None, worker_id: int = 1,
                 services: Services = NO_SERVICES, policy: FilePolicy = DEFAULT_POLICY,
                 headless_requests: bool = False) -> None:
        self.error = error
        self.response = response
        self.final_chain = final
        self.header_rules = header_rules if header_rules is not None else HeaderRules()
        self.worker_id = worker_id
        self.services = services
        self.policy = policy
        #: whether :meth:`head` has anything to do (else the runner keeps its fast path);
        #: ``headless_requests``: the request chain has a ``disableheaders`` rule
        self.on_head = bool(len(error) or len(response) or self.header_rules or headless_requests)
        self.on_final = bool(len(final))

    def head(self, environ: Dict[str, Any], status: str, headers: Sequence[Tuple[str, str]]) -> Reply:
        """The response about to go out (``status``, the app's ``headers``) after the header
        rules, the error chain and the response chain."""
        # (the request chain's addheader lines go out whatever the later chains do: uWSGI keeps
        # them in one list with the later chains' own, sent last)
        reply = Reply(status, self.header_rules.apply(environ, headers),
                      added=list(environ.get(ROUTE_ADDED_HEADERS) or ()))
        for chain in (self.error, self.response):
            if not len(chain):
                continue
            code = _code(reply.status)
            environ[RESPONSE_KEYS["status"]] = code  # ${uwsgi[status]}
            outcome = chain.run(environ, self.worker_id, self.services, status=code)
            note_outcome(environ, outcome)
            state = outcome.state
            if outcome.kind == "close" and chain is self.error:
                # (uWSGI sends a bare CRLF there, no status line: the connection is cut here)
                _close(reply.body)
                return Reply(reply.status, [], cut=True)
            if outcome.kind in ("app", "close"):  # no rule answered: the edits apply to what goes out
                if state.clear_status is not None:  # clearheaders:STATUS
                    reply.status, reply.headers = state.clear_status, []
                if state.del_headers:
                    reply.headers = [(name, value) for name, value in reply.headers
                                     if name.lower() not in state.del_headers]
                reply.added += state.add_headers
                if outcome.kind == "close":
                    # the response chain's break: the head as the rules left it, without the
                    # body (as uWSGI, which writes the head and stops; framed here: length 0)
                    _close(reply.body)
                    reply.headers = [(name, value) for name, value in reply.headers if name.lower() != "content-length"]
                    reply.body = [b""]
                continue
            captured = _Captured()
            body = outcome_response(outcome, environ, captured.start_response, self.policy)
            _close(reply.body)
            reply = Reply(captured.status, self.header_rules.apply(environ, captured.headers), body,
                          added=reply.added + state.add_headers)
        reply.no_headers = bool(environ.get(NO_HEADERS))
        return reply

    def final(self, environ: Dict[str, Any], status: int, body_bytes: int = 0, elapsed: float = 0.0) -> None:
        """Run the final chain for a finished request (its answers were refused at startup):
        ``status``, ``body_bytes`` and ``elapsed`` (seconds) are ``${uwsgi[status|rsize|rtime]}``."""
        environ[RESPONSE_KEYS["status"]] = status
        environ[RESPONSE_KEYS["rsize"]] = body_bytes
        environ[RESPONSE_KEYS["rtime"]] = int(elapsed * 1_000_000)
        outcome = self.final_chain.run(environ, self.worker_id, self.services, status=status)
        note_outcome(environ, outcome)


class _Captured:
    """A ``start_response`` that keeps what a rule's answer says."""

    def __init__(self) -> None:
        self.status = "500 Internal Server Error"
        self.headers: Headers = []

    def start_response(self, status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], None]:
        self.status = status
        self.headers = list(headers)
        return _no_write


def _code(status: str) -> int:
    try:
        return int(status[:3])
    except ValueError:
        return 0


def _no_write(data: bytes) -> None:
    raise AssertionError("a route answer has no write()")


def _close(body: Optional[Iterable[bytes]]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


def phases_from_config(cfg: "Config", worker_id: int = 1, services: Services = NO_SERVICES,
                       policy: FilePolicy = DEFAULT_POLICY) -> Optional[ResponsePhases]:
    """The worker's :class:`ResponsePhases`, or None when no option asks for any."""
    from gateway.routing import chains_from_config

    chains = chains_from_config(cfg)
    rules = HeaderRules(cfg.del_header, cfg.collect_header, cfg.pull_header)
    phases = ResponsePhases(chains["error"], chains["response"], chains["final"], rules, worker_id, services, policy,
                            headless_requests=chains["request"].uses("disableheaders"))
    if not (phases.on_head or phases.on_final):
        return None
    return phases
