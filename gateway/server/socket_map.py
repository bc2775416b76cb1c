"""``--map-socket N:W1[,W2...]``: which of the worker sockets each worker serves.

uWSGI numbers its sockets in the order they are declared and closes, in every worker
not listed for a socket, that socket (``uwsgi_map_sockets``); a socket no
``--map-socket`` names is served by every worker.  Here the index counts the worker
sockets in the order gateway binds them: the ``--http-socket``/``--http11-socket`` ones,
then ``--https-socket``, ``--ssl-socket``, ``--socket``, ``--fastcgi-socket``, ``--fastcgi-nph-socket``,
``--scgi-socket``, ``--scgi-nph-socket``, each kind in the order given (the same numbering as uWSGI's when one kind is used).
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, TypeVar

from gateway.config.options import parse_map_socket

T = TypeVar("T")


def parse_maps(values: Iterable[str]) -> Dict[int, Set[int]]:
    """``--map-socket`` values (already checked by the config) -> socket index -> worker ids;
    several values for one socket add up, as uWSGI's repeated entries do."""
    out: Dict[int, Set[int]] = {}
    for value in values:
        index, workers = parse_map_socket(value)
        out.setdefault(index, set()).update(workers)
    return out


def map_problem(maps: Dict[int, Set[int]], sockets: int, workers: int) -> Optional[str]:
    """Why the mapping cannot work with ``sockets`` worker sockets and ``workers`` workers
    (uWSGI exits on a worker id out of range too), or None."""
    for index, ids in sorted(maps.items()):
        if index >= sockets:
            return "--map-socket %d: there is no worker socket %d (%d bound, numbered from 0)" % (index, index, sockets)
        bad = [w for w in sorted(ids) if w > workers]
        if bad:
            return "--map-socket %d: there is no worker %d (%d workers, numbered from 1)" % (index, bad[0], workers)
    return None


def served(items: Sequence[T], maps: Dict[int, Set[int]], worker_id: int) -> List[T]:
    """The sockets (any items, by position) worker ``worker_id`` serves."""
    return [item for index, item in enumerate(items) if index not in maps or worker_id in maps[index]]


def describe(maps: Dict[int, Set[int]]) -> List[Tuple[int, List[int]]]:
    return [(index, sorted(ids)) for index, ids in sorted(maps.items())]
