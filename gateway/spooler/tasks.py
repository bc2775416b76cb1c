"""One task in a spooler: the dict the spooler callable receives, and what its answer means.

As uWSGI's Python plugin (``uwsgi_python_spooler``) builds it on Python 3, the dict
has the task's vars with **bytes** keys and values, plus two **str** keys:
``spooler_task_name`` (the file's name, bytes: uWSGI passes the name relative to the
task's directory, which is the working directory unless ``--spooler-chdir``) and ``body``
(bytes, when the task has a body).  The callable's return value decides:

=====================  =======  ==================================================
``uwsgi.SPOOL_OK``     -2       done: the file is deleted
``uwsgi.SPOOL_RETRY``  -1       kept: run again at a later scan
``uwsgi.SPOOL_IGNORE``  0       kept, and not counted as a task run (uWSGI: "left
                                for another plugin")
=====================  =======  ==================================================

Any other int, a value that is not an int, and an exception (logged with its
traceback) all mean "retry", as in uWSGI.
"""

from __future__ import annotations

import traceback
from enum import Enum
from typing import Any, Callable, Dict, Optional

from gateway.logs import app_log
from gateway.protocol.spool_file import SpoolTask

SPOOL_OK = -2
SPOOL_RETRY = -1
SPOOL_IGNORE = 0


class Verdict(Enum):
    DONE = "done"        # delete the file
    RETRY = "retry"      # keep it for a later scan
    IGNORED = "ignored"  # keep it; no callable or SPOOL_IGNORE


def task_dict(name: str, task: SpoolTask) -> Dict[Any, Any]:
    """The argument of ``uwsgi.spooler(env)`` for ``task`` (``name``: its ``spooler_task_name``)."""
    env: Dict[Any, Any] = {"spooler_task_name": name.encode("utf-8", "surrogateescape")}
    for key, value in task.vars:
        env[key] = value
    if task.body:
        env["body"] = task.body
    return env


def verdict(code: int) -> Verdict:
    if code == SPOOL_OK:
        return Verdict.DONE
    if code == SPOOL_IGNORE:
        return Verdict.IGNORED
    return Verdict.RETRY


def run_task(func: Optional[Callable[[Dict[Any, Any]], Any]], env: Dict[Any, Any]) -> Verdict:
    """Call the spooler callable on ``env`` and judge its answer; never raises (but
    ``SystemExit``/``KeyboardInterrupt`` pass through)."""
    if func is None:
        return Verdict.IGNORED
    try:
        ret = func(env)
    except Exception:
        app_log.error("[spooler] task %s raised (it will be retried):\n%s",
                      env.get("spooler_task_name", b"?").decode("utf-8", "replace"), traceback.format_exc().rstrip())
        return Verdict.RETRY
    if not isinstance(ret, int):
        return Verdict.RETRY
    return verdict(int(ret))
