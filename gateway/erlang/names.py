"""Erlang node names: ``alive@host``, short or long, and our name per worker.

``--erlang`` accepts ``name``, ``name@host`` or ``name@ip``, as uWSGI (and
``ei_connect_init``) did:

* ``name`` becomes ``name@<short hostname>``, a *short* name (Erlang ``-sname``);
* a host with a dot, or an IP address, makes a *long* name (Erlang ``-name``);
* any other host (``localhost``, ``vm``) is a short name.

Erlang peers must use the same style: an ``-sname`` node cannot reach
``py@127.0.0.1`` and a ``-name`` node cannot reach ``py@localhost``.

With several worker processes every worker is its own node: worker *N* (1-based) of
``gw@host`` is ``gw_N@host`` (``gw_1``, ``gw_2``...); a single worker keeps ``gw``.

Pure functions; the caller supplies the hostname.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple, Optional

#: EPMD stores the alive part in a u16-length field, but Erlang refuses longer atoms.
MAX_NAME_BYTES = 255


class NodeName(NamedTuple):
    alive: str
    host: str
    long: bool  # True: long name (``-name``), False: short (``-sname``)

    @property
    def full(self) -> str:
        return "%s@%s" % (self.alive, self.host)

    def __str__(self) -> str:
        return self.full


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_long_host(host: str) -> bool:
    """Erlang's rule: a dotted host or an IP address means a long name."""
    return "." in host or is_ip(host)


def parse(name: str, hostname: Optional[str] = None) -> NodeName:
    """Parse ``name``, ``name@host`` or ``name@ip`` (see the module docstring).

    ``hostname`` completes a bare ``name`` (and ``name@``); its first label is used,
    as Erlang does for short names.  Raises ``ValueError`` on an invalid name.
    """
    if not isinstance(name, str):
        raise TypeError("Erlang node name must be str, not %s" % type(name).__name__)
    alive, sep, host = name.partition("@")
    if not alive:
        raise ValueError("invalid Erlang node name %r: empty name before '@'" % name)
    if "@" in host:
        raise ValueError("invalid Erlang node name %r: more than one '@'" % name)
    if any(c.isspace() for c in name):
        raise ValueError("invalid Erlang node name %r: contains whitespace" % name)
    if len(alive.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError("invalid Erlang node name %r: name longer than %d bytes" % (name, MAX_NAME_BYTES))
    if not host:
        if not hostname:
            raise ValueError("Erlang node name %r has no host part and no hostname is known" % name)
        host = hostname.split(".", 1)[0]
        return NodeName(alive, host, False)
    if len(host.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError("invalid Erlang node name %r: host longer than %d bytes" % (name, MAX_NAME_BYTES))
    return NodeName(alive, host, is_long_host(host))


def for_worker(base: NodeName, worker_id: int, numproc: int) -> NodeName:
    """Our node name in worker ``worker_id`` (1-based) of ``numproc`` workers."""
    if numproc <= 1:
        return base
    if worker_id < 1:
        raise ValueError("worker ids start at 1, got %d" % worker_id)
    return NodeName("%s_%d" % (base.alive, worker_id), base.host, base.long)


def same_style(a: NodeName, b: NodeName) -> bool:
    """Whether two nodes can talk: both short or both long names."""
    return a.long == b.long
