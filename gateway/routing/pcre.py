"""PCRE regular expressions as Python's :mod:`re` reads them.

uWSGI compiles its rules' regexps with PCRE; gateway with :mod:`re`, which reads almost all of
what configs use the same way.  The one common PCRE spelling :mod:`re` refuses is the named
group, ``(?<name>...)`` / ``(?'name'...)``, and its back-references ``\\k<name>``,
``\\k'name'``, ``\\k{name}``: :func:`to_python` rewrites those to ``(?P<name>...)`` and
``(?P=name)`` (outside character classes and escapes), so a rule written for uWSGI compiles
here with the same groups (``$1`` still counts them as PCRE does).
"""

from __future__ import annotations

import re
from typing import List, Pattern

__all__ = ["compile_pcre", "to_python"]

_NAMED_GROUP = re.compile(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')")
_BACKREF = re.compile(r"\\k(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)'|\{([A-Za-z_]\w*)\})")


def to_python(expr: str) -> str:
    """``expr`` with PCRE's named groups and named back-references in :mod:`re`'s spelling."""
    if "(?<" not in expr and "(?'" not in expr and "\\k" not in expr:
        return expr  # (the common case: nothing to rewrite)
    out: List[str] = []
    i, n, in_class = 0, len(expr), False
    while i < n:
        c = expr[i]
        if c == "\\":
            m = None if in_class else _BACKREF.match(expr, i)
            if m is not None:
                out.append("(?P=%s)" % (m.group(1) or m.group(2) or m.group(3)))
                i = m.end()
                continue
            out.append(expr[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and expr[i] == "^":
                out.append("^")
                i += 1
            if i < n and expr[i] == "]":  # a "]" first in a class is a literal
                out.append("]")
                i += 1
            continue
        elif c == "(":
            m = _NAMED_GROUP.match(expr, i)
            if m is not None:
                out.append("(?P<%s>" % (m.group(1) or m.group(2)))
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def compile_pcre(expr: str, flags: int = 0) -> Pattern[str]:
    """:func:`re.compile` of ``expr`` read as PCRE (see :func:`to_python`); raises re.error."""
    return re.compile(to_python(expr), flags)
