"""The rule chain: ``--route*`` options compiled once, run for every request.

uWSGI keeps one chain for all the ``--route*`` options, in the order they were given
(:func:`compile_chain` takes ``(option, value)`` pairs in that order).  A rule is one of:

* ``--route REGEXP ACTION`` and its subject variants (table :data:`SUBJECTS`): the action
  runs when the regexp is found (``re.search``) in the subject; its groups are ``$0``..``$9``;
* ``--route-if COND:ARGS ACTION`` / ``--route-if-not``: the action runs when the condition
  (:mod:`gateway.routing.conditions`) holds / does not hold;
* ``--route-run ACTION``: the action always runs;
* ``--route-label NAME``: a target for ``goto:NAME`` (does nothing itself).

REGEXP and COND:ARGS end at the first space; the rest is the action (``NAME:ARGS``,
:mod:`gateway.routing.actions`).  :meth:`RouteChain.run` walks the rules from the first
and gives an :class:`Outcome`: call the app, send an answer or a file, or end the request
unanswered.  ``goto`` can only jump forward, as in uWSGI (a backward jump is logged and
ends the request), so a chain always ends after at most one pass.

uWSGI has four chains (:data:`PHASES`), each with the same options under its own prefix:
``--route*`` (request: before the app), ``--error-route*`` (when a status is generated),
``--response-route*`` (before the response headers go out) and ``--final-route*``
(after the response).  The three later ones also have ``-status CODE ACTION``: the action
runs when the response status is CODE.  :func:`phase_options` lists each chain's options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from gateway.routing.actions import (
    BREAK,
    CONTINUE,
    NEXT,
    TRANSFORM_ACTIONS,
    Action,
    Answer,
    Goto,
    RouteState,
    ServeFile,
    compile_action,
)
from gateway.routing.conditions import Condition, RouteSyntaxError, compile_condition
from gateway.routing.pcre import compile_pcre
from gateway.routing.vars import NO_SERVICES, RequestView, Services, request_var

__all__ = [
    "PHASES", "RESPONSE_ONLY_ACTIONS", "ROUTE_OPTIONS", "SUBJECTS", "Outcome", "Rule", "RouteChain",
    "RouteSyntaxError", "compile_chain", "phase_options", "split_option",
]

#: ``--route*`` option -> the request variable its regexp is matched against.
SUBJECTS: Dict[str, str] = {
    "route": "PATH_INFO",
    "route-host": "HTTP_HOST",
    "route-uri": "REQUEST_URI",
    "route-qs": "QUERY_STRING",
    "route-remote-addr": "REMOTE_ADDR",
    "route-user-agent": "HTTP_USER_AGENT",
    "route-referer": "HTTP_REFERER",
    "route-remote-user": "REMOTE_USER",
}

#: How uWSGI names each subject in its routing-table dump.
_UWSGI_SUBJECT_NAMES = {
    "route": "path_info", "route-host": "http_host", "route-uri": "request_uri", "route-qs": "query_string",
    "route-remote-addr": "remote_addr", "route-user-agent": "user_agent", "route-referer": "referer",
    "route-remote-user": "remote_user",
}

#: Every option that adds to the (request) chain.
ROUTE_OPTIONS: Tuple[str, ...] = tuple(SUBJECTS) + ("route-if", "route-if-not", "route-run", "route-label")

#: The chains, in the order a request meets them, and the prefix of their options.
PHASES: Dict[str, str] = {"request": "", "error": "error-", "response": "response-", "final": "final-"}

#: Actions that only shape the response: refused in the final chain, where it is already sent.
RESPONSE_ONLY_ACTIONS = frozenset({
    "addheader", "delheader", "remheader", "send", "send-crnl", "return", "break-with-status",
    "redirect", "redirect-302", "redirect-permanent", "redirect-301", "static", "static-next",
    "basicauth", "basicauth-next", "cache", "disableheaders",
    "file", "file-next", "sendfile", "sendfile-next", "fastfile", "fastfile-next",
})


#: Actions that change the head the app made: only in the error and response chains.
HEAD_ONLY_ACTIONS = frozenset({"clearheaders", "resetheaders"})


def phase_options(phase: str) -> Tuple[str, ...]:
    """The options of chain ``phase`` (a key of :data:`PHASES`), e.g. ``response-route-host``."""
    prefix = PHASES[phase]
    if not prefix:
        return ROUTE_OPTIONS
    return tuple(prefix + option for option in ROUTE_OPTIONS) + (prefix + "route-status",)


def split_option(option: str) -> Tuple[str, str]:
    """``"response-route-host"`` -> ``("response", "route-host")``."""
    for phase, prefix in PHASES.items():
        if prefix and option.startswith(prefix + "route"):
            return phase, option[len(prefix):]
    return "request", option


@dataclass(frozen=True)
class Rule:
    """One compiled rule; ``pos`` is its place in the chain (labels count, as in uWSGI)."""

    pos: int
    option: str
    text: str
    label: Optional[str] = None
    subject: Optional[str] = None
    pattern: Optional["re.Pattern[str]"] = None
    condition: Optional[Condition] = None
    action: Optional[Action] = None
    #: ``-route-status CODE``: the response status the rule wants
    status: Optional[int] = None


@dataclass
class Outcome:
    """What the chain decided for one request.

    ``kind``: ``"app"`` (call it), ``"answer"`` (send :attr:`answer`), ``"file"`` (serve
    :attr:`path`) or ``"close"`` (end the request without a response).  ``routed``: a rule's
    action ended the request (uWSGI's ``routed_requests`` counter).
    """

    kind: str
    state: RouteState
    answer: Optional[Answer] = None
    path: str = ""
    routed: bool = False
    #: ``"file"`` of the ``file:`` action: its status and headers (None: ``--static-map``'s)
    file_head: Optional[Tuple[str, Tuple[Tuple[str, str], ...]]] = None


def _action(phase: str, text: str) -> Action:
    name = text.partition(":")[0]
    if name in HEAD_ONLY_ACTIONS and phase in ("request", "final"):
        raise RouteSyntaxError("action %r works on the response head: use it in an --error-route* or "
                               "--response-route* rule" % name)
    if name in TRANSFORM_ACTIONS and phase != "request":
        raise RouteSyntaxError("transformation %r: gateway runs transformations from the request chain "
                               "(--route*) only" % name)
    if phase == "final" and (name in RESPONSE_ONLY_ACTIONS or (name == "break" and text[6:].strip())):
        raise RouteSyntaxError("action %r in a final route: the response is already sent when the "
                               "final chain runs" % name)
    return compile_action(text)


def parse_rule(option: str, value: str, pos: int) -> Rule:
    """One ``(option, value)`` -> :class:`Rule`; RouteSyntaxError says what is wrong."""
    phase, base = split_option(option)
    if base == "route-label":
        if not value.strip():
            raise RouteSyntaxError("a route label needs a name")
        return Rule(pos, option, value, label=value.strip())
    if base == "route-run":
        return Rule(pos, option, value, action=_action(phase, value))
    head, space, action_text = value.partition(" ")
    action_text = action_text.strip()
    if not space or not head or not action_text:
        raise RouteSyntaxError("invalid route syntax %r: expected %s ACTION" % (
            value, "COND:ARGS" if base.startswith("route-if") else "STATUS" if base == "route-status" else "REGEXP"))
    if base in ("route-if", "route-if-not"):
        condition = compile_condition(head, negate=base == "route-if-not")
        return Rule(pos, option, value, condition=condition, action=_action(phase, action_text))
    if base == "route-status" and phase != "request":
        if not (head.isdigit() and head.isascii() and 100 <= int(head) <= 999):
            raise RouteSyntaxError("a status rule starts with an HTTP status (100-999), got %r" % head)
        return Rule(pos, option, value, status=int(head), action=_action(phase, action_text))
    subject = SUBJECTS.get(base)
    if subject is None:
        raise RouteSyntaxError("%s is not a routing option" % option)
    try:
        pattern = compile_pcre(head)
    except re.error as exc:
        raise RouteSyntaxError("bad regular expression %r: %s" % (head, exc)) from None
    return Rule(pos, option, value, subject=subject, pattern=pattern, action=_action(phase, action_text))


def _static_goto(option: str, value: str) -> Optional[str]:
    """The label of a ``goto:LABEL`` action without variables (checked at startup)."""
    action = value if split_option(option)[1] == "route-run" else value.partition(" ")[2].strip()
    if action.startswith("goto:") and "$" not in action:
        return action[5:]
    return None


def compile_chain(entries: Sequence[Tuple[str, str]]) -> "RouteChain":
    """``(option, value)`` pairs, in the order given -> :class:`RouteChain`.

    Raises RouteSyntaxError whose message names the option and the rule.
    """
    rules: List[Rule] = []
    for pos, (option, value) in enumerate(entries):
        try:
            rules.append(parse_rule(option, value, pos))
        except RouteSyntaxError as exc:
            raise RouteSyntaxError("--%s %s: %s" % (option, value, exc)) from None
    chain = RouteChain(rules)
    for rule in rules:
        if rule.label is not None:
            continue
        label = _static_goto(rule.option, rule.text)
        if label is None:
            continue
        target = chain.target(label)
        if target is None:
            raise RouteSyntaxError("--%s %s: goto to a label that is not defined (%r)" % (rule.option, rule.text, label))
        if target <= rule.pos:
            raise RouteSyntaxError("--%s %s: goto can only jump forward, and label %r comes before it"
                                   % (rule.option, rule.text, label))
    return chain


class RouteChain:
    """The compiled rules (see the module docstring); immutable, shared by all cores."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._labels: Dict[str, int] = {}
        for rule in self.rules:
            if rule.label is not None:
                self._labels.setdefault(rule.label, rule.pos)

    def __len__(self) -> int:
        return len(self.rules)

    def uses(self, action: str) -> bool:
        """Whether a rule of the chain runs ``action`` (its name, as written)."""
        for rule in self.rules:
            text = rule.text if split_option(rule.option)[1] == "route-run" else rule.text.partition(" ")[2].strip()
            if rule.label is None and text.partition(":")[0] == action:
                return True
        return False

    def dump(self, phase: str = "request") -> List[str]:
        """The table uWSGI logs at startup (``*** dumping internal routing table ***``, and
        ``internal response routing table`` etc. for the other chains)."""
        name = "" if phase == "request" else phase + " "
        lines = ["*** dumping internal %srouting table ***" % name]
        for rule in self.rules:
            base = split_option(rule.option)[1]
            if rule.label is not None:
                lines.append("[rule: %d] label: %s" % (rule.pos, rule.label))
            elif base == "route-run":
                lines.append("[rule: %d] action: %s" % (rule.pos, rule.text))
            else:
                head, _, action = rule.text.partition(" ")
                if rule.status is not None:
                    lines.append("[rule: %d] subject: %s func: %s action: %s" % (rule.pos, head, head, action.strip()))
                elif rule.condition is not None:
                    cond, _, args = head.partition(":")
                    negate = "!" if base == "route-if-not" else ""
                    lines.append("[rule: %d] subject: %s func: %s%s action: %s" % (rule.pos, args, negate, cond, action.strip()))
                else:
                    subject = _UWSGI_SUBJECT_NAMES[base]
                    lines.append("[rule: %d] subject: %s regexp: %s action: %s" % (rule.pos, subject, head, action.strip()))
        lines.append("*** end of the internal %srouting table ***" % name)
        return lines

    def target(self, label: str) -> Optional[int]:
        """Where ``goto:label`` jumps: the label's position, else a rule number, else None."""
        if label in self._labels:
            return self._labels[label]
        return int(label) if label.isdigit() else None

    def run(self, environ: Dict[str, object], worker_id: int = 1, services: Services = NO_SERVICES,
            status: int = 0) -> Outcome:
        """Walk the chain for one request; ``environ`` is changed in place by the actions
        (``services``: the metrics, signals and caches the actions may use; ``status``: the
        response's, for the ``-route-status`` rules of the later chains)."""
        state = RouteState(environ, worker_id)
        skip_to = 0
        for rule in self.rules:
            if rule.label is not None or rule.pos < skip_to:
                continue
            skip_to = 0
            req = RequestView(environ, (), worker_id, services)
            if rule.status is not None:
                if rule.status != status:
                    continue
            elif rule.condition is not None:
                captures = rule.condition.test(req)
                if captures is None:
                    continue
                req.captures = captures
            elif rule.pattern is not None:
                match = rule.pattern.search(request_var(environ, rule.subject or "") or "")
                if match is None:
                    continue
                req.captures = (match.group(0),) + match.groups()
            assert rule.action is not None
            result = rule.action(state, req)
            if result is NEXT:
                continue
            if isinstance(result, Goto):
                target = self.target(result.label)
                if target is None or target <= rule.pos:
                    state.logs.append("[route] ERROR goto can only jump forward (check the label %r)" % result.label)
                    return self._finish(state, BREAK)
                skip_to = target
                continue
            return self._finish(state, result)
        return self._finish(state, CONTINUE)

    @staticmethod
    def _finish(state: RouteState, result: object) -> Outcome:
        routed = result is not CONTINUE
        if state.sent:
            # Bytes were "sent" by send/send-crnl: they are the response (uWSGI has written
            # them already, so neither the app nor a later answer can change the status).
            body = b"".join(state.sent)
            answer = Answer("200 OK", (("Content-Length", str(len(body))),), body)
            return Outcome("answer", state, answer=answer, routed=routed)
        if result is CONTINUE:
            return Outcome("app", state)
        if isinstance(result, Answer):
            return Outcome("answer", state, answer=result, routed=True)
        if isinstance(result, ServeFile):
            return Outcome("file", state, path=result.path, routed=True, file_head=result.head)
        return Outcome("close", state, routed=True)
