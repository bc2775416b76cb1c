"""Exit hooks: ``uwsgi.atexit`` and Python's :mod:`atexit` run in every worker at a graceful stop,
as uWSGI's ``Py_Finalize`` runs them; ``--skip-atexit`` keeps the workers from running the latter."""

from __future__ import annotations

import pytest

from server import run_server
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/atexit_probe.py", "--tornado", "4", "--greenlet", "--master", "--processes", "2"]


def _worker_pids(srv) -> set:
    pids = set()
    for _ in range(200):
        pids.add(int(request(srv.port, "/", timeout=10).body))
        if len(pids) == 2:
            return pids
    raise AssertionError("only saw workers %s" % pids)


def _records(path) -> list:
    return [tuple(line.split(" pid=")) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("skip", [False, True], ids=["default", "skip-atexit"])
def test_every_worker_runs_the_exit_hooks(tmp_path, skip):
    log = tmp_path / "atexit.log"
    with run_server(APP + (["--skip-atexit"] if skip else []), env={"ATEXIT_LOG": str(log)}) as srv:
        workers = _worker_pids(srv)
        master = srv.pid
    records = _records(log)
    ran = {(kind, int(pid)) for kind, pid in records}
    assert len(records) == len(ran), records  # each hook once per process
    assert {("uwsgi.atexit", pid) for pid in workers} <= ran
    python_hooks = {pid for kind, pid in ran if kind == "atexit"}
    assert master in python_hooks  # the master's interpreter exits normally
    if skip:
        assert python_hooks == {master}
    else:
        assert python_hooks == workers | {master}
