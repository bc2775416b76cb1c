"""Memory shared by the master and every worker: caches, user locks, metrics.

Everything here is created by the master (or the single worker, without ``--master``)
**before** the first fork, as ``MAP_SHARED`` mappings of one anonymous file
(``memfd``), so every worker forked later sees the same bytes.  Cross-process mutual
exclusion uses POSIX record locks (``fcntl``) on bytes of that file: the kernel
releases them when their holder dies, so a worker killed inside a critical section
never leaves a lock behind (what it leaves behind is repaired: see
:mod:`gateway.sharedmem.journal`).

Modules: :mod:`.region` (the file, the mapping and the lock bytes), :mod:`.journal`
(undo journal for writers killed mid-write), :mod:`.cache` (uWSGI caches),
:mod:`.locks` (``uwsgi.lock()``), :mod:`.metrics` (``uwsgi.metric_*``).
"""
