"""``uwsgidecorators``' mule family: ``@mulefunc``, ``@mule``, ``@muleloop``, ``@mulemsg``, ``@farm``.

Re-exported by :mod:`gateway.uwsgidecorators`; same behaviour as uWSGI's module:

* ``@mulefunc`` / ``@mulefunc(n or "farm")``: calling the function pickles
  ``{"service": "uwsgi_mulefunc", "func": name, "args": ..., "kwargs": ...}`` and sends it
  with ``uwsgi.mule_msg``; in the mule, :func:`mule_msg_dispatcher` (installed as
  ``uwsgi.mule_msg_hook`` by the first ``@mulefunc``, unless the app set a hook) calls
  the function of that name;
* ``@mule(n)``: the function is mule n's body, run once after fork (then the mule
  waits for messages); ``@muleloop(n)``: called again and again; ``@mulemsg(n)``:
  called with each message mule n receives; ``@farm(name)``: called with each message
  of farm ``name`` in each of its mules.  They run from the ``@postfork`` chain, as in
  uWSGI; an exception ends the mule (status 1) and the master respawns it.

One deliberate difference: the decorators return the function (uWSGI's ``@mule`` and
co. return None, which leaves the name unusable).
"""

from __future__ import annotations

import pickle
import sys
from typing import Any, Callable, Dict, Optional

from gateway import uwsgi_module as uwsgi
from gateway.logs import gen_log

#: functions callable through @mulefunc, by name
mule_functions: Dict[str, Callable[..., Any]] = {}


def mule_msg_dispatcher(message: bytes) -> Any:
    """``uwsgi.mule_msg_hook`` for ``@mulefunc``: call the function a message names.
    Messages that are not ``@mulefunc`` calls are ignored."""
    try:
        msg = pickle.loads(message)
    except Exception:
        return None
    if not isinstance(msg, dict) or msg.get("service") != "uwsgi_mulefunc":
        return None
    func = mule_functions.get(msg.get("func", ""))
    if func is None:
        gen_log.warning("mule %d: no @mulefunc named %r", uwsgi.mule_id(), msg.get("func"))
        return None
    return func(*msg.get("args", ()), **msg.get("kwargs", {}))


def _postfork(func: Callable[[], Any]) -> None:
    from gateway import uwsgidecorators

    uwsgidecorators.postfork_chain.append((func, 0))


class mulefunc:
    """``@mulefunc`` (any free mule) or ``@mulefunc(n)`` / ``@mulefunc("farm")``: calls run in a mule."""

    def __init__(self, f: Any) -> None:
        if getattr(uwsgi, "mule_msg_hook", None) is None:
            uwsgi.mule_msg_hook = mule_msg_dispatcher
        if callable(f):
            self.fname: Optional[str] = f.__name__
            self.mule: Any = 0
            mule_functions[f.__name__] = f
        else:
            self.mule = f
            self.fname = None

    def real_call(self, *args: Any, **kwargs: Any) -> bool:
        data = pickle.dumps({"service": "uwsgi_mulefunc", "func": self.fname, "args": args, "kwargs": kwargs})
        return uwsgi.mule_msg(data, self.mule)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.fname:
            self.fname = args[0].__name__
            mule_functions[self.fname] = args[0]
            return self.real_call
        return self.real_call(*args, **kwargs)


def _fail(num: int) -> None:
    exc = sys.exc_info()
    sys.excepthook(exc[0], exc[1], exc[2])  # type: ignore[arg-type]
    sys.exit(1)


class mule:
    """``@mule(n)``: run the function once in mule n after it is forked."""

    def __init__(self, num: int) -> None:
        self.num = num

    def __call__(self, f: Callable[[], Any]) -> Callable[[], Any]:
        num = self.num

        def brain() -> None:
            if uwsgi.mule_id() == num:
                try:
                    f()
                except Exception:
                    _fail(num)

        _postfork(brain)
        return f


class muleloop(mule):
    """``@muleloop(n)``: call the function forever in mule n."""

    def __call__(self, f: Callable[[], Any]) -> Callable[[], Any]:
        num = self.num

        def brainloop() -> None:
            if uwsgi.mule_id() == num:
                while True:
                    try:
                        f()
                    except Exception:
                        _fail(num)

        _postfork(brainloop)
        return f


class mulemsg:
    """``@mulemsg(n)``: call the function with each message mule n receives."""

    def __init__(self, num: int) -> None:
        self.num = num

    def __call__(self, f: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
        num = self.num

        def msgloop() -> None:
            if uwsgi.mule_id() == num:
                while True:
                    message = uwsgi.mule_get_msg()
                    if message:
                        f(message)

        _postfork(msgloop)
        return f


class farm:
    """``@farm(name)``: call the function with each message of farm ``name``, in each of its mules."""

    def __init__(self, name: Optional[str] = None, **kwargs: Any) -> None:
        self.name = name

    def __call__(self, f: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
        name = self.name

        def farmloop() -> None:
            if uwsgi.mule_id() == 0 or not uwsgi.in_farm(name):
                return
            while True:
                message = uwsgi.farm_get_msg()
                if message:
                    f(message)

        _postfork(farmloop)
        return f
