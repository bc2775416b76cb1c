"""The text of ``--stats-push`` and ``--carbon``, parsed without touching the network.

``--stats-push NAME:ARG`` names a pusher and its argument: ``statsd:ADDR[,PREFIX]`` is a
statsd server (``host:port``, ``[v6]:port`` or a UNIX datagram socket path) and the
prefix of every metric name (``uwsgi`` by default); ``socket:ADDR[,PREFIX]`` the same for
uWSGI's plain datagram format; ``file[:path=FILE,separator=TEXT,freq=SECONDS]`` a file
the stats document is appended to.
``--carbon HOST:PORT`` is a carbon (Graphite) line receiver.  Host names are kept as
text: they are resolved once, at startup, by :mod:`gateway.pushers.addresses`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Union

from gateway.sharedmem.keyvals import parse_keyvals

#: the pushers gateway has (uWSGI's plugins also offer mongodb, zabbix, rrdtool...)
PUSHERS = ("statsd", "socket", "file")
#: the statsd prefix when none is given (uWSGI's)
DEFAULT_STATSD_PREFIX = "uwsgi"


class PushSpecError(ValueError):
    """A malformed pusher argument (the message says what was expected)."""


@dataclass(frozen=True)
class Endpoint:
    """Where to send: ``family`` is ``"inet"`` (host, port) or ``"unix"`` (path, port 0)."""

    family: str
    host: str
    port: int

    def __str__(self) -> str:
        if self.family == "unix":
            return self.host
        return "[%s]:%d" % (self.host, self.port) if ":" in self.host else "%s:%d" % (self.host, self.port)


@dataclass(frozen=True)
class StatsdSpec:
    """A datagram pusher: ``kind`` is ``statsd`` or ``socket`` (one line per metric each)."""

    endpoint: Endpoint
    prefix: str
    kind: str = "statsd"


@dataclass(frozen=True)
class FileSpec:
    """``file``: the stats document appended to ``path``, then ``separator``; ``freq``
    seconds apart (None: ``--stats-pusher-default-freq``)."""

    path: str = "uwsgi.stats"
    separator: str = "\n\n"
    freq: Optional[int] = None


def parse_endpoint(text: str, *, unix: bool) -> Endpoint:
    """``host:port``, ``[v6]:port``, or (when ``unix``) a path for anything without a ``:``."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            raise PushSpecError("%r: expected [ipv6]:port" % text)
        host, port_text = text[1:end], text[end + 2:]
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
        if ":" in host:
            raise PushSpecError("%r: write an IPv6 address as [addr]:port" % text)
    elif unix and text:
        return Endpoint("unix", text, 0)
    else:
        raise PushSpecError("%r: expected host:port" % text)
    if not host:
        raise PushSpecError("%r: the host is missing (expected host:port)" % text)
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise PushSpecError("%r: the port must be a number from 1 to 65535" % text)
    return Endpoint("inet", host, int(port_text))


def split_pusher(text: str) -> tuple[str, str]:
    """``NAME:ARG`` -> (name, arg), as uWSGI splits ``--stats-push`` at its first colon."""
    name, sep, arg = text.strip().partition(":")
    if name not in PUSHERS:
        raise PushSpecError("unknown stats pusher %r (gateway has: %s)" % (name, ", ".join(PUSHERS)))
    if (not sep or not arg) and name != "file":
        raise PushSpecError("%s: the address is missing (%s:HOST:PORT[,PREFIX])" % (name, name))
    return name, arg


def parse_statsd(arg: str, kind: str = "statsd") -> StatsdSpec:
    """``ADDR[,PREFIX]``: split at the first comma, as uWSGI does."""
    addr, sep, prefix = arg.partition(",")
    if sep and not prefix:
        raise PushSpecError("%r: the prefix after the comma is empty" % arg)
    return StatsdSpec(parse_endpoint(addr, unix=True), prefix if sep else DEFAULT_STATSD_PREFIX, kind)


def parse_file(arg: str) -> FileSpec:
    """``path=FILE,separator=TEXT,freq=SECONDS``, each optional (uWSGI's keys and defaults)."""
    kv = parse_keyvals(arg)
    if kv is None or set(kv) - {"path", "separator", "freq"}:
        raise PushSpecError("%r: expected path=FILE,separator=TEXT,freq=SECONDS" % arg)
    freq = kv.get("freq")
    if freq is not None and (not freq.isdigit() or int(freq) < 1):
        raise PushSpecError("freq=%s: a number of seconds, 1 or more" % freq)
    return FileSpec(kv.get("path") or FileSpec.path, kv.get("separator") or FileSpec.separator,
                    int(freq) if freq is not None else None)


def parse_stats_push(text: str) -> Union[StatsdSpec, FileSpec]:
    """A whole ``--stats-push`` value (``statsd:...``, ``socket:...``, ``file[:...]``)."""
    name, arg = split_pusher(text)
    if name == "file":
        return parse_file(arg)
    return parse_statsd(arg, name)


def parse_carbon(text: str) -> Endpoint:
    """A ``--carbon`` value: ``HOST:PORT`` (TCP)."""
    return parse_endpoint(text.strip(), unix=False)


def numeric_host(host: str) -> Optional[str]:
    """``host`` if it is an IP address literal, else None (a name that needs resolving)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host
