"""uWSGI's one-shot commands: manage a running instance, inspect the configuration.

::

    gateway --reload /tmp/project-master.pid    # SIGHUP: graceful reload
    gateway --stop /tmp/project-master.pid      # SIGINT: shutdown
    gateway --pause /tmp/project-master.pid     # SIGTSTP: pause (again: resume)
    gateway --signal 127.0.0.1:3031,17          # raise uWSGI signal 17 there (modifier1 110)
    gateway --ping 127.0.0.1:3031               # modifier1 100: exit 0 when it answers
    gateway --ini app.ini --get socket          # the value given to --socket
    gateway --ini app.ini --show-config         # the configuration as one ini file

Three kinds, as in uWSGI:

* **immediate** commands (``--reload``, ``--stop``, ``--pause``, ``--suspend``, ``--resume``,
  ``--signal``, ``--extract``): on the command line they act alone, before any config
  file is read (:data:`gateway.config.STOPPERS`), and exit;
* ``--ping`` and ``--get`` run once the whole configuration is loaded (``--ping-timeout``
  may come from an ini file), and exit;
* the inspection commands (``--show-config``, ``--dump-options`` and the ``--*-list``)
  print, then the instance starts as usual; with nothing to serve
  (no socket, no router, no Emperor) the command exits 0 there instead of failing as
  uWSGI does ("no socket").

The lists are read from the registries the server itself uses (the option table, the logger
plugins, the cheaper algorithms, the route actions, the imperial monitors), so they cannot
drift from what gateway accepts.  The pure parts (:func:`parse_pid`,
:func:`parse_signal_target`, :func:`option_value`, :func:`format_config`, :func:`listing`)
do no I/O.

Exit statuses follow uWSGI's: 0 done; 1 the pidfile cannot be used or the node cannot be
reached; 2 a node refused a signal or answered a ping with a warning; 3 a signal number out
of 0-255.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

#: ``--reload`` and friends: the signal uWSGI sends (``core/uwsgi.c``).  uWSGI's ``--pause``,
#: ``--suspend`` and ``--resume`` all send SIGTSTP, which toggles the master's pause.
PIDFILE_SIGNALS: Dict[str, int] = {
    "reload": int(signal.SIGHUP),
    "stop": int(signal.SIGINT),
    "pause": int(signal.SIGTSTP),
    "suspend": int(signal.SIGTSTP),
    "resume": int(signal.SIGTSTP),
}
#: the immediate commands, in the order :func:`immediate` looks for them in the sources
IMMEDIATE = (*PIDFILE_SIGNALS, "signal", "extract")
#: the inspection commands that print and let the instance start
INSPECTIONS = ("show-config", "dump-options", "plugins-list", "loggers-list", "cheaper-algo-list",
               "router-list", "loop-list", "imperial-monitor-list", "clock-list", "alarm-list")

#: a pidfile holds a number and a newline: more than this is not a pidfile
MAX_PIDFILE_BYTES = 64
#: uWSGI's ``--ping-timeout`` when 0 or not given
DEFAULT_PING_TIMEOUT = 3
#: the longest warning message a ping answer may carry (its size field is 16 bits)
MAX_PING_MESSAGE = 65535
#: gateway's clocks (uWSGI's ``--clock``): time.time(), uWSGI's default "unix" clock; there is
#: no ``--clock`` option to choose another
CLOCKS: Tuple[str, ...] = ("unix",)


class CommandError(Exception):
    """A command that cannot be carried out: the message names the option; ``status`` is the
    exit status (uWSGI's)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# -- signals through a pidfile ---------------------------------------------------------------------


def parse_pid(text: str) -> int:
    """The pid in a pidfile's text (``"1234\\n"``); ValueError when it holds no positive pid."""
    word = text.strip()
    if not word.isdigit() or not 0 < int(word) < 2 ** 22 + 1:  # Linux's pid_max is at most 2^22
        raise ValueError("no pid in it (found %r)" % text[:20])
    return int(word)


def read_pidfile(path: str) -> int:
    """The pid in the file ``path`` (bounded read); ValueError with the reason."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PIDFILE_BYTES + 1)
    except OSError as e:
        raise ValueError("cannot read it: %s" % (e.strerror or e)) from None
    if len(data) > MAX_PIDFILE_BYTES:
        raise ValueError("not a pidfile (more than %d bytes)" % MAX_PIDFILE_BYTES)
    return parse_pid(data.decode("ascii", "replace"))


def signal_pidfile(option: str, path: str, kill: Callable[[int, int], None] = os.kill) -> int:
    """``--reload PIDFILE`` and friends: send the master whose pid is in ``path`` the signal
    uWSGI sends for ``option``; the pid, or CommandError (status 1)."""
    sig = PIDFILE_SIGNALS[option]
    where = "--%s %s" % (option, path)
    try:
        pid = read_pidfile(path)
    except ValueError as e:
        raise CommandError("%s: invalid pidfile: %s" % (where, e)) from None
    try:
        kill(pid, sig)
    except ProcessLookupError:
        raise CommandError("%s: no process %d (the instance is not running, or the pidfile is stale)"
                           % (where, pid)) from None
    except PermissionError:
        raise CommandError("%s: not allowed to signal process %d (run as its user or root)" % (where, pid)) from None
    return pid


# -- the uwsgi protocol: remote signal, ping ---------------------------------------------------------


def parse_signal_target(value: str) -> Tuple[str, int]:
    """``--signal ADDR,NUM`` → (ADDR, NUM); CommandError with uWSGI's statuses (1: syntax,
    3: a number out of 0-255)."""
    addr, sep, num = value.rpartition(",")
    if not sep or not addr.strip():
        raise CommandError("--signal %s: expected ADDR,NUM (e.g. 127.0.0.1:3031,17)" % value)
    try:
        sig = int(num.strip())
    except ValueError:
        raise CommandError("--signal %s: %r is not a signal number (0-255)" % (value, num), status=3) from None
    if not 0 <= sig <= 255:
        raise CommandError("--signal %s: invalid signal number %d (0-255)" % (value, sig), status=3)
    return addr.strip(), sig


def _connect(label: str, addr: str, timeout: float) -> socket.socket:
    """A connected blocking socket to ``addr`` (``host:port``, ``:port``, a UNIX path,
    ``@abstract``) with ``timeout`` on every operation; CommandError (status 1) starting
    with ``label``."""
    from gateway import rpc

    try:
        family, sockaddr, _ = rpc.node_address(addr)
    except (rpc.RPCError, ValueError) as e:
        raise CommandError("%s: %s" % (label, e)) from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
    except OSError as e:
        sock.close()
        raise CommandError("%s: cannot connect: %s" % (label, _why(e))) from None
    return sock


def _why(e: OSError) -> str:
    return "timed out" if isinstance(e, socket.timeout) else (e.strerror or str(e))


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    """``n`` bytes, or fewer when the peer closed first (the socket's timeout applies)."""
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def send_signal(addr: str, sig: int, timeout: float) -> bool:
    """Raise uWSGI signal ``sig`` on the node at ``addr``: the request ``6e 00 00 <sig>``
    (modifier1 110, uWSGI's ``uwsgi_remote_signal_send``); True when the node routed it
    (its answer's modifier2 is 1), False when it refused it (0); CommandError (status 1)
    when there is no answer."""
    from gateway.usignals import remote

    label = "--signal: unable to deliver signal %d to node %s" % (sig, addr)
    sock = _connect(label, addr, timeout)
    try:
        sock.sendall(remote.request_bytes(sig))
        answer = _read_exactly(sock, 4)
    except OSError as e:
        raise CommandError("%s: %s" % (label, _why(e))) from None
    finally:
        sock.close()
    if len(answer) < 4:
        raise CommandError("%s: no answer" % label)
    return answer[3] != 0


def remote_signal(value: str, timeout: float, log: TextIO) -> int:
    """``--signal ADDR,NUM``: the exit status (0 delivered, 2 refused), uWSGI's lines on ``log``."""
    addr, sig = parse_signal_target(value)
    if not send_signal(addr, sig, timeout):
        raise CommandError("--signal: node %s rejected signal %d" % (addr, sig), status=2)
    log.write("signal %d delivered to node %s\n" % (sig, addr))
    return 0


def ping(addr: str, timeout: int, log: TextIO) -> int:
    """``--ping ADDR``: send ``64 00 00 00`` (modifier1 100) and read the answer: 0 when the
    node answers, 2 when its answer carries a warning message (``uwsgi.set_warning_message``),
    CommandError (status 1) when it cannot be reached or does not answer in ``timeout``."""
    from gateway.protocol import uwsgi as wire

    timeout = timeout or DEFAULT_PING_TIMEOUT
    log.write("PING uwsgi host %s (timeout: %d)\n" % (addr, timeout))
    log.flush()
    sock = _connect("--ping %s" % addr, addr, timeout)
    try:
        sock.sendall(wire.PING_REQUEST)
        head = _read_exactly(sock, 4)
        if len(head) < 4:
            raise CommandError("--ping %s: no answer (the connection was closed)" % addr)
        size = int.from_bytes(head[1:3], "little")
        message = _read_exactly(sock, min(size, MAX_PING_MESSAGE)) if size else b""
    except OSError as e:
        raise CommandError("--ping %s: no answer: %s" % (addr, _why(e))) from None
    finally:
        sock.close()
    if head[0] != wire.MOD1_PING:
        raise CommandError("--ping %s: not a uwsgi ping answer (modifier1 %d)" % (addr, head[0]))
    if size:
        log.write("[WARNING] node %s message: %s\n" % (addr, message.decode("utf-8", "replace")))
        return 2
    return 0


# -- the configuration ---------------------------------------------------------------------------------


def _text_of(value: Any) -> str:
    return "true" if value is True else str(value)


def option_value(config: Any, name: str) -> Optional[str]:
    """``--get NAME``: the first value given to NAME (as uWSGI, the key spelled as given, after
    placeholder expansion; else the first one given under another spelling of the same
    option), ``"true"`` for a bare flag; None when it was not given."""
    from gateway.config.options import find

    key = name[2:] if name.startswith("--") else name
    entries = [e for e in config.sources if e.exported]
    for entry in entries:
        if entry.key == key:
            return _text_of(entry.value)
    option = find(key)
    if option is not None:
        for entry in entries:
            if entry.key in option.spellings:
                return _text_of(entry.value)
    return None


def format_config(config: Any) -> str:
    """``--show-config``: every option given, in order, as one ini file (uWSGI's layout); a flag
    given bare on the command line is ``true``."""
    lines = ["", ";uWSGI instance configuration", "[uwsgi]"]
    for entry in config.sources:
        if entry.exported:
            lines.append("%s = %s" % (entry.key, _text_of(entry.value)))
    lines += [";end of configuration", "", ""]
    return "\n".join(lines)


def option_names() -> List[str]:
    """``--dump-options``: every spelling gateway accepts (refused uWSGI options left out)."""
    from gateway.config.options import OPTIONS

    return [name for option in OPTIONS if option.supported for name in option.spellings]


def request_plugins() -> List[Tuple[int, str]]:
    """``(modifier1, name)`` of what ``--socket`` answers, as uWSGI's request plugins."""
    from gateway.protocol import uwsgi as wire
    from gateway.protocol import uwsgi_cache
    from gateway.server.uwsgi import HANDLERS
    from gateway.spooler import remote as remote_spool
    from gateway.usignals import remote

    names = {wire.MOD1_WSGI: "python", wire.MOD1_WSGI_STRIP: "python", wire.MOD1_PING: "ping",
             remote.MODIFIER1: "signal", uwsgi_cache.MODIFIER1: "cache", wire.MOD1_RPC: "rpc",
             remote_spool.MODIFIER1: "spooler"}
    served = set(wire.VARS_MODIFIERS) | {wire.MOD1_PING, remote.MODIFIER1, uwsgi_cache.MODIFIER1} | set(HANDLERS)
    return [(mod, names.get(mod, "?")) for mod in sorted(served)]


def _list(title: str, end: str, names: Sequence[str]) -> List[str]:
    return ["", "*** uWSGI loaded %s ***" % title, *names, "--- end of %s list ---" % end, ""]


def listing(option: str) -> str:
    """The text of one ``--*-list`` option (its canonical name), uWSGI's layout."""
    if option == "plugins-list":
        from gateway.config.converters import BUILTIN_PLUGINS

        lines = _list("generic plugins", "plugins", list(BUILTIN_PLUGINS))[:-2]
        lines += ["", "*** uWSGI loaded request plugins ***"]
        lines += ["%d: %s" % pair for pair in request_plugins()]
        lines += ["--- end of plugins list ---", ""]
    elif option == "loggers-list":
        from gateway.log_plugins import PLUGINS

        lines = _list("loggers", "loggers", PLUGINS)
    elif option == "cheaper-algo-list":
        from gateway.process.cheaper import ALGORITHMS

        lines = _list("cheaper algorithms", "cheaper algorithms", list(ALGORITHMS))
    elif option == "router-list":
        from gateway.routing.actions import ACTIONS

        lines = _list("routers", "routers", list(ACTIONS))
    elif option == "loop-list":
        from gateway.config.converters import LOOPS

        lines = _list("loop engines", "loop engines", ["tornado", *LOOPS])
    elif option == "imperial-monitor-list":
        from gateway.emperor.monitor import MONITORS

        lines = _list("imperial monitors", "imperial monitors", MONITORS)
    elif option == "clock-list":
        lines = _list("clocks", "clocks", CLOCKS)
    elif option == "alarm-list":
        from gateway.alarms.spec import PLUGINS as ALARM_PLUGINS

        lines = _list("alarms", "alarms", ALARM_PLUGINS)
    else:
        raise KeyError(option)
    return "\n".join(lines) + "\n"


# -- running them (the CLI) ----------------------------------------------------------------------------


def _first_given(config: Any, names: Sequence[str]) -> Optional[Tuple[str, str]]:
    """The first entry (in the order given) of one of the options ``names``: (name, value)."""
    from gateway.config.options import find

    for entry in config.sources:
        option = find(entry.key)
        if option is not None and option.name in names:
            return option.name, str(entry.value)
    return None


def extract(path: str, out: Any) -> int:
    """``--extract FILE``: copy FILE to ``out`` (a binary stream)."""
    if "://" in path:
        raise CommandError("--extract %s: only a file can be extracted (uWSGI's %s addresses are not "
                           "supported by gateway)" % (path, path.split("://", 1)[0] + "://"))
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(65536)
                if not chunk:
                    break
                out.write(chunk)
    except OSError as e:
        raise CommandError("--extract %s: %s" % (path, e.strerror or e)) from None
    out.flush()
    return 0


def immediate(config: Any) -> Optional[int]:
    """Carry out the first immediate command given (uWSGI runs the first it meets and exits):
    its exit status, or None when there is none.  Raises CommandError."""
    found = _first_given(config, IMMEDIATE)
    if found is None:
        return None
    name, value = found
    if name in PIDFILE_SIGNALS:
        signal_pidfile(name, value)
        return 0
    if name == "signal":
        return remote_signal(value, float(config.socket_timeout), sys.stderr)
    return extract(value, sys.stdout.buffer)


def after_load(config: Any) -> Optional[int]:
    """``--ping`` and ``--get`` (exit status), then the inspection commands, which print and
    return None (go on), or 0 when the configuration has nothing to serve."""
    if config.ping:
        return ping(config.ping, int(config.ping_timeout or 0), sys.stderr)
    if config.get_:
        for name in config.get_:
            value = option_value(config, name)
            if value is not None:
                sys.stdout.write(value + "\n")
        sys.stdout.flush()
        return 0
    printed = False
    if config.dump_options:
        sys.stdout.write("".join(name + "\n" for name in option_names()))
        sys.stdout.flush()
        return 0  # uWSGI exits after the dump
    if config.show_config:
        sys.stdout.write(format_config(config))
        printed = True
    for name in INSPECTIONS:
        if name.endswith("-list") and config.get(name):
            sys.stdout.write(listing(name))
            printed = True
    sys.stdout.flush()
    if printed and not serves_something(config):
        return 0
    return None


def serves_something(config: Any) -> bool:
    """Whether this configuration starts something (a socket, a router, an Emperor)."""
    return bool(config.http_socket or config.socket or config.fastcgi_socket or config.scgi_socket
                or config.http or config.https or config.emperor)
