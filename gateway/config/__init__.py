"""Configuration: uWSGI command lines, config files and ``UWSGI_*`` variables → :class:`Config`.

``load(sys.argv[1:], os.environ)`` is the whole interface::

    from gateway.config import ConfigError, load

    try:
        config = load(["--http-socket", ":9090", "--wsgi-file", "app.py",
                       "--tornado", "10", "--greenlet"], {})
    except ConfigError as exc:
        print(f"gateway: {exc}")        # names the option, the value, the source
    config.http_socket                  # [':9090']
    config.socket_timeout               # 30: raised by --tornado, as uWSGI does
    config.given("socket-timeout")      # False
    config.uwsgi_opt()                  # what uwsgi.opt shows to the application

How it works, in the order uWSGI itself does it:

1. sources become an ordered list of entries (``environ.py`` for ``UWSGI_*``
   variables, ``argv.py`` for the command line; ``sources.py`` follows ``ini``,
   ``json``, ``yaml``, ``xml``, ``include`` and ``inherit`` (``files.py`` reads a
   file of any format, magic variables applied) and ``set``);
2. ``$(ENV)``, ``@(file)`` and ``%(placeholder)`` are expanded over the whole list
   (``expand.py``);
3. each value is converted by its option in the table (``options.py``), the
   last one winning for single values, and cross-option rules are checked
   (``resolve.py``).

``--help``, ``--version`` and the one-shot commands (``--reload PIDFILE``...) on the
command line stop everything else: the returned config has them set and default values
otherwise.
The package imports only the standard library; apart from reading config files (and
files named in ``@(...)``) and the DNS lookups of ``--resolve`` it does no I/O.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

from gateway.config.argv import tokenize
from gateway.config.environ import entries_from
from gateway.config.errors import ConfigError
from gateway.config.expand import DEFAULT_MAX_SUBSTITUTIONS, expand_entries
from gateway.config.help import format_help
from gateway.config.ini import MagicContext, read_text
from gateway.config.model import Config, Entry
from gateway.config.options import OPTIONS, Option, find
from gateway.config.resolve import resolve
from gateway.config.sources import DEFAULT_MAX_INCLUDE_DEPTH, assemble, resolve_ipv4

__all__ = [
    "Config",
    "ConfigError",
    "Entry",
    "MagicContext",
    "OPTIONS",
    "Option",
    "find",
    "format_help",
    "load",
]


def load(
    argv: list[str],
    environ: Mapping[str, str],
    *,
    context: MagicContext | None = None,
    read_file: Callable[[str], str] = read_text,
    max_include_depth: int = DEFAULT_MAX_INCLUDE_DEPTH,
    max_substitutions: int = DEFAULT_MAX_SUBSTITUTIONS,
    resolve_name: Callable[[str], str] = resolve_ipv4,
) -> Config:
    """Build the configuration from ``argv`` (without the program name) and ``environ``.

    ``context`` supplies what magic variables refer to (working directory,
    hostname, ...); by default it is read from the running process.
    ``read_file`` reads config files and ``@(file)`` references.  The two limits
    bound config file nesting and placeholder substitutions per value.
    ``resolve_name`` answers ``--resolve`` (a bounded DNS lookup by default).  Raises
    :class:`ConfigError` with a message for the user.
    """
    argv_entries = tokenize(list(argv))
    stoppers = [entry for entry in argv_entries if _is_stopper(entry)]
    if stoppers:
        return resolve(stoppers)
    context = context or MagicContext.from_system()
    cwd = context.cwd
    environ = dict(environ)  # early-envdir changes it while the sources are read
    entries, warnings, fallback = assemble(
        entries_from(environ),
        argv_entries,
        context,
        environ=environ,
        read_file=read_file,
        max_include_depth=max_include_depth,
        max_substitutions=max_substitutions,
        resolve_name=resolve_name,
    )
    try:
        entries, more_warnings, referenced = expand_entries(
            entries, environ, lambda path: read_file(os.path.join(cwd, path)),
            max_substitutions=max_substitutions,
        )
        return resolve(entries, warnings=[*warnings, *more_warnings], referenced=referenced)
    except ConfigError as exc:
        exc.fallback_config = fallback
        raise


#: Options that act alone, before any other source is read (``--help``, ``--version``, and
#: uWSGI's ``UWSGI_OPT_IMMEDIATE`` commands on the command line: see :mod:`gateway.commands`).
STOPPERS = frozenset(("help", "version", "reload", "stop", "pause", "suspend", "resume", "signal", "extract"))


def _is_stopper(entry: Entry) -> bool:
    option = find(entry.key)
    return option is not None and option.name in STOPPERS
