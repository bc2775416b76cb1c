"""A vassal whose file changed runs the new file: uWSGI's binary reload, sockets kept open.

When the Emperor says "reload", the vassal loads its configuration again (the same command
line and environment as at its start, from the same directory).  If nothing changed, its
master does the in-place graceful reload (SIGHUP's: new workers, no request dropped).  If the
file changed, the master stops its workers gracefully and replaces itself (``execve``, same pid,
same Emperor channel) with ``python -m gateway`` and the original arguments: the new process
reads the new file.  The listening sockets stay open across the ``exec``
(``GATEWAY_REEXEC_SOCKETS`` names their descriptors by protocol and address), so connections
arriving meanwhile wait in the backlog instead of being refused; a socket the new file no longer
uses is closed, a new one is bound.  A new file that does not load is reported and the vassal
only reloads its workers.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, MutableMapping, Optional, Tuple

from gateway.emperor.protocol import ENV_FD
from gateway.logs import gen_log
from gateway.self_command import INTERPRETER, self_command, without_cwd_on_path

#: The variable naming the listening sockets kept across the exec: JSON {"proto addr": fd}.
ENV_SOCKETS = "GATEWAY_REEXEC_SOCKETS"


@dataclass
class Origin:
    """How this process was started: what a reload runs again."""

    argv: List[str] = field(default_factory=list)
    environ: Dict[str, str] = field(default_factory=dict)
    cwd: str = ""
    #: this process is a binary reload of a previous one (same pid, same Emperor channel)
    reloaded: bool = False


#: set by the CLI at startup
ORIGIN = Origin()
#: listening sockets inherited from the previous process, by key, not yet claimed
INHERITED: Dict[str, int] = {}
#: the key of every socket the CLI bound (or took over), to pass on at the next exec
BOUND: Dict[socket.socket, str] = {}


def key(protocol: str, spec: str) -> str:
    return "%s %s" % (protocol, spec)


def capture(argv: List[str], environ: MutableMapping[str, str]) -> None:
    """At startup: remember the command, and take the inherited sockets out of ``environ``."""
    raw = environ.pop(ENV_SOCKETS, None)
    ORIGIN.argv = list(argv)
    ORIGIN.environ = {k: v for k, v in environ.items() if k != ENV_FD}
    ORIGIN.cwd = os.getcwd()
    ORIGIN.reloaded = raw is not None
    INHERITED.clear()
    if raw:
        try:
            parsed = json.loads(raw)
            INHERITED.update({str(k): int(v) for k, v in parsed.items()})
        except (ValueError, TypeError, AttributeError):
            sys.stderr.write("gateway: ignoring a malformed %s\n" % ENV_SOCKETS)


def take(protocol: str, spec: str) -> Optional[socket.socket]:
    """The inherited listening socket for ``spec``, if the previous process had one."""
    fd = INHERITED.pop(key(protocol, spec), None)
    if fd is None:
        return None
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return None
    sock.set_inheritable(False)
    BOUND[sock] = key(protocol, spec)
    return sock


def remember(sock: socket.socket, protocol: str, spec: str) -> None:
    BOUND[sock] = key(protocol, spec)


def close_unclaimed() -> None:
    """Close the inherited sockets the new configuration does not use."""
    for fd in INHERITED.values():
        try:
            os.close(fd)
        except OSError:
            pass
    INHERITED.clear()


def _options(cfg: Any) -> Dict[str, Any]:
    from gateway.config.options import OPTIONS

    return {option.name: cfg.get(option.name) for option in OPTIONS}


def config_changed(running: Any) -> Tuple[bool, Optional[str]]:
    """(changed, problem): whether the configuration now differs from ``running``; ``problem``
    is the error of a configuration that no longer loads."""
    from gateway.config import ConfigError, load

    here = os.getcwd()
    try:
        os.chdir(ORIGIN.cwd)
        try:
            new = load(ORIGIN.argv, ORIGIN.environ)
        finally:
            os.chdir(here)
    except ConfigError as e:
        return False, str(e)
    except OSError as e:
        return False, str(e)
    return _options(new) != _options(running), None


def execute(sockets: List[socket.socket], link_fd: Optional[int]) -> None:
    """Replace this process with ``python -m gateway`` and its original arguments, passing the
    listening ``sockets`` and the Emperor's channel on.  Returns only if the exec failed."""
    passed: Dict[str, int] = {}
    for sock in sockets:
        k = BOUND.get(sock)
        if k is None or sock.fileno() < 0:
            continue
        sock.set_inheritable(True)
        passed[k] = sock.fileno()
    env = dict(ORIGIN.environ)
    env[ENV_SOCKETS] = json.dumps(passed)
    if link_fd is not None:
        os.set_inheritable(link_fd, True)
        env[ENV_FD] = str(link_fd)
    gen_log.info("chdir() to %s", ORIGIN.cwd)
    gen_log.info("running %s", INTERPRETER)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.chdir(ORIGIN.cwd)
        os.execve(INTERPRETER, self_command() + ORIGIN.argv, without_cwd_on_path(env))
    except OSError as e:
        gen_log.error("binary reload failed: %s", e.strerror or e)

