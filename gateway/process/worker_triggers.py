"""Per-request worker options: ``--reaper``, ``--reload-on-exception-type/-value/-repr``,
``--reload-on-pss``/``--reload-on-uss``, and ``--thread-stacksize``.

:func:`install` runs in each worker before its app loads; what happens after each request
is a ``request_end_hooks`` entry of the worker's settings (on the loop, after the response).
uWSGI checks all of these at the end of a request too (``uwsgi_close_request``,
``uwsgi_manage_exception``); a worker whose check says so retires gracefully (its requests
in flight finish, its master respawns it), the way ``--reload-on-exception`` does.

:func:`exception_matches` and :func:`memory_extra` are the pure parts.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Iterable, Optional, Tuple

from gateway.logs import gen_log

__all__ = ["exception_matches", "install", "memory_extra", "reap_children", "set_thread_stack_size"]

#: Children reaped after one request at most (a fork bomb must not hold the loop).
MAX_REAPED = 256


def exception_name(exc: BaseException) -> str:
    return type(exc).__name__


def exception_matches(exc: BaseException, types: Iterable[str], values: Iterable[str],
                      reprs: Iterable[str]) -> Optional[str]:
    """Which rule ``exc`` matches, as ``"type X"``/``"value X"``/``"repr X"``, or None.

    The type is the class name (``ZeroDivisionError``) or, for a class outside the builtins,
    ``module.Name`` too; the value is ``str(exc)``; the repr is ``"Type: value"``, the
    separator uWSGI's Python plugin writes."""
    name = exception_name(exc)
    module = type(exc).__module__
    qualified = name if module == "builtins" else "%s.%s" % (module, name)
    for t in types:
        if t in (name, qualified):
            return "type %s" % t
    try:
        value = str(exc)
    except Exception:
        value = ""
    for v in values:
        if v == value:
            return "value %s" % v
    for r in reprs:
        if r in ("%s: %s" % (name, value), "%s: %s" % (qualified, value)):
            return "repr %s" % r
    return None


def memory_extra(smaps_rollup: str) -> Tuple[int, int]:
    """(USS, PSS) in bytes from the text of ``/proc/PID/smaps_rollup`` (or ``smaps``, whose
    per-mapping lines add up the same way): USS is the private pages, clean and dirty."""
    uss = pss = 0
    for line in smaps_rollup.splitlines():
        key, _, rest = line.partition(":")
        if key in ("Private_Clean", "Private_Dirty", "Pss"):
            try:
                kb = int(rest.split()[0])
            except (IndexError, ValueError):
                continue
            if key == "Pss":
                pss += kb * 1024
            else:
                uss += kb * 1024
    return uss, pss


def _read_memory_extra() -> Tuple[int, int]:
    for name in ("/proc/self/smaps_rollup", "/proc/self/smaps"):
        try:
            with open(name) as f:
                return memory_extra(f.read())
        except OSError:
            continue
    return 0, 0


def reap_children(limit: int = MAX_REAPED) -> int:
    """``waitpid(-1, WNOHANG)`` until no exited child is left; how many were reaped."""
    reaped = 0
    while reaped < limit:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        reaped += 1
    return reaped


def set_thread_stack_size(cfg: Any) -> None:
    """``--thread-stacksize KB``: the stack of every thread started from now on in this
    process and its children (set before the app loads and before any fork)."""
    stack_kb = int(getattr(cfg, "thread_stacksize", 0) or 0)
    if stack_kb:
        try:
            threading.stack_size(stack_kb * 1024)
            gen_log.info("threads stack size set to %dk", stack_kb)
        except (ValueError, RuntimeError) as e:
            gen_log.warning("--thread-stacksize %d: %s (the system's default is kept)", stack_kb, e)


def install(worker: Any) -> None:
    """Set up the options of this module in ``worker`` (a :class:`~gateway.process.worker.Worker`)."""
    cfg = worker.config
    types = list(getattr(cfg, "reload_on_exception_type", ()) or ())
    values = list(getattr(cfg, "reload_on_exception_value", ()) or ())
    reprs = list(getattr(cfg, "reload_on_exception_repr", ()) or ())
    pss_limit = int(getattr(cfg, "reload_on_pss", 0) or 0) * 1024 * 1024
    uss_limit = int(getattr(cfg, "reload_on_uss", 0) or 0) * 1024 * 1024
    reaper = bool(getattr(cfg, "reaper", False))
    if not (types or values or reprs or pss_limit or uss_limit or reaper):
        return
    settings = worker.settings
    min_lifetime = float(worker.min_lifetime)
    spawned = time.monotonic()

    def ended(core: Any, environ: Any, response: Any) -> None:
        if reaper:
            reap_children()
        retire = settings.retire
        if retire is None:
            return
        exc = response.exception
        if exc is not None and (types or values or reprs):
            rule = exception_matches(exc, types, values, reprs)
            if rule:
                retire("reload-on-exception-%s: the app raised %s for %s %s" % (
                    rule.split(" ", 1)[0], exception_name(exc), environ.get("REQUEST_METHOD", ""),
                    environ.get("REQUEST_URI", "")))
                return
        if (pss_limit or uss_limit) and time.monotonic() - spawned >= min_lifetime:
            uss, pss = _read_memory_extra()
            if uss_limit and uss >= uss_limit:
                retire("reload-on-uss limit reached (%d >= %d)" % (uss, uss_limit))
            elif pss_limit and pss >= pss_limit:
                retire("reload-on-pss limit reached (%d >= %d)" % (pss, pss_limit))

    settings.request_end_hooks.append(ended)
