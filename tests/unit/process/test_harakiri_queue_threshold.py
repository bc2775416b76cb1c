"""``--harakiri-queue-threshold``: the master's "Skipping harakiri" line, at most once a second
per worker, with a bounded memory of when it last said so (workers come and go)."""

from __future__ import annotations

import logging
import types

from gateway.process import master as master_module
from gateway.process.master import Master


def test_the_skip_line_memory_is_per_worker_not_per_pid(monkeypatch, caplog):
    now = [1000.0]
    monkeypatch.setattr(master_module.time, "monotonic", lambda: now[0])
    fake = types.SimpleNamespace(harakiri_queue_threshold=10, sockets=[], _harakiri_skip_logged={})
    with caplog.at_level(logging.WARNING, "gateway.error"):
        for pid in range(2000, 2500):  # worker 1 respawned (max-requests...) 500 times
            now[0] += 2.0
            assert Master._harakiri_queue_below(fake, types.SimpleNamespace(ident=1, pid=pid)) is True
        assert Master._harakiri_queue_below(fake, types.SimpleNamespace(ident=1, pid=2600)) is True
    assert len(fake._harakiri_skip_logged) == 1  # not one entry per pid ever seen
    assert sum("Skipping harakiri on worker 1" in r.getMessage() for r in caplog.records) == 500  # once a second
