"""uWSGI's configuration logic: ``if-env``, ``if-exists``, ``for``... ``endif``/``endfor``.

In uWSGI these are immediate options: while the sources are read, a logic key opens a
block, and every entry up to ``endif``/``endfor``/``end`` (or ``else``) goes through the
block's function instead of being added: a condition adds it (with ``%(_)`` replaced by
the tested value) or drops it, a loop adds it once per item::

    [uwsgi]
    if-env = VIRTUAL_ENV
    virtualenv = %(_)
    endif =
    if-exists = /run/app
    socket = %(_)/app.sock
    else =
    socket = 127.0.0.1:3031
    endif =
    for = 8080 8081
    http-socket = :%(_)
    endfor =

The conditions (each re-evaluated for every entry of its block, as uWSGI does):
``if-env NAME[=VALUE]`` / ``if-not-env``, ``if-opt NAME[=VALUE]`` / ``if-not-opt`` (the first
value given so far to that option or placeholder), ``if-exists PATH`` / ``if-not-exists``,
``if-file`` / ``if-not-file``, ``if-dir`` / ``if-not-dir``, ``if-hostname`` /
``if-not-hostname``, ``if-hostname-match REGEXP`` / ``if-not-hostname-match`` (a search in the
host name, with Python's :mod:`re` where uWSGI uses PCRE), ``if-plugin`` / ``if-not-plugin`` (the plugins gateway has built in:
python, python3, tornado, greenlet, http...), ``if-reload`` / ``if-not-reload`` (gateway's
master never re-executes itself: never a reload).  ``else`` (from uWSGI's master branch;
2.0.x has none) opens a block that adds its entries when the last condition failed.  The
loops: ``for`` (items separated by spaces), ``for-glob PATTERN`` (the matching paths, a
directory with a final ``/``, or the pattern itself when nothing matches), ``for-times N``
(1..N), ``for-readline FILE`` (each line, empty ones too).  ``%(_)`` is left as written when
nothing was tested (an unset ``if-not-env``/``if-not-opt``, ``if-reload``), as in uWSGI.

Nesting is refused with uWSGI's message; a block left open runs to the end of the
sources, as in uWSGI.  Unlike uWSGI, the argument of a logic key has ``$(ENV)`` and
``%(name)`` expanded first (as ``ini = ...`` paths are).  This module decides; the reader
of the sources (:mod:`gateway.config.sources`) supplies the environment, the hostname and
the options so far.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional

from gateway.config.converters import FEATURE_PLUGINS

__all__ = ["BLOCK_KEYS", "END_KEYS", "Block", "LogicError", "LogicFacts", "open_block"]

#: Canonical logic option names (aliases resolve to these through the option table).
CONDITIONS = frozenset({
    "if-env", "if-not-env", "if-opt", "if-not-opt", "if-exists", "if-not-exists", "if-file", "if-not-file",
    "if-dir", "if-not-dir", "if-hostname", "if-not-hostname", "if-hostname-match", "if-not-hostname-match",
    "if-plugin", "if-not-plugin", "if-reload", "if-not-reload",
})
LOOPS = frozenset({"for", "for-glob", "for-times", "for-readline"})
BLOCK_KEYS = CONDITIONS | LOOPS | {"else"}
END_KEYS = frozenset({"endif"})

#: What ``if-plugin`` finds: the plugins gateway has built in (``--plugins`` accepts them).
BUILTIN_PLUGINS = frozenset({"python", "python3", "tornado", "greenlet", "http", "corerouter", "ugreen"} | FEATURE_PLUGINS)

#: At most this many items in a ``for`` loop (a ``for-times 1000000000`` must not hang the start).
MAX_ITEMS = 10000


@dataclass
class LogicFacts:
    """What the conditions look at, supplied by the reader of the sources."""

    environ: Mapping[str, str]
    hostname: str
    #: the first value given so far to an option or placeholder, or None
    option_value: Callable[[str], Optional[str]]
    cwd: str = "."
    read_file: Callable[[str], str] = lambda path: open(path, encoding="utf-8").read()


class LogicError(ValueError):
    """A logic block that cannot work; the message names the key."""


@dataclass
class Block:
    """An open block: its kind, its argument, and the outcome of the last condition."""

    kind: str
    arg: str
    #: for ``else``: did the condition before it fail?
    failed_before: bool = False
    #: did this block's condition fail (for the ``else`` after it)?
    failed: bool = False

    def apply(self, value: str, facts: LogicFacts) -> List[str]:
        """The values to add for one entry of the block (``%(_)`` substituted); may be empty."""
        kind = self.kind
        if kind == "else":
            return [value] if self.failed_before else []
        if kind in LOOPS:
            return [value.replace("%(_)", item) for item in self._items(facts)]
        ok, tested = self._condition(facts)
        self.failed = not ok
        if not ok:
            return []
        return [value if tested is None else value.replace("%(_)", tested)]

    def _condition(self, facts: LogicFacts) -> "tuple[bool, Optional[str]]":
        """Whether the condition holds, and what ``%(_)`` is (None: left as written, as uWSGI
        does for an unset ``if-not-env``/``if-not-opt`` and for ``if-reload``)."""
        kind, arg = self.kind, self.arg
        negate = kind.startswith("if-not-")
        base = "if-" + kind[len("if-not-"):] if negate else kind
        if base in ("if-env", "if-opt"):
            name, eq, wanted = arg.partition("=")
            found = facts.environ.get(name) if base == "if-env" else facts.option_value(name)
            ok = found is not None and (not eq or found == wanted)
            return (not ok if negate else ok), found
        if base in ("if-exists", "if-file", "if-dir"):
            path = os.path.join(facts.cwd, arg)
            check = {"if-exists": os.path.exists, "if-file": os.path.isfile, "if-dir": os.path.isdir}[base]
            ok = check(path)
        elif base == "if-hostname":
            ok = facts.hostname == arg
        elif base == "if-hostname-match":
            try:
                ok = re.search(arg, facts.hostname) is not None
            except re.error as e:
                raise LogicError("'%s %s': not a valid regular expression (%s)" % (kind, arg, e)) from None
        elif base == "if-plugin":
            ok = arg.strip().lower() in BUILTIN_PLUGINS
        elif base == "if-reload":
            return negate, None  # the master never re-executes itself
        else:  # pragma: no cover - the option table only routes known kinds here
            raise LogicError("unknown logic option '%s'" % kind)
        return (not ok if negate else ok), arg

    def _items(self, facts: LogicFacts) -> List[str]:
        kind, arg = self.kind, self.arg
        if kind == "for":
            items = [item for item in arg.split(" ") if item]  # spaces only, as uWSGI's strtok
        elif kind == "for-glob":
            found = sorted(glob.glob(os.path.join(facts.cwd, arg)))
            if not os.path.isabs(arg):  # relative pattern, relative paths (as uWSGI's glob gives)
                found = [os.path.relpath(path, facts.cwd) for path in found]
            # GLOB_MARK, as uWSGI: a directory ends with '/'
            found = [path + "/" if os.path.isdir(os.path.join(facts.cwd, path)) else path for path in found]
            items = found or [arg]
        elif kind == "for-times":
            try:
                count = int(arg)
            except ValueError:
                raise LogicError("'for-times' expects a number, got '%s'" % arg) from None
            if count > MAX_ITEMS:
                raise LogicError("'for-times %s': more than %d items" % (arg, MAX_ITEMS))
            items = [str(i) for i in range(1, count + 1)]
        else:  # for-readline
            try:
                text = facts.read_file(os.path.join(facts.cwd, arg))
            except OSError as e:
                raise LogicError("'for-readline %s': %s" % (arg, e.strerror or e)) from None
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()  # the end of the last line, not an empty line
            items = [line.rstrip("\r") for line in lines]  # empty lines too, as uWSGI
        if len(items) > MAX_ITEMS:
            raise LogicError("'%s %s': more than %d items" % (kind, arg, MAX_ITEMS))
        return items


def open_block(kind: str, arg: str, current: Optional[Block], last_failed: bool, facts: LogicFacts) -> Block:
    """A new block for logic key ``kind`` (canonical name); refuses nesting as uWSGI does.

    ``last_failed``: did the last condition fail (what an ``else`` block looks at)."""
    if current is not None and kind != "else":
        raise LogicError("recursive logic in options is not supported (option = %s)" % kind)
    block = Block(kind, arg, failed_before=last_failed)
    if kind in CONDITIONS:
        block.failed = not block._condition(facts)[0]  # known now, for an else with an empty if
    return block
