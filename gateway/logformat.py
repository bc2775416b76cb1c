"""``--log-format``: uWSGI's request-log templates (``%(var)``), compiled once per worker.

::

    fmt = LogFormat('%(addr) - %(user) [%(ltime)] "%(method) %(uri) %(proto)" %(status) %(size)')
    line = fmt.render(environ, response, start, core, stats)

The variables are uWSGI's common ones (``core/logging.c``): ``uri``, ``method``,
``user``, ``addr``, ``host``, ``proto``, ``uagent``, ``referer``, ``status``,
``rsize`` (body bytes), ``hsize`` (status line and header bytes), ``size`` (both), ``cl``
(request Content-Length), ``msecs``, ``micros``, ``secs``, ``time`` (start, epoch seconds),
``tmsecs``/``tmicros`` (start, epoch milli/microseconds), ``epoch`` (now), ``ctime``,
``ltime`` (Apache style), ``ftime`` (``ltime``, or with ``--log-format-strftime`` the
``--logdate`` format), ``pid``, ``wid``, ``core``, ``switches``, ``vars`` (request variables,
counted twice each: uWSGI counts keys and values), ``pktsize`` (the size of their uwsgi vars
block), ``modifier1``/``modifier2``, ``headers`` (response headers), ``werr``/``rerr``/``ioerr``
(write, read, both errors), ``rss``/``vsz`` (bytes) and ``rssM``/``vszM`` (MB).
``%(var.NAME)`` is the request variable ``NAME`` (a CGI/WSGI environ string, or one
``uwsgi.add_var`` set, which wins); ``%(metric.NAME)`` the value of metric ``NAME``.
Any other ``%(name)`` is the request's *log variable* ``name`` (``uwsgi.set_logvar``),
uWSGI's order in ``core/logging.c``: a built-in name always means the built-in.  A
variable that is unset or empty renders as ``-``, as in uWSGI.  Pure: no I/O but
``/proc`` for ``rss``/``vsz``.
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover
    from gateway.server.wsgi_call import WSGIResponse
    from loop_engine import Core

_VAR = re.compile(r"%\(([^()]+)\)")  # uWSGI: any text up to the ")"
#: environ keys of the per-request state the ``uwsgi`` module keeps (:mod:`gateway.request_api`)
LOGVARS = "gateway.logvars"
ADDED_VARS = "gateway.vars"
#: environ key of a uwsgi packet's ``(modifier1, modifier2)`` when either is not 0
MODIFIERS = "gateway.modifiers"
#: environ key of a uwsgi packet's ``(variables, vars block size)``: what uWSGI counts
PACKET_VARS = "gateway.packet_vars"


def request_vars(environ: Dict[str, Any]) -> Tuple[int, int]:
    """uWSGI's ``{N vars in B bytes}``: N counts the request variables twice (uWSGI counts
    keys and values), B is the size of the uwsgi vars block they make (``2 + key + 2 + value``
    each), ``uwsgi.add_var``'s included.  The request variables are the uwsgi packet's
    (:data:`PACKET_VARS`: not what the environ adds, ``SCRIPT_NAME``...), else the environ's
    strings but the WSGI, uWSGI and gateway additions (``wsgi.url_scheme``...), whose names
    have a dot that CGI names never have."""
    packet = environ.get(PACKET_VARS)
    if packet is not None:
        n, size = packet
    else:
        n = size = 0
        for k, v in environ.items():
            if type(v) is str and "." not in k:
                n += 1
                size += len(k) + len(v) + 4
    added = environ.get(ADDED_VARS)
    if added:
        n += len(added)
        size += sum(len(k) + len(v) + 4 for k, v in added.items())
    return n * 2, size


def log_text(value: str) -> str:
    """An environ string (PEP 3333: the request's bytes as latin-1) as the log line shows it:
    those bytes, as UTF-8 (uWSGI writes them raw), a byte that is no UTF-8 as ``\\xNN``."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # (a str an app or a route made, not the wire's)
        return value


class _Statm:
    """``/proc/self/statm`` kept open: one ``pread`` per look (about 1 µs) instead of an open,
    a read and a close (about 15 µs), since ``--reload-on-rss`` and ``--memory-report`` look
    after every request.  Reopened in a forked child, whose ``/proc/self`` is its own."""

    __slots__ = ("fd", "pid", "page")

    def __init__(self) -> None:
        self.fd = -1
        self.pid = 0
        self.page = os.sysconf("SC_PAGE_SIZE")

    def read(self) -> Tuple[int, int]:
        pid = os.getpid()
        if pid != self.pid:
            if self.fd >= 0:
                os.close(self.fd)  # the parent's
                self.fd = -1
            self.fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
            self.pid = pid
        vsz, rss = os.pread(self.fd, 128, 0).split()[:2]
        return int(rss) * self.page, int(vsz) * self.page


_statm = _Statm()


def process_memory() -> Tuple[int, int]:
    """``(rss, vsz)`` of this process in bytes, from /proc (``(0, 0)`` where there is none)."""
    try:
        return _statm.read()
    except (OSError, ValueError):
        return 0, 0


def _env(key: str, default: str = "") -> Callable[..., str]:
    return lambda e, r, s, c, st, now: log_text(e.get(key, default) or default)


_VARS: Dict[str, Callable[..., Any]] = {
    "uri": _env("REQUEST_URI"),
    "method": _env("REQUEST_METHOD"),
    "user": _env("REMOTE_USER", "-"),
    "addr": _env("REMOTE_ADDR"),
    "host": lambda e, r, s, c, st, now: log_text(e.get("HTTP_HOST") or e.get("SERVER_NAME", "")),  # as uWSGI
    "proto": _env("SERVER_PROTOCOL"),
    "uagent": _env("HTTP_USER_AGENT"),
    "referer": _env("HTTP_REFERER"),
    "cl": _env("CONTENT_LENGTH", "0"),
    "status": lambda e, r, s, c, st, now: r.code,
    "rsize": lambda e, r, s, c, st, now: r.body_bytes,
    "hsize": lambda e, r, s, c, st, now: r.head_bytes,
    "size": lambda e, r, s, c, st, now: r.body_bytes + r.head_bytes,
    "msecs": lambda e, r, s, c, st, now: int((now - s) * 1000),
    "micros": lambda e, r, s, c, st, now: int((now - s) * 1_000_000),
    "secs": lambda e, r, s, c, st, now: "%.6f" % (now - s),
    "time": lambda e, r, s, c, st, now: int(s),
    "tmsecs": lambda e, r, s, c, st, now: int(s * 1000),
    "tmicros": lambda e, r, s, c, st, now: int(s * 1_000_000),
    "epoch": lambda e, r, s, c, st, now: int(now),
    "ctime": lambda e, r, s, c, st, now: time.ctime(s),
    "ltime": lambda e, r, s, c, st, now: time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(s)),
    "ftime": lambda e, r, s, c, st, now: time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(s)),
    "pid": lambda e, r, s, c, st, now: os.getpid(),
    "wid": lambda e, r, s, c, st, now: e.get("gateway.worker_id", _worker_id()),
    "core": lambda e, r, s, c, st, now: c.id if c is not None else 0,
    "switches": lambda e, r, s, c, st, now: r.logged_switches(),
    "vars": lambda e, r, s, c, st, now: request_vars(e)[0],
    "pktsize": lambda e, r, s, c, st, now: request_vars(e)[1],
    "modifier1": lambda e, r, s, c, st, now: e.get(MODIFIERS, (0, 0))[0],
    "modifier2": lambda e, r, s, c, st, now: e.get(MODIFIERS, (0, 0))[1],
    "headers": lambda e, r, s, c, st, now: r.headers_count,
    "werr": lambda e, r, s, c, st, now: _errors(r)[0],
    "rerr": lambda e, r, s, c, st, now: _errors(r)[1],
    "ioerr": lambda e, r, s, c, st, now: sum(_errors(r)),
    "rss": lambda e, r, s, c, st, now: process_memory()[0],
    "vsz": lambda e, r, s, c, st, now: process_memory()[1],
    "rssM": lambda e, r, s, c, st, now: process_memory()[0] // (1024 * 1024),
    "vszM": lambda e, r, s, c, st, now: process_memory()[1] // (1024 * 1024),
}


def _errors(resp: Any) -> Tuple[int, int]:
    """``(write errors, read errors)`` of the request (uWSGI's ``werr``, ``rerr``)."""
    notes = getattr(resp, "notes", None)
    return (0, 0) if notes is None else (notes.write_errors, notes.read_errors)


def _metric(name: str) -> Callable[..., Any]:
    def get(e: Dict[str, Any], r: Any, s: float, c: Any, st: Any, now: float) -> Any:
        from gateway.subsystems.api import metric_get

        return metric_get(name)
    return get


def _request_var(name: str) -> Callable[..., Any]:
    def get(e: Dict[str, Any], r: Any, s: float, c: Any, st: Any, now: float) -> Any:
        added = e.get(ADDED_VARS)
        if added is not None and name in added:
            return log_text(added[name])
        value = e.get(name)
        return log_text(value) if type(value) is str else ""
    return get


def _logvar(name: str) -> Callable[..., Any]:
    key = name.encode("utf-8")

    def get(e: Dict[str, Any], r: Any, s: float, c: Any, st: Any, now: float) -> Any:
        logvars = e.get(LOGVARS)
        value = logvars.get(key) if logvars is not None else None
        return value.decode("utf-8", "backslashreplace") if value else ""
    return get


def variable(name: str) -> Callable[..., Any]:
    """The renderer of ``%(name)`` (see the module docstring for the order)."""
    builtin = _VARS.get(name)
    if builtin is not None:
        return builtin
    if name.startswith("var."):
        return _request_var(name[4:])
    if name.startswith("metric."):
        return _metric(name[7:])
    return _logvar(name)


def _ftime(fmt: str) -> Callable[..., Any]:
    def get(e: Dict[str, Any], r: Any, s: float, c: Any, st: Any, now: float) -> Any:
        return time.strftime(fmt, time.localtime(s))
    return get


def _worker_id() -> int:
    import sys

    mod = sys.modules.get("gateway.uwsgi_module")
    return mod.worker_id() if mod is not None else 0


def _forwarded_for(e: Dict[str, Any], r: Any, s: float, c: Any, st: Any, now: float) -> Any:
    return log_text(e.get("HTTP_X_FORWARDED_FOR") or e.get("REMOTE_ADDR", ""))


class LogFormat:
    """A compiled ``--log-format`` template (``ftime``: the strftime format of ``%(ftime)``,
    ``--log-format-strftime``; None: ``%(ftime)`` is ``%(ltime)``; ``forwarded_for``:
    ``--log-x-forwarded-for``, ``%(addr)`` is the ``X-Forwarded-For`` header when there is one,
    as uWSGI's ``remote_addr``)."""

    def __init__(self, template: str, ftime: Optional[str] = None, forwarded_for: bool = False) -> None:
        self.template = template
        self.parts: List[Union[str, Callable[..., Any]]] = []
        pos = 0
        for m in _VAR.finditer(template):
            if m.start() > pos:
                self.parts.append(template[pos : m.start()])
            name = m.group(1)
            if name == "ftime" and ftime:
                self.parts.append(_ftime(ftime))
            elif name == "addr" and forwarded_for:
                self.parts.append(_forwarded_for)
            else:
                self.parts.append(variable(name))
            pos = m.end()
        if pos < len(template):
            self.parts.append(template[pos:])

    def render(self, environ: Dict[str, Any], resp: WSGIResponse, start: float, core: Optional[Core],
               stats: Any) -> str:
        now = time.time()
        out = []
        for part in self.parts:
            if type(part) is str:
                out.append(part)
            else:
                out.append(str(part(environ, resp, start, core, stats, now)) or "-")  # type: ignore[operator]
        return "".join(out)
