"""The ``uwsgi`` module's cache, lock, metric and signal functions.

Argument and return conventions are uWSGI 2.0's (``plugins/python/uwsgi_pymodule.c``):
keys and values may be ``str`` (UTF-8) or bytes-like; results are ``True`` or
``None`` (never ``False``), values are ``bytes``.  Every function works without the
matching option too (no cache: ``None``; no metric: ``None``/0), as in uWSGI.
Remote caches (``cache="name@host:port"``) go over the uwsgi protocol
(:mod:`gateway.subsystems.remote_cache`), remote signals (``signal(n, "host:port")``)
over modifier1 110 (:mod:`gateway.usignals.remote`).
"""

from __future__ import annotations

import struct
import threading
from typing import Any, Callable, List, Optional, Union

import gateway.subsystems as _subs
import loop_engine
from gateway.api_args import bytes_arg as _b
from gateway.api_args import c_int_arg as _c_int
from gateway.api_args import int_arg as _int
from gateway.server.current_request import environ_or_none
from gateway.usignals.table import CRON, FILEMON, RB_TIMER, TIMER, TableFull

Key = Union[str, bytes, bytearray, memoryview]


def _cache(name: Optional[Any], what: str) -> Any:
    s = _subs.current
    if name is not None and not isinstance(name, str):
        if isinstance(name, (bytes, bytearray)):
            name = bytes(name).decode("utf-8")
        else:
            raise TypeError("%s: the cache name must be str, not '%s'" % (what, type(name).__name__))
    if name and "@" in name:
        return _Remote(name, what)
    if s is None:
        return None
    return s.caches.get(name)


def _ok(flag: bool) -> Optional[bool]:
    return True if flag else None


class _Remote:
    """A remote cache (``name@host:port``) with the local cache's method names."""

    def __init__(self, cache: str, what: str) -> None:
        self.cache = cache
        self.what = what

    def _do(self, cmd: str, key: bytes = b"", value: Optional[bytes] = None, expires: int = 0) -> Any:
        from gateway.subsystems import remote_cache

        return remote_cache.request(self.what, self.cache, cmd, key, value, expires)

    def get_memo(self, key: Any) -> Optional[bytes]:
        return self.get(_b(key, self.what))

    def get(self, key: bytes) -> Optional[bytes]:
        status, value = self._do("get", key)
        return value if status == "ok" else None

    def exists(self, key: bytes) -> bool:
        return self._do("exists", key)[0] == "ok"

    def set(self, key: bytes, value: bytes, expires: int = 0) -> bool:
        return self._do("set", key, value, expires)[0] == "ok"

    def update(self, key: bytes, value: bytes, expires: int = 0) -> bool:
        return self._do("update", key, value, expires)[0] == "ok"

    def delete(self, key: bytes) -> bool:
        return self._do("del", key)[0] == "ok"

    def clear(self) -> bool:
        return self._do("clear")[0] == "ok"

    def math(self, op: str, key: bytes, amount: int, expires: int = 0) -> bool:
        # uWSGI sends the 8-byte operand as an "update" (the remote side does no arithmetic)
        return self._do("update", key, struct.pack("<q", amount), expires)[0] == "ok"

    def num(self, key: bytes) -> int:
        value = self.get(key)
        return struct.unpack("<q", value)[0] if value is not None and len(value) == 8 else 0

    def keys(self) -> List[bytes]:
        raise ValueError("no local uWSGI cache available")


# -- caches ---------------------------------------------------------------------------


def cache_get(key: Key, cache: Optional[str] = None) -> Optional[bytes]:
    """The value of ``key`` (bytes), or None.

    The hot path: a key this process read since the cache last changed is answered
    from the cache's process-local memo after one load of its generation word
    (:meth:`~gateway.sharedmem.cache.SharedCache.get_memo`)."""
    s = _subs.current
    if s is None:
        return None
    c = s.caches.default if cache is None else (s.caches.by_name.get(cache) or _cache(cache, "cache_get"))
    if c is None:
        return None
    if type(c) is _Remote:
        return c.get_memo(key)
    if c.gen_word[0] == c.memo_gen:
        try:
            value = c.memo[key]
        except (KeyError, TypeError):
            pass
        else:
            if value is None:
                c.local_miss += 1
            else:
                c.local_hits += 1
            return value
    return c.get_memo(key)


def cache_exists(key: Key, cache: Optional[str] = None) -> Optional[bool]:
    k = _b(key, "cache_exists")
    c = _cache(cache, "cache_exists")
    return None if c is None else _ok(c.exists(k))


def cache_set(key: Key, value: Key, expires: int = 0, cache: Optional[str] = None) -> Optional[bool]:
    """Store ``value`` unless ``key`` exists (then None, the old value stays)."""
    k = _b(key, "cache_set")
    v = _b(value, "cache_set")
    e = _int(expires, "cache_set")
    c = _cache(cache, "cache_set")
    return None if c is None else _ok(c.set(k, v, e))


def cache_update(key: Key, value: Key, expires: int = 0, cache: Optional[str] = None) -> Optional[bool]:
    """Store ``value``, replacing an existing one."""
    k = _b(key, "cache_update")
    v = _b(value, "cache_update")
    e = _int(expires, "cache_update")
    c = _cache(cache, "cache_update")
    return None if c is None else _ok(c.update(k, v, e))


def cache_del(key: Key, cache: Optional[str] = None) -> Optional[bool]:
    k = _b(key, "cache_del")
    c = _cache(cache, "cache_del")
    return None if c is None else _ok(c.delete(k))


def cache_clear(cache: Optional[str] = None) -> Optional[bool]:
    c = _cache(cache, "cache_clear")
    return None if c is None else _ok(c.clear())


def cache_keys(cache: Optional[str] = None) -> List[bytes]:
    c = _cache(cache, "cache_keys")
    if c is None:
        raise ValueError("no local uWSGI cache available")
    return c.keys()


def _math(op: str, default: int) -> Callable[..., Optional[bool]]:
    def f(key: Key, value: int = default, expires: int = 0, cache: Optional[str] = None) -> Optional[bool]:
        k = _b(key, "cache_" + op)
        v = _int(value, "cache_" + op)
        e = _int(expires, "cache_" + op)
        c = _cache(cache, "cache_" + op)
        return None if c is None else _ok(c.math(op, k, v, e))

    f.__name__ = "cache_" + op
    f.__doc__ = "uWSGI cache_%s: 64-bit integer arithmetic on an 8-byte value (created from 0)." % op
    return f


cache_inc = _math("inc", 1)
cache_dec = _math("dec", 1)
cache_mul = _math("mul", 2)
cache_div = _math("div", 2)


def cache_num(key: Key, cache: Optional[str] = None) -> int:
    """The 8-byte integer stored at ``key`` (0 if absent or not 8 bytes)."""
    k = _b(key, "cache_num")
    c = _cache(cache, "cache_num")
    return 0 if c is None else c.num(k)


# -- locks ----------------------------------------------------------------------------


def _lock(n: Any, what: str) -> Any:
    s = _subs.current
    n = _c_int(n, what, "i")  # (uWSGI's "|i": a C int)
    if s is None:
        if n != 0:
            raise ValueError("Invalid lock number")
        raise RuntimeError("uwsgi.%s(): the server's locks are not set up in this process" % what)
    return s.locks.get(n)


def lock(n: int = 0) -> None:
    """Take user lock ``n`` (suspends only the calling core while another holds it)."""
    _lock(n, "lock").acquire()


def unlock(n: int = 0) -> None:
    _lock(n, "unlock").release()


def is_locked(n: int = 0) -> bool:
    return _lock(n, "is_locked").locked()


# -- metrics --------------------------------------------------------------------------


def _metric_op(op: str) -> Callable[..., Optional[bool]]:
    def f(key: str, value: int = 1) -> Optional[bool]:
        if not isinstance(key, str):
            raise TypeError("metric_%s: the metric name must be str" % op)
        v = _c_int(value, "metric_" + op, "l")  # (uWSGI's "s|l": a signed 64-bit integer)
        s = _subs.current
        return None if s is None else _ok(s.metrics.op(key, op, v))

    f.__name__ = "metric_" + op
    f.__doc__ = "uWSGI metric_%s: True, or None for an unknown metric or a built-in one (the master sets those)." % op
    return f


metric_inc = _metric_op("inc")
metric_dec = _metric_op("dec")
metric_mul = _metric_op("mul")
metric_div = _metric_op("div")
metric_set = _metric_op("set")
metric_set_max = _metric_op("set_max")
metric_set_min = _metric_op("set_min")


def metric_get(key: str) -> int:
    if not isinstance(key, str):
        raise TypeError("metric_get: the metric name must be str")
    s = _subs.current
    return 0 if s is None else s.metrics.get(key)


# -- signals --------------------------------------------------------------------------


def _receiver(what: str) -> Any:
    """The Subsystems of this process, with a signal receiver: in the master (the app
    is imported there before fork unless --lazy-apps) registrations go to a receiver
    every worker inherits, and that worker records them as its own when it attaches."""
    s = _subs.current
    if s is None:
        raise ValueError("uwsgi.%s(): signals are not available in this process" % what)
    if s.receiver is None:
        from gateway.usignals.receiver import SignalReceiver

        s.receiver = SignalReceiver(s.table)
    return s


def _sig(n: Any) -> int:
    return _int(n, "signal") & 0xFF  # uWSGI parses it as an unsigned char


def register_signal(num: int, target: str, handler: Any) -> None:
    """Register ``handler(signum)`` for signal ``num``; ``target`` says which workers run it."""
    if not isinstance(target, str):
        raise TypeError("register_signal: target must be str")
    if len(target.encode()) > 63:
        raise ValueError("unable to register signal")
    _receiver("register_signal").receiver.register(_sig(num), target, handler)


def signal_registered(num: int) -> Optional[bool]:
    s = _subs.current
    if s is None or s.receiver is None:
        return None
    return _ok(s.receiver.registered(_sig(num)))


def signal(num: int, remote: Optional[str] = None) -> None:
    """Raise signal ``num``: the master routes it to its target workers."""
    if remote:
        from gateway.usignals.remote import send

        send(remote, _sig(num))
        return None
    _receiver("signal").receiver.raise_signal(_sig(num))


def _add_source(kind: int, what: str, num: int, fields: Any = (0, 0, 0, 0, 0), path: bytes = b"") -> None:
    s = _receiver(what)
    try:
        s.table.add_source(kind, _sig(num), tuple(fields), path)
    except TableFull as e:
        from gateway.logs import gen_log

        gen_log.warning("%s", e)
        raise ValueError("unable to %s" % what.replace("_", " ")) from None


def add_timer(num: int, seconds: int) -> None:
    _add_source(TIMER, "add_timer", num, (_int(seconds, "add_timer"), 0, 0, 0, 0))


def add_ms_timer(num: int, milliseconds: int) -> None:
    """A timer raising signal ``num`` every ``milliseconds`` (uWSGI's high-resolution timer:
    one of the same 64 timers as ``add_timer``; ``add_ms_timer(n, 2000)`` is ``add_timer(n, 2)``)."""
    ms = _int(milliseconds, "add_ms_timer")
    if ms < 0:
        raise ValueError("unable to add timer")
    _add_source(TIMER, "add_ms_timer", num, (ms // 1000, 0, ms % 1000, 0, 0))


def add_rb_timer(num: int, seconds: int, iterations: int = 0) -> None:
    _add_source(RB_TIMER, "add_rb_timer", num, (_int(seconds, "add_rb_timer"), _int(iterations, "add_rb_timer"), 0, 0, 0))


def add_cron(num: int, minute: int, hour: int, day: int, month: int, weekday: int) -> bool:
    fields = tuple(_int(x, "add_cron") for x in (minute, hour, day, month, weekday))
    _add_source(CRON, "add_cron", num, fields)
    return True


def add_file_monitor(num: int, path: str) -> None:
    if not isinstance(path, str):
        raise TypeError("add_file_monitor: path must be str")
    _add_source(FILEMON, "add_file_monitor", num, path=path.encode())


def signal_wait(num: Optional[int] = None) -> bytes:
    """Suspend this core until the worker handles a signal (``num`` only, if given)."""
    s = _receiver("signal_wait")
    environ = environ_or_none()
    if environ is not None:
        environ[SIGNAL_RECEIVED] = -1  # as uWSGI, while waiting
    if loop_engine.current_core() is None and threading.current_thread() is not threading.main_thread():
        from gateway.usignals.receiver import ThreadWaiter

        w: Any = ThreadWaiter()  # a request thread (--threads)
    else:
        w = loop_engine.Waiter()  # (on the loop outside a core: NotInCore)
    s.receiver.waiters.append((None if num is None else _sig(num), w))
    received = w.wait()
    if isinstance(received, int):
        s.receiver.handle(received)  # (in this core, as uWSGI's signal_wait)
        if environ is not None:
            environ[SIGNAL_RECEIVED] = received
    return b""


#: where :func:`signal_wait` records, in the request's environ, the signal it received
SIGNAL_RECEIVED = "gateway.signal_received"


def signal_received() -> int:
    """uWSGI's: the signal the request's last ``signal_wait()`` received (-1 while it waits),
    0 in a request that did not wait; outside a request, the last signal this worker handled
    (0 before any, as uWSGI's zeroed request)."""
    environ = environ_or_none()
    if environ is not None:
        return int(environ.get(SIGNAL_RECEIVED, 0))
    s = _subs.current
    if s is None or s.receiver is None:
        return 0
    return max(s.receiver.last_received, 0)


__all__ = [
    "cache_get", "cache_exists", "cache_set", "cache_update", "cache_del", "cache_clear", "cache_keys",
    "cache_inc", "cache_dec", "cache_mul", "cache_div", "cache_num",
    "lock", "unlock", "is_locked",
    "metric_inc", "metric_dec", "metric_mul", "metric_div", "metric_set", "metric_set_max",
    "metric_set_min", "metric_get",
    "register_signal", "signal_registered", "signal", "add_timer", "add_ms_timer", "add_rb_timer",
    "add_cron",
    "add_file_monitor", "signal_wait", "signal_received",
]
