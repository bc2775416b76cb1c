"""``uwsgidecorators`` for hosted apps: ``@postfork``, ``@rpc`` and ``@erlang`` so far.

Installed as ``sys.modules["uwsgidecorators"]`` inside the server.  Unlike uWSGI's
module it does not demand a master process at import: with a single worker (no master)
``@postfork`` functions run once, in the worker, before it serves its first request —
so the seed's per-worker ``t_application.listen(8000 + uwsgi.worker_id())`` works.
Decorators for subsystems gateway does not have yet (signals, timers, spooler, mules,
locks) are absent rather than silently inert.
"""

from __future__ import annotations

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
