"""Hook specs as uWSGI writes them, ``[!]ACTION:ARGS``, parsed once at startup (sans-IO).

A hook is an *action* (``exec``, ``mkdir``, ``write``...) and the text after the first
colon, its *arguments*, which each action reads its own way (``write:FILE TEXT`` splits at
the first space, as uWSGI's ``hooks.c`` does).  A leading ``!`` makes the hook *private*:
its text is never logged (``running --- PRIVATE HOOK --- (asap)...``), for arguments that
hold a secret.  ``--hook-touch`` takes ``FILE ACTION:ARGS``.

Everything uWSGI would only discover when the hook runs (no colon, an unknown action, a
``write`` without text, a bad ``chmod`` mode) is refused here, when the options are read,
with a message naming the action; actions uWSGI has that gateway cannot run (they call C
symbols of the uWSGI binary, or mount filesystems) are refused by name with the reason.
Nothing here touches the filesystem or the processes: :mod:`gateway.hooks.actions` does.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Dict, Tuple

__all__ = ["ACTIONS", "REFUSED", "Hook", "HookSyntaxError", "parse_hook", "parse_mode", "parse_touch",
           "split_chown", "split_file_text"]


class HookSyntaxError(ValueError):
    """A hook spec gateway cannot run; ``str()`` says why, naming the action."""


#: Every action gateway runs -> how its arguments read (for messages and checks).
ACTIONS: Dict[str, str] = {
    "cd": "DIR", "chdir": "DIR",
    "mkdir": "DIR",
    "putenv": "NAME=VALUE",
    "chmod": "FILE MODE", "chown": "FILE USER GROUP", "chown2": "FILE UID GID", "sticky": "FILE",
    "exec": "COMMAND", "safeexec": "COMMAND",
    "create": "FILE", "creat": "FILE",
    "write": "FILE TEXT", "writen": "FILE TEXT", "append": "FILE TEXT", "appendn": "FILE [TEXT]",
    "writefifo": "FIFO TEXT", "spinningfifo": "FIFO TEXT",
    "unlink": "FILE",
    "hostname": "NAME",
    "rpc": "FUNC[@NODE] [ARG...]", "retryrpc": "FUNC[@NODE] [ARG...]",
    "wait_for_fs": "PATH", "wait_for_file": "FILE", "wait_for_dir": "DIR", "wait_for_socket": "ADDRESS",
    "exit": "[CODE]",
    "print": "TEXT", "log": "TEXT",
    "alarm": "NAME MESSAGE",
}

_C_SYMBOL = "it calls a C function of the uWSGI binary by its symbol, and gateway (pure Python) has none; use exec:COMMAND"
_PLUGIN = "it comes from a uWSGI plugin gateway does not have"

#: uWSGI's actions gateway refuses, with the reason.
REFUSED: Dict[str, str] = {
    "call": _C_SYMBOL, "callret": _C_SYMBOL, "callint": _C_SYMBOL, "callintret": _C_SYMBOL,
    "unix_signal": "it installs a C function of the uWSGI binary as a signal handler; gateway has none",
    "mount": "mounting filesystems (mount(2)) is not supported by gateway; mount before starting it",
    "umount": "unmounting filesystems (umount(2)) is not supported by gateway",
    "ffi": _PLUGIN, "tcc": _PLUGIN, "perl": _PLUGIN,
}

#: Actions whose arguments are ``PATH TEXT``: the text starts after the first space.
_FILE_TEXT = ("write", "writen", "append", "writefifo", "spinningfifo", "alarm")
#: Actions that need a non-empty argument (a path, a name, a command).
_NEEDS_ARG = ("cd", "chdir", "mkdir", "putenv", "sticky", "exec", "safeexec", "create", "creat", "appendn",
              "unlink", "hostname", "rpc", "retryrpc", "wait_for_fs", "wait_for_file", "wait_for_dir",
              "wait_for_socket")


@dataclass(frozen=True)
class Hook:
    """One parsed hook: ``action``, its ``args`` (the text after the first colon, as written),
    the whole ``text`` without the privacy mark, and ``private``."""

    action: str
    args: str
    text: str
    private: bool = False

    def shown(self) -> str:
        """What the log says about this hook: its text quoted, or nothing of a private one."""
        return "--- PRIVATE HOOK ---" if self.private else '"%s"' % self.text


def parse_hook(spec: str) -> Hook:
    """``"[!]ACTION:ARGS"`` -> :class:`Hook`; raise :class:`HookSyntaxError` if it cannot run."""
    action, colon, args = spec.partition(":")
    if not colon:
        raise HookSyntaxError("%r is not a hook: it must be ACTION:ARGS (e.g. exec:COMMAND, mkdir:DIR)" % spec)
    private = action.startswith("!")
    if private:
        action = action[1:]
    if action in REFUSED:
        raise HookSyntaxError("the hook action '%s' is not supported: %s" % (action, REFUSED[action]))
    if action not in ACTIONS:
        raise HookSyntaxError("unknown hook action '%s' (known: %s)" % (action, ", ".join(sorted(ACTIONS))))
    _check_args(action, args)
    return Hook(action, args, spec[1:] if private else spec, private)


def parse_touch(spec: str) -> Tuple[str, Hook]:
    """``--hook-touch "FILE ACTION:ARGS"`` -> (FILE, hook)."""
    path, space, hook = spec.strip().partition(" ")
    if not space or not hook.strip():
        raise HookSyntaxError("%r must be FILE ACTION:ARGS (the file to watch, a space, then the hook)" % spec)
    return path, parse_hook(hook.lstrip())


def split_file_text(args: str) -> Tuple[str, str]:
    """``"FILE TEXT"`` -> (FILE, TEXT): the text is everything after the first space, as written."""
    path, _, text = args.partition(" ")
    return path, text


def split_chown(args: str) -> Tuple[str, str, str]:
    """``"FILE OWNER GROUP"`` -> its three parts (the group is the rest after the second space)."""
    path, _, rest = args.partition(" ")
    owner, _, group = rest.partition(" ")
    return path, owner, group


def parse_mode(text: str) -> int:
    """``chmod``'s mode: three octal digits, optionally after a leading ``0`` (``644``, ``0644``)."""
    if not re.fullmatch(r"0?[0-7]{3}", text):
        raise HookSyntaxError("chmod mode %r is not octal permissions such as 644 or 0755" % text)
    return int(text, 8)


def _check_args(action: str, args: str) -> None:
    usage = "%s:%s" % (action, ACTIONS[action])
    if action in _NEEDS_ARG and not args:
        raise HookSyntaxError("the hook action '%s' needs an argument: %s" % (action, usage))
    if action in _FILE_TEXT:
        path, text = split_file_text(args)
        if not path or " " not in args:
            raise HookSyntaxError("the hook action '%s' takes %s (a space between the file and the text)"
                                  % (action, usage))
    elif action == "chmod":
        path, _, mode = args.partition(" ")
        if not path or not mode:
            raise HookSyntaxError("the hook action 'chmod' takes %s" % usage)
        parse_mode(mode)
    elif action in ("chown", "chown2"):
        path, owner, group = split_chown(args)
        if not path or not owner or not group:
            raise HookSyntaxError("the hook action '%s' takes %s" % (action, usage))
        if action == "chown2" and not (owner.isdigit() and group.isdigit()):
            raise HookSyntaxError("the hook action 'chown2' takes numbers: %s (use chown for names)" % usage)
    elif action == "exit":
        if args.strip() and not re.fullmatch(r"-?\d+", args.strip()):
            raise HookSyntaxError("the hook action 'exit' takes an exit code (a number), not %r" % args)
    elif action in ("rpc", "retryrpc"):
        try:
            words = shlex.split(args)
        except ValueError as e:
            raise HookSyntaxError("the hook action '%s': %s in %r" % (action, e, args)) from None
        if not words or not words[0].split("@")[0]:
            raise HookSyntaxError("the hook action '%s' takes %s" % (action, usage))
        node = words[0].partition("@")[2]
        if node:
            from gateway.rpc import split_node

            try:
                split_node(node)
            except ValueError:
                raise HookSyntaxError("the hook action '%s': bad node address %r (host:port, :port or a UNIX "
                                      "socket path)" % (action, node)) from None
