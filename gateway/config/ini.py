"""uWSGI ini files: the ``[uwsgi]`` section as ordered entries, with magic variables.

What uWSGI 2.0's ini reader does, and so what this one does:

* only lines of the selected section count (``[uwsgi]`` by default;
  ``file.ini:section`` selects another; ``:section`` reuses the previous file);
* a line is ``key = value``; surrounding blanks are stripped; a line without
  ``=`` is a key with an empty value (``master`` alone turns a flag on);
* a line starting with ``;`` or ``#`` is a comment.  There are **no** inline
  comments: ``processes = 4 ; four`` has the value ``4 ; four`` (and is then
  refused as not an integer);
* repeated keys are all kept, in file order;
* keys that are not options are placeholders, usable as ``%(name)`` (expansion
  happens later, over the whole assembled configuration: ``expand.py``);
* ``ini = other.ini`` includes another file at that point (done by
  ``sources.py``, which also handles includes from argv and the environment);
* magic variables are replaced in the whole file as it is read, before
  anything else: ``%d`` (directory of the file, **with** trailing slash), ``%p``
  (absolute path), ``%s`` (file name), ``%n`` (name without extension), ``%e``
  (extension), ``%c`` (name of the directory), ``%o`` (path as given), ``%x``
  (the section written after the ``:``, empty without one), ``%0``..``%9``
  (components of ``%d``), ``%h`` (hostname), ``%k`` (CPU count), ``%v`` (working
  directory), ``%V`` (uWSGI version emulated), ``%t``/``%T`` (start time in s/µs),
  ``%u``/``%U``/``%g``/``%G`` (uid, user, gid, group), ``%j`` (the hex djb33x hash
  of ``%p``), ``%i`` (its inode), ``%b`` (the interpreter running gateway, where
  uWSGI names its binary) and ``%%`` (a literal ``%``); the uppercase ``%O %D %S
  %P %C %E %N %X %I %J`` are the first config file's.  ``%(`` is left for
  placeholders; any other ``%X`` becomes nothing, as in uWSGI (``100%q`` is
  ``100``, and a ``%`` ending a line joins the next line to it).

A section missing from the file is a warning, not an error, as in uWSGI.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from gateway.config.errors import ConfigError
from gateway.config.model import Entry

DEFAULT_SECTION = "uwsgi"

# The uWSGI version gateway emulates (``%V``): one constant for the whole package.
from gateway import UWSGI_COMPAT_VERSION  # noqa: E402  (the package root imports only the stdlib)

ReadFile = Callable[[str], str]


@dataclass(frozen=True)
class MagicContext:
    """The process facts magic variables refer to, gathered once per load."""

    cwd: str
    hostname: str = "localhost"
    cpu_count: int = 1
    uwsgi_version: str = UWSGI_COMPAT_VERSION
    uid: int = 0
    gid: int = 0
    user: str = ""
    group: str = ""
    now: float = field(default_factory=time.time)
    #: ``%b``: what runs gateway (uWSGI's ``%b`` is its binary)
    binary: str = ""

    @classmethod
    def from_system(cls, cwd: str | None = None) -> "MagicContext":
        """Read the facts from the running process (``os`` calls only, no sockets)."""
        uid, gid = os.getuid(), os.getgid()
        try:
            import pwd

            user = pwd.getpwuid(uid).pw_name
        except (ImportError, KeyError):
            user = str(uid)
        try:
            import grp

            group = grp.getgrgid(gid).gr_name
        except (ImportError, KeyError):
            group = str(gid)
        return cls(
            cwd=cwd or os.getcwd(),
            hostname=os.uname().nodename,
            cpu_count=os.cpu_count() or 1,
            uid=uid,
            gid=gid,
            user=user,
            group=group,
            binary=sys.executable,
        )


def split_spec(spec: str) -> tuple[str, str | None]:
    """``file.ini:section`` → (``file.ini``, ``section``); the last ``:`` splits, as in uWSGI.

    With a scheme (``http://host/app.ini:dev``) only a colon after the last ``/`` counts.
    """
    head, tail = "", spec
    if "://" in spec:
        slash = spec.rfind("/")
        head, tail = spec[: slash + 1], spec[slash + 1 :]
    file, sep, section = tail.rpartition(":")
    if not sep:
        return spec, None
    return head + file, (section or None)


#: The letters whose uppercase form is the first config file's value (uWSGI's "first round").
FIRST_FILE_LETTERS = "odspcenxij"


def djb33x_hex(text: str) -> str:
    """``%j``: uWSGI's djb33x hash of ``text``'s bytes (each a signed C ``char``), its four bytes
    in little-endian order as uppercase hex."""
    value = 5381
    for byte in os.fsencode(text):
        value = (((value << 5) + value) ^ (byte - 256 if byte > 127 else byte)) & 0xFFFFFFFF
    return value.to_bytes(4, "little").hex().upper()


def magic_variables(given: str, absolute: str, section: str, context: MagicContext,
                    first: dict[str, str] | None = None) -> dict[str, str]:
    """The magic-variable table of one config file (keys are the letters after ``%``).

    ``section`` is the one written after the ``:`` (empty when none: ``%x``); ``first`` is the
    table of the first config file read, for the uppercase letters (None: this one is it).
    """
    directory, name = os.path.split(absolute)
    directory = directory.rstrip("/") + "/"
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    components = [part for part in directory.split("/") if part]
    try:
        inode = str(os.lstat(absolute).st_ino)
    except OSError:
        inode = ""
    table = {
        "o": given,
        "p": absolute,
        "s": name,
        "d": directory,
        "c": components[-1] if components else "",
        "e": extension,
        "n": stem,
        "x": section,
        "i": inode,
        "j": djb33x_hex(absolute),
        "b": context.binary,
        "(": "%(",
    }
    table.update(process_magic(context))
    for index in range(10):
        table[str(index)] = components[index] if index < len(components) else ""
    for letter in FIRST_FILE_LETTERS:
        table[letter.upper()] = (first or table)[letter]
    return table


def process_magic(context: MagicContext) -> dict[str, str]:
    """The magic variables that do not depend on a config file (the process's facts): what
    uWSGI's ``uwsgi.magic_table`` holds when no config file was read."""
    return {
        "h": context.hostname,
        "k": str(context.cpu_count),
        "v": context.cwd,
        "V": context.uwsgi_version,
        "t": str(int(context.now)),
        "T": str(int(context.now * 1_000_000)),
        "u": str(context.uid),
        "U": context.user,
        "g": str(context.gid),
        "G": context.group,
        "%": "%",
    }


_MAGIC = re.compile(r"%(.)", re.DOTALL)


def substitute_magic(text: str, table: dict[str, str]) -> str:
    """Replace ``%X`` by ``table[X]``; a letter not in the table becomes nothing, as in uWSGI
    (``%(`` stays: the table maps ``(`` to ``%(``)."""
    return _MAGIC.sub(lambda m: table.get(m.group(1), ""), text)


def parse_ini(text: str, section: str = DEFAULT_SECTION, name: str = "<ini>") -> tuple[list[Entry], bool]:
    """The ``key = value`` entries of ``section`` in ``text``, and whether the section exists.

    Pure: no file access, no magic variables (apply :func:`substitute_magic` first).
    """
    entries: list[Entry] = []
    current = ""
    found = False
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip(" \t\r")
        if not line:
            continue
        if line[0] == "[":
            if not line.endswith("]"):
                raise ConfigError(f"{name} line {lineno}: malformed section header '{line}'")
            current = line[1:-1]
            found = found or current == section
            continue
        if line[0] in ";#" or current != section:
            continue
        key, _, value = line.partition("=")
        key = key.rstrip(" \t\r")
        if not key:
            raise ConfigError(f"{name} line {lineno}: a key is missing before '='")
        entries.append(Entry(key, value.strip(" \t\r"), f"{name} line {lineno}"))
    return entries, found


#: Config files (and files read by ``@(file)``) larger than this are refused: a mistake, not a config.
MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024


def read_text(path: str) -> str:
    """Read a config file as text; undecodable bytes survive (surrogateescape) into ``uwsgi.opt``.

    Raises :class:`OSError` (``EFBIG``) for a file over :data:`MAX_CONFIG_FILE_BYTES`.
    """
    with open(path, "rb") as handle:
        data = handle.read(MAX_CONFIG_FILE_BYTES + 1)
    if len(data) > MAX_CONFIG_FILE_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_CONFIG_FILE_BYTES // (1024 * 1024)} MiB, "
                                   "the most a config file may hold")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", "surrogateescape")


def absolute_path(file: str, cwd: str) -> str:
    """``%p``: the real path of ``file`` (a symlink itself is kept, not resolved, as in uWSGI)."""
    joined = os.path.join(cwd, file)
    if os.path.islink(joined):
        return os.path.normpath(joined)
    return os.path.realpath(joined)
