"""``--route-if COND:ARGS ACTION`` conditions (uWSGI's core/routing.c table).

Each condition gets its argument text with ``$N``/``${...}`` expanded
(:mod:`gateway.routing.vars`).  One-argument conditions test a path or a value;
two-argument ones split the text at the first ``;`` into ``LEFT;RIGHT``:

=============================================  ==============================================
``exists:PATH``                                the path exists (any kind of file)
``isfile:PATH`` / ``isdir:PATH``               a regular file / a directory
``islink:PATH``                                a symbolic link
``isexec:PATH``                                executable by this process (``access(X_OK)``)
``empty:VALUE``                                the expanded value is empty
``equal`` ``isequal`` ``eq`` ``==``            LEFT equals RIGHT
``startswith`` / ``endswith``                  LEFT starts / ends with RIGHT
``contains`` ``contain``                       RIGHT occurs in LEFT (an empty RIGHT never does)
``regexp`` ``re``                              the regexp RIGHT (not expanded) is found in LEFT;
                                               its groups become ``$0``..``$9`` for the action
``ishigher`` ``>``  ``ishigherequal`` ``>=``   LEFT and RIGHT compared as integers (C's
``islower`` ``<``   ``islowerequal`` ``<=``    ``strtol``: leading digits, else 0)
``ipv4in`` / ``ipv6in``                        the address LEFT is in the network RIGHT
                                               (``ADDR[/PREFIX]``)
=============================================  ==============================================

A two-argument condition without ``;``, an unknown name or a bad regexp is refused when
the rule is compiled (uWSGI silently treats the first as false).
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Callable, Dict, Optional, Tuple

from gateway.routing.pcre import compile_pcre
from gateway.routing.vars import RequestView, _leading_int, expand

__all__ = ["CONDITIONS", "Condition", "RouteSyntaxError", "compile_condition"]

#: What a true condition gives the action: the ``$0``..``$9`` captures (empty tuple: none).
Captures = Tuple[Optional[str], ...]


class RouteSyntaxError(ValueError):
    """A rule that cannot be compiled (the message says why; the caller names the option)."""


def _ip_in(left: str, right: str, version: int) -> bool:
    try:
        address = ipaddress.ip_address(left)
        network = ipaddress.ip_network(right, strict=False)
    except ValueError:
        return False
    return address.version == version and network.version == version and address in network


_PATH_TESTS: Dict[str, Callable[[str], bool]] = {
    "exists": os.path.lexists,
    "isfile": os.path.isfile,
    "isdir": os.path.isdir,
    "islink": os.path.islink,
    "isexec": lambda p: bool(p) and os.access(p, os.X_OK),
    "empty": lambda v: v == "",
}

_PAIR_TESTS: Dict[str, Callable[[str, str], bool]] = {
    "equal": lambda a, b: a == b,
    "startswith": lambda a, b: a.startswith(b),
    "endswith": lambda a, b: a.endswith(b),
    "contains": lambda a, b: bool(b) and b in a,  # (an empty RIGHT is in nothing, as in uWSGI)
    "ishigher": lambda a, b: _leading_int(a) > _leading_int(b),
    "ishigherequal": lambda a, b: _leading_int(a) >= _leading_int(b),
    "islower": lambda a, b: _leading_int(a) < _leading_int(b),
    "islowerequal": lambda a, b: _leading_int(a) <= _leading_int(b),
    "ipv4in": lambda a, b: _ip_in(a, b, 4),
    "ipv6in": lambda a, b: _ip_in(a, b, 6),
}

#: Every condition name (aliases included) -> its canonical name.
CONDITIONS: Dict[str, str] = {name: name for name in list(_PATH_TESTS) + list(_PAIR_TESTS)}
CONDITIONS.update({
    "isequal": "equal", "eq": "equal", "==": "equal",
    "contain": "contains",
    ">": "ishigher", ">=": "ishigherequal", "<": "islower", "<=": "islowerequal",
    "regexp": "regexp", "re": "regexp",
})


class Condition:
    """A compiled condition: :meth:`test` returns the captures when true, None when false."""

    __slots__ = ("name", "negate", "_path", "_pair", "_left", "_right", "_regexp")

    def __init__(self, name: str, args: str, negate: bool = False) -> None:
        canonical = CONDITIONS.get(name)
        if canonical is None:
            raise RouteSyntaxError("unknown route condition %r (known: %s)" % (name, ", ".join(sorted(CONDITIONS))))
        self.name = canonical
        self.negate = negate
        self._path = _PATH_TESTS.get(canonical)
        self._pair = _PAIR_TESTS.get(canonical)
        self._regexp: Optional[re.Pattern[str]] = None
        if self._path is not None:
            self._left, self._right = args, ""
            return
        left, sep, right = args.partition(";")
        if not sep:
            raise RouteSyntaxError("route condition %r expects LEFT;RIGHT, got %r" % (name, args))
        self._left, self._right = left, right
        if canonical == "regexp":
            try:
                self._regexp = compile_pcre(right)
            except re.error as exc:
                raise RouteSyntaxError("bad regular expression %r in route condition %r: %s" % (right, name, exc)) from None

    def test(self, req: RequestView) -> Optional[Captures]:
        """The captures for the action when the condition holds (negation applied), else None."""
        captures: Captures = ()
        left = expand(self._left, req)
        if self._path is not None:
            result = self._path(left)
        elif self._regexp is not None:
            match = self._regexp.search(left)
            result = match is not None
            if match is not None:
                captures = (match.group(0),) + match.groups()
        else:
            assert self._pair is not None
            result = self._pair(left, expand(self._right, req))
        if result == self.negate:
            return None
        return () if self.negate else captures


def compile_condition(text: str, negate: bool = False) -> Condition:
    """``COND:ARGS`` (the part of a ``--route-if`` before the space) -> :class:`Condition`."""
    name, sep, args = text.partition(":")
    if not sep:
        raise RouteSyntaxError("route condition %r: expected NAME:ARGS" % text)
    return Condition(name, args, negate)
