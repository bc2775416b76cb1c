"""The points of the server's life where hooks run, and running them there.

Each phase has its ``--hook-PHASE ACTION:ARGS`` list and, for some, an ``--exec-PHASE
COMMAND`` list (the ``exec`` action by a shorter name); both are repeatable and run in
the order given, the hooks first, as uWSGI does.  Each run is logged in uWSGI's words
(``running "mkdir:/run/app" (as root)...``).

A failure in a *fatal* phase (all but ``as-user-atexit`` and ``touch``, as in uWSGI)
raises :class:`HookFailed` and the hooks after it do not run; elsewhere it is logged and
the next hook runs.  ``HookFailed.destroy`` tells a worker what uWSGI would do: a failed
``--hook-*`` destroys the whole instance, a failed ``--exec-*`` command only ends the
process that ran it (before any fork both end the startup).
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, NoReturn, Sequence, Tuple

from gateway.hooks.actions import ACTIONS, ActionFailed, run_command
from gateway.hooks.spec import Hook, HookSyntaxError, parse_hook, parse_touch
from gateway.logs import gen_log

__all__ = ["PHASES", "HookFailed", "Phase", "TouchHooks", "adopt_atexit", "destroy_from_child", "register_atexit",
           "run_hooks", "run_in_child", "run_phase", "run_touch_hooks", "warn_never_run"]


class HookFailed(Exception):
    """A hook or command of a fatal phase failed; ``str()`` names it and says why.

    ``destroy``: a ``--hook-*`` (uWSGI then stops the whole instance, even from a worker);
    False for an ``--exec-*`` command (uWSGI then ends only the process that ran it).
    """

    def __init__(self, message: str, destroy: bool) -> None:
        super().__init__(message)
        self.destroy = destroy


@dataclass(frozen=True)
class Phase:
    """``name`` (the option suffix), ``label`` (uWSGI's word for it in the log), whether a
    failure is ``fatal``, and whether an ``--exec-NAME`` option exists for it."""

    name: str
    label: str
    fatal: bool = True
    has_exec: bool = False

    @property
    def hook_option(self) -> str:
        return "hook-" + self.name


#: Every phase gateway runs, by name (when each runs: the README's "Hooks").
PHASES: Dict[str, Phase] = {p.name: p for p in (
    Phase("asap", "asap", has_exec=True),
    Phase("pre-jail", "pre-jail", has_exec=True),
    Phase("post-jail", "post-jail", has_exec=True),  # never: gateway has no jail
    Phase("in-jail", "in-jail", has_exec=True),
    Phase("as-root", "as root", has_exec=True),
    Phase("as-user", "as user", has_exec=True),
    Phase("as-user-atexit", "atexit", fatal=False, has_exec=True),
    Phase("pre-app", "pre app", has_exec=True),
    Phase("post-app", "post app", has_exec=True),
    Phase("post-fork", "post-fork"),
    Phase("accepting", "accepting"),
    Phase("accepting-once", "accepting-once"),
    Phase("accepting1", "accepting1"),
    Phase("accepting1-once", "accepting1-once"),
    Phase("master-start", "master-start"),
    Phase("as-mule", "as-mule"),
    Phase("as-gateway", "as-gateway"),
)}


def _values(cfg: Any, prefix: str, phase: Phase) -> List[str]:
    return list(getattr(cfg, prefix + phase.name.replace("-", "_"), None) or ())


def run_phase(cfg: Any, name: str) -> None:
    """Run phase ``name``'s ``--hook-*`` then ``--exec-*`` entries of ``cfg``, in order."""
    phase = PHASES[name]
    hooks = []
    for spec in _values(cfg, "hook_", phase):
        try:
            hooks.append(parse_hook(spec))
        except HookSyntaxError as e:  # the option converter refuses these first
            raise HookFailed("--%s %s" % (phase.hook_option, e), destroy=True) from None
    run_hooks(hooks, phase.label, fatal=phase.fatal, option=phase.hook_option)
    if phase.has_exec:
        _run_commands(_values(cfg, "exec_", phase), phase)


def run_in_child(cfg: Any, name: str) -> None:
    """Run phase ``name`` in a child of the master (a mule, a router); see :func:`destroy_from_child`."""
    try:
        run_phase(cfg, name)
    except HookFailed as e:
        destroy_from_child(e)


def destroy_from_child(e: HookFailed) -> NoReturn:
    """A fatal hook failed in a child of the master: a ``--hook-*`` failure destroys the whole
    instance, as in uWSGI; the master hears it on the channel before it sees this child exit.
    Without a master, or for an ``--exec-*`` command, ``e`` goes up as a failed start."""
    from gateway.process import channel

    ch = channel.current()
    if ch is None or not e.destroy:
        raise e
    gen_log.error("%s", e)
    ch.send("fatal", b"")
    raise SystemExit(1)


def run_hooks(hooks: Sequence[Hook], label: str, *, fatal: bool, option: str) -> None:
    """Run ``hooks`` in order, logging each as uWSGI does; see the module docstring for failures."""
    for hook in hooks:
        gen_log.info("running %s (%s)...", hook.shown(), label)
        try:
            ACTIONS[hook.action](hook.args)
        except ActionFailed as e:
            if hook.private:
                message = "--%s: a private hook (action '%s') failed" % (option, hook.action)
            else:
                message = '--%s %s failed: %s' % (option, hook.shown(), e)
            if fatal:
                raise HookFailed(message, destroy=True) from None
            gen_log.error("%s", message)


def _run_commands(commands: Iterable[str], phase: Phase) -> None:
    for command in commands:
        if phase.name in ("as-user", "as-user-atexit"):
            gen_log.info('running "%s" (as uid: %d gid: %d) ...', command, os.getuid(), os.getgid())
        else:
            gen_log.info('running "%s" (%s)...', command, phase.label)
        try:
            run_command(command)
        except ActionFailed as e:
            if phase.fatal:
                raise HookFailed(str(e), destroy=False) from None
            gen_log.error("%s", e)


def warn_never_run(cfg: Any) -> None:
    """The ``post-jail`` entries never run: uWSGI runs them only after entering a jail."""
    phase = PHASES["post-jail"]
    if _values(cfg, "hook_", phase) or _values(cfg, "exec_", phase):
        gen_log.warning("--hook-post-jail/--exec-post-jail never run: gateway has no jail "
                        "(uWSGI runs them only after jailing)")


class TouchHooks:
    """``--hook-touch "FILE ACTION:ARGS"``: run the hook when FILE's mtime changes (it is
    touched, created or removed), checked by the master once a second; never fatal.

    The master asks :meth:`due` and runs the hooks in a child of its own
    (:mod:`gateway.process.hook_runner`), never in its loop; :meth:`check` runs them here."""

    def __init__(self, specs: Iterable[str], mtime: Any) -> None:
        self._entries: List[Tuple[str, Hook]] = [parse_touch(spec) for spec in specs]
        self._mtime = mtime
        self._seen = {path: mtime(path) for path, _ in self._entries}

    def __bool__(self) -> bool:
        return bool(self._entries)

    def due(self) -> List[Hook]:
        """The hooks of the files changed since the last look, in the order given."""
        changed = set()
        for path, seen in list(self._seen.items()):
            now = self._mtime(path)
            if now != seen:
                self._seen[path] = now
                changed.add(path)
        return [hook for path, hook in self._entries if path in changed]

    def check(self) -> None:
        """Run the hooks :meth:`due` now, in this process."""
        run_touch_hooks(self.due())


def run_touch_hooks(hooks: Sequence[Hook]) -> None:
    """Run ``hooks`` of ``--hook-touch``, each failure logged (the phase is never fatal)."""
    for hook in hooks:
        run_hooks([hook], "touch", fatal=False, option="hook-touch")


_atexit_owner = [0]


def register_atexit(cfg: Any) -> None:
    """Run ``as-user-atexit`` when this process (the master, or the only process) exits,
    whatever the reason, as uWSGI's ``atexit()``; never in a forked child."""
    phase = PHASES["as-user-atexit"]
    if not (_values(cfg, "hook_", phase) or _values(cfg, "exec_", phase)):
        return
    _atexit_owner[0] = os.getpid()

    def run() -> None:
        if os.getpid() == _atexit_owner[0]:
            run_phase(cfg, "as-user-atexit")

    atexit.register(run)


def adopt_atexit() -> None:
    """This process now owns the ``as-user-atexit`` hooks (after ``--daemonize2`` forked it)."""
    if _atexit_owner[0]:
        _atexit_owner[0] = os.getpid()
