"""What each hook action does, as uWSGI's ``core/hooks.c`` does it, in this process.

Each action is ``action(args)``: it returns when it succeeded and raises
:class:`ActionFailed` (its message says what failed, uWSGI's words where it has some)
when it did not; the phase decides whether that stops the instance
(:mod:`gateway.hooks.phases`).  The arguments were checked when the options were read
(:mod:`gateway.hooks.spec`), so only the world can make an action fail here.

Files are created with mode 0666 and directories with 0777, less the umask, as uWSGI
does.  The waits (``wait_for_*``, ``spinningfifo``, ``retryrpc``) give up after
:data:`WAIT_TIMEOUT` seconds, where uWSGI's ``spinningfifo`` and ``retryrpc`` wait forever.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import shlex
import socket
import stat
import subprocess
import sys
import time
from typing import Callable, Dict

from gateway.hooks.spec import parse_mode, split_chown, split_file_text
from gateway.logs import gen_log

__all__ = ["ACTIONS", "ActionFailed", "WAIT_TIMEOUT", "run_command"]

#: Seconds the waiting actions wait at most (uWSGI's --wait-for-fs-timeout default).
WAIT_TIMEOUT = 60.0
#: Seconds between two looks of a waiting action.
POLL = 0.1
#: Seconds between two attempts of ``retryrpc`` (uWSGI's).
RPC_RETRY = 2.0


class ActionFailed(Exception):
    """A hook action did not do its job; ``str()`` says what and why."""


def _os_error(what: str, e: OSError) -> ActionFailed:
    return ActionFailed("%s: %s" % (what, e.strerror or e))


def run_command(command: str) -> None:
    """Run ``command`` with ``/bin/sh -c`` (or the ``--binsh`` shell) and wait; raise :class:`ActionFailed` unless it exits 0.

    The command inherits the environment, the working directory and the output; its
    standard input is ``/dev/null``.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        from gateway.process.startup import binsh

        code = subprocess.call([binsh(), "-c", command], stdin=subprocess.DEVNULL)
    except OSError as e:
        raise ActionFailed('command "%s" could not run: %s' % (command, e.strerror or e)) from None
    if code != 0:
        how = "killed by signal %d" % -code if code < 0 else "exited with non-zero code: %d" % code
        raise ActionFailed('command "%s" %s' % (command, how))


def _safeexec(command: str) -> None:
    try:
        run_command(command)
    except ActionFailed as e:
        gen_log.warning("%s", e)  # logged, never a failure: that is safeexec


def _chdir(path: str) -> None:
    try:
        os.chdir(path)
    except OSError as e:
        raise _os_error("chdir %s" % path, e) from None


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path, 0o777)
    except OSError as e:
        raise _os_error("mkdir %s" % path, e) from None


def _putenv(assignment: str) -> None:
    name, eq, value = assignment.partition("=")
    if eq:
        os.environ[name] = value
    else:
        os.environ.pop(name, None)  # putenv("NAME") without "=" removes it (glibc)


def _chmod(args: str) -> None:
    path, _, mode = args.partition(" ")
    try:
        os.chmod(path, parse_mode(mode))
    except OSError as e:
        raise _os_error("chmod %s" % path, e) from None


def _sticky(path: str) -> None:
    try:
        os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | stat.S_ISVTX)
    except OSError as e:
        raise _os_error("sticky %s" % path, e) from None


def _chown(args: str) -> None:
    path, user, group = split_chown(args)
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        raise ActionFailed("unable to find uid %s" % user) from None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise ActionFailed("unable to find gid %s" % group) from None
    _do_chown(path, uid, gid)


def _chown2(args: str) -> None:
    path, uid, gid = split_chown(args)
    _do_chown(path, int(uid), int(gid))


def _do_chown(path: str, uid: int, gid: int) -> None:
    try:
        os.chown(path, uid, gid)
    except OSError as e:
        raise _os_error("chown %s" % path, e) from None


def _open_write(path: str, data: bytes, flags: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o666)
    except OSError as e:
        raise _os_error("open %s" % path, e) from None
    try:
        if data and os.write(fd, data) != len(data):
            raise ActionFailed("write %s: short write" % path)
    except OSError as e:
        raise _os_error("write %s" % path, e) from None
    finally:
        os.close(fd)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _create(path: str) -> None:
    _open_write(path, b"", os.O_TRUNC)


def _write(args: str) -> None:
    path, text = split_file_text(args)
    _open_write(path, _encode(text), os.O_TRUNC)


def _writen(args: str) -> None:
    path, text = split_file_text(args)
    _open_write(path, _encode(text) + b"\n", os.O_TRUNC)


def _append(args: str) -> None:
    path, text = split_file_text(args)
    _open_write(path, _encode(text), os.O_APPEND)


def _appendn(args: str) -> None:
    path, text = split_file_text(args)  # "appendn:FILE" alone appends a newline
    _open_write(path, _encode(text) + b"\n", os.O_APPEND)


def _open_fifo(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_NONBLOCK)


def _write_fifo_fd(fd: int, path: str, text: str) -> None:
    data = _encode(text)
    try:
        if os.write(fd, data) != len(data):
            raise ActionFailed("write %s: short write" % path)
    except OSError as e:
        raise _os_error("write %s" % path, e) from None
    finally:
        os.close(fd)


def _writefifo(args: str) -> None:
    path, text = split_file_text(args)
    try:
        fd = _open_fifo(path)
    except OSError as e:
        if e.errno in (errno.ENXIO, errno.ENODEV):
            gen_log.warning("writefifo %s: no reader (%s): nothing written", path, e.strerror)
            return  # as uWSGI: not a failure
        raise _os_error("open %s" % path, e) from None
    _write_fifo_fd(fd, path, text)


def _spinningfifo(args: str) -> None:
    path, text = split_file_text(args)
    gen_log.info("waiting for %s ...", path)
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        try:
            fd = _open_fifo(path)
            break
        except OSError as e:
            if e.errno not in (errno.ENXIO, errno.ENODEV, errno.ENOENT):
                raise _os_error("open %s" % path, e) from None
            if time.monotonic() >= deadline:
                raise ActionFailed("%s: no reader after %d seconds" % (path, WAIT_TIMEOUT)) from None
            time.sleep(POLL)
    _write_fifo_fd(fd, path, text)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError as e:
        raise _os_error("unlink %s" % path, e) from None


def _hostname(name: str) -> None:
    try:
        socket.sethostname(name)
    except OSError as e:
        raise _os_error("sethostname %s" % name, e) from None


def _exit(code: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(int(code) if code.strip() else 0)


def _print(text: str) -> None:
    gen_log.info("%s", text)


def _wait_for(path: str, kind: str) -> None:
    gen_log.info("waiting for %s (max %d seconds) ...", path, WAIT_TIMEOUT)
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = None
        if mode is not None and (kind == "fs" or (kind == "file" and stat.S_ISREG(mode))
                                 or (kind == "dir" and stat.S_ISDIR(mode))):
            gen_log.info("%s found", path)
            return
        if time.monotonic() >= deadline:
            raise ActionFailed("%s unavailable after %d seconds" % (path, WAIT_TIMEOUT))
        time.sleep(POLL)


def _wait_for_socket(address: str) -> None:
    gen_log.info("waiting for %s (max %d seconds) ...", address, WAIT_TIMEOUT)
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        if _connects(address):
            gen_log.info("%s ready", address)
            return
        if time.monotonic() >= deadline:
            raise ActionFailed("%s unavailable after %d seconds" % (address, WAIT_TIMEOUT))
        time.sleep(POLL)


def _connects(address: str) -> bool:
    """Whether a connection to ``address`` (``host:port`` or a UNIX socket path) succeeds now."""
    host, colon, port = address.rpartition(":")
    try:
        if colon and port.isdigit() and "/" not in address:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=1.0):
                return True
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(address)
            return True
    except OSError:
        return False


def _rpc(args: str) -> None:
    from gateway import rpc

    words = shlex.split(args)
    func, _, node = words[0].partition("@")
    try:
        result = rpc.call(node or None, func, *[_encode(word) for word in words[1:]])  # bytes, as in uWSGI
    except (rpc.RPCError, ValueError) as e:  # ValueError: a node address, should the spec check miss one
        raise ActionFailed("rpc %s: %s" % (words[0], e)) from None
    shown = (result or b"").decode("utf-8", "replace")
    gen_log.info('[rpc result from "%s"] %s', words[0], shown)


def _retryrpc(args: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        try:
            return _rpc(args)
        except ActionFailed as e:
            if time.monotonic() + RPC_RETRY > deadline:
                raise ActionFailed("%s (still failing after %d seconds of retries)" % (e, WAIT_TIMEOUT)) from None
            time.sleep(RPC_RETRY)


def _alarm(args: str) -> None:
    """``alarm:NAME MESSAGE``: raise an ``--alarm`` (uWSGI's hook: nothing happens before the
    alarms are set up, which is the master's start; here a line says so)."""
    from gateway import alarms
    from gateway.process import channel

    name, _, message = args.partition(" ")
    ch = channel.current()
    if ch is not None and alarms.current is not None:  # a worker or a child of the master
        ch.send("alarm", name.encode("utf-8") + b"\0" + message.encode("utf-8"))
    elif alarms.current is not None:  # the master itself
        alarms.current.raise_alarm(name, message.encode("utf-8"))
    else:
        gen_log.warning("hook alarm:%s: no alarm is set up (yet) in this phase: nothing raised", name)


#: action name -> action(args); the same names as :data:`gateway.hooks.spec.ACTIONS`.
ACTIONS: Dict[str, Callable[[str], None]] = {
    "cd": _chdir, "chdir": _chdir,
    "mkdir": _mkdir,
    "putenv": _putenv,
    "chmod": _chmod, "chown": _chown, "chown2": _chown2, "sticky": _sticky,
    "exec": run_command, "safeexec": _safeexec,
    "create": _create, "creat": _create,
    "write": _write, "writen": _writen, "append": _append, "appendn": _appendn,
    "writefifo": _writefifo, "spinningfifo": _spinningfifo,
    "unlink": _unlink,
    "hostname": _hostname,
    "rpc": _rpc, "retryrpc": _retryrpc,
    "wait_for_fs": lambda path: _wait_for(path, "fs"),
    "wait_for_file": lambda path: _wait_for(path, "file"),
    "wait_for_dir": lambda path: _wait_for(path, "dir"),
    "wait_for_socket": _wait_for_socket,
    "exit": _exit,
    "print": _print, "log": _print,
    "alarm": _alarm,
}
