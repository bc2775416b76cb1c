"""uWSGI's spooler: tasks written as files by the app, run later by separate processes.

The pieces:

* :class:`Spoolers` (this module): the configured directories (``--spooler DIR``,
  repeatable) times ``--spooler-processes``, and a small shared table (an anonymous
  ``mmap`` made before the first fork) holding each spooler process's pid and the
  ``uwsgi.set_spooler_frequency`` value, so any worker can wake a spooler;
* :mod:`gateway.protocol.spool_file`: the file format (sans-IO);
* :mod:`gateway.spooler.writer`: ``uwsgi.spool()``'s side: write a task atomically (a
  temporary name, then ``rename``), wake the directory's spoolers with SIGUSR1;
* :mod:`gateway.spooler.runner`: a spooler process: scan, lock, run, sleep;
* :mod:`gateway.spooler.tasks`: one task's dict and the spooler callable's verdict;
* :mod:`gateway.spooler.api`: the ``uwsgi`` module's spooler functions.

The master creates :data:`current` before loading the app (so ``uwsgi.spool`` works
at import time, as in uWSGI) and adds one :class:`~gateway.process.master.ChildSpec`
per spooler process (:func:`gateway.spooler.runner.child_specs`).
"""

from __future__ import annotations

import mmap
import os
import signal
from typing import Any, List, Optional

from gateway.config.model import Config

#: the Spoolers of this process (made by the master before it forks; None without --spooler)
current: Optional["Spoolers"] = None

#: uWSGI's default --spooler-frequency
DEFAULT_FREQUENCY = 30
#: the shared table's fields per spooler process (see Spoolers.__init__)
_FIELDS = 4
#: gateway's default --spooler-max-size: the largest task file a spooler reads (bytes)
DEFAULT_MAX_SIZE = 64 * 1024 * 1024


class SpoolerConfigError(ValueError):
    """A spooler directory that cannot be created or used (the CLI prints it and exits)."""


def _directory(option: str, raw: str) -> str:
    """A spooler directory, created (mode 0750, as uWSGI) when missing, resolved."""
    if not os.access(raw, os.R_OK | os.W_OK | os.X_OK):
        try:
            os.mkdir(raw, 0o750)
        except OSError as e:
            raise SpoolerConfigError("--%s %s: cannot use or create the directory: %s"
                                     % (option, raw, e.strerror or e)) from None
    path = os.path.realpath(raw)
    if not os.path.isdir(path):
        raise SpoolerConfigError("--%s %s: not a directory" % (option, raw))
    return path


class Spoolers:
    """The spooler directories and their processes; see the module docstring.

    ``slots[i]`` is the directory of spooler process ``i`` (each directory appears
    ``processes`` times in a row, as uWSGI lists its spoolers).
    """

    def __init__(self, dirs: List[str], processes: int = 1, *, frequency: int = DEFAULT_FREQUENCY,
                 ordered: bool = False, max_tasks: int = 0, chdir: Optional[str] = None, harakiri: int = 0,
                 imports: Optional[List[str]] = None, max_size: int = DEFAULT_MAX_SIZE,
                 quiet: bool = False, external: Optional[List[str]] = None, cheap: bool = False) -> None:
        own = list(dict.fromkeys(dirs))
        #: every directory tasks may name: ours first, then the --spooler-external ones
        self.dirs = own + [d for d in dict.fromkeys(external or []) if d not in own]
        self.processes = max(int(processes), 1)
        #: the directories our spooler processes serve (the external ones have none here)
        self.slots = [d for d in own for _ in range(self.processes)]
        #: --spooler-cheap: a spooler process runs only while its directory has tasks
        self.cheap = cheap
        #: the master's ChildSpec of each slot (set by runner.child_specs)
        self.specs: List[Any] = []
        #: the signals routed to the spoolers (set by runner.attach: gateway.spooler.signals)
        self.signals: Any = None
        self.frequency = int(frequency) or DEFAULT_FREQUENCY
        self.ordered = ordered
        self.max_tasks = int(max_tasks)
        self.chdir = chdir
        self.harakiri = int(harakiri)
        self.imports = list(imports or [])
        self.max_size = int(max_size)
        self.quiet = quiet
        # [0] = frequency set by uwsgi.set_spooler_frequency (0: the option's), then per slot i:
        # [1 + 4i] = pid, [2 + 4i] = tasks run by that process, [3 + 4i] = 1 while it runs one,
        # [4 + 4i] = its harakiri deadline (unix time in milliseconds; 0: none armed)
        self._shm = mmap.mmap(-1, 8 * (1 + _FIELDS * len(self.slots)))
        self._table = memoryview(self._shm).cast("q")

    @classmethod
    def from_config(cls, cfg: Config) -> "Spoolers":
        """Create (mode 0750, as uWSGI) and resolve every ``--spooler`` directory."""
        dirs = [_directory("spooler", raw) for raw in cfg.spooler]
        external = [_directory("spooler-external", raw) for raw in cfg.spooler_external]
        return cls(dirs, int(cfg.spooler_processes or 1), frequency=int(cfg.spooler_frequency or DEFAULT_FREQUENCY),
                   ordered=bool(cfg.spooler_ordered), max_tasks=int(cfg.spooler_max_tasks or 0),
                   chdir=cfg.spooler_chdir, harakiri=int(cfg.spooler_harakiri or 0),
                   imports=list(cfg.spooler_import), max_size=int(cfg.spooler_max_size or DEFAULT_MAX_SIZE),
                   quiet=bool(cfg.spooler_quiet), external=external, cheap=bool(cfg.spooler_cheap))

    # -- the shared table ------------------------------------------------------------------

    def pid(self, slot: int) -> int:
        return int(self._table[1 + _FIELDS * slot])

    def set_pid(self, slot: int, pid: int) -> None:
        self._table[1 + _FIELDS * slot] = pid

    def tasks(self, slot: int) -> int:
        """Tasks run by slot's current process (the stats' ``tasks``: uWSGI resets it at each spawn)."""
        return int(self._table[2 + _FIELDS * slot])

    def set_tasks(self, slot: int, count: int) -> None:
        self._table[2 + _FIELDS * slot] = count

    def running(self, slot: int) -> int:
        """1 while slot's process runs a task (the stats' ``running``), else 0."""
        return int(self._table[3 + _FIELDS * slot])

    def set_running(self, slot: int, running: bool) -> None:
        self._table[3 + _FIELDS * slot] = 1 if running else 0

    def harakiri_deadline(self, slot: int) -> float:
        """When slot's process is to be killed by a harakiri (``--spooler-harakiri`` or
        ``uwsgi.set_user_harakiri`` in a task), as a unix time; 0 when none is armed."""
        return self._table[4 + _FIELDS * slot] / 1000.0

    def set_harakiri_deadline(self, slot: int, when: float) -> None:
        self._table[4 + _FIELDS * slot] = int(when * 1000)

    def pids(self) -> List[int]:
        return [self.pid(i) for i in range(len(self.slots))]

    @property
    def current_frequency(self) -> int:
        """Seconds an idle spooler sleeps between scans (``uwsgi.set_spooler_frequency`` wins)."""
        return int(self._table[0]) or self.frequency

    def set_frequency(self, seconds: int) -> None:
        self._table[0] = max(int(seconds), 0)

    # -- directories --------------------------------------------------------------------------

    def dir_for(self, name: Optional[bytes]) -> Optional[str]:
        """The directory a task names in its ``spooler`` key (exactly as configured after
        ``realpath``, as uWSGI compares), the first one when it names none; None if unknown."""
        if not name:
            return self.dirs[0] if self.dirs else None
        text = os.fsdecode(name)
        return text if text in self.dirs else None

    def wake(self, directory: str) -> None:
        """SIGUSR1 to the spoolers of ``directory``, so they scan now instead of at their next
        ``--spooler-frequency`` tick.  A pid is only in the table while its process runs
        (the master clears it when it reaps the spooler)."""
        for slot, d in enumerate(self.slots):
            if d == directory:
                pid = self.pid(slot)
                if pid > 0:
                    try:
                        os.kill(pid, signal.SIGUSR1)
                    except OSError:
                        pass
