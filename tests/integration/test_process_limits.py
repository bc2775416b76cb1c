"""Process limits and placement: ``--limit-as``, ``--max-fd``, ``--cpu-affinity``,
``--so-keepalive``, ``--max-requests-delta``, ``--reload-on-as``, ``--max-worker-lifetime-delta``,
``--reuse-port``, ``--freebind``."""

from __future__ import annotations

import json
import os
import socket

import pytest

from server import run_server, spawn
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/limits_probe.py", "--tornado", "4", "--greenlet"]


def _probe(port: int) -> dict:
    return json.loads(request(port, "/", timeout=10).body)


def test_defaults_leave_limits_and_sockets_alone():
    with run_server(APP) as srv:
        rep = _probe(srv.port)
    assert rep["keepalive"] == 0 and rep["cpus"] == sorted(os.sched_getaffinity(0))


def test_limits_and_keepalive_reach_the_worker():
    with run_server(APP + ["--limit-as", "8192", "--max-fd", "512", "--so-keepalive", "--master"]) as srv:
        rep = _probe(srv.port)
    assert rep["as"] == 8192 * 1024 * 1024 and rep["nofile"] == 512 and rep["keepalive"] == 1


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to tell workers apart")
def test_cpu_affinity_pins_each_worker_to_its_cpus():
    cpus = sorted(os.sched_getaffinity(0))
    with run_server(APP + ["--master", "--processes", "2", "--cpu-affinity", "1"]) as srv:
        seen = {}
        for _ in range(60):
            rep = _probe(srv.port)
            seen[rep["worker"]] = rep["cpus"]
            if len(seen) == 2:
                break
        out = srv.output()
    assert seen == {1: [cpus[0]], 2: [cpus[1]]}
    assert "set cpu affinity for worker 1 toward cpu %d" % cpus[0] in out


def test_max_requests_delta_and_reload_on_as(tmp_path):
    # uWSGI's spread: worker K after max-requests + (K - 1) * delta, so worker 2 after 3
    with run_server(APP + ["--master", "--processes", "2", "--max-requests", "2", "--max-requests-delta", "1",
                           "--min-worker-lifetime", "0"]) as srv:
        for _ in range(30):  # until both went (which worker takes a request is the kernel's choice)
            _probe(srv.port)
            if "worker 1 reached" in srv.output() and "worker 2 reached" in srv.output():
                break
        srv.wait_for_line(r"^worker 1 reached max-requests \(2\)$", timeout=10)
        srv.wait_for_line(r"^worker 2 reached max-requests \(3\)$", timeout=10)
        srv.wait_for_line(r"^\.\.\.The work of process \d+ is done\. Seeya!$", timeout=10)
    with run_server(APP + ["--master", "--reload-on-as", "1", "--min-worker-lifetime", "0"]) as srv:
        _probe(srv.port)
        srv.wait_for_line(r"worker 1 address space \d+ MB above reload-on-as \(1 MB\)", timeout=10)


def test_an_impossible_limit_is_a_startup_error():
    proc = spawn(APP + ["--http-socket", "127.0.0.1:0", "--max-fd", str(10 ** 9)])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "--max-fd" in err, err


def test_max_worker_lifetime_delta_spreads_the_recycling():
    with run_server(APP + ["--master", "--processes", "2", "--max-worker-lifetime", "1",
                           "--max-worker-lifetime-delta", "2", "--min-worker-lifetime", "0"]) as srv:
        line = srv.wait_for_line(r"worker 2 lifetime reached, it was running for \d+ second", timeout=15)
    # worker 2: past 1 + (2 - 1) * 2 whole seconds, as uWSGI (without the delta it would go after 2)
    assert int(line.rsplit("running for ", 1)[1].split()[0]) >= 4, line


def _port_taken_by(srv_port: int, reuse_port: bool) -> bool:
    """Can another socket bind the server's port (with SO_REUSEPORT when ``reuse_port``)?"""
    s = socket.socket()
    try:
        if reuse_port:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", srv_port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_reuse_port_lets_another_instance_bind_the_port():
    with run_server(APP + ["--reuse-port"]) as srv:
        assert _port_taken_by(srv.port, reuse_port=True)
        assert _probe(srv.port)["worker"] == 1
    with run_server(APP) as srv:
        assert not _port_taken_by(srv.port, reuse_port=True)


def test_freebind_binds_an_address_this_host_does_not_have():
    # 192.0.2.1 is TEST-NET-1: never configured here
    proc = spawn(APP + ["--http-socket", "192.0.2.1:0"])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "cannot bind 192.0.2.1:0" in err, err
    with run_server(APP + ["--http-socket", "192.0.2.1:0", "--http-socket", "127.0.0.1:0", "--freebind"]) as srv:
        line = srv.wait_for_line(r"gateway ready: ")
        assert "http-socket=192.0.2.1:" in line
