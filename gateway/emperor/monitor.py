"""Where the vassal files are, what a scan decides, and how a vassal is started.

uWSGI's two file monitors: a **directory** (``/etc/vassals``, ``dir://...``) whose regular
files with a config extension are vassals named by their base name (``app.ini``) and started
in that directory; a **glob** (``/etc/vassals/*.ini``, ``glob://...``) whose matches are
vassals named as the glob returns them and started in the Emperor's working directory.
As in uWSGI, an argument that expands to one directory is a directory, anything else a glob.

:func:`decide` is the pure half of a scan: given the vassals known and the files found, it
says what to start, reload (a newer modification time) and stop (a file gone; with
``--emperor-tyrant`` also a file whose owner changed).

With ``--emperor-tyrant`` (symlinks followed) the vassal's uid/gid are those of the file a
symlink points to, while the vassal opens the path again later: whoever owns a symlink on
the way could point it at someone else's file for the scan, then at their own config.  So a
scan notes any symlink on the path not owned by root nor by the file's owner
(:func:`foreign_links`), and such a vassal is refused.
"""

from __future__ import annotations

import errno
import glob
import os
import stat
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from gateway.emperor.protocol import ENV_FD

#: config extension → the option that loads it (uWSGI's ``vassal_new_argv``)
EXTENSIONS = ((".ini", "--ini"), (".xml", "--xml"), (".yaml", "--yaml"), (".yml", "--yaml"),
              (".json", "--json"), (".js", "--json"))
#: uWSGI refuses vassal names of 255 bytes or more
MAX_NAME = 254


def config_flag(name: str) -> Optional[str]:
    """The option loading vassal file ``name`` (``--ini`` for ``app.ini``), None if not a config."""
    for ext, flag in EXTENSIONS:
        if name.endswith(ext):
            return flag
    return None


def is_valid(name: str) -> bool:
    """A vassal file: a config extension and a name shorter than uWSGI's 255 bytes."""
    return config_flag(name) is not None and len(name.encode("utf-8", "surrogateescape")) <= MAX_NAME


#: uWSGI's imperial monitors gateway has: the schemes :meth:`Source.parse` knows (``dir://``,
#: ``glob://``), which are also the ``kind`` of a :class:`Source` (``--imperial-monitor-list``)
MONITORS: Tuple[str, ...] = ("dir", "glob")


@dataclass(frozen=True)
class Source:
    """One ``--emperor`` argument: ``kind`` is "dir" or "glob", ``arg`` as uWSGI reports it
    (the directory's real path, or the pattern), ``cwd`` where glob vassals start."""

    kind: str
    arg: str
    cwd: str

    @classmethod
    def parse(cls, raw: str, cwd: str) -> "Source":
        if raw.startswith("dir://"):
            return cls("dir", os.path.realpath(os.path.join(cwd, raw[6:])), cwd)
        if raw.startswith("glob://"):
            return cls("glob", raw[7:], cwd)
        matches = glob.glob(os.path.join(cwd, raw))  # an absolute raw stays absolute
        if len(matches) == 1 and os.path.isdir(matches[0]):
            return cls("dir", os.path.realpath(matches[0]), cwd)
        if not glob.has_magic(raw):
            # neither a directory nor a pattern: uWSGI's chdir() fails; a clear error here
            raise ValueError("--emperor %s: no such directory" % raw)
        return cls("glob", raw, cwd)


@dataclass(frozen=True)
class Found:
    """A vassal file seen by a scan."""

    source: Source
    name: str       # uWSGI's id: "app.ini" (dir) or the glob match
    path: str       # absolute
    mtime: float
    uid: int
    gid: int
    #: a symlink on the path owned by neither root nor the file's owner (``--emperor-tyrant``)
    foreign_link: bool = False

    @property
    def key(self) -> str:
        return self.path

    @property
    def cwd(self) -> str:
        return self.source.arg if self.source.kind == "dir" else self.source.cwd


#: symlinks followed on one path before giving up (the kernel's own limit is 40)
MAX_LINKS = 40


def link_owners(path: str) -> List[Tuple[int, int]]:
    """The (uid, gid) of every symlink met resolving ``path`` (each component, each hop of a
    chain), in order; OSError when a component is missing or there are more than
    :data:`MAX_LINKS`."""
    owners: List[Tuple[int, int]] = []
    parts = path.split("/")
    resolved = "/" if path.startswith("/") else os.getcwd()
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, part)
        st = os.lstat(candidate)
        if not stat.S_ISLNK(st.st_mode):
            resolved = candidate
            continue
        if len(owners) >= MAX_LINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        owners.append((st.st_uid, st.st_gid))
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = "/"
        parts = target.split("/") + parts
    return owners


def foreign_links(path: str, uid: int, gid: int) -> bool:
    """True when a symlink on ``path`` is owned by neither root nor ``uid``/``gid`` (the
    file's owner): its owner could swap it between the scan and the vassal's reading."""
    try:
        owners = link_owners(path)
    except OSError:
        return True
    return any(u != 0 and (u, g) != (uid, gid) for u, g in owners)


def scan(source: Source, nofollow: bool = False, tyrant: bool = False) -> List[Found]:
    """The vassal files of ``source`` now: regular files, symlinks followed (as uWSGI), or with
    ``nofollow`` (``--emperor-nofollow``) symlinks themselves, their own time and owner.
    With ``tyrant`` (and symlinks followed) each file says whether a symlink on its path has
    another owner (:func:`foreign_links`)."""
    if source.kind == "dir":
        try:
            names = sorted(os.listdir(source.arg))
        except OSError:
            return []
        candidates = [(name, os.path.join(source.arg, name)) for name in names]
    else:
        pattern = source.arg if os.path.isabs(source.arg) else os.path.join(source.cwd, source.arg)
        candidates = []
        for match in sorted(glob.glob(pattern)):
            name = os.path.relpath(match, source.cwd) if not os.path.isabs(source.arg) else match
            candidates.append((name, match))
    found = []
    for name, path in candidates:
        if not is_valid(name):
            continue
        try:
            st = os.lstat(path) if nofollow else os.stat(path)
        except OSError:
            continue
        if not (stat.S_ISREG(st.st_mode) or (nofollow and stat.S_ISLNK(st.st_mode))):
            continue
        foreign = tyrant and not nofollow and foreign_links(os.path.abspath(path), st.st_uid, st.st_gid)
        found.append(Found(source, name, os.path.abspath(path), st.st_mtime, st.st_uid, st.st_gid, foreign))
    return found


@dataclass(frozen=True)
class Known:
    """What :func:`decide` needs of a running vassal."""

    source: Source
    mtime: float
    uid: int
    gid: int
    stopping: bool


#: one decision: ("start", Found) | ("reload", key, Found) | ("stop", key, reason)
Action = Tuple[str, object, object]


def decide(known: Mapping[str, Known], found: Iterable[Found], sources: Sequence[Source],
           tyrant: bool = False) -> List[Action]:
    """What one scan of ``sources`` (giving ``found``) means for the vassals ``known`` (by key).

    A file seen for the first time starts; one whose modification time is newer reloads;
    with ``tyrant`` one whose owner changed, or reached now through another's symlink, stops
    (uWSGI: "permissions of file X changed");
    a known vassal of a scanned source whose file is gone stops ("gone").  Vassals already
    stopping are left alone.
    """
    actions: List[Action] = []
    seen = set()
    for f in found:
        seen.add(f.key)
        k = known.get(f.key)
        if k is None:
            actions.append(("start", f, None))
            continue
        if k.stopping:
            continue
        if tyrant and ((f.uid, f.gid) != (k.uid, k.gid) or f.foreign_link):
            actions.append(("stop", f.key, "permissions"))
        elif f.mtime > k.mtime:
            actions.append(("reload", f.key, f))
    scanned = set(sources)
    for key, k in known.items():
        if key not in seen and k.source in scanned and not k.stopping:
            actions.append(("stop", key, "gone"))
    return actions


def vassal_args(flag_name: str, *, inherit_before: Sequence[str] = (), include_before: Sequence[str] = (),
                sets: Sequence[str] = (), inherit: Sequence[str] = (), include: Sequence[str] = ()) -> List[str]:
    """The vassal's gateway arguments, in uWSGI's order: templates before, ``--set``s, the
    file itself (``--ini app.ini``), templates after."""
    flag = config_flag(flag_name) or "--inherit"
    args: List[str] = []
    for value in inherit_before:
        args += ["--inherit", value]
    for value in include_before:
        args += ["--include", value]
    for value in sets:
        args += ["--set", value]
    args += [flag, flag_name]
    for value in inherit:
        args += ["--inherit", value]
    for value in include:
        args += ["--include", value]
    return args


#: variables of the Emperor's own options, never passed on (a vassal would be an Emperor too)
_EMPEROR_ONLY = ("UWSGI_EMPEROR", "UWSGI_VASSALS_", "UWSGI_VASSAL_SET")


def vassal_environ(environ: Mapping[str, str], fd: int) -> Dict[str, str]:
    """The vassal's environment: the Emperor's, with ``UWSGI_EMPEROR_FD``, without
    ``UWSGI_RELOADS``/``NOTIFY_SOCKET`` or the Emperor's own ``UWSGI_*`` options, and with every
    ``UWSGI_VASSAL_X`` turned into ``UWSGI_X`` (uWSGI's way of giving options to vassals only)."""
    env: Dict[str, str] = {}
    renamed: Dict[str, str] = {}
    for key, value in environ.items():
        if key in ("UWSGI_RELOADS", "NOTIFY_SOCKET"):
            continue
        if key.startswith("UWSGI_VASSAL_") and key != "UWSGI_VASSAL_SET":
            renamed["UWSGI_" + key[len("UWSGI_VASSAL_"):]] = value
            continue
        if key.startswith(_EMPEROR_ONLY):
            continue
        env[key] = value
    env.update(renamed)
    env[ENV_FD] = str(fd)
    return env
