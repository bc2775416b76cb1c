"""``uwsgidecorators`` for hosted apps: ``@postfork``, ``@rpc``, ``@erlang``, the signal
family (``@signal``, ``@timer``, ``@mstimer``, ``@rbtimer``, ``@cron``, ``@filemon``), ``@lock``,
``@thread``, the spooler's ``@spool``, ``@spoolraw`` and ``@spoolforever``, and the mule
family (``@mulefunc``, ``@mule``, ``@muleloop``, ``@mulemsg``, ``@farm``:
:mod:`gateway.mules.decorators`).

Installed as ``sys.modules["uwsgidecorators"]`` inside the server.  Unlike uWSGI's
module it does not demand a master process at import: with a single worker (no master)
``@postfork`` functions run once, in the worker, before it serves its first request —
so the seed's per-worker ``t_application.listen(8000 + uwsgi.worker_id())`` works.
Every worker imports the app itself, so every worker applies ``@timer`` & co.; the
shared signal table adds an identical timer only once (see :mod:`gateway.usignals.table`).
``@harakiri(seconds)`` arms ``uwsgi.set_user_harakiri()`` around each call.

The spooler decorators behave as uWSGI 2.0's: calling the decorated function spools a
task naming it (``ud_spool_func``) instead of running it; the spooler process calls it
through :func:`manage_spool_request` (installed as ``uwsgi.spooler`` at import, so an
app's own ``uwsgi.spooler = ...`` set later wins).  One robustness difference: a task
value that is not UTF-8 reaches the function as bytes instead of failing the task.
"""

from __future__ import annotations

import pickle
import threading
import traceback
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

import uwsgi  # resolved to gateway.uwsgi_module inside the server

#: (function, worker id or 0 for every worker), in registration order.
postfork_chain: List[Tuple[Callable[[], Any], int]] = []


def postfork_chain_hook() -> None:
    """Run the ``@postfork`` functions (uWSGI's name: it is ``uwsgi.post_fork_hook``)."""
    me = uwsgi.worker_id()
    for func, only in list(postfork_chain):
        if only == 0 or only == me:
            try:
                func()
            except Exception:
                # One broken hook must not keep the others from running.
                uwsgi.log("error in postfork hook %s:\n%s" % (getattr(func, "__name__", func), traceback.format_exc()))


uwsgi.post_fork_hook = postfork_chain_hook


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


class mstimer:
    """``@mstimer(msecs, signum=free, target="")``: run the function every ``msecs`` milliseconds."""

    def __init__(self, msecs: int, **kwargs: Any) -> None:
        self.num = kwargs["signum"] if "signum" in kwargs else get_free_signal()
        self.msecs = msecs
        self.target = kwargs.get("target", "")

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        uwsgi.register_signal(self.num, self.target, f)
        uwsgi.add_ms_timer(self.num, self.msecs)
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
    """``@lock``: run the function holding user lock 0 (shared by every worker); in a
    spooler the call does nothing, as in uWSGI."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if uwsgi.i_am_the_spooler():
            return None
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


# -- the spooler -------------------------------------------------------------------------

#: ``@spool`` functions by name (the spooler finds a task's function here)
spooler_functions: Dict[str, Callable[..., Any]] = {}


def _encode(value: Any) -> Any:
    return value.encode("utf-8") if isinstance(value, str) else value


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def manage_spool_request(env: Dict[Any, Any]) -> int:
    """``uwsgi.spooler`` for the decorators: call the task's function and return its code.

    ``@spool`` tasks carry ``ud_spool_ret`` (SPOOL_OK), ``@spoolforever`` ones SPOOL_RETRY,
    ``@spoolraw`` none: the function's own return value decides.  An unknown function
    raises (the task is retried, as in uWSGI).
    """
    task = {_decode(k): v for k, v in env.items()}
    if "args" in task:
        for key in ("args", "kwargs"):
            task[key] = pickle.loads(task.pop(key))
    task = {k: (v if k in ("args", "kwargs") else _decode(v)) for k, v in task.items()}
    name = task.get("ud_spool_func")
    func = spooler_functions.get(name) if isinstance(name, str) else None
    if func is None:
        raise LookupError("no @spool function named %r in this spooler (known: %s)"
                          % (name, ", ".join(sorted(spooler_functions)) or "none"))
    if "args" in task:
        ret = func(*task["args"], **task["kwargs"])
    else:
        ret = func(task)
    return int(task.get("ud_spool_ret", ret))


uwsgi.spooler = manage_spool_request

#: what @spool(pass_arguments=True) moves out of the call's kwargs into the task itself
_SPOOLER_ARGS = ("message_dict", "spooler", "priority", "at", "body")


class _spoolraw:
    """A function whose calls become spooler tasks (see :func:`spoolraw`)."""

    ret: Optional[int] = None

    def __init__(self, f: Callable[..., Any], pass_arguments: bool) -> None:
        if "spooler" not in uwsgi.opt:
            raise Exception("you have to enable the uWSGI spooler to use @%s decorator" % type(self).__name__)
        self.f = f
        self.pass_arguments = pass_arguments
        spooler_functions[f.__name__] = f
        f.spool = self.__call__  # type: ignore[attr-defined]  # uWSGI < 1.9.13 spelling
        self.base_dict: Dict[str, Any] = {"ud_spool_func": f.__name__}

    def __call__(self, *args: Any, **kwargs: Any) -> bytes:
        task = dict(self.base_dict)
        if self.ret is not None:
            task["ud_spool_ret"] = str(self.ret)
        if self.pass_arguments:
            for key in _SPOOLER_ARGS:
                if key in kwargs:
                    task[key] = kwargs.pop(key)
            task["args"] = pickle.dumps(args)
            task["kwargs"] = pickle.dumps(kwargs)
        else:
            if args:
                task.update(args[0])
            task.update(kwargs)
        return uwsgi.spool({_encode(k): _encode(v) for k, v in task.items()})

    def spool(self, *args: Any, **kwargs: Any) -> bytes:
        """The same as calling it (uWSGI < 1.9.13 spelling)."""
        return self(*args, **kwargs)


class _spool(_spoolraw):
    ret = -2  # uwsgi.SPOOL_OK: the task is done once the function returns


class _spoolforever(_spoolraw):
    ret = -1  # uwsgi.SPOOL_RETRY: the task runs again at every scan


def spool_decorate(f: Any = None, pass_arguments: bool = False, _class: type = _spoolraw) -> Any:
    """uWSGI's helper behind the spool decorators: ``_class(f, pass_arguments)``, or a
    decorator making one when ``f`` is None."""
    if f is None:
        return partial(_class, pass_arguments=pass_arguments)
    return _class(f, pass_arguments)


def spoolraw(f: Any = None, pass_arguments: bool = False) -> Any:
    """``@spoolraw``: calls spool a task; in the spooler the function's return value
    (``uwsgi.SPOOL_OK``/``SPOOL_RETRY``/``SPOOL_IGNORE``) decides.  Without
    ``pass_arguments`` the function gets the task dict (str keys and values); with it,
    its own arguments, pickled into the task (``spooler``, ``priority``, ``at`` and
    ``body`` keyword arguments go to the spooler instead)."""
    return spool_decorate(f, pass_arguments, _spoolraw)


def spool(f: Any = None, pass_arguments: bool = False) -> Any:
    """``@spool``: as :func:`spoolraw`, and the task is done once the function returns
    (an exception retries it)."""
    return spool_decorate(f, pass_arguments, _spool)


def spoolforever(f: Any = None, pass_arguments: bool = False) -> Any:
    """``@spoolforever``: as :func:`spoolraw`, and the task runs again at every scan."""
    return spool_decorate(f, pass_arguments, _spoolforever)


# -- mules and farms (gateway/mules/decorators.py) ----------------------------------------

from gateway.mules.decorators import farm, mule, mule_functions, mule_msg_dispatcher, mulefunc, muleloop, mulemsg  # noqa: E402,F401

# -- harakiri ---------------------------------------------------------------------------


class harakiri:
    """``@harakiri(seconds)``: each call of the function runs under its own harakiri
    (``uwsgi.set_user_harakiri(seconds)``, cleared with ``set_user_harakiri(0)`` when it
    returns or raises).  uWSGI's decorator leaves it armed when the call raises: in a mule
    or the spooler, whose loop catches the exception and goes on, the idle process would
    then be killed ``seconds`` later, maybe in the middle of its next task."""

    def __init__(self, seconds: int) -> None:
        self.s = seconds

    def real_call(self, *args: Any, **kwargs: Any) -> Any:
        uwsgi.set_user_harakiri(self.s)
        try:
            return self.f(*args, **kwargs)
        finally:
            uwsgi.set_user_harakiri(0)

    def __call__(self, f: Callable[..., Any]) -> Callable[..., Any]:
        self.f = f
        return self.real_call
