"""The ``--mule=`` script of ``tests/apps/mulemetric_probe.py``: records ``script MULE START`` in
``$MM_LOG`` (its start count, kept in sharedarea 0 at 4008), waits without taking messages until
the word at 4000 reaches that count (``GET /poke?pos=4000&value=N``), then returns: the mule
ends and the master respawns it (the log lines are compared)."""

import os
import time

import uwsgi

uwsgi.sharedarea_inc64(0, 4008)
START = uwsgi.sharedarea_read64(0, 4008)
fd = os.open(os.environ.get("MM_LOG", "/dev/null"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, ("script %d %d\n" % (uwsgi.mule_id(), START)).encode())
os.close(fd)
while uwsgi.sharedarea_read64(0, 4000) < START:
    time.sleep(0.05)
