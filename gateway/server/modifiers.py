"""``--allowed-modifiers`` and ``--remap-modifier``: which modifier1 values the uwsgi sockets
serve, and as what.

:func:`modifier_table` resolves both options once into a table, modifier1 on the wire ->
the modifier1 whose handler serves it (-1: none, the packet gets uWSGI's ``-- unavailable
modifier requested: N --`` and is closed).  The order is uWSGI's: every modifier1 not in
``--allowed-modifiers`` loses its handler, then each ``SRC:DST`` of ``--remap-modifier``
gives DST the handler SRC has at that point (so a remap from a refused modifier1 refuses
DST too).  A multi-user host uses the first to keep RPC (173), cache (111) or ping (100)
packets away from an app's socket; the second serves clients that send another number.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, Optional, Sequence, Tuple

#: A modifier1 served by no handler.
UNAVAILABLE = -1


def modifier_table(allowed: Optional[Sequence[int]],
                   remap: Optional[Iterable[Tuple[int, int]]]) -> Optional[Dict[int, int]]:
    """The table of both options, or None when neither is given (every modifier1 as itself)."""
    remap = list(remap or ())
    if not allowed and not remap:
        return None
    table = {m: m for m in range(256)}
    if allowed:
        keep = set(allowed)
        for m in range(256):
            if m not in keep:
                table[m] = UNAVAILABLE
    for src, dst in remap:
        table[dst] = table[src]
    return table


def served_as(table: Dict[int, int], kinds: FrozenSet[int]) -> FrozenSet[int]:
    """The wire modifier1 values served as one of ``kinds`` (the parser's vars modifiers)."""
    return frozenset(m for m, served in table.items() if served in kinds)
