"""Startup options real uWSGI ini files carry: ``--eval``, ``--import``, ``--shared-import``,
``--pyargv``, ``--unenv``, ``--exec-asap``/``--exec-pre-app``/``--exec-post-app``, ``--print``,
``--lazy``, ``--touch-workers-reload``, ``--http-auto-chunked``; all through the real CLI."""

from __future__ import annotations

import json
import os
import re
import textwrap

import pytest

from server import ServerProcess, run_cli, run_server, spawn
from support.httpclient import Conn, request
from support.router import run_router
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

#: an app that answers with what the tests look at, as JSON
INTROSPECT = textwrap.dedent('''
    import json, os, sys

    def application(environ, start_response):
        body = json.dumps({
            "argv": sys.argv,
            "pid": os.getpid(),
            "env": os.environ.get("GW_TEST_UNENV"),
            "imported": sorted(m for m in sys.modules if m.startswith(("gw_imp", "lib_gw_imp"))),
            "marks": [getattr(sys.modules.get(m), "MARK", None) for m in ("gw_imp_ok", "lib_gw_imp_file")],
        }).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
''')


def _get(srv):
    r = request(srv.port, "/")
    assert r.status == 200, r.body
    return json.loads(r.body)


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / "introspect.py").write_text(INTROSPECT)
    (tmp_path / "gw_imp_ok.py").write_text("import os\nMARK = 'module:%d' % os.getpid()\n")
    (tmp_path / "gw_imp_broken.py").write_text("raise RuntimeError('broken on purpose')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "gw_imp_file.py").write_text("MARK = 'file'\n")
    return tmp_path


def test_eval_serves_the_code_as_the_app_and_honours_callable():
    code = "def app(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n    return [b'from eval']\n"
    with run_server(["--eval", code, "--callable", "app"]) as srv:
        assert request(srv.port, "/").body == b"from eval"
    failed = run_cli(["--http-socket", "127.0.0.1:0", "--eval", "def broken(:\n"])
    assert failed.returncode == 1 and "--eval code has a syntax error" in failed.stderr
    both = run_cli(["--http-socket", "127.0.0.1:0", "--eval", "x = 1", "--wsgi-file", "tests/apps/hello.py"])
    assert both.returncode == 1 and "give only one of --wsgi-file, --module, --eval and --paste" in both.stderr


def test_import_modules_and_files_before_the_app_and_skip_a_broken_one(app_dir):
    args = ["--chdir", str(app_dir), "--wsgi-file", "introspect.py", "--master",
            "--import", "gw_imp_ok", "--pyimport", "gw_imp_broken", "--import", "lib/gw_imp_file.py"]
    with run_server(args) as srv:
        srv.expect_traceback("broken on purpose")
        srv.wait_for_line(r"--import gw_imp_broken failed: importing module 'gw_imp_broken' failed")
        got = _get(srv)
        # loaded in the master (no --lazy-apps): the module was imported by the master, not the worker
        assert got["imported"] == ["gw_imp_ok", "lib_gw_imp_file"]
        assert got["marks"][0] == "module:%d" % srv.proc.pid and got["marks"][1] == "file"
        assert got["pid"] != srv.proc.pid


def test_import_runs_in_each_worker_with_lazy_apps_and_shared_import_in_the_master(app_dir):
    args = ["--chdir", str(app_dir), "--wsgi-file", "introspect.py", "--master", "--lazy-apps",
            "--import", "gw_imp_ok"]
    with run_server(args) as srv:
        got = _get(srv)
        assert got["marks"][0] == "module:%d" % got["pid"]  # imported by the worker itself
    shared = ["--chdir", str(app_dir), "--wsgi-file", "introspect.py", "--master", "--lazy",
              "--shared-import", "gw_imp_ok"]
    with run_server(shared) as srv:
        got = _get(srv)
        assert got["marks"][0] == "module:%d" % srv.proc.pid  # imported once, by the master
        assert got["pid"] != srv.proc.pid


def test_lazy_is_lazy_apps(app_dir):
    (app_dir / "loadpid.py").write_text(
        "import os\nLOADED = os.getpid()\n"
        "def application(e, sr):\n    sr('200 OK', [])\n    return [b'%d %d' % (LOADED, os.getpid())]\n")
    with run_server(["--chdir", str(app_dir), "--wsgi-file", "loadpid.py", "--master"]) as srv:
        loaded, pid = map(int, request(srv.port, "/").body.split())
        assert loaded == srv.proc.pid != pid
    with run_server(["--chdir", str(app_dir), "--wsgi-file", "loadpid.py", "--master", "--lazy"]) as srv:
        loaded, pid = map(int, request(srv.port, "/").body.split())
        assert loaded == pid != srv.proc.pid


def test_pyargv_and_the_default_argv_and_unenv(app_dir):
    env = {"GW_TEST_UNENV": "present"}
    with run_server(["--chdir", str(app_dir), "--wsgi-file", "introspect.py"], env=env) as srv:
        got = _get(srv)
        assert got["argv"] == ["uwsgi"] and got["env"] == "present"
    args = ["--chdir", str(app_dir), "--wsgi-file", "introspect.py", "--pyargv", "--verbose  -x\tone",
            "--unenv", "GW_TEST_UNENV"]
    with run_server(args, env=env) as srv:
        got = _get(srv)
        assert got["argv"] == ["uwsgi", "--verbose", "-x", "one"] and got["env"] is None


def test_exec_hooks_run_in_order_around_the_app_load(app_dir):
    (app_dir / "noisy.py").write_text(
        "with open('order.txt', 'a') as f:\n    f.write('app\\n')\n"
        "def application(e, sr):\n    sr('200 OK', [])\n    return [b'ok']\n")
    args = ["--chdir", str(app_dir), "--wsgi-file", "noisy.py",
            "--exec-asap", "echo asap >> order.txt", "--exec-pre-app", "echo pre >> order.txt",
            "--exec-post-app", "echo post >> order.txt", "--exec-post-app", "echo post2 >> order.txt"]
    with run_server(args) as srv:
        assert request(srv.port, "/").body == b"ok"
        srv.wait_for_line(r'running "echo pre >> order.txt" \(pre app\)\.\.\.')
    assert (app_dir / "order.txt").read_text().split() == ["asap", "pre", "app", "post", "post2"]


@pytest.mark.parametrize("option, phase", [("--exec-asap", "asap"), ("--exec-pre-app", "pre app"),
                                           ("--exec-post-app", "post app")])
def test_a_failing_exec_command_stops_the_startup(app_dir, option, phase):
    marker = app_dir / "after.txt"
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--master",
                      option, "exit 3", option, "touch %s" % marker])
    assert result.returncode == 1
    assert 'running "exit 3" (%s)...' % phase in result.stderr
    assert 'command "exit 3" exited with non-zero code: 3' in result.stderr
    assert not marker.exists()  # the commands after the failed one do not run


def test_print_writes_to_stdout_before_starting():
    with_ini = run_cli(["--set-ph", "who=ops", "--print", "hello %(who)", "--print", "second",
                        "--http-socket", "127.0.0.1:0"])
    assert with_ini.stdout.splitlines() == ["hello ops", "second"]
    assert with_ini.returncode == 1  # and then: no app given


def test_touch_workers_reload_replaces_the_workers_without_reloading_the_app(tmp_path):
    counter = tmp_path / "imports.txt"
    app = tmp_path / "counted.py"
    app.write_text(
        "import os\nwith open(%r, 'a') as f:\n    f.write('x')\n"
        "def application(e, sr):\n    sr('200 OK', [])\n    return [str(os.getpid()).encode()]\n" % str(counter))
    touch = tmp_path / "touch-me"
    touch.write_text("")
    with run_server(["--wsgi-file", str(app), "--master", "--touch-workers-reload", str(touch)]) as srv:
        first = request(srv.port, "/").body
        os.utime(touch, (1, 1))
        srv.wait_for_line(r"\*\*\* %s has been touched\.\.\. workers reload !!! \*\*\*" % str(touch), timeout=10)
        assert wait_until(lambda: request(srv.port, "/").body != first, what="a new worker")
        assert counter.read_text() == "x"  # the master did not import the app again


def test_http_auto_chunked_is_accepted_and_the_router_chunks_without_a_length(tmp_path):
    app = tmp_path / "twochunks.py"
    app.write_text("def application(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n"
                   "    yield b'one,'\n    yield b'two'\n")
    with run_router(["--http", "127.0.0.1:0", "--wsgi-file", str(app), "--http-auto-chunked"]) as r:
        with Conn(r.port, timeout=10) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            head = c.read_until(b"\r\n\r\n")
            assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
            assert c.read_until(b"0\r\n\r\n").endswith(b"one,\r\n3\r\ntwo\r\n0\r\n\r\n")
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # the connection lives on
            assert c.read_response().body == b"one,two"


def test_chdir2_moves_the_worker_after_the_app_is_loaded(tmp_path, app_dir):
    later = tmp_path / "later"
    later.mkdir()
    (app_dir / "cwd_app.py").write_text(
        "import os\nLOADED_IN = os.getcwd()\n"
        "def application(e, sr):\n    sr('200 OK', [])\n    return [('%s|%s' % (LOADED_IN, os.getcwd())).encode()]\n")
    with run_server(["--chdir", str(app_dir), "--wsgi-file", "cwd_app.py", "--master", "--lazy-apps",
                     "--chdir2", str(later)]) as srv:
        loaded_in, now = request(srv.port, "/").body.decode().split("|")
        srv.wait_for_line(r"chdir\(\) to %s" % str(later))
    assert loaded_in == str(app_dir) and now == str(later)
    missing = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--chdir2", "/no/such/dir"])
    assert missing.returncode == 1 and "--chdir2 /no/such/dir: no such directory" in missing.stderr


def test_logto2_opens_the_log_after_startup_and_refuses_log_master(tmp_path):
    import re

    log = tmp_path / "after.log"
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--master",
                               "--logto2", str(log)]))
    try:
        ready = wait_until(lambda: log.exists() and re.search(r"gateway ready: pid=\d+ http-socket=127.0.0.1:(\d+)",
                                                              log.read_text()), what="the ready line in the file")
        assert request(int(ready.group(1)), "/").status == 200
        assert "spawned uWSGI worker 1" in log.read_text() and "gateway ready" not in srv.output()
    finally:
        srv.stop()
    refused = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py",
                       "--logto2", str(log), "--log-master"])
    assert refused.returncode == 1 and "--logto2 with --log-master" in refused.stderr


def test_config_logic_through_the_cli(tmp_path):
    ini = tmp_path / "logic.ini"
    ini.write_text("[uwsgi]\nif-env = GW_LOGIC\nprint = env says %(_)\nelse =\nprint = no env\nendif =\n"
                   "for = a b\nprint = item %(_)\nendfor =\n")
    with_env = run_cli([str(ini)], env={"GW_LOGIC": "yes"})
    assert with_env.stdout.splitlines() == ["env says yes", "item a", "item b"]
    without = run_cli([str(ini)])
    assert without.stdout.splitlines() == ["no env", "item a", "item b"]


def test_req_logger_splits_the_request_lines_from_the_rest(tmp_path):
    import re

    log, req = tmp_path / "app.log", tmp_path / "requests.log"
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--master",
                               "--processes", "2", "--logger", "file:%s" % log, "--req-logger", "file:%s" % req]))
    try:
        ready = wait_until(lambda: log.exists() and re.search(r"gateway ready: pid=\d+ http-socket=127.0.0.1:(\d+)",
                                                              log.read_text()), what="the ready line in --logger's file")
        port = int(ready.group(1))
        for _ in range(20):
            assert request(port, "/some/path").status == 200
        assert wait_until(lambda: req.read_text().count("GET /some/path") == 20, what="20 request lines")
        assert all(line.startswith("[pid: ") for line in req.read_text().splitlines())  # whole lines only
        assert "GET /some/path" not in log.read_text() and "spawned uWSGI worker 2" in log.read_text()
    finally:
        srv.stop()


PASTE_INI = """
[uwsgi]
http-socket = 127.0.0.1:0
pythonpath = {dir}

[app:main]
use = call:pasteapp:make_app
greeting = hello from paste
"""


def test_paste_and_ini_paste_load_the_app_with_pastedeploy(tmp_path):
    (tmp_path / "pasteapp.py").write_text(
        "def make_app(global_conf, **settings):\n"
        "    def app(environ, start_response):\n"
        "        start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "        return [settings['greeting'].encode()]\n"
        "    return app\n")
    ini = tmp_path / "app.ini"
    ini.write_text(PASTE_INI.format(dir=tmp_path))
    with run_server(["--ini-paste", str(ini)]) as srv:  # its [uwsgi] section binds the socket
        assert request(srv.port, "/").body == b"hello from paste"
    with run_server(["--http-socket", "127.0.0.1:0", "--paste", "config:%s" % ini, "--pythonpath", str(tmp_path)]) as srv:
        assert request(srv.port, "/").body == b"hello from paste"
    broken = tmp_path / "broken.ini"
    broken.write_text("[app:main]\nuse = call:pasteapp:no_such_factory\n")
    failed = run_cli(["--http-socket", "127.0.0.1:0", "--paste", "config:%s" % broken, "--pythonpath", str(tmp_path)])
    assert failed.returncode == 1 and "loading --paste config:%s failed" % broken in failed.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--req-logger", "file:/nonexistent-gateway-dir/requests.log"], "--req-logger file:/nonexistent-gateway-dir/requests.log: "),
    (["--http", "127.0.0.1:0", "--http-to-https", "127.0.0.1:0,https"], "the port after the comma must be a number"),
])
def test_log_and_redirect_errors_are_one_clear_line(args, fragment):
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py"] + args)
    assert result.returncode == 1 and fragment in result.stderr, result.stderr


PASTE_LOGGED_INI = PASTE_INI + """
[loggers]
keys = root, pasteapp

[handlers]
keys = file

[formatters]
keys = plain

[logger_root]
level = WARNING
handlers =

[logger_pasteapp]
level = INFO
handlers = file
qualname = pasteapp
propagate = 0

[handler_file]
class = FileHandler
args = ({log!r},)
level = INFO
formatter = plain

[formatter_plain]
format = LOGGED %(name)s %(message)s
"""


def test_ini_paste_logged_configures_logging_from_the_paste_file(tmp_path):
    (tmp_path / "pasteapp.py").write_text(
        "import logging\n"
        "def make_app(global_conf, **settings):\n"
        "    def app(environ, start_response):\n"
        "        logging.getLogger('pasteapp').info('served %s', environ['PATH_INFO'])\n"
        "        start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "        return [settings['greeting'].encode()]\n"
        "    return app\n")
    log = tmp_path / "app.log"
    ini = tmp_path / "app.ini"
    ini.write_text(PASTE_LOGGED_INI.format(dir=tmp_path, log=str(log)))
    with run_server(["--ini-paste-logged", str(ini)]) as srv:
        assert request(srv.port, "/one").body == b"hello from paste"
        wait_until(lambda: log.exists() and "LOGGED pasteapp served /one" in log.read_text(),
                   what="the app's line in the file its paste config names")
        srv.wait_for_line(r"GET /one => generated")  # gateway's own loggers are not silenced
    # --paste-logger with --paste, and a broken logging section: reported, the app still loads
    broken = tmp_path / "broken.ini"
    broken.write_text(PASTE_INI.format(dir=tmp_path) + "\n[loggers]\nkeys = nosuch\n")
    with run_server(["--http-socket", "127.0.0.1:0", "--paste", "config:%s" % broken, "--paste-logger",
                     "--pythonpath", str(tmp_path)]) as srv:
        srv.expect_traceback("KeyError: 'formatters'")
        assert request(srv.port, "/").body == b"hello from paste"
        srv.wait_for_line(r"--paste-logger: cannot configure logging from %s" % re.escape(str(broken)))


@pytest.mark.parametrize("level", ["1", "2"])
def test_optimize_runs_the_app_with_pythons_optimisation_level(level):
    with run_server(["--wsgi-file", "tests/apps/optimize_probe.py", "-O", level]) as srv:
        assert request(srv.port, "/").body == b"%s False" % level.encode()  # asserts are gone
    with run_server(["--wsgi-file", "tests/apps/optimize_probe.py"]) as srv:
        assert request(srv.port, "/").body == b"0 True"
