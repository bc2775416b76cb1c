"""``process_memory()`` (``uwsgi.mem()``, ``--reload-on-rss``, ``--memory-report``) keeps
``/proc/self/statm`` open; a forked child must read its own, not its parent's."""

from __future__ import annotations

import os

from gateway import uwsgi_module
from gateway.logformat import process_memory


def test_a_forked_child_reads_its_own_memory_and_the_parent_its_own():
    before = process_memory()
    assert before[0] > 0 and before[1] >= before[0]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: grow by 64 MiB, say what it sees
        try:
            grown = bytearray(64 << 20)
            os.write(w, b"%d" % (process_memory()[0] - before[0] + 0 * len(grown)))
        finally:
            os._exit(0)
    os.close(w)
    child_growth = int(os.read(r, 64))
    os.close(r)
    os.waitpid(pid, 0)
    assert child_growth > 48 << 20
    assert process_memory()[0] - before[0] < 16 << 20  # the parent did not grow
    assert uwsgi_module.mem() == process_memory() or abs(uwsgi_module.mem()[0] - process_memory()[0]) < 1 << 20
