"""SIGUSR1 (and the master FIFO's ``s``): uWSGI's short statistics, written to the log.

uWSGI's master answers SIGUSR1 with the instance's configuration (the ``--show-config`` ini)
followed by the request counters of every worker's app, whether or not a ``--stats`` server
runs; operators send it to see at a glance what an instance runs and how busy its workers
are::

    ;uWSGI instance configuration
    [uwsgi]
    ...
    ;end of configuration

    \tworkers total requests: 12
    -----------------
    \tworker 1 app 0 [] requests: 4 exceptions: 0
    -----------------

The full JSON document stays on the ``--stats`` server.
"""

from __future__ import annotations

from typing import Any, Iterable, Tuple

RULE = "-----------------"


def stats_text(config: Any, workers: Iterable[Tuple[int, int, int]]) -> str:
    """The SIGUSR1 text: ``config``'s ini, then ``(worker id, requests, exceptions)`` of each
    worker (its one app, mount point ``[]``), in uWSGI's layout (a blank line at the end)."""
    from gateway.commands import format_config

    rows = list(workers)
    lines = [format_config(config).rstrip("\n"), ""]
    lines.append("\tworkers total requests: %d" % sum(requests for _, requests, _ in rows))
    lines.append(RULE)
    for wid, requests, exceptions in rows:
        lines.append("\tworker %d app 0 [] requests: %d exceptions: %d" % (wid, requests, exceptions))
        lines.append(RULE)
    lines.append("")
    return "\n".join(lines)
