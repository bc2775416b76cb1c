"""The two data shapes shared by every configuration source: :class:`Entry` and :class:`Config`.

Sources (``UWSGI_*`` variables, the command line, ini files) are read into an
ordered list of :class:`Entry`, uWSGI's "exported options": the key exactly as the
user spelled it, the raw text, and where it came from.  Resolution turns that list
into a :class:`Config`, which exposes every option of the table as an attribute
and keeps the entries for ``uwsgi.opt`` and for debugging.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Union

from gateway.config.fields import ConfigFields

#: The value of an :class:`Entry`: text, or ``True`` for a flag given bare on the
#: command line (uWSGI stores no value there, and ``uwsgi.opt`` shows ``True``).
RawValue = Union[str, bool]


@dataclass(frozen=True)
class Entry:
    """One ``key = value`` from one source, in the order uWSGI would apply it.

    ``key`` is the spelling the user wrote (``workers``, ``processes`` or, for
    ``-p``, uWSGI's long name ``processes``); a key that is no option is a
    placeholder.  ``origin`` is human-readable ("command line", "app.ini line 3",
    "environment variable UWSGI_PROCESSES").  ``exported`` is False for the few
    entries uWSGI does not show in ``uwsgi.opt`` (a config file given as a lone
    positional argument).
    """

    key: str
    value: RawValue
    origin: str
    exported: bool = True


def option_key(name: str) -> str:
    """Normalise an attribute-style or option-style name: ``wsgi_file`` → ``wsgi-file``."""
    name = name.strip()
    if name.startswith("--"):
        name = name[2:]
    if name.endswith("_") and not name.endswith("__"):
        name = name[:-1]  # ``config.async_`` for the keyword ``async``
    return name.replace("_", "-")


class Config(ConfigFields):
    """Resolved configuration: every option of the table, defaults applied.

    Attributes are the option names with dashes as underscores
    (``config.wsgi_file``, ``config.erlang_cookie``); ``async`` is a Python
    keyword, so use ``config.get("async")`` or ``config.async_``.  Repeatable
    options are lists (empty when absent), flags are bools, unset scalars without
    a default are ``None``.  Their types are declared in
    :class:`~gateway.config.fields.ConfigFields`, generated from the table, so mypy
    checks every ``cfg.name`` (a name that is no option is an error, not a guess
    with ``getattr``).

    A ``Config`` is immutable.  It is built by :func:`gateway.config.load`.
    """

    __slots__ = ("_values", "_given", "_index", "sources", "placeholders", "warnings")
    _values: dict[str, Any]
    _given: dict[str, str]
    _index: Mapping[str, Any]
    sources: tuple[Entry, ...]
    placeholders: dict[str, str]
    warnings: tuple[str, ...]

    def __init__(
        self,
        values: Mapping[str, Any],
        given: Mapping[str, str],
        sources: tuple[Entry, ...],
        placeholders: Mapping[str, str],
        warnings: tuple[str, ...],
    ) -> None:
        from gateway.config.options import OPTIONS_BY_SPELLING

        object.__setattr__(self, "_values", dict(values))
        # option name -> origin of the entry whose value won
        object.__setattr__(self, "_given", dict(given))
        object.__setattr__(self, "_index", OPTIONS_BY_SPELLING)
        #: every entry in application order, after placeholder expansion
        object.__setattr__(self, "sources", sources)
        #: ini/env keys that are not options, usable as ``%(name)``
        object.__setattr__(self, "placeholders", dict(placeholders))
        #: non-fatal problems (missing ini section, unresolved placeholder, ...)
        object.__setattr__(self, "warnings", warnings)

    @classmethod
    def defaults(cls) -> "Config":
        """Every option at its default, as if nothing was given (for embedders and tests)."""
        from gateway.config.options import OPTIONS

        return cls({option.name: option.empty for option in OPTIONS}, {}, (), {}, ())

    # -- attribute access -----------------------------------------------------

    def _canonical(self, name: str) -> str:
        key = option_key(name)
        option = self._index.get(key)
        if option is None:
            raise AttributeError(f"gateway has no option named {name!r}")
        return option.name

    if not TYPE_CHECKING:  # mypy sees the declared fields only, never "any attribute"

        def __getattr__(self, attr: str) -> Any:
            if attr.startswith("_"):  # private or dunder: never an option (and no recursion
                raise AttributeError(attr)  # while copy/pickle probe a half-built instance)
            canonical = self._canonical(attr)
            value = self._values[canonical]
            return list(value) if isinstance(value, list) else value

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError("Config is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Config, (self._values, self._given, self.sources, self.placeholders, self.warnings))

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {n.replace("-", "_") for n in self._values})

    def get(self, name: str) -> Any:
        """The value of option ``name`` (any spelling: ``wsgi-file``, ``file``, ``wsgi_file``)."""
        value = self._values[self._canonical(name)]  # not getattr: ``--get`` is no method
        return list(value) if isinstance(value, list) else value

    def given(self, name: str) -> bool:
        """True when ``name`` (any spelling) was set explicitly by some source."""
        return self._canonical(name) in self._given

    def source_of(self, name: str) -> str | None:
        """Where the effective value of ``name`` came from, or None for a default."""
        return self._given.get(self._canonical(name))

    def as_dict(self) -> dict[str, Any]:
        """All options by canonical name (dashes kept), lists copied."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._values.items()}

    def in_order(self, *names: str) -> list[tuple[str, Any]]:
        """``(option name, converted value)`` for every entry of the options ``names`` (any
        spelling), in the order they were given, across sources *and* across those options.

        For option families whose relative order matters, as uWSGI's one chain of
        ``--route``, ``--route-if``, ``--route-run``... (each attribute keeps only its own
        option's values in order).
        """
        wanted = {self._canonical(name) for name in names}
        found: list[tuple[str, Any]] = []
        for entry in self.sources:
            option = self._index.get(entry.key)
            if option is not None and option.name in wanted:
                found.append((option.name, option.convert(entry.value)))
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def uwsgi_opt(self) -> dict[str, Any]:
        """What ``uwsgi.opt`` shows: every exported entry, as uWSGI builds it.

        Keys are the spellings used, values are **bytes** (the text after
        placeholder expansion), ``True`` for a flag given bare on the command
        line, and a list when a key occurs more than once.  Placeholders are
        included, as in uWSGI.
        """
        opt: dict[str, Any] = {}
        for entry in self.sources:
            if not entry.exported:
                continue
            value: Any = True if entry.value is True else os.fsencode(str(entry.value))
            if entry.key not in opt:
                opt[entry.key] = value
            elif isinstance(opt[entry.key], list):
                opt[entry.key].append(value)
            else:
                opt[entry.key] = [opt[entry.key], value]
        return opt

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={self._values[k]!r}" for k in self._given)
        return f"<Config {given}>"
