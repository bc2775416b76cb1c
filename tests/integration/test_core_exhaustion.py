"""All cores busy in a real worker process: no busy-spin, no dropped connection, one log line.

uWSGI's tornado engine spins at ~100 % CPU here (reference/uwsgi.md §3.3): it leaves the
listening socket readable in the loop.  We remove it from the loop instead.
"""

from __future__ import annotations

import os
import threading
import time

from server import run_server
from support.httpclient import request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def test_exhausted_cores_do_not_spin_and_every_request_is_served():
    with run_server(["--wsgi-file", "tests/apps/park.py", "--tornado", "2", "--greenlet", "-L"]) as srv:
        results = []

        def one():
            results.append(request(srv.port, "/?s=1", timeout=15))

        request(srv.port, "/?s=0")  # warm up imports before measuring
        before = cpu_seconds(srv.pid)
        t0 = time.time()
        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        elapsed = time.time() - t0
        used = cpu_seconds(srv.pid) - before
        assert len(results) == 6 and all(r.status == 200 for r in results)
        assert 2.5 < elapsed < 8, "6 requests of 1 s on 2 cores take 3 waves"
        # A spinning loop would burn ~elapsed seconds of CPU; parked cores burn next to none.
        assert used < 0.5, "worker used %.2fs CPU while its cores were parked" % used
        busy_lines = [line for line in srv.lines if "async cores are busy" in line]
        assert len(busy_lines) == 1, srv.output()
