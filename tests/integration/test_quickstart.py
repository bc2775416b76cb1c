"""uWSGI's Python quickstart, command by command, with ``uwsgi`` replaced by ``gateway``.

Every command and ini file of ``../shared/reference/quickstart-commands.md`` is started as the
real CLI (a subprocess, ready line awaited), gets one real request — through a real nginx
``uwsgi_pass`` for the ``--socket`` ones, over TLS for ``--https`` — and is stopped by pid. The
only changes to the commands: 127.0.0.1 and free ports instead of the fixed ones, the quickstart's
files made here (``foobar.py``, ``myflaskapp.py``, a web2py-like ``wsgihandler`` module, a cert
made by the ``openssl`` binary) and ``tests/apps/djangoproj`` as the Django project.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from peers import require, require_module
from server import ROOT, gateway_command, run_server
from support.nginx import Nginx
from support.router import RouterProcess, free_port, make_self_signed, run_router
from support.stats import fetch_stats

pytestmark = pytest.mark.timeout(60)

FOOBAR = """\
def application(env, start_response):
    start_response('200 OK', [('Content-Type', 'text/html')])
    return [b"Hello World"]
"""

MYFLASKAPP = """\
from flask import Flask

app = Flask(__name__)


@app.route('/')
def index():
    return "<span style='color:red'>I am app 1</span>"
"""

# web2py's entry module, reduced to what the quickstart needs from it: a WSGI ``application``.
WSGIHANDLER = """\
import os


def application(env, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b"web2py uid=%d scheme=%s" % (os.getuid(), env['wsgi.url_scheme'].encode())]
"""

# The quickstart's extras: an app-started thread (--enable-threads) and a static file (--offload-threads).
STATIC = """\
import os
import threading


def application(env, start_response):
    if env['PATH_INFO'] == '/thread':  # a thread the app starts in the worker runs
        ran = []
        t = threading.Thread(target=lambda: ran.append(os.getpid()))
        t.start()
        t.join(5)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b"thread ran" if ran == [os.getpid()] else b"no thread"]
    start_response('200 OK', [('Content-Type', 'application/x-pem-file')])
    return env['wsgi.file_wrapper'](open(os.path.join(os.path.dirname(__file__), 'foobar.crt'), 'rb'), 4096)
"""

DJANGO_PROJECT = os.path.join(ROOT, "tests", "apps")  # /home/foobar/myproject/ of the quickstart
STATS = "--stats"


@pytest.fixture(scope="module")
def site():
    """The quickstart's files in a directory that ``nobody`` can read too (the root ini drops to it)."""
    path = tempfile.mkdtemp(prefix="gateway-quickstart-")
    os.chmod(path, 0o755)
    for name, text in (("foobar.py", FOOBAR), ("myflaskapp.py", MYFLASKAPP), ("wsgihandler.py", WSGIHANDLER),
                       ("static.py", STATIC)):
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
    cert, key = make_self_signed(path, require("openssl"))
    os.rename(cert, os.path.join(path, "foobar.crt"))
    os.rename(key, os.path.join(path, "foobar.key"))
    for name in os.listdir(path):
        os.chmod(os.path.join(path, name), 0o644)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# -- clients ----------------------------------------------------------------------------------------

def get(port: int, path: str = "/", tls_ca: str = "") -> tuple:
    if tls_ca:
        ctx = ssl.create_default_context(cafile=tls_ca)
        conn: http.client.HTTPConnection = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def stats(address: str) -> dict:
    """What ``telnet 127.0.0.1 9191`` shows: the stats server's JSON document."""
    host, port = address.rsplit(":", 1)
    return fetch_stats(int(port), host)


def stats_address(srv) -> str:
    m = re.search(r"gateway ready: pid=\d+ .*stats=(\S+)", srv.output())
    assert m, srv.output()
    return m.group(1)


def assert_served_by_workers(address: str, processes: int, threads: int, requests: int) -> dict:
    """The stats of ``address`` show the workers and cores asked for, and ``requests`` answered.

    A worker counts a request when it has finished it, just after the client read the response:
    the count is polled, bounded.
    """
    deadline = time.monotonic() + 5
    while True:
        doc = stats(address)
        workers = doc["workers"]
        assert len(workers) == processes, doc
        assert all(len(w["cores"]) == threads for w in workers), workers
        if sum(w["requests"] for w in workers) >= requests:
            return doc
        assert time.monotonic() < deadline, workers
        time.sleep(0.05)


# -- the HTTP router -----------------------------------------------------------------------------------

def test_http_router_foobar(site):
    # uwsgi --http :9090 --wsgi-file foobar.py
    port = free_port()
    with run_router(["--http", ":%d" % port, "--wsgi-file", "foobar.py"], cwd=site) as r:
        assert r.port == port
        assert get(port) == (200, b"Hello World")


def test_http_router_with_master_processes_threads(site):
    # uwsgi --http :9090 --wsgi-file foobar.py --master --processes 4 --threads 2
    port = free_port()
    with run_router(["--http", ":%d" % port, "--wsgi-file", "foobar.py", "--master", "--processes", "4",
                     "--threads", "2"], cwd=site) as r:
        assert get(port) == (200, b"Hello World")
        r.wait_for_line(r"gateway ready: pid=%d " % r.pid)  # the master's line: all 4 workers serve


def test_http_router_with_stats(site):
    # uwsgi --http :9090 --wsgi-file foobar.py --master --processes 4 --threads 2 --stats 127.0.0.1:9191
    port, stats_at = free_port(), "127.0.0.1:%d" % free_port()
    with run_router(["--http", ":%d" % port, "--wsgi-file", "foobar.py", "--master", "--processes", "4",
                     "--threads", "2", STATS, stats_at], cwd=site) as r:
        r.wait_for_line(r"gateway ready: pid=%d .*stats=%s" % (r.pid, re.escape(stats_at)))
        for _ in range(3):
            assert get(port) == (200, b"Hello World")
        doc = assert_served_by_workers(stats_at, processes=4, threads=2, requests=3)
        assert doc["pid"] == r.pid


def test_enable_threads_and_offload_threads_behind_the_router_and_on_http_socket(site):
    # the quickstart's extras: --enable-threads (app threads run), --offload-threads (files sent for the app)
    port = free_port()
    with run_router(["--http", ":%d" % port, "--http-socket", "127.0.0.1:0", "--wsgi-file", "static.py",
                     "--master", "--processes", "2", "--enable-threads", "--offload-threads", "2"], cwd=site) as r:
        line = r.wait_for_line(r"gateway ready: pid=%d http-socket=127\.0\.0\.1:\d+" % r.pid)
        direct = int(re.search(r"http-socket=127\.0\.0\.1:(\d+)", line).group(1))
        with open(os.path.join(site, "foobar.crt"), "rb") as f:
            cert = f.read()
        for front in (port, direct):
            assert get(front, "/thread") == (200, b"thread ran")
            assert get(front, "/static/foobar.crt") == (200, cert)


def test_ctrl_c_in_the_terminal_stops_everything(site):
    """Ctrl-C sends SIGINT to the whole process group (master, workers, router) at once, here as soon
    as the router is ready (workers may still be starting): all exit, none is respawned."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        gateway_command(["--http", ":%d" % port, "--wsgi-file", "foobar.py", "--master", "--processes", "4",
                         "--threads", "2"]),
        cwd=site, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, errors="replace", start_new_session=True)  # its own group, as a shell job's
    r = RouterProcess(proc)
    try:
        r.wait_ready(20)
        os.killpg(proc.pid, signal.SIGINT)  # the group whose leader we started
        assert proc.wait(15) == 0, r.output()
    finally:
        r.stop()
    out = r.output()
    assert "SIGINT received...gracefully killing workers" in out, out
    assert "respawn" not in out.lower(), out


def gone(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # exited, not reaped yet
    except FileNotFoundError:
        return True


def test_no_orphans_workers_and_router_stop_when_the_master_is_killed(site):
    # --no-orphans is accepted: it is how gateway always behaves
    port = free_port()
    with run_router(["--http", ":%d" % port, "--wsgi-file", "foobar.py", "--master", "--processes", "2",
                     "--no-orphans"], cwd=site) as r:
        r.wait_for_line(r"gateway ready: pid=%d " % r.pid)
        children = [int(p) for p in re.findall(r"spawned uWSGI (?:worker \d+|http 1) \(pid: (\d+)", r.output())]
        assert len(children) == 3 and r.router_pid in children, r.output()
        os.kill(r.pid, signal.SIGKILL)
        r.proc.wait(5)
        deadline = time.monotonic() + 10
        while not all(gone(pid) for pid in children):
            assert time.monotonic() < deadline, "orphans left: %s\n%s" % (
                [p for p in children if not gone(p)], r.output())
            time.sleep(0.05)


# -- --socket behind nginx, --http-socket ----------------------------------------------------------------

SOCKET_APPS = ("foobar", "django_wsgi_file", "django_ini", "django_module", "flask")


@pytest.fixture(scope="module")
def nginx():
    """One nginx for the module: server block N proxies to the backend port reserved for SOCKET_APPS[N]."""
    ports = {name: free_port() for name in SOCKET_APPS}
    config = "".join(
        "server { listen {listen%d}; location / { include uwsgi_params; uwsgi_pass 127.0.0.1:%d; } }\n"
        % (i, ports[name]) for i, name in enumerate(SOCKET_APPS))
    with Nginx(config) as ngx:
        front = {name: ngx.ports[i] for i, name in enumerate(SOCKET_APPS)}
        yield ports, front


def serve_behind_nginx(nginx, name: str, args: list, path: str, expected: bytes, cwd: str = ROOT) -> None:
    """Start ``args`` (a quickstart command on the port reserved for ``name``) and ask nginx for ``path``."""
    backend, front = nginx[0][name], nginx[1][name]
    args = [a.replace("{socket}", "127.0.0.1:%d" % backend) for a in args]
    with run_server(args, cwd=cwd) as srv:
        assert srv.uwsgi_port == backend
        for _ in range(2):
            assert get(front, path) == (200, expected)
        doc = assert_served_by_workers(stats_address(srv), processes=4, threads=2, requests=2)
        assert doc["sockets"][0]["name"] == "127.0.0.1:%d" % backend, doc["sockets"]


def test_socket_foobar_behind_nginx(site, nginx):
    # uwsgi --socket 127.0.0.1:3031 --wsgi-file foobar.py --master --processes 4 --threads 2 --stats 127.0.0.1:9191
    serve_behind_nginx(nginx, "foobar", ["--socket", "{socket}", "--wsgi-file", "foobar.py", "--master",
                                         "--processes", "4", "--threads", "2", STATS, "127.0.0.1:0"],
                       "/", b"Hello World", cwd=site)


def test_http_socket_foobar(site):
    # uwsgi --http-socket 127.0.0.1:3031 --wsgi-file foobar.py --master --processes 4 --threads 2 --stats 127.0.0.1:9191
    with run_server(["--http-socket", "127.0.0.1:0", "--wsgi-file", "foobar.py", "--master", "--processes", "4",
                     "--threads", "2", STATS, "127.0.0.1:0"], cwd=site) as srv:
        for _ in range(2):
            assert get(srv.port) == (200, b"Hello World")
        assert_served_by_workers(stats_address(srv), processes=4, threads=2, requests=2)


def test_socket_django_project_wsgi_file_behind_nginx(nginx):
    # uwsgi --socket 127.0.0.1:3031 --chdir /home/foobar/myproject/ --wsgi-file myproject/wsgi.py
    #       --master --processes 4 --threads 2 --stats 127.0.0.1:9191
    require_module("django")
    serve_behind_nginx(nginx, "django_wsgi_file", [
        "--socket", "{socket}", "--chdir", DJANGO_PROJECT, "--wsgi-file", "djangoproj/wsgi.py", "--master",
        "--processes", "4", "--threads", "2", STATS, "127.0.0.1:0"], "/hello/bob/", b"Hello, bob!", cwd="/")


def test_socket_django_project_ini_behind_nginx(nginx, tmp_path):
    # uwsgi yourfile.ini  (socket, chdir, wsgi-file, processes, threads, stats)
    require_module("django")
    ini = tmp_path / "yourfile.ini"
    ini.write_text("[uwsgi]\nsocket = 127.0.0.1:%d\nchdir = %s\nwsgi-file = djangoproj/wsgi.py\nprocesses = 4\n"
                   "threads = 2\nstats = 127.0.0.1:0\n" % (nginx[0]["django_ini"], DJANGO_PROJECT))
    serve_behind_nginx(nginx, "django_ini", [str(ini)], "/hello/ini/", b"Hello, ini!", cwd="/")


def test_socket_django_handler_module_behind_nginx(nginx):
    # uwsgi --socket 127.0.0.1:3031 --chdir /home/foobar/myproject/ --pythonpath ..
    #       --env DJANGO_SETTINGS_MODULE=myproject.settings --module "django.core.handlers.wsgi:WSGIHandler()"
    #       --processes 4 --threads 2 --stats 127.0.0.1:9191
    require_module("django")
    serve_behind_nginx(nginx, "django_module", [
        "--socket", "{socket}", "--chdir", os.path.join(DJANGO_PROJECT, "djangoproj"), "--pythonpath", "..",
        "--env", "DJANGO_SETTINGS_MODULE=djangoproj.settings", "--module", "django.core.handlers.wsgi:WSGIHandler()",
        "--processes", "4", "--threads", "2", STATS, "127.0.0.1:0"], "/hello/module/", b"Hello, module!", cwd="/")


def test_socket_flask_callable_behind_nginx(site, nginx):
    # uwsgi --socket 127.0.0.1:3031 --wsgi-file myflaskapp.py --callable app --processes 4 --threads 2 --stats 127.0.0.1:9191
    require_module("flask")
    serve_behind_nginx(nginx, "flask", ["--socket", "{socket}", "--wsgi-file", "myflaskapp.py", "--callable", "app",
                                        "--processes", "4", "--threads", "2", STATS, "127.0.0.1:0"],
                       "/", b"<span style='color:red'>I am app 1</span>", cwd=site)


# -- the ini files of the router with web2py's module --------------------------------------------------------

def test_web2py_ini_http_router(site, tmp_path):
    port = free_port()
    ini = tmp_path / "web2py.ini"
    ini.write_text("[uwsgi]\nhttp = :%d\nchdir = %s\nmodule = wsgihandler\nmaster = true\nprocesses = 8\n"
                   % (port, site))
    with run_router([str(ini)]) as r:
        assert r.port == port
        status, body = get(port)
        assert (status, body.split()[2]) == (200, b"scheme=http"), body


def test_web2py_ini_https_router(site, tmp_path):
    port = free_port()
    ini = tmp_path / "https.ini"
    ini.write_text("[uwsgi]\nhttps = :%d,foobar.crt,foobar.key\nchdir = %s\nmodule = wsgihandler\nmaster = true\n"
                   "processes = 8\n" % (port, site))
    with run_router([str(ini)], cwd=site) as r:
        assert r.https_port == port
        status, body = get(port, tls_ca=os.path.join(site, "foobar.crt"))
        assert (status, body.split()[2]) == (200, b"scheme=https"), body


def privileged_or_free_port() -> int:
    """443 as in the quickstart when it is free on 127.0.0.1, else a free port."""
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 443))
        return 443
    except OSError:
        return free_port()


def test_web2py_ini_shared_socket_https_as_root_dropping_to_nobody(site, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (the CI container runs as root)")
    # 443 may be taken between the check and the bind (another run of this test): then a free port
    for port in (privileged_or_free_port(), free_port()):
        ini = tmp_path / "shared.ini"
        ini.write_text("[uwsgi]\nshared-socket = 127.0.0.1:%d\nhttps = =0,foobar.crt,foobar.key\nuid = nobody\n"
                       "gid = nogroup\nchdir = %s\nmodule = wsgihandler\nmaster = true\nprocesses = 8\n"
                       "harakiri = 30\n" % (port, site))
        try:
            with run_router([str(ini)], cwd=site) as r:
                assert r.https_port == port
                status, body = get(port, tls_ca=os.path.join(site, "foobar.crt"))
                assert (status, body) == (200, b"web2py uid=65534 scheme=https"), body
                with open("/proc/%d/status" % r.router_pid) as f:
                    assert [line for line in f if line.startswith("Uid:")][0].split()[1:] == ["65534"] * 4
            return
        except AssertionError as e:
            if "cannot bind 127.0.0.1:%d: Address already in use" % port not in str(e):
                raise
    raise AssertionError("no port could be bound")
