"""``uwsgidecorators`` for hosted apps: ``@postfork``, ``@rpc``, ``@erlang``, the signal
family (``@signal``, ``@timer``, ``@rbtimer``, ``@cron``, ``@filemon``), ``@lock``,
``@thread`` and the mule family (``@mulefunc``, ``@mule``, ``@muleloop``, ``@mulemsg``,
``@farm``: :mod:`gateway.mules.decorators`).

Installed as ``sys.modules["uwsgidecorators"]`` inside the server.  Unlike uWSGI's
module it does not demand a master process at import: with a single worker (no master)
``@postfork`` functions run once, in the worker, before it serves its first request —
so the seed's per-worker ``t_application.listen(8000 + uwsgi.worker_id())`` works.
Every worker imports the app itself, so every worker applies ``@timer`` & co.; the
shared signal table adds an identical timer only once (see :mod:`gateway.usignals.table`).
``@spool``, ``@spoolraw``, ``@spoolforever`` and ``@harakiri`` raise
``NotImplementedError`` when applied: gateway has no spooler (yet), and a decorated
function must never be silently inert.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable, List, Optional, Tuple

import uwsgi  # resolved to gateway.uwsgi_module inside the server

#: (function, worker id or 0 for every worker), in registration order.
postfork_chain: List[Tuple[Callable[[], Any], int]] = []


def _run_postfork_chain() -> None:
    me = uwsgi.worker_id()
    for func, only in list(postfork_chain):
        if only == 0 or only == me:
            try:
                func()
            except Exception:
                # One broken hook must not keep the others from running.
                uwsgi.log("error in postfork hook %s:\n%s" % (getattr(func, "__name__", func), traceback.format_exc()))


uwsgi.post_fork_hook = _run_postfork_chain


class postfork:
    """Run the decorated function in each worker after it is spawned.

    ``@postfork`` runs in every worker; ``@postfork(2)`` only in worker 2.
    """

    def __init__(self, f: Any = None) -> None:
        if callable(f):
            self.wid = 0
            self.f: Optional[Callable[..., Any]] = f
            postfork_chain.append((f, 0))
        else:
            self.wid = int(f or 0)
            self.f = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.f is not None:
            return self.f(*args, **kwargs)
        func = args[0]
        self.f = func
        postfork_chain.append((func, self.wid))
        return func


class rpc:
    """``@rpc("name")``: register the function as uWSGI RPC function ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        uwsgi.register_rpc(self.name, f)
        return f


class erlang:
    """``@erlang("name")``: register the function as Erlang process ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        uwsgi.erlang_register_process(self.name, f)
        return f


# -- uWSGI signals, timers, cron, file monitors -------------------------------------------


def get_free_signal() -> int:
    """The first signal number this worker has no handler for."""
    for signum in range(256):
        if not uwsgi.signal_registered(signum):
            return signum
    raise Exception("No free uwsgi signal available")


class signal:
    """``@signal(num, target="")``: run the function (with the signal number) when
    signal ``num`` is raised."""

    def __init__(self, num: int, **kwargs: Any) -> None:
        self.num = num
        self.target = kwargs.get("target", "")

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        uwsgi.register_signal(self.num, self.target, f)
        return f


class timer:
    """``@timer(secs, signum=free, target="")``: run the function every ``secs`` seconds."""

    def __init__(self, secs: int, **kwargs: Any) -> None:
        self.num = kwargs["signum"] if "signum" in kwargs else get_free_signal()
        self.secs = secs
        self.target = kwargs.get("target", "")

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        uwsgi.register_signal(self.num, self.target, f)
        uwsgi.add_timer(self.num, self.secs)
        return f


class rbtimer(timer):
    """``@rbtimer(secs, ...)``: like ``@timer`` (uWSGI's red-black-tree timer)."""

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        uwsgi.register_signal(self.num, self.target, f)
        uwsgi.add_rb_timer(self.num, self.secs)
        return f


class cron:
    """``@cron(minute, hour, day, month, weekday, signum=free, target="")`` (-1 = any,
    -N = every N)."""

    def __init__(self, minute: int, hour: int, day: int, month: int, dayweek: int, **kwargs: Any) -> None:
        self.num = kwargs["signum"] if "signum" in kwargs else get_free_signal()
        self.fields = (minute, hour, day, month, dayweek)
        self.target = kwargs.get("target", "")

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        uwsgi.register_signal(self.num, self.target, f)
        uwsgi.add_cron(self.num, *self.fields)
        return f


class filemon:
    """``@filemon(path, signum=free, target="")``: run the function when ``path`` changes."""

    def __init__(self, fsobj: str, **kwargs: Any) -> None:
        self.num = kwargs["signum"] if "signum" in kwargs else get_free_signal()
        self.fsobj = fsobj
        self.target = kwargs.get("target", "")

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        uwsgi.register_signal(self.num, self.target, f)
        uwsgi.add_file_monitor(self.num, self.fsobj)
        return f


class lock:
    """``@lock``: run the function holding user lock 0 (shared by every worker)."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        uwsgi.lock()
        try:
            return self.f(*args, **kwargs)
        finally:
            uwsgi.unlock()


class thread:
    """``@thread``: each call runs the function in a new daemon thread."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f

    def __call__(self, *args: Any) -> Callable[..., Any]:
        t = threading.Thread(target=self.f, args=args)
        t.daemon = True
        t.start()
        return self.f


# -- mules and farms (gateway/mules/decorators.py) ----------------------------------------

from gateway.mules.decorators import farm, mule, mule_functions, mule_msg_dispatcher, mulefunc, muleloop, mulemsg  # noqa: E402,F401

# -- refused: subsystems gateway does not have ------------------------------------------


def _not_supported(name: str, what: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("@%s is not supported by gateway: it has no %s" % (name, what))

    refuse.__name__ = name
    return refuse


spool = _not_supported("spool", "spooler")
spoolraw = _not_supported("spoolraw", "spooler")
spoolforever = _not_supported("spoolforever", "spooler")
harakiri = _not_supported("harakiri", "uwsgi.set_user_harakiri() yet")
