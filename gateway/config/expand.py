"""Placeholder expansion over the assembled configuration: ``$(ENV)``, ``@(file)``, ``%(name)``.

uWSGI expands these after every source has been read, in three passes over all
entries in order (``core/utils.c``, ``uwsgi_apply_config_pass``):

1. ``$(NAME)`` → the environment variable NAME (``$(NAME:-default)`` when unset
   or empty, ``$(NAME-default)`` when unset, from uWSGI's master branch: 2.0.x keeps them verbatim);
2. ``@(path)`` → the content of a file, without its final newline (``@(exec://COMMAND)``:
   what the command prints);
3. ``%(name)`` → the value of the **first** entry with that key, an option or a
   placeholder (so ``%(socket)`` works too); with spaces, ``%(a + 1)`` is uWSGI's
   placeholder arithmetic (:func:`placeholder_math`).  Entries earlier in the order are
   already expanded; after a substitution the value is scanned again, so a
   placeholder may refer to placeholders defined later.

A reference that cannot be resolved is left verbatim (and reported as a
warning here); parentheses may nest inside the reference.  Values of
"immediate" options (``ini``, ``set``, ...) are not expanded by these passes,
as in uWSGI: they were acted on while the sources were read.  Expansion is
bounded by ``max_substitutions`` per value so that ``a = %(b)`` / ``b = %(a)``
is an error instead of uWSGI's endless loop.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import replace
from typing import Callable, Mapping, Sequence

from gateway.config.errors import ConfigError
from gateway.config.model import Entry
from gateway.config.schemes import UnsupportedScheme, read_scheme, scheme_of

#: Keys acted on while reading the sources, whose values the passes leave alone.
IMMEDIATE = frozenset({
    "ini", "json", "js", "yaml", "yml", "xml", "xmlconfig", "include", "config",
    "set", "set-placeholder", "set-ph", "strict", "help", "usage", "version",
})

DEFAULT_MAX_SUBSTITUTIONS = 100


def _is_logic_key(key: str) -> bool:
    """``if-env``, ``for``... ``endif`` (any spelling): immediate in uWSGI, so never expanded by
    the passes (their argument was expanded when the block opened)."""
    from gateway.config.logic import BLOCK_KEYS, END_KEYS
    from gateway.config.options import find

    option = find(key)
    return option is not None and option.name in BLOCK_KEYS | END_KEYS

Resolver = Callable[[str], "str | None"]


def find_reference(value: str, symbol: str, start: int) -> tuple[int, int] | None:
    """The next ``S(...)`` at or after ``start``: (index of S, index of the closing paren).

    As uWSGI's scanner, an ``S`` inside a reference starts over there, so the innermost
    reference comes first (``%(%(name))`` expands ``%(name)``, then what it made).
    """
    opener = symbol + "("
    position = value.find(opener, start)
    while position >= 0:
        depth = 0
        resume = position + 2
        for index in range(position + 2, len(value)):
            char = value[index]
            if char == symbol:
                resume = index  # an inner reference (or a stray symbol: uWSGI drops this one)
                break
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    if index > position + 2:  # ``S()`` is not a reference
                        return position, index
                    break
                depth -= 1
        else:
            return None  # unbalanced: nothing more to find
        position = value.find(opener, resume)
    return None


def expand_text(
    value: str,
    symbol: str,
    resolve: Resolver,
    *,
    what: str,
    max_substitutions: int = DEFAULT_MAX_SUBSTITUTIONS,
    unresolved: list[str] | None = None,
) -> str:
    """Replace every resolvable ``symbol(key)`` in ``value``; rescan after each substitution."""
    count = 0
    start = 0
    seen_unresolved: list[str] = []
    while True:
        found = find_reference(value, symbol, start)
        if found is None:
            break
        begin, end = found
        key = value[begin + 2 : end]
        replacement = resolve(key)
        if replacement is None:
            seen_unresolved.append(f"{symbol}({key})")
            start = end + 1
            continue
        value = value[:begin] + replacement + value[end + 1 :]
        count += 1
        if count > max_substitutions:
            raise ConfigError(
                f"expanding {what} does not terminate (more than {max_substitutions} "
                "substitutions; do two placeholders refer to each other?)"
            )
        start = 0
        seen_unresolved.clear()
    if unresolved is not None:
        unresolved.extend(dict.fromkeys(seen_unresolved))
    return value


def environment_resolver(environ: Mapping[str, str]) -> Resolver:
    """``$(NAME)``, ``$(NAME:-default)`` (unset or empty) and ``$(NAME-default)`` (unset)."""

    def resolve(key: str) -> str | None:
        if ":-" in key:
            name, _, default = key.partition(":-")
            return environ.get(name) or default
        if "-" in key:
            name, _, default = key.partition("-")
            return environ.get(name, default)
        return environ.get(key)

    return resolve


def file_resolver(read_file: Callable[[str], str], what: Callable[[], str]) -> Resolver:
    """``@(path)``: the file's content without one trailing newline; ``@(exec://COMMAND)`` and
    ``@(fd://N)`` read what uWSGI's schemes read (:mod:`gateway.config.schemes`)."""

    def resolve(key: str) -> str | None:
        try:
            content = read_scheme(key) if scheme_of(key) else read_file(key)
        except UnsupportedScheme as exc:
            raise ConfigError(f"@({key}) in {what()}: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read file '{key}' referenced as @({key}) in {what()}: "
                              f"{exc.strerror or exc}") from None
        if content.endswith("\r\n"):
            return content[:-2]
        return content[:-1] if content.endswith("\n") else content

    return resolve


def entries_resolver(entries: Sequence[Entry]) -> Resolver:
    """``%(name)``: the current value of the first entry keyed ``name`` (flags given bare have none);
    ``%(a + 1)``, with a space in it, is uWSGI's placeholder arithmetic (:func:`placeholder_math`)."""

    def lookup(key: str) -> str | None:
        for entry in entries:
            if entry.key == key:
                return entry.value if isinstance(entry.value, str) else None
        return None

    def resolve(key: str) -> str | None:
        if " " in key:
            return placeholder_math(key, lookup)
        return lookup(key)

    return resolve


_INTEGER_PREFIX = re.compile(r"\s*[+-]?\d+")


def _strtoll(text: str) -> int:
    """C's ``strtoll(text, NULL, 10)``: the leading integer, 0 when there is none."""
    match = _INTEGER_PREFIX.match(text)
    return int(match.group()) if match else 0


def _c_division(left: int, right: int) -> int:
    """C's integer division (toward zero); uWSGI makes ``/ 0`` give 0."""
    if right == 0:
        return 0
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


_ARITHMETIC: dict[str, Callable[[int, int], int]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": _c_division,
}


def placeholder_math(expression: str, lookup: Resolver) -> str | None:
    """uWSGI's ``%(processes cpus + 2)``: the space-separated words, left to right; a number is
    itself, any other word the value of that option or placeholder ('' when none), and two
    operands in a row are concatenated; ``+ - * /`` apply integer arithmetic to the result
    so far and the next operand (``/ 0`` is 0), ``++`` and ``--`` add or subtract one.  None when
    there was no operand (the reference is then kept verbatim, as in uWSGI)."""
    current: str | None = None
    pending: Callable[[int, int], int] | None = None
    for word in expression.split(" "):
        if not word:
            continue
        if word in _ARITHMETIC:
            pending = _ARITHMETIC[word]
            continue
        if word in ("++", "--"):
            if current is not None:
                current = str(_strtoll(current) + (1 if word == "++" else -1))
            pending = None
            continue
        value = word if word.isdigit() and word.isascii() else (lookup(word) or "")
        if pending is None:
            current = (current or "") + value
        else:
            current = str(pending(_strtoll(current or ""), _strtoll(value)))
        pending = None
    return current


#: Options whose ``%(name)`` left unresolved are request-log variables, not typos.
LOG_TEMPLATES = frozenset({"log-format", "logformat"})


def describe(entry: Entry) -> str:
    return f"'{entry.key}' ({entry.origin})"


def expand_entries(
    entries: Sequence[Entry],
    environ: Mapping[str, str],
    read_file: Callable[[str], str],
    *,
    max_substitutions: int = DEFAULT_MAX_SUBSTITUTIONS,
) -> tuple[list[Entry], list[str], set[str]]:
    """Run the ``$``, ``@`` and ``%`` passes; return the new entries, warnings, and the
    keys that ``%(...)`` references resolved (to tell placeholders in use from typos)."""
    current = list(entries)
    referenced: set[str] = set()
    unresolved: dict[int, list[str]] = {}

    for symbol in ("$", "@", "%"):
        for index, entry in enumerate(current):
            if (entry.key in IMMEDIATE or not isinstance(entry.value, str) or symbol + "(" not in entry.value
                    or _is_logic_key(entry.key)):
                continue
            if symbol == "$":
                resolve = environment_resolver(environ)
            elif symbol == "@":
                resolve = file_resolver(read_file, functools.partial(describe, entry))
            else:
                lookup = entries_resolver(current)

                def resolve(key: str, lookup: Resolver = lookup) -> str | None:
                    value = lookup(key)
                    if value is not None:
                        referenced.add(key)
                    return value

            missing: list[str] = []
            value = expand_text(entry.value, symbol, resolve, what=describe(entry),
                                max_substitutions=max_substitutions, unresolved=missing)
            if missing:
                unresolved.setdefault(index, []).extend(missing)
            if value != entry.value:
                current[index] = replace(entry, value=value)

    warnings = []
    for index, names in unresolved.items():
        entry = current[index]
        if entry.key in LOG_TEMPLATES:
            continue  # %(uri), %(status)...: request-log variables, filled per request
        still = [name for name in dict.fromkeys(names) if name in str(entry.value)]
        for name in still:
            warnings.append(f"{name} in {describe(entry)} is not defined; kept verbatim")
    return current, warnings, referenced
