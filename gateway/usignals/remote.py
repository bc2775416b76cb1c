"""Remote uWSGI signals (modifier1 110): ``uwsgi.signal(n, "host:port")`` and its server.

Request ``6e 00 00 <signum>``; the node answers ``ff 00 00 <1: routed | 0: not>`` and
the signal is routed there as if raised locally (uWSGI's ``plugins/signal``).  The
client maps the answer as uWSGI: 1 → ``None``, 0 → ``ValueError("node ... rejected
signal N")``, no answer → ``IOError("unable to deliver signal N to node ...")``.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import gateway.subsystems as _subs

MODIFIER1 = 110


def request_bytes(sig: int) -> bytes:
    return bytes((MODIFIER1, 0, 0, sig & 0xFF))


def answer(modifier2: int, payload: bytes, peer: str) -> List[bytes]:
    """Route signal ``modifier2`` here; answer whether that worked."""
    s = _subs.current
    ok = bool(s is not None and s.receiver is not None and s.receiver.raise_signal(modifier2))
    return [bytes((255, 0, 0, 1 if ok else 0))]


class _Reply:
    def __init__(self) -> None:
        self.buf = b""

    def receive_data(self, data: bytes) -> Optional[Tuple[str, Optional[bytes]]]:
        if not data:
            return ("closed", None)
        self.buf += data
        return ("ok", self.buf[:4]) if len(self.buf) >= 4 else None


def send(node: str, sig: int) -> None:
    """``uwsgi.signal(sig, node)``."""
    from gateway.subsystems.remote_cache import roundtrip

    status, reply = roundtrip("signal", node, request_bytes(sig), _Reply())
    if status != "ok" or reply is None:
        raise OSError("unable to deliver signal %d to node %s" % (sig & 0xFF, node))
    if reply[3] == 0:
        raise ValueError("node %s rejected signal %d" % (node, sig & 0xFF))
