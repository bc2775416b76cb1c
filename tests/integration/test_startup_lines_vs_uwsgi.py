"""The lines both servers print as they start, against real uWSGI 2.0.31, line for line.

Six typical configurations (one ``--http-socket`` process; ``--master --processes 2 --threads
2``; a UNIX ``--socket``; ``--tornado 100 --greenlet``; ``--chdir``, ``--pythonpath`` and the
pidfiles; a ``--shared-socket``) are started by both servers with the
same options, each logging to its own file, and their lines up to the last ``spawned uWSGI
worker`` are compared once every number is ``N`` (:func:`support.peer_pair.comparable`).  Left
out on each side: uWSGI's lines about its build (``gateway/startup_lines.py`` says which), the
root warnings (uWSGI repeats them at each step), and gateway's own lines (its loop engine's,
its readiness line).
"""

from __future__ import annotations

import os
import re
from typing import List

import pytest

from support.peer_pair import SERVERS, comparable
from support.peer_pair import read_log as _read
from support.peer_pair import start_server as _start
from support.peer_pair import stop_server as _stop
from support.router import free_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hi"]
"""

#: uWSGI's lines about its build, and both servers' root warnings
UWSGI_ONLY = ("compiled with version: ", "clock source: ", "pcre jit ", "detected binary path: ", "lock engine: ",
              "mapped ", "*** uWSGI is running in multiple interpreter mode ***", "uWSGI running as root",
              "*** WARNING: you are running uWSGI as root", "*** running tornado loop engine")
GATEWAY_ONLY = ("*** WARNING: you are running gateway as root", "*** running tornado loop engine", "gateway ready: ")


def _startup(text: str, tmp: str, server: str, workers: int) -> List[str]:
    """The comparable startup lines of a log, up to its ``workers``-th spawned worker."""
    lines: List[str] = []
    spawned = 0
    for line in text.replace(os.path.join(tmp, server), "TMP/SERVER").replace(tmp, "TMP").splitlines():
        if line.startswith(UWSGI_ONLY if server == "uwsgi" else GATEWAY_ONLY):
            continue
        line = re.sub(r"^\*\*\* Starting (uWSGI|gateway) \S+ ", "*** Starting SERVER VERSION ", line)
        line = re.sub(r"^Python version: .*", "Python version: VERSION", line)
        lines.append(comparable(re.sub(r"0x[0-9a-f]+", "0xADDRESS", line)))
        if "spawned uWSGI worker" in line:
            spawned += 1
            if spawned == workers:
                break
    return lines


def _both(tmp: str, options: List[str], workers: int) -> dict:
    for directory in (tmp, os.path.join(tmp, "sub")):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "app.py"), "w") as f:
            f.write(APP)
    printed = {}
    for server in SERVERS:
        log = os.path.join(tmp, server + ".log")
        port = str(free_port())
        proc = _start(server, [o.replace("{server}", server).replace("{port}", port) for o in options]
                      + ["--wsgi-file", "app.py", "--logto", log], cwd=tmp)
        try:
            wait_until(lambda log=log: _read(log).count("spawned uWSGI worker") >= workers, timeout=30,
                       what="%s's workers" % server)
        finally:
            _stop(server, proc)
        printed[server] = _startup(_read(log), tmp, server, workers)
    return printed


@pytest.mark.parametrize("options, workers, mode", [
    (["--http-socket", "127.0.0.1:{port}"], 1, "single process"),
    (["--http-socket", "127.0.0.1:{port}", "--master", "--processes", "2", "--threads", "2"], 2,
     "preforking+threaded"),
    (["--socket", "{tmp}/{server}.sock"], 1, "single process"),
    (["--http-socket", "127.0.0.1:{port}", "--tornado", "100", "--greenlet"], 1, "async"),
    (["--http-socket", ":{port}", "--chdir", "{tmp}/sub", "--pythonpath", "{tmp}", "--pidfile", "{tmp}/{server}.pid",
      "--pidfile2", "{tmp}/{server}-2.pid"], 1, "single process"),
    (["--shared-socket", "127.0.0.1:{port}", "--http-socket", "=0"], 1, "single process"),
], ids=["http-socket", "master-threads", "unix-socket", "tornado-greenlet", "chdir-pythonpath-pidfiles",
        "shared-socket"])
def test_the_startup_lines_are_uwsgis(tmp_path, options, workers, mode):
    tmp = str(tmp_path)
    options = [o.replace("{tmp}", tmp) for o in options]
    printed = _both(tmp, options, workers)
    assert printed["gateway"] == printed["uwsgi"], "\n".join(
        "%-70s | %s" % pair for pair in zip(printed["uwsgi"], printed["gateway"]))
    lines = printed["gateway"]
    assert lines[0].startswith("*** Starting SERVER VERSION (Nbit) on [")
    assert "*** Operational MODE: %s ***" % mode in lines
    assert ("*** WARNING: you are running uWSGI without its master process manager ***" in lines) == (workers == 1)
    assert any(line.startswith(("uwsgi socket N bound to ", "uwsgi socket N mapped to shared socket N"))
               for line in lines)
