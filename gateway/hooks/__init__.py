"""uWSGI's hooks: ``--hook-PHASE ACTION:ARGS`` and ``--exec-PHASE COMMAND`` at fixed points.

* :mod:`~gateway.hooks.spec`: ``[!]ACTION:ARGS`` parsed and checked when the options are
  read (sans-IO);
* :mod:`~gateway.hooks.actions`: what each action does (``exec``, ``mkdir``, ``write``...);
* :mod:`~gateway.hooks.phases`: the phases (``asap``, ``as-root``, ``pre-app``,
  ``post-fork``, ``accepting``...), which of them are fatal, and running them.

The CLI, the app loader, the master and the worker call :func:`run_phase` at their
points; see the README's "Hooks" for when each phase runs.
"""

from gateway.hooks.phases import (
    PHASES,
    HookFailed,
    TouchHooks,
    adopt_atexit,
    destroy_from_child,
    register_atexit,
    run_in_child,
    run_phase,
    run_touch_hooks,
    warn_never_run,
)
from gateway.hooks.spec import Hook, HookSyntaxError, parse_hook, parse_touch

__all__ = ["PHASES", "Hook", "HookFailed", "HookSyntaxError", "TouchHooks", "adopt_atexit", "destroy_from_child",
           "parse_hook", "parse_touch", "register_atexit", "run_in_child", "run_phase", "run_touch_hooks",
           "warn_never_run"]
