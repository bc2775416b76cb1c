"""``--threads M``: the WSGI app runs in one of M OS threads; the loop keeps all the I/O.

What a request looks like with threads: the connection parses the request on the
loop and runs it in an async core, as always; the core calls :class:`ThreadedApp`
instead of the app.  That hands the app call to a thread of the worker's pool and
suspends the core (not the loop) until the thread has something for it.  Everything
that touches a socket still happens in the core, on the loop's thread:

* ``start_response`` is validated in the thread (so errors raise inside the app) —
  it only records the status and headers (with ``--start-response-nodelay`` it also asks
  the core to send the head at once);
* ``write(data)`` and every chunk of the app's iterable travel to the core, which
  writes them with the usual back-pressure; the thread runs ahead of a slow client by
  at most :data:`MAX_INFLIGHT` bytes, then waits (no round trip per chunk);
* ``wsgi.input`` reads are requests to the core, which reads from the connection and
  answers; so are the websocket calls (``environ[CORE_CALL]``): the core does the
  handshake and waits for messages (parked, holding no core), the thread waits for the
  answer, as a uWSGI thread blocks in ``websocket_recv()``;
* ``return [body]`` is handed over whole, so the response keeps its exact
  Content-Length; a generator is iterated, and closed, in the thread (when the thread
  has already sent all of it by the time the core wakes, as for a typical Flask or
  Django response, the runner gets it as a list: one write, no ``schedule_fix``);
* with ``--offload-threads``, a ``wsgi.file_wrapper`` is handed over whole too: the
  runner gives its file to the offload threads and both the thread and the core are
  free at once (without, the thread reads the file and the core sends it).

Messages from the thread go into the request's inbox (a deque: appends are atomic) and
reach the loop through ``call_soon_threadsafe`` — one wake-up per burst, not per
message: while a wake-up is pending, the thread's next messages ride on it (a Flask
response is ``iter``, its chunk and ``end`` in a row: one wake-up instead of three).
The thread waits on a lock.  A blocking app (a ``time.sleep``, a blocking driver) thus
blocks one thread, never the loop nor the other requests of the worker.

A request whose thread is stuck cannot be cancelled (Python cannot stop a thread):
``--harakiri`` then recycles the worker (the master sees the core still busy after
its deadline).  Inside the app, ``loop_engine.wait()`` raises ``NotInCore`` (it needs
a core); use ``asyncio.run_coroutine_threadsafe(coro, loop).result()`` instead.
"""

from __future__ import annotations

import collections
import queue
import sys
import threading
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Set, Tuple

from gateway.server.current_request import set_thread_environ
from gateway.server.wsgi_call import FileWrapper, close_iterable, note_file_body
from loop_engine import Waiter, current_core

_ASKS = ("input", "call")

#: environ key: ``(start_response, write)`` of the app's thread, for the ``uwsgi`` calls that answer
THREAD_RESPOND = "gateway.thread_respond"
#: environ key: ``call(func, *args)``, from the app's thread: ``func(*args)`` run in the request's
#: core (which may suspend), its result or exception handed back; the websocket calls use it
CORE_CALL = "gateway.core_call"


#: Body bytes a thread may produce ahead of what its core has written.
MAX_INFLIGHT = 256 * 1024


class RequestGone(OSError):
    """Raised in the app's thread when its request is over (client gone, harakiri)."""


class _Bridge:
    """One request's hand-off between its core (on the loop) and its thread."""

    __slots__ = ("loop", "inbox", "waiter", "reply", "reply_lock", "stop", "inflight", "room", "wake_lock",
                 "wake_pending")

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.inbox: Deque[Tuple[str, Any]] = collections.deque()
        #: True while a ``_wake`` is scheduled on the loop and has not started yet.
        self.wake_pending = False
        self.wake_lock = lock = threading.Lock()
        self.waiter: Optional[Waiter] = None
        self.reply: Any = None
        #: Held while the thread waits for an answer; made by the first ``ask`` (most
        #: requests never read their body through the core).
        self.reply_lock: Optional[Any] = None
        self.stop = False
        #: Body bytes handed to the core and not written yet; the thread waits on ``room``
        #: above MAX_INFLIGHT (back-pressure without a round trip per chunk).
        self.inflight = 0
        self.room = threading.Condition(lock)

    # -- thread side ------------------------------------------------------------------

    def post(self, kind: str, value: Any) -> None:
        """From the thread: give the core a message (no wait)."""
        with self.wake_lock:
            self.inbox.append((kind, value))
            if self.wake_pending:
                return  # the scheduled wake-up will find it
            self.wake_pending = True
        self.loop.call_soon_threadsafe(self._wake)

    def ask(self, kind: str, value: Any) -> Any:
        """From the thread: give the core a message and wait for its answer."""
        if self.stop:
            raise RequestGone("the request is over")
        if self.reply_lock is None:
            self.reply_lock = threading.Lock()
            self.reply_lock.acquire()
        self.post(kind, value)
        self.reply_lock.acquire()
        reply, self.reply = self.reply, None
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def post_write(self, data: bytes) -> None:
        """From the thread: the app's ``write(data)``, done by the core in order."""
        self.send_body(data, "write")

    def send_body(self, data: bytes, kind: str = "chunk") -> None:
        """From the thread: hand body bytes to the core; wait only while too many are in flight."""
        if self.stop:
            raise RequestGone("the request is over")
        room = self.room
        with room:
            self.inflight += len(data)
            over = self.inflight > MAX_INFLIGHT
        self.post(kind, data)
        if over:
            with room:
                while self.inflight > MAX_INFLIGHT and not self.stop:
                    room.wait()
            if self.stop:
                raise RequestGone("the request is over")

    # -- loop side -----------------------------------------------------------------------

    def written(self, n: int) -> None:
        """In the core: ``n`` body bytes went to the sink."""
        room = self.room
        with room:
            self.inflight -= n
            room.notify()

    def _wake(self) -> None:
        """On the loop: messages arrived; resume the core if it waits for them."""
        with self.wake_lock:
            self.wake_pending = False
        if self.stop:  # the core is gone: asks get their error, the rest is dropped
            self._drop_inbox()
            return
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.fire()

    def answer(self, value: Any) -> None:
        self.reply = value
        assert self.reply_lock is not None  # made by the ask being answered
        self.reply_lock.release()

    def close(self) -> None:
        """The core is done with this request: release a thread waiting for an answer."""
        self.stop = True
        with self.room:
            self.room.notify_all()
        self._drop_inbox()

    def finished_body(self) -> Optional[List[bytes]]:
        """In the core: the whole body, if the thread already iterated all of it (only
        chunks then ``end`` wait in the inbox), else None and nothing taken.

        A Flask or Django response is an iterable of one chunk: by the time the core
        wakes the thread has usually sent it and ``end``, so the runner gets a list (one
        write, no ``schedule_fix`` turn) instead of relaying a finished stream.
        """
        with self.wake_lock:
            entries: List[Tuple[str, Any]] = list(self.inbox)
            if not entries or entries[-1][0] != "end" or any(kind != "chunk" for kind, _ in entries[:-1]):
                return None
            self.inbox.clear()
        return [value for _, value in entries[:-1]]

    def _drop_inbox(self) -> None:
        while self.inbox:
            kind, _ = self.inbox.popleft()
            if kind in _ASKS:
                self.answer(RequestGone("the request is over"))

    def next_message(self) -> Tuple[str, Any]:
        """In the core: the thread's next message, suspending the core until one comes."""
        while not self.inbox:
            self.waiter = Waiter()
            self.waiter.wait()
        return self.inbox.popleft()


class _ThreadInput:
    """``wsgi.input`` as the thread sees it: each read is done by the core."""

    def __init__(self, bridge: _Bridge, real: Any) -> None:
        self._bridge = bridge
        self._real = real

    def read(self, size: Optional[int] = -1) -> bytes:
        return self._bridge.ask("input", ("read", (size,)))

    def readline(self, size: Optional[int] = -1) -> bytes:
        return self._bridge.ask("input", ("readline", (size,)))

    def readlines(self, hint: Optional[int] = -1) -> List[bytes]:
        return self._bridge.ask("input", ("readlines", (hint,)))

    def read_chunk(self, stall: Optional[float], nb: bool = False, limit: int = 0) -> Optional[bytes]:
        """``uwsgi.chunked_read()``'s read (:meth:`gateway.server.wsgi_input.WSGIInput.read_chunk`)."""
        return self._bridge.ask("input", ("read_chunk", (stall, nb, limit)))

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class _ThreadPool:
    """``threads`` daemon threads taking calls from one ``SimpleQueue`` (a C queue: no
    future, work item or condition per call, as ``ThreadPoolExecutor`` makes).  The
    calls catch their own errors; a daemon thread stuck in the app never holds the
    worker's exit."""

    def __init__(self, threads: int, name: str) -> None:
        self._queue: "queue.SimpleQueue[Optional[Tuple[Callable[..., None], Tuple[Any, ...]]]]" = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve, name="%s_%d" % (name, i), daemon=True)
                         for i in range(threads)]
        for t in self._threads:
            t.start()

    def submit(self, func: Callable[..., None], *args: Any) -> None:
        self._queue.put((func, args))

    def shutdown(self) -> None:
        """Each thread ends once the calls queued before this one have run."""
        for _ in self._threads:
            self._queue.put(None)

    def _serve(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is None:
                return
            func, args = item
            func(*args)


class ThreadedApp:
    """Wrap ``app`` so that each call runs in one of ``threads`` OS threads.

    ``ThreadedApp(app, 4)(environ, start_response)`` must be called in an async core
    (the shared WSGI runner does); :attr:`busy_cores` are the cores whose request is
    running in a thread (harakiri cannot cancel those).
    """

    def __init__(self, app: Callable, threads: int, offload: bool = False, nodelay: bool = False) -> None:
        self.app = app
        self.threads = threads
        #: --offload-threads: hand file wrappers to the runner (see the module docstring)
        self.offload = offload
        #: --start-response-nodelay: the thread's start_response asks the core to send the head
        self.nodelay = nodelay
        self.pool = _ThreadPool(threads, "wsgi")
        self.busy_cores: Set[int] = set()

    def shutdown(self) -> None:
        self.pool.shutdown()

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Any:
        core = current_core()
        if core is None:  # not in a core (tests calling the app directly): just call it
            return self.app(environ, start_response)
        bridge = _Bridge(core.engine.asyncio_loop)
        real_input = environ.get("wsgi.input")
        environ["wsgi.input"] = _ThreadInput(bridge, real_input)
        real_write: List[Callable[[bytes], None]] = []

        nodelay = self.nodelay

        def thread_start_response(status: str, headers: List, exc_info: Any = None) -> Callable:
            real_write[:] = [start_response(status, headers, exc_info)]
            if nodelay:
                bridge.post("head", None)
            return thread_write

        def thread_write(data: bytes) -> None:
            bridge.post_write(data)

        # what uwsgi.sendfile()/route() write through from the thread (never the response itself)
        environ[THREAD_RESPOND] = (thread_start_response, thread_write)
        environ[CORE_CALL] = lambda func, *args: bridge.ask("call", (func, args))

        self.busy_cores.add(core.id)
        self.pool.submit(self._run, bridge, environ, thread_start_response)
        handed_over = False
        try:
            while True:
                kind, value = bridge.next_message()
                if kind == "list":
                    return value
                if kind == "iter":
                    whole = bridge.finished_body()
                    if whole is not None:  # the thread is done: the runner gets a list
                        return whole
                    handed_over = True
                    return self._relay(bridge, core.id, real_input, real_write)
                if kind == "error":
                    raise value[1].with_traceback(value[2])
                self._serve(bridge, kind, value, real_input, real_write)
        finally:
            if not handed_over:
                bridge.close()
                self.busy_cores.discard(core.id)

    @staticmethod
    def _serve(bridge: _Bridge, kind: str, value: Any, real_input: Any, real_write: List[Callable]) -> None:
        """Do, in the core, what the thread asked for (and answer it, for reads)."""
        if kind == "write":  # no answer: a failed write ends the request (the runner sees it)
            real_write[0](value)
            bridge.written(len(value))
            return
        if kind == "head":  # --start-response-nodelay: the head, now (a failure ends the request)
            flush = getattr(real_write[0], "__self__", None) if real_write else None
            if flush is not None and hasattr(flush, "flush_head"):
                flush.flush_head()
            return
        try:
            if kind == "call":  # CORE_CALL
                func, args = value
                result = func(*args)
            else:
                method, args = value
                result = getattr(real_input, method)(*args)
        except BaseException as e:  # handed to the thread, raised there, inside the app
            bridge.answer(e)
            return
        bridge.answer(result)

    def _relay(self, bridge: _Bridge, core_id: int, real_input: Any, real_write: List[Callable]) -> Iterator[bytes]:
        """The iterable the runner sees: chunks produced by the app in its thread."""
        try:
            while True:
                kind, value = bridge.next_message()
                if kind == "chunk":
                    yield value
                    bridge.written(len(value))
                elif kind == "end":
                    return
                elif kind == "error":
                    raise value[1].with_traceback(value[2])
                else:
                    self._serve(bridge, kind, value, real_input, real_write)
        finally:
            bridge.close()
            self.busy_cores.discard(core_id)

    # -- in the thread ---------------------------------------------------------------------

    def _run(self, bridge: _Bridge, environ: Dict[str, Any], start_response: Callable) -> None:
        result = None
        set_thread_environ(environ)  # uwsgi.set_logvar() & co. in the app's thread
        try:
            result = self.app(environ, start_response)
            response = environ.get("gateway.response")
            if type(result) is FileWrapper and response is not None:  # (the core waits for our next message)
                note_file_body(response, result)
            if type(result) is list or (self.offload and type(result) is FileWrapper):
                bridge.post("list", result)
                result = None  # the runner closes what it got (nothing for a list)
                return
            bridge.post("iter", None)
            for chunk in result:
                if bridge.stop:
                    break
                bridge.send_body(chunk)
            bridge.post("end", None)
        except BaseException:
            bridge.post("error", sys.exc_info())
        finally:
            close_iterable(result)  # in the thread, where the app iterated it
            set_thread_environ(None)
