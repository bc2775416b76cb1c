"""The shared signal table (gateway.usignals.table) as other processes see it."""

from __future__ import annotations

import time

from gateway.usignals.table import SignalTable
from support.writer_process import writer_process


def test_the_master_never_reads_a_registration_blank_while_a_worker_registers_again():
    # the master routes a signal by its target and mask, read without the lock; a respawned
    # worker registering the same handler again must not blank them meanwhile (struct.pack_into
    # zeroed the whole entry first: the master saw no target and routed to one worker)
    table = SignalTable(4)
    table.register(17, "workers", 1)
    bad = seen = 0

    def register_again():
        table.register(17, "workers", 2)
        table.forget_worker(2)

    try:
        with writer_process(register_again, table.after_fork):
            deadline = time.monotonic() + 10
            while seen < 300_000 and time.monotonic() < deadline:
                for _ in range(1000):
                    target, wids = table.target(17)
                    if target != "workers" or 1 not in wids:
                        bad += 1
                seen += 1000
    finally:
        table.close()
    assert seen >= 10_000 and bad == 0, "%d of %d reads saw %r" % (bad, seen, "a blank entry")
