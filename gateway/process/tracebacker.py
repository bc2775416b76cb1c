"""``--py-tracebacker PATH``: what every thread and every async core of a worker is doing.

Each worker listens on the UNIX socket ``PATH<worker id>`` (``/tmp/tb1``, ``/tmp/tb2``...)
from a thread of its own, so it answers even while the worker's loop is stuck in Python
code; anyone who connects gets one report and the connection closes::

    gateway --connect-and-read /tmp/tb1        (or: uwsgi --connect-and-read /tmp/tb1)

The report is uWSGI's: a header line, then one line per stack frame, outermost first::

    *** uWSGI Python tracebacker output ***

    thread_id = MainThread filename = app.py lineno = 12 function = application line = time.sleep(5)

uWSGI shows threads only, which under the loop engine says little: every async core is a
greenlet of the main thread.  So after the threads come the greenlets of the requests in
flight, named ``core N`` (holding core N) or ``parked`` (waiting in
``loop_engine.wait_parked``, holding no core), in the same line format.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import threading
import traceback
from types import FrameType
from typing import Iterable, List, Optional, Tuple

from gateway.logs import gen_log

__all__ = ["HEADER", "render", "request_greenlets", "Tracebacker"]

HEADER = b"*** uWSGI Python tracebacker output ***\n\n"


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")


def render(stacks: Iterable[Tuple[str, FrameType]]) -> bytes:
    """The report for ``(name, innermost frame)`` pairs, in uWSGI's line format."""
    out: List[str] = []
    for name, frame in stacks:
        for item in traceback.extract_stack(frame):
            line = "thread_id = %s filename = %s lineno = %d function = %s" % (
                _ascii(name), _ascii(item.filename), item.lineno or 0, _ascii(item.name))
            if item.line:
                line += " line = " + _ascii(item.line)
            out.append(line + "\n")
    return HEADER + "".join(out).encode("ascii")


def thread_stacks() -> List[Tuple[str, FrameType]]:
    """Every thread's current frame, named as :mod:`threading` names it."""
    names = {t.ident: t.name for t in threading.enumerate()}
    return [(names.get(ident, "<UnnamedPythonThread>"), frame) for ident, frame in sys._current_frames().items()]


def request_greenlets() -> List[Tuple[str, FrameType]]:
    """The suspended greenlets of requests in flight (``core N`` or ``parked``), by core id."""
    try:
        from loop_engine.cores import CoreGreenlet
    except ImportError:  # pragma: no cover - the engine is part of gateway
        return []
    found: List[Tuple[int, str, FrameType]] = []
    for obj in gc.get_objects():
        if isinstance(obj, CoreGreenlet) and obj.busy and obj.gr_frame is not None:
            core = obj.core
            holds = core is not None and core.greenlet is obj and core.in_request
            found.append((core.id if holds else 1 << 30, "core %d" % core.id if holds else "parked", obj.gr_frame))
    found.sort(key=lambda item: item[0])
    return [(name, frame) for _, name, frame in found]


class Tracebacker:
    """The listening thread of one worker (see the module docstring)."""

    def __init__(self, prefix: str, worker_id: int) -> None:
        self.worker_id = worker_id
        self.path = "%s%d" % (prefix, worker_id)
        self._sock: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None
        #: (st_dev, st_ino) of the socket file bound here: stop() removes only that file
        self._bound: Optional[Tuple[int, int]] = None

    def start(self) -> None:
        """Bind ``PATH<id>`` (replacing a stale socket file) and start answering; OSError
        when the socket cannot be bound."""
        try:
            if os.path.exists(self.path) and not os.path.isdir(self.path):
                os.unlink(self.path)
        except OSError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self.path)
            sock.listen(8)
            st = os.stat(self.path)
        except OSError:
            sock.close()
            raise
        self._bound = (st.st_dev, st.st_ino)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="uWSGITraceBacker", daemon=True)
        self._thread.start()
        gen_log.info("python tracebacker for worker %d available on %s", self.worker_id, self.path)

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # closed by stop()
            try:
                conn.settimeout(5.0)
                conn.sendall(render(thread_stacks() + request_greenlets()))
            except Exception:  # a reader that went away, a frame that vanished: next one
                pass
            finally:
                conn.close()

    def stop(self) -> None:
        """Close the socket and remove its file, unless the path is now another socket: after
        a graceful reload the successor of this worker (same id) binds the same path while
        this one still finishes its requests, and its file must outlive this one."""
        sock, self._sock = self._sock, None
        bound, self._bound = self._bound, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            try:
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == bound:
                    os.unlink(self.path)
            except OSError:
                pass

