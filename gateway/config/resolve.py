"""Turn the assembled, expanded entries into a validated :class:`~gateway.config.model.Config`.

Entries are applied in order: a scalar option keeps the last value given, a
repeatable one accumulates.  Each value is converted by its option's type; a
failure names the option, the value and where it came from.  Then come the
checks that involve several options (what uWSGI does in its option handlers and
``sanitize_args``):

* ``--tornado`` without ``--greenlet``: refused, because uWSGI segfaults on the
  first request in that mode;
* ``--greenlet`` without ``--tornado``: refused with uWSGI's own message;
* ``--tornado`` raises ``socket-timeout`` to 30 when it was not given;
* an option that is not supported yet is refused unless it is set to its
  default (``master = false``, ``harakiri = 0``), which asks for nothing.

Keys that are not options are placeholders: kept (first value wins, as for
``%(name)``) and exported to ``uwsgi.opt``.  One never referenced as
``%(name)`` whose spelling is close to an option's gets a "did you mean"
warning, since it is most likely a typo that uWSGI would silently ignore.
"""

from __future__ import annotations

import os
import re
from typing import Any, Sequence

from gateway.config.errors import ConfigError, Invalid
from gateway.config.logic import BLOCK_KEYS, END_KEYS
from gateway.config.model import Config, Entry
from gateway.config.options import OPTIONS, Option, find, suggest
from gateway.config.sources import spelled, where

#: The logic keys (``if-env``... ``endif``): entries of their own, with nothing to convert.
LOGIC_KEYS = BLOCK_KEYS | END_KEYS

#: ``socket-timeout`` under ``--tornado`` when not given (uWSGI's tornado plugin does the same).
TORNADO_SOCKET_TIMEOUT = 30


def _message(option_key: str, entry: Entry, exc: Invalid) -> str:
    name = spelled(option_key, entry)
    if exc.detail:
        return f"option '{name}': {exc.detail}{where(entry)}"
    return f"option '{name}' expects {exc.expected}, got '{entry.value}'{where(entry)}"


def _unsupported(option: Option, entry: Entry) -> str:
    message = f"option '{spelled(entry.key, entry)}' is not supported yet by gateway"
    if option.hint:
        message += f" ({option.hint})"
    return message + where(entry)


def _is_default(option: Option, entry: Entry) -> bool:
    """An unsupported option set to its default value asks for nothing: accept it."""
    if option.repeatable:
        return False
    try:
        value = option.convert(entry.value)
    except Invalid:
        return False
    if option.flag:
        return value is False
    return option.default is not None and value == option.default


def resolve(
    entries: Sequence[Entry],
    *,
    warnings: Sequence[str] = (),
    referenced: set[str] | frozenset[str] = frozenset(),
) -> Config:
    """Convert and validate ``entries`` into a :class:`Config`; raise :class:`ConfigError`."""
    values: dict[str, Any] = {option.name: option.empty for option in OPTIONS}
    given: dict[str, str] = {}
    placeholders: dict[str, str] = {}
    notes = list(warnings)

    for entry in entries:
        option = find(entry.key)
        if option is None:
            if isinstance(entry.value, str):
                placeholders.setdefault(entry.key, entry.value)
            continue
        if not entry.exported and option.name == "ini":
            continue  # a positional config file: read, not recorded (uWSGI does the same)
        if option.name in LOGIC_KEYS:
            continue  # acted on while the sources were read; kept for uwsgi.opt
        if not option.supported:
            if _is_default(option, entry):
                continue
            raise ConfigError(_unsupported(option, entry))
        try:
            value = option.convert(entry.value)
        except Invalid as exc:
            raise ConfigError(_message(entry.key, entry, exc)) from None
        if option.clamp and option.maximum is not None and value > option.maximum:
            notes.append(f"option '{entry.key}' {value} lowered to {int(option.maximum)}, "
                         f"its maximum (as uWSGI does){where(entry)}")
            value = type(value)(option.maximum)
        if option.repeatable:
            values[option.name].extend(value if isinstance(value, list) else [value])
        else:
            values[option.name] = value
        given[option.name] = entry.origin

    _check_engine(values, given)
    _apply_logger(values, given)
    if values["tornado"] is not None and "socket-timeout" not in given:
        values["socket-timeout"] = max(values["socket-timeout"], TORNADO_SOCKET_TIMEOUT)

    for key in placeholders:
        close = suggest(key)
        if key not in referenced and close:
            origin = next(e.origin for e in entries if e.key == key)
            notes.append(f"'{key}' ({origin}) is not an option (did you mean '{close}'?); "
                         "kept as a placeholder")

    return Config(values, given, tuple(entries), placeholders, tuple(dict.fromkeys(notes)))


def _from(given: dict[str, str], name: str) -> str:
    origin = given.get(name, "command line")
    return "" if origin == "command line" else f" (from {origin})"


#: ``--logto`` as uWSGI reads a UDP address: ``HOST:PORT`` (no ``/``: a path is a file)
UDP_LOGTO = re.compile(r"[^/:]*:\d+")


def _apply_logger(values: dict[str, Any], given: dict[str, str]) -> None:
    """``--log-socket``/``--log-syslog`` are ``--logger`` values; the first ``--logger file:PATH``
    is ``--logto PATH`` (so rotation and the log master apply to it), unless ``--logger stdio``
    keeps the original stderr; ``--logto HOST:PORT`` is ``--logger socket:HOST:PORT``."""
    from gateway.log_plugins import SpecError, logto_logger, parse_logger

    for alias, plugin in (("log-socket", "socket"), ("log-syslog", "syslog")):
        for value in values[alias]:
            try:
                values["logger"].append(str(parse_logger("%s:%s" % (plugin, value))))
            except SpecError as e:
                raise ConfigError("--%s %s: %s" % (alias, value, e) + _from(given, alias)) from None
            given.setdefault("logger", given[alias])
    udp = values["logto"] and UDP_LOGTO.fullmatch(values["logto"])
    if udp:
        # uWSGI's --logto HOST:PORT: a datagram per line; the socket logger sends them without
        # blocking (through the log master, which it implies); lost if an unnamed logger takes
        # the lines, as uWSGI then writes nothing to its --logto either
        if not any(parse_logger(raw).id is None for raw in values["logger"]):
            values["logger"].append("socket:%s" % values["logto"])
            given.setdefault("logger", given.get("logto", "command line"))
        values["logto"] = None
    spec = logto_logger([parse_logger(raw) for raw in values["logger"]])
    if spec is None or spec.arg is None:
        return
    if values["logto"] and os.path.abspath(values["logto"]) != os.path.abspath(spec.arg):  # (one file, two spellings)
        raise ConfigError("--logger %s and --logto %s: give one log file" % (spec, values["logto"])
                          + _from(given, "logger"))
    values["logto"] = values["logto"] or spec.arg
    given.setdefault("logto", given["logger"])


def _check_engine(values: dict[str, Any], given: dict[str, str]) -> None:
    tornado, greenlet = values["tornado"], values["greenlet"]
    if tornado is not None and not greenlet:
        raise ConfigError("--tornado needs a suspend engine: add --greenlet "
                          "(uWSGI would segfault here)" + _from(given, "tornado"))
    if greenlet and tornado is None:
        raise ConfigError("the greenlet suspend engine requires async mode (--tornado N)"
                          + _from(given, "greenlet"))
