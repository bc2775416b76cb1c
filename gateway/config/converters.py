"""Converters from raw option text to typed values, one small function per option type.

Each converter takes the raw text (from argv, an ini file or a ``UWSGI_*``
variable) and returns the value or raises :class:`~gateway.config.errors.Invalid`
naming what was expected.  They are stricter than uWSGI where uWSGI silently
accepts garbage: uWSGI 2.0 parses numbers with ``atoi``/``strtoul``, so
``--processes 4x`` is 4 and ``--buffer-size 32k`` is 32; here both are errors.
uWSGI 2.0 has no size suffixes (``32k``) on any option we declare, so none are
accepted.
"""

from __future__ import annotations

import math
import re
from typing import Any

from gateway.config.errors import Invalid

_INT = re.compile(r"[+-]?[0-9]+")


def integer(raw: str) -> int:
    """A decimal integer, optional sign, surrounding blanks ignored."""
    text = raw.strip()
    if not _INT.fullmatch(text):
        raise Invalid("an integer")
    return int(text)


def number(raw: str) -> float:
    """A finite decimal number (``30``, ``2.5``)."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise Invalid("a number") from None
    if not math.isfinite(value):
        raise Invalid("a finite number")
    return value


def seconds(raw: str) -> float:
    """A duration in seconds, above zero (``30``, ``0.5``)."""
    try:
        value = number(raw)
    except Invalid:
        raise Invalid("a number of seconds above 0") from None
    if value <= 0:
        raise Invalid("a number of seconds above 0")
    return value


def log_date(raw: str) -> str:
    """``--logdate``: a ``strftime`` format, or a yes-word (``true``, ``1``) for uWSGI's default."""
    text = raw.strip()
    if text.lower() in ("", "1", "true", "yes", "on", "y", "t"):
        from gateway.logs import DEFAULT_LOGDATE

        return DEFAULT_LOGDATE
    if "%" not in text:
        raise Invalid("a strftime format such as %Y-%m-%d %H:%M:%S, or true for the default")
    return raw


def static_map(raw: str) -> str:
    """``/mountpoint=/directory``."""
    mount, sep, directory = raw.partition("=")
    if not sep or not mount.startswith("/") or not directory:
        raise Invalid("/mountpoint=/directory")
    return raw


def static_expires(raw: str) -> tuple[str, int]:
    """``REGEXP SECONDS`` (a regular expression on a file's path, a space, seconds) -> the pair."""
    rx, _, seconds = raw.strip().rpartition(" ")
    rx = rx.strip()
    if not rx or not seconds.isdigit():
        raise Invalid("REGEXP SECONDS, such as '[.]css$ 3600'")
    try:
        re.compile(rx)
    except re.error as e:
        raise Invalid("a valid regular expression (%s)" % e) from None
    return rx, int(seconds)


def static_expires_type(raw: str) -> tuple[str, int]:
    """``TYPE=SECONDS`` (uWSGI's spelling: a content type such as ``text/css``, ``=``, seconds)
    or ``TYPE SECONDS`` -> the pair."""
    text = raw.strip()
    ctype, _, seconds = text.partition("=") if "=" in text else text.rpartition(" ")
    ctype, seconds = ctype.strip(), seconds.strip()
    if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", ctype) or not seconds.isdigit():
        raise Invalid("TYPE=SECONDS, such as 'text/css=3600'")
    return ctype, int(seconds)


def regexp(raw: str) -> str:
    """A regular expression (Python's :mod:`re` syntax)."""
    try:
        re.compile(raw)
    except re.error as e:
        raise Invalid("a valid regular expression (%s)" % e) from None
    return raw


def response_header(raw: str) -> str:
    """``Name: value``, a header line as the apps' own are checked (token name, no CR/LF/NUL)."""
    name, sep, value = raw.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or re.search(r"[\r\n\0]", value):
        raise Invalid("a header line such as 'X-Served-By: gateway'")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise Invalid("a header whose value is latin-1") from None
    return "%s: %s" % (name, value)


def file_mode(raw: str) -> int:
    """Octal permission bits, as ``chmod`` takes them (``660``, ``0664``)."""
    text = raw.strip()
    if not re.fullmatch(r"0?[0-7]{3}", text):
        raise Invalid("octal permissions such as 660 or 0664")
    return int(text, 8)


def signal_number(raw: str) -> int:
    """A signal: its number as uWSGI takes it (``15``), or its name (``SIGTERM``, ``term``)."""
    import signal

    text = raw.strip()
    if _INT.fullmatch(text):
        number = int(text)
    else:
        name = text.upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        found = getattr(signal, name, None)
        if not isinstance(found, int) or name.startswith("SIG_"):
            raise Invalid("a signal number or name (15, SIGTERM)")
        number = int(found)
    if not 1 <= number < signal.NSIG or number in (signal.SIGKILL, signal.SIGSTOP):
        raise Invalid("a signal a process can catch, 1..%d except SIGKILL and SIGSTOP" % (signal.NSIG - 1))
    return int(number)


def text(raw: str) -> str:
    """Any non-empty text, kept verbatim."""
    if raw == "":
        raise Invalid("a value")
    return raw


def path(raw: str) -> str:
    """A filesystem path (not checked for existence here: its user reports that).  A NUL byte
    (possible in a config file) is refused: no system call takes one, and Python raises
    ValueError, not OSError, wherever the path is used (a traceback, or a thread dying)."""
    if raw == "" or "\0" in raw:
        raise Invalid("a path" if raw == "" else "a path without a NUL byte")
    return raw


_TRUE = {"", "1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def boolean(raw: str) -> bool:
    """A flag value from an ini file or the environment.

    Empty (``master =`` or a bare ``master`` line) means true, as in uWSGI.
    uWSGI treats every other word as true too; we accept only the usual
    spellings so that ``master = flase`` is an error rather than a surprise.
    """
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Invalid("true/false, yes/no, on/off or 1/0")


def key_value(raw: str) -> str:
    """``KEY=VALUE`` (``--env``), kept as written; the value may be empty, the key may not."""
    key, sep, _ = raw.partition("=")
    if not sep or not key:
        raise Invalid("KEY=VALUE")
    return raw


def parse_address(raw: str) -> tuple[str, int]:
    """Split a TCP socket address as uWSGI writes it: ``host:port``, ``:port``, ``[v6]:port``.

    An empty host means every IPv4 interface (uWSGI binds ``0.0.0.0`` for
    ``:port``).  Raises :class:`Invalid` for UNIX paths and shared-socket
    references (``=0``), which gateway does not support yet.
    """
    if not raw:
        raise Invalid("host:port or :port")
    if raw.startswith("="):
        raise Invalid("host:port", "shared sockets (=N) are not supported yet by gateway")
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0 or raw[end + 1 : end + 2] != ":":
            raise Invalid("host:port, :port or [ipv6]:port")
        host, port_text = raw[1:end], raw[end + 2 :]
    else:
        if ":" not in raw:
            raise Invalid(
                "host:port or :port",
                f"'{raw}' looks like a UNIX socket path; UNIX sockets are not supported yet by gateway"
                " (use host:port or :port)",
            )
        host, _, port_text = raw.rpartition(":")
        if ":" in host:
            raise Invalid("host:port, :port or [ipv6]:port")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise Invalid("host:port or :port with a port from 0 to 65535")
    return (host or "0.0.0.0"), int(port_text)


def shared_reference(raw: str) -> bool:
    """``=N``: the N-th ``--shared-socket`` (0-based), bound by the master."""
    if raw.startswith("="):
        if not raw[1:].isdigit():
            raise Invalid("=N", f"'{raw}': a shared socket reference is = followed by its index (=0)")
        return True
    return False


def address(raw: str) -> str:
    """A TCP socket address (or ``=N``, a shared socket), validated with
    :func:`parse_address` and kept as written."""
    if shared_reference(raw):
        return raw
    parse_address(raw)
    return raw


def socket_address(raw: str) -> str:
    """A uwsgi socket: a TCP address (see :func:`parse_address`) or a UNIX socket path
    (anything with a ``/`` or without a ``:``; ``@name`` is a Linux abstract socket)."""
    if not raw:
        raise Invalid("host:port, :port or a UNIX socket path")
    if shared_reference(raw):
        return raw
    if "/" in raw or ":" not in raw:
        return raw
    parse_address(raw)
    return raw


#: Plugin names gateway "has built in": uWSGI users write ``plugins = python3``
#: (distro packages) or ``plugin = python3,http``; those are accepted no-ops.
_PYTHON_PLUGIN = re.compile(r"python(3[0-9]*)?")
BUILTIN_PLUGINS = ("python", "python3", "python3X", "tornado", "greenlet", "http")

#: uWSGI plugins whose features gateway has built in, so ``--plugins`` loads them too: the
#: HTTP router's base, the logger plugins (file, socket, syslog, rsyslog), the metrics pushers,
#: RPC, caches, signals, the spooler, and the routers of the route actions gateway implements.
FEATURE_PLUGINS = frozenset({
    "corerouter", "logfile", "logsocket", "syslog", "rsyslog", "carbon", "stats_pusher_statsd",
    "rpc", "cache", "signal", "spooler", "router_basicauth", "router_cache", "router_metrics",
    "router_redirect", "router_rewrite", "router_static",
})


def modifier_list(raw: str) -> list[int]:
    """``--allowed-modifiers``: modifier1 values (0-255), comma separated (``0,173``)."""
    out = []
    for item in raw.split(","):
        item = item.strip()
        if not item.isdigit() or not item.isascii() or int(item) > 255:
            raise Invalid("a comma-separated list of modifier1 values from 0 to 255 (e.g. 0,173)")
        out.append(int(item))
    return out


def modifier_remap(raw: str) -> list[tuple[int, int]]:
    """``--remap-modifier``: ``SRC:DST`` pairs, comma separated (``0:5``: packets of modifier1 5
    are served as modifier1 0's)."""
    out = []
    for item in raw.split(","):
        src, sep, dst = item.strip().partition(":")
        ok = sep and all(x.isdigit() and x.isascii() and int(x) <= 255 for x in (src, dst))
        if not ok:
            raise Invalid("SRC:DST modifier1 pairs from 0 to 255, comma separated (e.g. 0:5)")
        out.append((int(src), int(dst)))
    return out


def plugin_list(raw: str) -> list[str]:
    """A comma-separated list of plugin names gateway has built in (see :data:`BUILTIN_PLUGINS`
    and :data:`FEATURE_PLUGINS`); uWSGI's ``NAME_plugin.so`` spelling is accepted too."""
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise Invalid("a comma-separated list of plugin names")
    for name in names:
        base = name.rsplit("/", 1)[-1]
        base = base[: -len("_plugin.so")] if base.endswith("_plugin.so") else base
        if not (_PYTHON_PLUGIN.fullmatch(base) or base in ("tornado", "greenlet", "http") or base in FEATURE_PLUGINS):
            raise Invalid(
                "plugin names",
                f"plugin '{name}' is not available in gateway "
                "(built in: python, python3, python3X, tornado, greenlet, http, and the plugins "
                "of gateway's features: corerouter, logfile, syslog, rpc, cache, router_*...)",
            )
    return names


_ALIVE = re.compile(r"[A-Za-z0-9_-]+")
_HOST = re.compile(r"[A-Za-z0-9_.:-]+")


def erlang_node(raw: str) -> str:
    """An Erlang node name: ``name``, ``name@host`` or ``name@ip``."""
    alive, sep, host = raw.partition("@")
    if not _ALIVE.fullmatch(alive) or (sep and not _HOST.fullmatch(host)):
        raise Invalid("name, name@host or name@ip")
    return raw


#: ``--loop`` values: "" (auto: uvloop when installed, else asyncio), or one of these.
LOOPS = ("asyncio", "uvloop")


def loop_name(raw: str) -> str:
    """The asyncio loop under Tornado's IOLoop: ``asyncio``, ``uvloop``, or empty for auto.

    uWSGI's ``--loop`` selects a loop *engine*; ``tornado`` is the only one
    gateway has, so ``loop = tornado`` (and ``auto``) mean the default.
    """
    word = raw.strip().lower()
    if word in ("", "auto", "tornado"):
        return ""
    if word not in LOOPS:
        raise Invalid("asyncio or uvloop (or empty for auto)")
    return word


#: ``--protocol`` values: what ``--socket`` speaks.
SOCKET_PROTOCOLS = ("uwsgi", "http", "fastcgi", "scgi")


def socket_protocol(raw: str) -> str:
    """uWSGI's ``--protocol`` for the ``--socket`` addresses: uwsgi, http, fastcgi or scgi."""
    word = raw.strip().lower()
    if word not in SOCKET_PROTOCOLS:
        raise Invalid(", ".join(SOCKET_PROTOCOLS))
    return word


#: ``--erlang-call-mode`` values.
CALL_MODES = ("inline", "threads")


def call_mode(raw: str) -> str:
    """How functions called from Erlang run: ``inline`` (a greenlet core) or ``threads``."""
    word = raw.strip().lower()
    if word not in CALL_MODES:
        raise Invalid("inline or threads")
    return word


def placeholder_assignment(raw: str) -> tuple[str, str]:
    """``name=value`` for ``--set`` and ``--set-placeholder``."""
    key, sep, value = raw.partition("=")
    if not sep or not key.strip():
        raise Invalid("name=value")
    return key.strip(), value


def ini_spec(raw: str) -> str:
    """``file.ini`` or ``file.ini:section`` (``:section`` reuses the previous file)."""
    if raw == "":
        raise Invalid("an ini file (file.ini or file.ini:section)")
    return raw


def config_spec(raw: str) -> str:
    """``file`` or ``file:section`` of any config format (``--json``, ``--include``, ...)."""
    if raw == "":
        raise Invalid("a config file (FILE or FILE:SECTION)")
    return raw


def describe(value: Any) -> str:
    """How a default looks in ``--help``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
