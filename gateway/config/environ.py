"""``UWSGI_*`` environment variables as a configuration source.

uWSGI reads every ``UWSGI_<NAME>=value`` variable as the option ``<name>``
(lower-cased, ``_`` → ``-``: ``UWSGI_HTTP_SOCKET`` is ``--http-socket``), and it
does so *before* the command line, so argv and ini files override non-repeatable
values and add to repeatable ones.  A name that is no option becomes a
placeholder, as an unknown ini key does; it never stops the server (uWSGI and
its tooling export variables of their own, listed in :data:`RESERVED`, which are
skipped entirely).
"""

from __future__ import annotations

from typing import Mapping

from gateway.config.model import Entry

PREFIX = "UWSGI_"

#: Variables uWSGI itself sets or reads for its own bookkeeping (reload counter,
#: Emperor protocol, ...); never options.
RESERVED = frozenset({
    "UWSGI_RELOADS",
    "UWSGI_VASSALS_DIR",
    "UWSGI_EMPEROR_FD",
    "UWSGI_BROODLORD_NUM",
    "UWSGI_EMPEROR_FD_CONFIG",
    "UWSGI_EMPEROR_PROXY",
    "UWSGI_JAIL_PID",
    "UWSGI_ORIGINAL_PROC_NAME",
})


def option_name(variable: str) -> str:
    """``UWSGI_HTTP_SOCKET`` → ``http-socket``."""
    return variable[len(PREFIX):].lower().replace("_", "-")


def entries_from(environ: Mapping[str, str]) -> list[Entry]:
    """One entry per ``UWSGI_*`` variable, in the mapping's order."""
    entries = []
    for variable, value in environ.items():
        if not variable.startswith(PREFIX) or variable in RESERVED or variable == PREFIX:
            continue
        entries.append(Entry(option_name(variable), value, f"environment variable {variable}"))
    return entries
