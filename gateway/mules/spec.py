"""Pure rules of mules and farms: option values in, layouts and queue choices out.

No sockets and no processes here, so every rule is a plain function to test:

* :func:`parse_farm` reads ``--farm NAME:1,2`` (uWSGI's ``uwsgi_setup_mules_and_farms``);
* :func:`mule_scripts` lists what each mule runs (``--mule`` entries, then ``--mules N``);
* :func:`message_queue` picks the queue a ``uwsgi.mule_msg(msg, target)`` goes to;
* :func:`signal_queues` picks the queues a signal registered for a mule target goes to
  (uWSGI's ``uwsgi_route_signal``: ``mule``, ``mule0``, ``muleN``, ``mules``,
  ``farm_NAME``, ``farmN``).

A queue is named by a :data:`QueueKey`: ``("shared", 0)`` (any mule), ``("mule", n)``
or ``("farm", i)`` (the i-th farm, from 0).
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence, Tuple

QueueKey = Tuple[str, int]
SHARED: QueueKey = ("shared", 0)


class FarmSpecError(ValueError):
    """A ``--farm`` value that is not ``NAME:MULE[,MULE...]`` or names no configured mule."""


class FarmSpec(NamedTuple):
    name: str
    mules: Tuple[int, ...]


def parse_farm(raw: str, mules: Optional[int] = None) -> FarmSpec:
    """``"NAME:1,2"`` → ``FarmSpec("NAME", (1, 2))``.  With ``mules`` (how many exist),
    an id outside 1..mules is an error, as uWSGI's "invalid mule id" at startup."""
    name, sep, ids = raw.strip().partition(":")
    name = name.strip()
    if not sep or not name:
        raise FarmSpecError("invalid farm value (%s) must be in the form name:mule[,muleN]" % raw.strip())
    found: List[int] = []
    for token in ids.split(","):
        token = token.strip()
        if not token:
            continue
        if not token.isdigit() or int(token) < 1:
            raise FarmSpecError("invalid mule id: %s (farm %s)" % (token, name))
        mid = int(token)
        if mules is not None and mid > mules:
            raise FarmSpecError("invalid mule id: %d (farm %s; there are %d mules)" % (mid, name, mules))
        if mid not in found:
            found.append(mid)
    if not found:
        raise FarmSpecError("invalid farm value (%s): no mule listed" % raw.strip())
    return FarmSpec(name, tuple(found))


def parse_farms(values: Sequence[str], mules: int) -> List[FarmSpec]:
    """Every ``--farm``, checked against the mule count; a name given twice is an error."""
    farms: List[FarmSpec] = []
    for raw in values:
        farm = parse_farm(raw, mules)
        if any(f.name == farm.name for f in farms):
            raise FarmSpecError("farm %s is defined twice" % farm.name)
        farms.append(farm)
    return farms


def mule_scripts(entries: Sequence[Tuple[str, object]]) -> List[str]:
    """What mule 1..N runs: ``""`` for the message loop, else a script or ``module:callable``.

    ``entries`` are the configuration's ``(option, raw value)`` pairs in the order they
    were given: as in uWSGI, mules are numbered in that order across ``--mule`` and
    ``--mules``, and every ``--mules N`` adds N more (it does not replace the count).
    """
    scripts: List[str] = []
    for key, value in entries:
        key = key.replace("_", "-").lower()
        if key == "mule":
            scripts.append(value.strip() if isinstance(value, str) else "")
        elif key == "mules":
            text = str(value).strip()
            scripts.extend([""] * (int(text) if text.isdigit() else 0))
    return scripts


def message_queue(target: object, mules: int, farm_names: Sequence[str]) -> QueueKey:
    """The queue ``uwsgi.mule_msg(msg, target)`` writes to.

    ``None`` or ``0``: the shared queue (the first free mule takes it); ``n``: mule n's
    own queue (``True`` is 1, ``False`` 0, as uWSGI's); a farm name (str or bytes): that farm's queue.  Raises ValueError with
    uWSGI's words otherwise ("no mule configured", "invalid mule number", "unknown
    farm", "invalid mule").
    """
    if mules < 1:
        raise ValueError("no mule configured")
    if target is None:
        return SHARED
    if isinstance(target, (bytes, bytearray)):
        target = bytes(target).decode("utf-8", "replace")
    if isinstance(target, str):
        if target in farm_names:
            return ("farm", list(farm_names).index(target))
        raise ValueError("unknown farm")
    if isinstance(target, int):  # (a bool too, as uWSGI's PyLong_Check: True is mule 1)
        target = int(target)
        if target == 0:
            return SHARED
        if 0 < target <= mules:
            return ("mule", target)
        raise ValueError("invalid mule number")
    raise ValueError("invalid mule")


def signal_queues(target: str, mules: int, farm_names: Sequence[str]) -> Optional[List[QueueKey]]:
    """The signal queues a signal registered with ``target`` goes to.

    None when ``target`` is not a mule or farm target (the workers' router decides);
    raises ValueError (uWSGI's "invalid signal target" / "unknown farm") for a mule or
    farm that does not exist.
    """
    if target == "mules":
        return [("mule", n) for n in range(1, mules + 1)]
    if target.startswith("mule") and (target[4:] == "" or target[4:].isdigit()):
        n = int(target[4:] or 0)
        if n > mules or mules < 1:
            raise ValueError("invalid signal target: %s" % target)
        return [SHARED] if n == 0 else [("mule", n)]
    if target.startswith("farm_"):
        name = target[5:]
        if name not in farm_names:
            raise ValueError("unknown farm: %s" % name)
        return [("farm", list(farm_names).index(name))]
    if target.startswith("farm") and target[4:].isdigit():
        n = int(target[4:])
        if not 1 <= n <= len(farm_names):
            raise ValueError("invalid signal target: %s" % target)
        return [("farm", n - 1)]
    return None
