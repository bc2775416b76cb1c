"""The scoreboard: per-worker and per-core counters in shared memory, read by the master.

One anonymous ``mmap`` (``MAP_SHARED``) is created by the master **before it forks**,
so every worker writes into the same pages the master and the stats server read.
Workers update their own slots with plain memory stores (a ``memoryview`` cast to
64-bit integers): no system call, no lock, no message per request.  The numbers
survive a worker's death (the master reads what a killed worker last wrote, and keeps
the cumulative counters across respawns, as uWSGI's ``requests`` does).

Layout (all fields ``int64``; times in microseconds since the epoch unless noted)::

    header   [HEADER_FIELDS]
    worker 1 [W_FIELDS] [core 0: C_FIELDS] ... [core N-1] [app 0: A_FIELDS] ... [app M-1]
    worker 2 ...
    vars     [VARS_BYTES per core, for every worker and core]

Single writer per slot (the worker owning it; the master only when the worker is
dead), many readers: a reader may see a torn *set* of fields (e.g. ``in_request``
already 0 but ``requests`` not yet incremented), never a torn field.  That is the
same guarantee uWSGI's scoreboard gives, and enough for stats and harakiri.
"""

from __future__ import annotations

import mmap
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence

# -- header ---------------------------------------------------------------------------
H_MAGIC, H_MASTER_PID, H_WORKERS, H_CORES = range(4)
HEADER_FIELDS = 8
MAGIC = 0x67617465776179  # "gateway"

# -- per worker -----------------------------------------------------------------------
(
    W_PID,            # 0 while not running
    W_STATUS,         # one of the ST_* values below
    W_ACCEPTING,      # 1 while the worker's listeners are in its loop
    W_REQUESTS,       # cumulative over respawns
    W_DELTA_REQUESTS,  # since the last (re)spawn: what --max-requests counts
    W_EXCEPTIONS,
    W_HARAKIRI_COUNT,
    W_SIGNALS,
    W_TX,             # response bytes
    W_AVG_RT,         # running average response time, µs: (old + new) / 2 as uWSGI
    W_RUNNING_TIME,   # total µs spent in requests
    W_LAST_SPAWN,     # epoch seconds
    W_RESPAWN_COUNT,  # starts at 1
    W_RSS,            # bytes, refreshed by the worker's heartbeat
    W_VSZ,
    W_HEARTBEAT,      # µs: the worker's loop turned at this time
    W_GENERATION,     # reload generation the running process belongs to
    W_SIGNAL_QUEUE,
    W_SUSPENDED,      # 1: the master paused the instance (SIGTSTP): accept nothing new
    W_THREAD_CORES,   # bit N: core N's request runs in an app thread (--threads), which no harakiri can cancel
) = range(20)
W_FIELDS = 24

#: Cores (0 to this - 1) ``W_THREAD_CORES`` can name; a request held by a later core's thread
#: gets the master's usual grace.
THREAD_CORE_BITS = 62

ST_NONE, ST_STARTING, ST_IDLE, ST_STOPPING, ST_DEAD, ST_CHEAP, ST_PAUSE = range(7)
STATUS_NAMES = {ST_NONE: "idle", ST_STARTING: "starting", ST_IDLE: "idle", ST_STOPPING: "stopping",
                ST_DEAD: "dead", ST_CHEAP: "cheap", ST_PAUSE: "pause"}

# -- per core -------------------------------------------------------------------------
(
    C_REQUESTS,
    C_IN_REQUEST,
    C_REQUEST_START,  # µs
    C_EXCEPTIONS,
    C_WRITE_ERRORS,
    C_READ_ERRORS,
    C_OFFLOADED,
    C_VARS_LEN,       # bytes used in this core's vars area
    C_ROUTED,         # requests answered (or ended) by a --route* rule
    C_USER_HARAKIRI,  # µs: the deadline set by uwsgi.set_user_harakiri (0: none)
) = range(10)
C_FIELDS = 10

# -- per app of a worker (its id: the order of loading, see gateway.mounts.app_mountpoints) --
(
    A_REQUESTS,       # counted when the request starts, as uWSGI (harakiri-ended ones included)
    A_EXCEPTIONS,
    A_STARTUP,        # whole seconds the app took to load
) = range(3)
A_FIELDS = 3

#: Bytes of request vars kept per core (``KEY=VALUE\\0`` records; cut at this size).
VARS_BYTES = 1024
#: The vars recorded for the stats server and harakiri logs: the request line and
#: its origin.  Recording every header would cost the hot path more than it is worth.
RECORDED_VARS = ("REQUEST_METHOD", "REQUEST_URI", "PATH_INFO", "QUERY_STRING", "SERVER_PROTOCOL",
                 "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "HTTP_HOST",
                 "HTTP_USER_AGENT")


def now_us() -> int:
    return int(time.time() * 1_000_000)


class Scoreboard:
    """The shared table for ``workers`` workers of ``cores`` cores each, running the apps
    mounted at ``mountpoints`` (by app id; ``""`` is the root).

    Create it in the master before forking; :meth:`worker` gives a worker its slot.
    """

    def __init__(self, workers: int, cores: int, mountpoints: Sequence[str] = ("",)) -> None:
        self.workers = workers
        self.cores = cores
        #: what the stats' ``apps`` list: fixed at startup (loading is all or nothing)
        self.mountpoints = tuple(mountpoints)
        #: app slots per worker: one at least (the runner counts app 0 before any is chosen)
        self.apps = max(len(self.mountpoints), 1)
        self.worker_stride = W_FIELDS + cores * C_FIELDS + self.apps * A_FIELDS
        ints = HEADER_FIELDS + workers * self.worker_stride
        self._vars_offset = ints * 8
        size = self._vars_offset + workers * cores * VARS_BYTES
        self.mm = mmap.mmap(-1, size, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        self.ints = memoryview(self.mm).cast("q")
        self.ints[H_MAGIC] = MAGIC
        self.ints[H_WORKERS] = workers
        self.ints[H_CORES] = cores

    # -- addressing ----------------------------------------------------------------

    def wbase(self, worker_id: int) -> int:
        """Index of worker ``worker_id``'s first field (ids are 1-based)."""
        return HEADER_FIELDS + (worker_id - 1) * self.worker_stride

    def cbase(self, worker_id: int, core: int) -> int:
        return self.wbase(worker_id) + W_FIELDS + core * C_FIELDS

    def abase(self, worker_id: int, app_id: int) -> int:
        return self.wbase(worker_id) + W_FIELDS + self.cores * C_FIELDS + app_id * A_FIELDS

    def vars_offset(self, worker_id: int, core: int) -> int:
        return self._vars_offset + ((worker_id - 1) * self.cores + core) * VARS_BYTES

    def get(self, worker_id: int, field: int) -> int:
        return self.ints[self.wbase(worker_id) + field]

    def set(self, worker_id: int, field: int, value: int) -> None:
        self.ints[self.wbase(worker_id) + field] = value

    def core_get(self, worker_id: int, core: int, field: int) -> int:
        return self.ints[self.cbase(worker_id, core) + field]

    def core_vars(self, worker_id: int, core: int) -> List[str]:
        """The recorded vars of the request in ``core`` as ``KEY=VALUE`` strings."""
        n = self.core_get(worker_id, core, C_VARS_LEN)
        if n <= 0:
            return []
        off = self.vars_offset(worker_id, core)
        raw = bytes(self.mm[off : off + min(n, VARS_BYTES)])
        return [item.decode("latin-1") for item in raw.split(b"\0") if item]

    def current_slots(self) -> List[int]:
        """The live slot of each worker id when the board holds two slots per id (the
        master's layout: old and new process during a reload), by reload generation."""
        half = max(self.workers // 2, 1)
        out = []
        for wid in range(1, half + 1):
            other = wid + half
            if other <= self.workers and self.get(other, W_GENERATION) > self.get(wid, W_GENERATION):
                out.append(other)
            else:
                out.append(wid)
        return out

    def busy_cores(self, worker_id: int) -> Iterator[int]:
        for core in range(self.cores):
            if self.ints[self.cbase(worker_id, core) + C_IN_REQUEST]:
                yield core

    # -- master side -------------------------------------------------------------------

    def spawned(self, worker_id: int, pid: int, generation: int) -> None:
        """Reset the slot for a fresh process (cumulative counters are kept)."""
        i, b = self.ints, self.wbase(worker_id)
        i[b + W_PID] = pid
        i[b + W_STATUS] = ST_STARTING
        i[b + W_ACCEPTING] = 0
        i[b + W_DELTA_REQUESTS] = 0
        i[b + W_LAST_SPAWN] = int(time.time())
        i[b + W_RESPAWN_COUNT] += 1
        i[b + W_HEARTBEAT] = now_us()
        i[b + W_GENERATION] = generation
        i[b + W_RSS] = 0
        i[b + W_VSZ] = 0
        i[b + W_THREAD_CORES] = 0
        for core in range(self.cores):
            c = self.cbase(worker_id, core)
            i[c + C_IN_REQUEST] = 0
            i[c + C_REQUEST_START] = 0
            i[c + C_VARS_LEN] = 0
            i[c + C_USER_HARAKIRI] = 0

    def copy_counters(self, src: int, dst: int) -> None:
        """A reload moves worker id's cumulative counters from slot ``src`` to ``dst`` (its
        apps' included), so they survive it as they survive a respawn."""
        i, s, d = self.ints, self.wbase(src), self.wbase(dst)
        for field in (W_REQUESTS, W_EXCEPTIONS, W_HARAKIRI_COUNT, W_TX, W_RUNNING_TIME, W_RESPAWN_COUNT, W_AVG_RT):
            i[d + field] = i[s + field]
        for app_id in range(self.apps):
            s, d = self.abase(src, app_id), self.abase(dst, app_id)
            i[d + A_REQUESTS] = i[s + A_REQUESTS]
            i[d + A_EXCEPTIONS] = i[s + A_EXCEPTIONS]

    def died(self, worker_id: int) -> None:
        i, b = self.ints, self.wbase(worker_id)
        i[b + W_PID] = 0
        i[b + W_STATUS] = ST_DEAD
        i[b + W_ACCEPTING] = 0
        for core in range(self.cores):
            c = self.cbase(worker_id, core)
            i[c + C_IN_REQUEST] = 0
            i[c + C_VARS_LEN] = 0

    def set_suspended(self, flag: bool) -> None:
        """SIGTSTP (``--pause``/``--resume``): every slot, so a worker respawned meanwhile
        starts paused too, as in uWSGI (each worker reads it when signalled and at start)."""
        for worker_id in range(1, self.workers + 1):
            self.ints[self.wbase(worker_id) + W_SUSPENDED] = 1 if flag else 0

    def cheaped(self, worker_id: int, generation: int) -> None:
        """``--cheaper``: the slot of a worker id that has no process on purpose (stats: "cheap")."""
        self.died(worker_id)
        self.ints[self.wbase(worker_id) + W_STATUS] = ST_CHEAP
        self.ints[self.wbase(worker_id) + W_GENERATION] = generation

    def snapshot(self, worker_id: int) -> Dict[str, Any]:
        """Everything about one worker, as plain Python values (for stats and ``uwsgi.workers()``)."""
        i, b = self.ints, self.wbase(worker_id)
        busy = False
        cores = []
        for core in range(self.cores):
            c = self.cbase(worker_id, core)
            in_request = i[c + C_IN_REQUEST]
            busy = busy or bool(in_request)
            start = i[c + C_REQUEST_START]
            cores.append({
                "id": core,
                "requests": i[c + C_REQUESTS],
                "static_requests": 0,
                "routed_requests": i[c + C_ROUTED],
                "offloaded_requests": i[c + C_OFFLOADED],
                "write_errors": i[c + C_WRITE_ERRORS],
                "read_errors": i[c + C_READ_ERRORS],
                "in_request": 1 if in_request else 0,
                "vars": (self.core_vars(worker_id, core) + [""]) if in_request else [],
                "req_info": {"request_start": start // 1_000_000} if in_request else {},
            })
        status = i[b + W_STATUS]
        if status in (ST_IDLE, ST_PAUSE) and busy:  # uWSGI: a paused worker still busy shows "busy"
            name = "busy"
        else:
            name = STATUS_NAMES.get(status, "idle")
        return {
            "id": worker_id,
            "pid": i[b + W_PID],
            "accepting": i[b + W_ACCEPTING],
            "requests": i[b + W_REQUESTS],
            "delta_requests": i[b + W_DELTA_REQUESTS],
            "exceptions": i[b + W_EXCEPTIONS],
            "harakiri_count": i[b + W_HARAKIRI_COUNT],
            "signals": i[b + W_SIGNALS],
            "signal_queue": i[b + W_SIGNAL_QUEUE],
            "status": name,
            "rss": i[b + W_RSS],
            "vsz": i[b + W_VSZ],
            "running_time": i[b + W_RUNNING_TIME],
            "last_spawn": i[b + W_LAST_SPAWN],
            "respawn_count": i[b + W_RESPAWN_COUNT],
            "tx": i[b + W_TX],
            "avg_rt": i[b + W_AVG_RT],
            "cores": cores,
        }

    def app_list(self, worker_id: int) -> List[Dict[str, Any]]:
        """The worker's apps with uWSGI's keys and types (the stats server's ``apps``);
        ``requests`` are counted when a request starts, as uWSGI does (a worker's
        ``requests`` when it ends)."""
        out = []
        for app_id, mountpoint in enumerate(self.mountpoints):
            a = self.abase(worker_id, app_id)
            out.append({"id": app_id, "modifier1": 0, "mountpoint": mountpoint,
                        "startup_time": self.ints[a + A_STARTUP], "requests": self.ints[a + A_REQUESTS],
                        "exceptions": self.ints[a + A_EXCEPTIONS], "chdir": ""})
        return out


class WorkerBoard:
    """One worker's view of its own slot: the hot-path writers.

    The server calls :meth:`begin` when a request enters a core and :meth:`end` when
    its response is done (duck-typed: ``server/`` never imports ``process/``).  The
    ``requests``/``app_requests``/``exceptions``/``tx`` attributes keep the
    :class:`~gateway.server.http.RequestStats` interface the server already uses.
    """

    __slots__ = ("board", "worker_id", "_ints", "_w", "_c0", "_a0", "_mm", "_v0", "_cores", "_apps", "_more")

    def __init__(self, board: Scoreboard, worker_id: int) -> None:
        self.board = board
        self.worker_id = worker_id
        self._ints = board.ints
        self._mm = board.mm
        self._w = board.wbase(worker_id)
        self._c0 = self._w + W_FIELDS
        self._a0 = board.abase(worker_id, 0)
        self._v0 = board.vars_offset(worker_id, 0)
        self._cores = board.cores
        self._apps = board.apps
        #: requests of the apps past the board's slots (dynamic apps: this worker's own), by app id
        self._more: Dict[int, int] = {}

    # RequestStats-compatible counters ---------------------------------------------

    @property
    def requests(self) -> int:
        return self._ints[self._w + W_REQUESTS]

    @requests.setter
    def requests(self, value: int) -> None:
        i, w = self._ints, self._w
        delta = value - i[w + W_REQUESTS]
        i[w + W_REQUESTS] = value
        i[w + W_DELTA_REQUESTS] += delta

    @property
    def app_requests(self) -> int:
        """App 0's requests: the runner adds one as each request starts, before the app is
        chosen (:meth:`app_switched` moves it when a ``--mount`` app takes it)."""
        return self._ints[self._a0 + A_REQUESTS]

    @app_requests.setter
    def app_requests(self, value: int) -> None:
        self._ints[self._a0 + A_REQUESTS] = value

    def app_switched(self, app_id: int) -> None:
        """The request just counted for app 0 went to app ``app_id`` (-1: to no app)."""
        if 0 < app_id < self._apps:
            i, a0 = self._ints, self._a0
            i[a0 + A_REQUESTS] -= 1
            i[a0 + app_id * A_FIELDS + A_REQUESTS] += 1
        elif app_id:
            self._ints[self._a0 + A_REQUESTS] -= 1
            if app_id > 0:
                self._more[app_id] = self._more.get(app_id, 0) + 1

    def app_request_count(self, app_id: int) -> int:
        """App ``app_id``'s requests (the request log's ``req: N/TOTAL``; -1 for app -1, a
        request no app took, as uWSGI logs it)."""
        if 0 <= app_id < self._apps:
            return self._ints[self._a0 + app_id * A_FIELDS + A_REQUESTS]
        return self._more.get(app_id, 0) if app_id > 0 else -1

    def app_loaded(self, seconds: List[int]) -> None:
        """The whole seconds each app took to load, by app id (``apps[].startup_time``)."""
        for app_id, n in enumerate(seconds[: self._apps]):
            self._ints[self._a0 + app_id * A_FIELDS + A_STARTUP] = n

    @property
    def exceptions(self) -> int:
        return self._ints[self._w + W_EXCEPTIONS]

    def count_exception(self, app_id: int = 0) -> None:
        """An app raised: the worker's ``exceptions`` and app ``app_id``'s."""
        i = self._ints
        i[self._w + W_EXCEPTIONS] += 1
        if 0 <= app_id < self._apps:
            i[self._a0 + app_id * A_FIELDS + A_EXCEPTIONS] += 1

    @property
    def tx(self) -> int:
        return self._ints[self._w + W_TX]

    @tx.setter
    def tx(self, value: int) -> None:
        self._ints[self._w + W_TX] = value

    @property
    def delta_requests(self) -> int:
        return self._ints[self._w + W_DELTA_REQUESTS]

    @property
    def total_requests(self) -> int:
        """Every worker's requests: the log line's ``req: N/TOTAL``, as uWSGI's
        ``workers[0].requests`` (``N`` is this worker's, of its app)."""
        i, board = self._ints, self.board
        return sum(i[board.wbase(w) + W_REQUESTS] for w in range(1, board.workers + 1))

    # per-request hooks -----------------------------------------------------------------

    def begin(self, core_id: int, environ: Dict[str, Any], start: float) -> None:
        """A request entered core ``core_id`` (``start``: ``time.time()``)."""
        if core_id >= self._cores:
            return
        i = self._ints
        c = self._c0 + core_id * C_FIELDS
        i[c + C_REQUEST_START] = int(start * 1_000_000)
        raw = "\0".join([k + "=" + v for k in RECORDED_VARS for v in (environ.get(k),) if v is not None])
        data = raw.encode("latin-1", "replace")[:VARS_BYTES]
        off = self._v0 + core_id * VARS_BYTES
        self._mm[off : off + len(data)] = data
        i[c + C_VARS_LEN] = len(data)
        i[c + C_USER_HARAKIRI] = 0
        i[c + C_IN_REQUEST] = 1

    def set_user_harakiri(self, core_id: int, deadline_us: int) -> None:
        """``uwsgi.set_user_harakiri``: the request in ``core_id`` must end by ``deadline_us``
        (0: no deadline of its own); the master checks it (``policy.harakiri_verdict``)."""
        if core_id < self._cores:
            self._ints[self._c0 + core_id * C_FIELDS + C_USER_HARAKIRI] = deadline_us

    def park(self, core_id: int) -> None:
        """The request in ``core_id`` left it without ending (a websocket waiting for its
        next message holds no core): the core shows idle, no request is counted."""
        if core_id < self._cores:
            c = self._c0 + core_id * C_FIELDS
            self._ints[c + C_IN_REQUEST] = 0
            self._ints[c + C_VARS_LEN] = 0
            self._ints[c + C_USER_HARAKIRI] = 0

    def end(self, core_id: int, start: float, failed: bool = False, offloaded: bool = False,
            routed: bool = False) -> None:
        """The request in ``core_id`` is done (its counters: ``requests``, ``tx`` are
        updated by the server through the attributes above); ``offloaded``: its file went
        to the offload threads (the stats' ``offloaded_requests``); ``routed``: a
        ``--route*`` rule ended it (``routed_requests``)."""
        if core_id >= self._cores:
            return
        i, w = self._ints, self._w
        c = self._c0 + core_id * C_FIELDS
        i[c + C_IN_REQUEST] = 0
        i[c + C_VARS_LEN] = 0
        i[c + C_USER_HARAKIRI] = 0
        i[c + C_REQUESTS] += 1
        if failed:
            i[c + C_EXCEPTIONS] += 1
        if offloaded:
            i[c + C_OFFLOADED] += 1
        if routed:
            i[c + C_ROUTED] += 1
        rt = int((time.time() - start) * 1_000_000)
        i[w + W_RUNNING_TIME] += rt
        i[w + W_AVG_RT] = (i[w + W_AVG_RT] + rt) // 2 if i[w + W_AVG_RT] else rt

    # worker lifecycle ----------------------------------------------------------------

    def set_status(self, status: int) -> None:
        self._ints[self._w + W_STATUS] = status

    def set_accepting(self, flag: bool) -> None:
        self._ints[self._w + W_ACCEPTING] = 1 if flag else 0

    def set_thread_cores(self, cores: Any) -> None:
        """The cores whose request an app thread holds now (``--threads``): the master kills
        the worker for them at their harakiri deadline, without the grace it gives the worker
        to cancel a request suspended on its loop (a thread cannot be cancelled)."""
        self._ints[self._w + W_THREAD_CORES] = sum(1 << core for core in cores if core < THREAD_CORE_BITS)

    @property
    def suspended(self) -> bool:
        """The master paused the instance (:meth:`Scoreboard.set_suspended`)."""
        return bool(self._ints[self._w + W_SUSPENDED])

    def heartbeat(self, rss: int = 0, vsz: int = 0) -> None:
        i, w = self._ints, self._w
        i[w + W_HEARTBEAT] = now_us()
        if rss:
            i[w + W_RSS] = rss
            i[w + W_VSZ] = vsz

    def add(self, field: int, n: int = 1) -> None:
        self._ints[self._w + field] += n


def worker_board(board: Optional[Scoreboard], worker_id: int) -> Optional[WorkerBoard]:
    return WorkerBoard(board, worker_id) if board is not None else None
