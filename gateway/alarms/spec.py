"""The alarm options as pure data (sans-IO): ``--alarm``, ``--log-alarm``, ``--alarm-fd``,
``--metric-alarm`` and the ``curl:`` plugin's argument.

uWSGI's syntaxes (core/alarm.c, core/metrics.c, plugins/alarm_curl):

* ``--alarm "NAME PLUGIN:ARGS"``: an alarm *instance* named ``NAME`` (its own anti-flood
  state) that runs plugin ``PLUGIN`` with ``ARGS``;
* ``--log-alarm "NAME[,NAME...] REGEXP"`` (``--not-log-alarm``: the same, negated: a
  matching line stops the rules after it);
* ``--alarm-fd "NAME FD[:BYTES] MESSAGE"``: raise ``NAME`` with ``MESSAGE`` whenever fd
  ``FD`` is readable (``BYTES`` read each time, 1 by default, 8 for an eventfd);
* ``--metric-alarm key=METRIC,value=N[,alarm=NAME][,rate=SECONDS][,msg=TEXT][,reset=N]``;
* ``curl:URL[;key=value...]``.

Every error is an :class:`AlarmSpecError` whose text completes "--OPTION VALUE: ...".
This module is a leaf: it imports only the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Pattern, Tuple
from urllib.parse import urlsplit

#: The plugins gateway has (uWSGI's four built-in ones, and alarm_curl's).
PLUGINS = ("cmd", "signal", "mule", "log", "curl")
#: uWSGI plugins that exist there but not here, with why.
REFUSED_PLUGINS: Dict[str, str] = {
    "xmpp": "the alarm_xmpp plugin needs gloox (C++); use cmd: with an XMPP command-line client",
    "speech": "the alarm_speech plugin is macOS Cocoa; use cmd: with say or espeak",
}
#: The ``curl:`` keys (plugins/alarm_curl), all supported.
CURL_KEYS = ("url", "mail_to", "mail_from", "subject", "ssl", "ssl_insecure", "auth_user", "auth_pass",
             "method", "timeout", "conn_timeout")
#: The URL schemes ``curl:`` handles with the standard library.
CURL_SCHEMES = ("http", "https", "smtp", "smtps")

_NAME = re.compile(r"[^\s,]+\Z")


class AlarmSpecError(ValueError):
    """An alarm option value that cannot work; the text says why."""


@dataclass(frozen=True)
class AlarmSpec:
    """One ``--alarm`` value."""

    name: str
    plugin: str
    arg: str


def parse_alarm(raw: str) -> AlarmSpec:
    """``NAME PLUGIN:ARGS`` -> :class:`AlarmSpec`, its plugin argument checked."""
    name, space, rest = raw.strip().partition(" ")
    plugin, colon, arg = rest.strip().partition(":")
    if not space or not colon or not name:
        raise AlarmSpecError("NAME PLUGIN:ARGS, e.g. 'mail cmd:mail -s alarm root'")
    if not _NAME.match(name):
        raise AlarmSpecError("an alarm name has no comma nor space: %r" % name)
    if plugin in REFUSED_PLUGINS:
        raise AlarmSpecError("the '%s' alarm plugin is not available: %s" % (plugin, REFUSED_PLUGINS[plugin]))
    if plugin not in PLUGINS:
        raise AlarmSpecError("the '%s' alarm plugin is not available (gateway has %s)" % (plugin, ", ".join(PLUGINS)))
    if plugin == "cmd" and not arg.strip():
        raise AlarmSpecError("cmd: needs a command")
    if plugin == "signal":
        signal_number(arg)
    if plugin == "mule":
        mule_number(arg)
    if plugin == "curl":
        parse_curl(arg)
    return AlarmSpec(name, plugin, arg)


def signal_number(arg: str) -> int:
    """``signal:N``: a uWSGI signal, 0..255."""
    try:
        n = int(arg.strip())
    except ValueError:
        raise AlarmSpecError("signal:N needs a uWSGI signal number, not %r" % arg) from None
    if not 0 <= n <= 255:
        raise AlarmSpecError("signal:%d: a uWSGI signal is 0..255" % n)
    return n


def mule_number(arg: str) -> int:
    """``mule:N``: 0 (or empty) for the first free mule, N for mule N."""
    if not arg.strip():
        return 0
    try:
        n = int(arg.strip())
    except ValueError:
        raise AlarmSpecError("mule:N needs a mule number (0: the first free mule), not %r" % arg) from None
    if n < 0:
        raise AlarmSpecError("mule:%d: a mule number is 0 or more" % n)
    return n


# -- log alarms ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogAlarm:
    """One ``--log-alarm`` (``negate``: ``--not-log-alarm``) rule."""

    names: Tuple[str, ...]
    pattern: Pattern[bytes]
    negate: bool = False


def parse_log_alarm(raw: str, negate: bool = False) -> LogAlarm:
    """``NAME[,NAME...] REGEXP`` -> :class:`LogAlarm` (a Python regexp, matched anywhere in the line)."""
    names, space, expr = raw.strip().partition(" ")
    expr = expr.strip()
    if not space or not expr:
        raise AlarmSpecError("NAME[,NAME...] REGEXP, e.g. 'mail,log HARAKIRI'")
    listed = tuple(n for n in names.split(",") if n)
    if not listed:
        raise AlarmSpecError("no alarm name before the regexp")
    try:
        pattern = re.compile(expr.encode("utf-8"))
    except re.error as e:
        raise AlarmSpecError("bad regular expression %r: %s" % (expr, e)) from None
    return LogAlarm(listed, pattern, negate)


def log_alarms_for(rules: List[LogAlarm], line: bytes) -> List[str]:
    """The alarm names ``line`` raises, in order, each once: the rules are tried in the order
    given; a matching ``--not-log-alarm`` rule stops there (uWSGI's ``uwsgi_alarm_log_check``)."""
    out: List[str] = []
    for rule in rules:
        if rule.pattern.search(line) is None:
            continue
        if rule.negate:
            break
        for name in rule.names:
            if name not in out:
                out.append(name)
    return out


# -- fd alarms ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FdAlarm:
    """One ``--alarm-fd`` value."""

    name: str
    fd: int
    size: int
    message: str


#: The most bytes an ``--alarm-fd`` reads per readiness.
MAX_FD_READ = 4096


def parse_alarm_fd(raw: str) -> FdAlarm:
    """``NAME FD[:BYTES] MESSAGE`` -> :class:`FdAlarm`."""
    parts = raw.strip().split(" ", 2)
    if len(parts) < 3 or not parts[2].strip():
        raise AlarmSpecError("NAME FD[:BYTES] MESSAGE, e.g. 'oom 3:8 out of memory'")
    name, fd_text, message = parts
    fd_part, colon, size_text = fd_text.partition(":")
    try:
        fd = int(fd_part)
        size = int(size_text) if colon else 1
    except ValueError:
        raise AlarmSpecError("FD[:BYTES] must be numbers, not %r" % fd_text) from None
    if fd < 0:
        raise AlarmSpecError("fd %d: a descriptor is 0 or more" % fd)
    if not 1 <= size <= MAX_FD_READ:
        raise AlarmSpecError("read %d bytes: between 1 and %d" % (size, MAX_FD_READ))
    return FdAlarm(name, fd, size, message)


# -- metric thresholds --------------------------------------------------------------------


@dataclass(frozen=True)
class MetricThreshold:
    """One ``--metric-alarm`` value (uWSGI's ``--metric-threshold``)."""

    key: str
    value: int
    alarm: Optional[str] = None
    rate: int = 0
    msg: Optional[str] = None
    reset: Optional[int] = None


def _keyval(raw: str, keys: Tuple[str, ...]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for item in raw.split(","):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq:
            raise AlarmSpecError("%r is not key=value" % item)
        if key not in keys:
            raise AlarmSpecError("unknown key %r (the keys are %s)" % (key, ", ".join(keys)))
        out[key] = value
    return out


def parse_metric_threshold(raw: str) -> MetricThreshold:
    """``key=METRIC,value=N[,alarm=NAME][,rate=SECONDS][,msg=TEXT][,reset=N]``."""
    kv = _keyval(raw.strip(), ("key", "value", "alarm", "rate", "msg", "reset"))
    if not kv.get("key") or "value" not in kv:
        raise AlarmSpecError("a threshold needs key=METRIC and value=N")

    def number(key: str) -> int:
        try:
            return int(kv[key])
        except ValueError:
            raise AlarmSpecError("%s=%s is not an integer" % (key, kv[key])) from None

    rate = number("rate") if "rate" in kv else 0
    if rate < 0:
        raise AlarmSpecError("rate=%d: seconds are 0 or more" % rate)
    return MetricThreshold(kv["key"], number("value"), kv.get("alarm") or None, rate, kv.get("msg") or None,
                           number("reset") if "reset" in kv else None)


def crossed(threshold: MetricThreshold, value: int, now: float, last_alarm: float) -> Tuple[bool, bool]:
    """(reset the metric, raise the alarm) for a metric's ``value`` at ``now``, the threshold's
    alarm last raised at ``last_alarm`` (uWSGI: ``value >= threshold``, at most once per ``rate``)."""
    if value < threshold.value:
        return False, False
    return threshold.reset is not None, bool(threshold.alarm) and last_alarm + threshold.rate <= now


# -- curl --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurlSpec:
    """``curl:URL[;key=value...]``, checked: what the stdlib can do."""

    url: str
    options: Tuple[Tuple[str, str], ...] = ()

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        for k, v in self.options:
            if k == key:
                return v
        return default

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()


_SECRET_ITEM = re.compile(r"(?<![^;])(auth_pass=)[^;]*")
_URL_PASSWORD = re.compile(r"(//[^/@;:]*:)[^/@;]*@")


def redacted(plugin: str, arg: str) -> str:
    """A plugin argument as it may be logged: a ``curl:`` argument's ``auth_pass`` value and
    the password of a ``user:password@`` in its URL are replaced by ``***``."""
    if plugin != "curl":
        return arg
    return _URL_PASSWORD.sub(r"\1***@", _SECRET_ITEM.sub(r"\1***", arg))


def parse_curl(arg: str) -> CurlSpec:
    """``URL;key=value;...`` as plugins/alarm_curl reads it: an item without ``=`` (or any
    item before the URL is known) is the URL."""
    url: Optional[str] = None
    options: List[Tuple[str, str]] = []
    for item in arg.split(";"):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq or url is None and key != "url":
            url = item
            continue
        if key not in CURL_KEYS:
            raise AlarmSpecError("curl: unknown key %r (the keys are %s)" % (key, ", ".join(CURL_KEYS)))
        if key == "url":
            url = value
        else:
            options.append((key, value))
    if not url:
        raise AlarmSpecError("curl: needs a URL")
    spec = CurlSpec(url, tuple(options))
    parts = urlsplit(url)
    if spec.scheme not in CURL_SCHEMES:
        raise AlarmSpecError("curl: the %r scheme is not supported (gateway sends with the standard library: %s)"
                             % (parts.scheme, ", ".join(CURL_SCHEMES)))
    if not parts.hostname:
        raise AlarmSpecError("curl: no host in %r" % url)
    for key in ("timeout", "conn_timeout"):
        seconds = spec.get(key)
        if seconds is not None and not seconds.isdigit():
            raise AlarmSpecError("curl: %s=%s is not a number of seconds" % (key, seconds))
    if spec.scheme.startswith("smtp"):
        if not spec.get("mail_to"):
            raise AlarmSpecError("curl: an smtp URL needs mail_to=ADDRESS[,ADDRESS...]")
        if spec.get("method"):
            raise AlarmSpecError("curl: method= applies to http URLs only")
    elif spec.get("mail_to") or spec.get("mail_from"):
        raise AlarmSpecError("curl: mail_to/mail_from apply to smtp URLs only")
    return spec


def mail_message(spec: CurlSpec, body: bytes) -> bytes:
    """What ``curl:`` uploads: ``To:``/``Subject:`` headers (when set) and a blank line, then
    the alarm message (the same for http, as uWSGI's plugin does)."""
    head = b""
    to: Optional[str] = spec.get("mail_to")
    subject = spec.get("subject")
    if to:
        head += b"To: " + to.encode("utf-8") + b"\r\n"
    if subject:
        head += b"Subject: " + subject.encode("utf-8") + b"\r\n"
    if head:
        head += b"\r\n"
    return head + body
