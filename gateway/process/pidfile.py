"""``--pidfile``, ``--pidfile2``, ``--safe-pidfile``, ``--daemonize``: how the instance is found
and run by init scripts.

* ``--pidfile FILE`` is written by the master (the one worker without a master) at startup,
  before privileges are dropped; ``--pidfile2 FILE`` after (so the new user owns it).  The
  content is the pid and a newline.  ``--safe-pidfile FILE`` is ``--pidfile`` written
  atomically (a temporary file renamed over it), so a reader never sees it half written.
  With ``--vacuum`` each is removed at exit if it still holds this pid
  (:mod:`gateway.process.vacuum`, uWSGI's ``VACUUM: pidfile removed.``).
* ``--daemonize LOGFILE`` detaches first thing (fork, ``setsid``, fork: the command returns
  at once, as uWSGI's), stdin reads ``/dev/null`` and everything is logged to LOGFILE,
  appended, as ``--logto`` does.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple

__all__ = ["daemonize", "write_pidfile", "write_pidfiles"]


def write_pidfile(path: str, atomic: bool = False, vacuum: bool = False, name: str = "pidfile") -> None:
    """Write this process's pid to ``path`` (``--NAME``'s file); OSError when it cannot."""
    pid = os.getpid()
    data = b"%d\n" % pid
    if atomic:
        tmp = "%s.%d.tmp" % (path, pid)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    else:
        with open(path, "wb") as f:
            f.write(data)
    if vacuum:
        from gateway.process import vacuum as _vacuum

        _vacuum.add_pidfile(name, path)


def write_pidfiles(cfg: Any, names: Tuple[str, ...], vacuum: bool = False) -> Optional[str]:
    """Write the pidfiles ``names`` (``pidfile``, ``safe-pidfile``, ``pidfile2``, ``safe-pidfile2``) that ``cfg``
    sets; the first failure as ``--name PATH: reason``, or None."""
    for name in names:
        path = cfg.get(name)
        if path:
            try:
                write_pidfile(path, atomic=name in ("safe-pidfile", "safe-pidfile2"), vacuum=vacuum, name=name)
            except OSError as e:
                return "--%s %s: %s" % (name, path, e.strerror or e)
    return None


def daemonize() -> None:
    """Detach from the terminal and the caller (who sees the command return at once)."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.close(devnull)
