"""uWSGI's logger plugins, log encoders and log routes, as pure data and functions (sans-IO).

uWSGI (core/logging.c) lets the log master write every line to a list of *loggers*
(``--logger``, ``--req-logger`` for the request lines), each line first passing
through a chain of *encoders* (``--log-encoder``, ``--log-req-encoder``).  A logger
spec is ``[ID ]PLUGIN[:ARGS]``: with an ``ID`` (letters and digits, then a space) the
logger is *named*, and receives only the lines a ``--log-route ID REGEXP`` sends it.
An encoder spec is ``NAME[:ID][ ARGS]``: with ``:ID`` it applies only to the named
logger ``ID``.

This module parses those specs (errors are :class:`SpecError`, whose text completes
"option '--logger' ..."), runs the encoders, formats syslog datagrams (RFC 3164 as
``syslog(3)`` writes them) and decides, for one line, which targets receive which
bytes (:class:`Channel`).  The sockets and files are in :mod:`gateway.log_sinks`.

This module is a leaf: it imports only the standard library.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Pattern, Sequence, Tuple

#: The logger plugins gateway has (uWSGI's names).
PLUGINS = ("file", "fd", "stdio", "socket", "syslog", "rsyslog")

#: syslog facilities by name (``syslog:IDENT,FACILITY``), the values of <syslog.h>.
FACILITIES: Dict[str, int] = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "security": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
    "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22,
    "local7": 23,
}
#: ``syslog`` plugin: LOG_INFO, as uWSGI's ``syslog(LOG_INFO, ...)``.
SYSLOG_SEVERITY = 6
#: ``syslog`` plugin defaults: uWSGI's ``openlog("uwsgi", 0, LOG_DAEMON)``.
SYSLOG_IDENT = "uwsgi"
SYSLOG_FACILITY = "daemon"
#: ``rsyslog`` plugin defaults: port 514, priority 29 (daemon.notice), ``HOSTNAME uwsgi`` as tag.
RSYSLOG_PORT = 514
RSYSLOG_PRIORITY = 29

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ID = re.compile(r"[A-Za-z0-9]+\Z")


class SpecError(ValueError):
    """A logger, encoder or route spec that cannot work; the text says why."""


# -- logger specs ---------------------------------------------------------------------


@dataclass(frozen=True)
class LoggerSpec:
    """One ``--logger``/``--req-logger`` value: ``[ID ]PLUGIN[:ARG]``."""

    plugin: str
    arg: Optional[str] = None
    id: Optional[str] = None

    def __str__(self) -> str:
        text = self.plugin if self.arg is None else "%s:%s" % (self.plugin, self.arg)
        return text if self.id is None else "%s %s" % (self.id, text)


def parse_logger(raw: str) -> LoggerSpec:
    """``[ID ]PLUGIN[:ARG]`` as uWSGI's ``setup_chosen_logger`` reads it, checked for its plugin."""
    text = raw.lstrip()
    ident: Optional[str] = None
    head, space, rest = text.partition(" ")
    if space and _ID.match(head):
        ident, text = head, rest.lstrip()
    plugin, colon, arg = text.partition(":")
    plugin = plugin.rstrip()  # the argument is kept verbatim (a socket prefix may end with a space)
    value: Optional[str] = arg if colon and arg else None
    if plugin not in PLUGINS:
        raise SpecError("the '%s' logger plugin is not available (gateway has %s)" % (plugin, ", ".join(PLUGINS)))
    spec = LoggerSpec(plugin, value, ident)
    if plugin == "stdio":
        if value is not None:
            raise SpecError("stdio takes no argument")
    elif plugin == "file":
        if value is None:
            raise SpecError("file:PATH needs a path")
        if value.startswith(("logfile=", "maxsize=", "backupname=")):
            raise SpecError("file:logfile=...,maxsize=... is not supported: use --logto FILE with --log-maxsize")
    elif plugin == "fd":
        if value is None or not value.strip().isdigit():
            raise SpecError("fd:N needs a file descriptor number")
    elif plugin == "socket":
        if value is None:
            raise SpecError("socket:ADDR needs a host:port (UDP) or a UNIX datagram socket path")
        socket_address(value.partition(",")[0], "socket")
    elif plugin == "rsyslog":
        if value is None:
            raise SpecError("rsyslog:HOST[:PORT][,IDENT[,PRIORITY]] needs an address")
        rsyslog_args(value, "localhost")
    else:  # syslog
        syslog_args(value)
    return spec


def socket_address(addr: str, plugin: str, default_port: Optional[int] = None) -> Tuple[str, Any]:
    """``HOST:PORT`` -> ``("inet", (host, port))``; a path -> ``("unix", path)`` (uWSGI: a
    colon means UDP; ``rsyslog`` also takes a bare host, port 514, and a path starting with /)."""
    if addr.startswith("/") or (":" not in addr and default_port is None):
        if not addr:
            raise SpecError("%s: empty address" % plugin)
        if ":" in addr and not addr.startswith("/"):
            raise SpecError("%s: bad address %r" % (plugin, addr))
        return "unix", addr
    host, colon, port_text = addr.rpartition(":")
    if not colon:
        host, port_text = addr, str(default_port)
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise SpecError("%s: bad port in %r" % (plugin, addr)) from None
    if not 0 < port < 65536:
        raise SpecError("%s: bad port in %r" % (plugin, addr))
    return "inet", (host, port)


def syslog_args(arg: Optional[str]) -> Tuple[str, int]:
    """``syslog[:IDENT[,FACILITY]]`` -> ``(ident, facility number)``."""
    if not arg:
        return SYSLOG_IDENT, FACILITIES[SYSLOG_FACILITY]
    ident, comma, facility = arg.partition(",")
    if comma:
        if facility not in FACILITIES:
            raise SpecError("syslog: unknown facility %r (one of %s)" % (facility, ", ".join(FACILITIES)))
        return ident or SYSLOG_IDENT, FACILITIES[facility]
    return ident, FACILITIES[SYSLOG_FACILITY]


def rsyslog_args(arg: str, hostname: str) -> Tuple[Tuple[str, Any], str, int]:
    """``rsyslog:ADDR[,IDENT[,PRIORITY]]`` -> (address, tag, priority); ``IDENT`` defaults to
    ``HOSTNAME uwsgi`` (RFC 3164's HOSTNAME then TAG, as uWSGI sends)."""
    addr, _, rest = arg.partition(",")
    ident, comma, prio_text = rest.partition(",")
    priority = RSYSLOG_PRIORITY
    if comma:
        try:
            priority = int(prio_text)
        except ValueError:
            raise SpecError("rsyslog: bad priority %r" % prio_text) from None
        if not 0 <= priority <= 191:
            raise SpecError("rsyslog: priority %d is not in 0..191" % priority)
    return socket_address(addr, "rsyslog", RSYSLOG_PORT), ident or "%s uwsgi" % hostname, priority


# -- syslog framing ---------------------------------------------------------------------


def syslog_timestamp(now: float) -> str:
    """RFC 3164's ``Mmm dd hh:mm:ss`` in local time (English month, day padded with a space)."""
    t = time.localtime(now)
    return "%s %2d %02d:%02d:%02d" % (_MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def syslog_datagram(priority: int, tag: str, message: bytes, now: float, limit: int = 0) -> bytes:
    """``<PRI>Mmm dd hh:mm:ss TAG: MESSAGE``, one trailing newline dropped; ``limit`` (bytes,
    0 = none) truncates the message so the datagram stays within it."""
    if message.endswith(b"\n"):
        message = message[:-1]
    head = ("<%d>%s %s: " % (priority, syslog_timestamp(now), tag)).encode("utf-8", "replace")
    if limit and len(head) + len(message) > limit:
        message = message[:max(limit - len(head), 0)]
    return head + message


def split_for_packets(message: bytes, size: int) -> List[bytes]:
    """``--rsyslog-split-messages``: the message (newline dropped) in pieces of ``size`` bytes."""
    if message.endswith(b"\n"):
        message = message[:-1]
    return [message[i:i + size] for i in range(0, len(message), size)] or [b""]


# -- encoders -------------------------------------------------------------------------

#: The variables of the ``format`` and ``json`` encoders.
ENCODER_VARS = ("msg", "msgnl", "unix", "micros", "millis", "strftime:")
ENCODERS = ("prefix", "suffix", "nl", "format", "json", "gzip", "compress")


@dataclass(frozen=True)
class Encoder:
    """One ``--log-encoder`` value: ``NAME[:ID][ ARGS]``, ready to :meth:`encode` a line."""

    name: str
    args: str = ""
    use_for: Optional[str] = None
    parts: Tuple[Tuple[bool, str], ...] = ()  # format/json: (is a variable, text)
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def encode(self, line: bytes) -> bytes:
        name = self.name
        if name == "prefix":
            return self.args.encode() + line
        if name == "suffix":
            return line + self.args.encode()
        if name == "nl":
            return line + b"\n"
        if name == "gzip":
            return gzip.compress(line, mtime=0)  # (uWSGI's header has no time either)
        if name == "compress":
            return zlib.compress(line)
        return self._template(line, name == "json")

    def _template(self, line: bytes, as_json: bool) -> bytes:
        now = self.clock()
        out: List[bytes] = []
        for is_var, text in self.parts:
            if not is_var:
                out.append(text.encode())
                continue
            value: bytes
            escape = as_json
            if text == "msg":
                value = line[:-1] if line.endswith(b"\n") else line
            elif text == "msgnl":
                value = line
            elif text == "unix":
                value, escape = b"%d" % int(now), False
            elif text == "micros":
                value, escape = b"%d" % int(now * 1_000_000), False
            elif text == "millis":
                value, escape = b"%d" % int(now * 1000), False
            else:  # strftime:FORMAT
                value = time.strftime(text[9:], time.localtime(now)).encode("utf-8", "replace")
            if escape:
                value = json.dumps(value.decode("utf-8", "backslashreplace"), ensure_ascii=False)[1:-1].encode()
            out.append(value)
        return b"".join(out)


def template_parts(args: str) -> Tuple[Tuple[bool, str], ...]:
    """``foo ${msg} bar`` -> literal and variable parts; a ``$`` not followed by ``{`` is text."""
    parts: List[Tuple[bool, str]] = []
    pos = 0
    for m in re.finditer(r"\$\{([^}]*)\}", args):
        if m.start() > pos:
            parts.append((False, args[pos:m.start()]))
        var = m.group(1)
        if var not in ENCODER_VARS[:-1] and not var.startswith("strftime:"):
            raise SpecError("unknown variable ${%s} (the variables are ${msg}, ${msgnl}, ${unix}, ${micros}, "
                            "${millis}, ${strftime:FORMAT})" % var)
        parts.append((True, var))
        pos = m.end()
    if pos < len(args):
        parts.append((False, args[pos:]))
    return tuple(parts)


def parse_encoder(raw: str, clock: Callable[[], float] = time.time) -> Encoder:
    """``NAME[:ID][ ARGS]`` as uWSGI's ``uwsgi_setup_log_encoders`` reads it."""
    head, _, args = raw.partition(" ")
    name, colon, use_for = head.partition(":")
    if name not in ENCODERS:
        raise SpecError("the '%s' log encoder is not available (gateway has %s)" % (name, ", ".join(ENCODERS)))
    if colon and not _ID.match(use_for):
        raise SpecError("%s:%s: a logger id is letters and digits" % (name, use_for))
    if name in ("prefix", "suffix", "format", "json") and not args:
        raise SpecError("the %s encoder needs a text: %s TEXT" % (name, name))
    parts = template_parts(args) if name in ("format", "json") else ()
    return Encoder(name, args, use_for or None, parts, clock)


# -- routes -----------------------------------------------------------------------------


def parse_route(raw: str) -> Tuple[str, Pattern[str]]:
    """``--log-route ID REGEXP`` -> (id, compiled regexp)."""
    ident, _, expr = raw.strip().partition(" ")
    expr = expr.strip()
    if not _ID.match(ident) or not expr:
        raise SpecError("ID REGEXP, e.g. errors 'HTTP/1.1 5'")
    return ident, compile_regexp(expr)


def compile_regexp(expr: str) -> Pattern[str]:
    """A Python regular expression (uWSGI's are PCRE: the common syntax is the same)."""
    try:
        return re.compile(expr)
    except re.error as e:
        raise SpecError("bad regular expression %r: %s" % (expr, e)) from None


# -- the decision: which target gets which bytes ---------------------------------------


class Channel:
    """Where the lines of one kind (the log, or the request lines) go.

    ``loggers`` are ``(spec, target)`` pairs, the targets opaque here; ``default`` is the
    target used when no unnamed logger is configured (uWSGI's raw write to the original
    log fd).  :meth:`route` returns, for one line, the ``(target, bytes)`` to write::

        ch = Channel([(parse_logger("socket:127.0.0.1:514"), udp)], default=fd_queue,
                     encoders=[parse_encoder("prefix [app] ")])
        ch.route(b"GET / => 200\\n")   # [(udp, b"[app] GET / => 200\\n")]
    """

    def __init__(self, loggers: Sequence[Tuple[LoggerSpec, Any]], default: Any,
                 encoders: Sequence[Encoder] = (), routes: Sequence[Tuple[str, Pattern[str]]] = (),
                 drains: Sequence[Pattern[str]] = (), filters: Sequence[Pattern[str]] = (),
                 named_fallback: Optional[Dict[str, Any]] = None) -> None:
        self.unnamed = [target for spec, target in loggers if spec.id is None] or [default]
        self.named: Dict[str, Any] = dict(named_fallback or {})
        self.named.update({spec.id: target for spec, target in loggers if spec.id is not None})
        # (a request route may reach a named --logger: the encoders naming it apply there too)
        self._target_id = {id(target): ident for ident, target in self.named.items()}
        self.encoders = list(encoders)
        self.routes: List[Tuple[Any, Pattern[str]]] = []
        for ident, rx in routes:
            if ident not in self.named:
                raise SpecError("no logger named '%s' (name one: --logger '%s PLUGIN:ARGS')" % (ident, ident))
            self.routes.append((self.named[ident], rx))
        self.drains = list(drains)
        self.filters = list(filters)

    def targets(self) -> List[Any]:
        """Every target a line may reach."""
        seen: Dict[int, Any] = {id(t): t for t in self.unnamed}
        seen.update({id(t): t for t in self.named.values()})
        return list(seen.values())

    def route(self, line: bytes) -> List[Tuple[Any, bytes]]:
        text: Optional[str] = None
        if self.drains or self.filters or self.routes:
            text = line.decode("utf-8", "replace")
            if any(rx.search(text) for rx in self.drains):
                return []
            if self.filters and not any(rx.search(text) for rx in self.filters):
                return []
        chosen: List[Any] = []
        if text is not None:
            for target, rx in self.routes:
                if rx.search(text) and all(t is not target for t in chosen):
                    chosen.append(target)
        if not chosen:
            chosen = self.unnamed
        return [(target, self.encode(line, self._target_id.get(id(target)))) for target in chosen]

    def encode(self, line: bytes, logger_id: Optional[str]) -> bytes:
        """The encoder chain for a target: those without ``:ID``, and those naming its id."""
        for encoder in self.encoders:
            if encoder.use_for is None or encoder.use_for == logger_id:
                line = encoder.encode(line)
        return line


def logto_logger(specs: Sequence[LoggerSpec]) -> Optional[LoggerSpec]:
    """The ``--logger file:PATH`` that is ``--logto PATH`` (so rotation applies to it): the
    first unnamed ``file:``, unless an unnamed ``stdio`` logger wants the original stderr."""
    unnamed = [s for s in specs if s.id is None]
    if any(s.plugin == "stdio" for s in unnamed):
        return None
    return next((s for s in unnamed if s.plugin == "file"), None)
