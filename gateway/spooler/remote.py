"""Remote spooling (modifier1 17): a uwsgi packet whose vars are a task, spooled here.

uWSGI's ``spooler`` plugin, on every ``--socket``: the vars block of the packet becomes a task
file in this instance's spooler (the reserved keys ``spooler``, ``priority`` and ``at`` work as
in ``uwsgi.spool``; there is no body), and the answer is the 4 bytes ``ff 00 00 01``, or
``ff 00 00 00`` when it could not be spooled: no ``--spooler`` here (uWSGI: ``the spooler is
inactive !!!...skip``), an unknown spooler, a full disk.  Deliberate difference: a payload that
is not a well-formed vars block is refused (``00``); uWSGI writes whatever bytes came into
the task file.
"""

from __future__ import annotations

from typing import List

from gateway import spooler as _spooler
from gateway.logs import gen_log
from gateway.protocol.uwsgi import UwsgiError, decode_vars
from gateway.spooler.writer import SpoolError, enqueue_pairs

MODIFIER1 = 17
SPOOLED = b"\xff\x00\x00\x01"
NOT_SPOOLED = b"\xff\x00\x00\x00"
#: vars a task may have: a 64 KiB block of the smallest pairs (a one-byte key, an empty value)
MAX_TASK_VARS = 0xFFFF // 5


def answer(modifier2: int, payload: bytes, peer: str = "-") -> List[bytes]:
    """Spool the packet's vars; the bytes to answer (then the connection closes)."""
    spoolers = _spooler.current
    if spoolers is None:
        gen_log.info("the spooler is inactive !!!...skip (remote spool request from %s)", peer)
        return [NOT_SPOOLED]
    try:
        pairs = decode_vars(payload, MAX_TASK_VARS)
        enqueue_pairs(spoolers, pairs)
    except (UwsgiError, SpoolError, OSError) as e:
        gen_log.info("remote spool request from %s refused: %s", peer, e)
        return [NOT_SPOOLED]
    return [SPOOLED]
