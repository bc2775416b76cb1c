"""uWSGI's python plugin options beyond loading the app, through the real CLI: module aliases,
early imports, ``sys.executable``, ``--test``, ``--python``, ``--pyshell``, the worker override,
``--reload-os-env``, ``--max-apps``, ``--paste-name``, ``--wsgi-strict``/``--wsgi-accept-buffer``
and ``--body-read-warning``."""

from __future__ import annotations

import ast
import os
import sys

import pytest

from server import run_cli, run_server
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

ENGINE = ["--tornado", "2", "--greenlet"]
SOCKET = ["--http-socket", "127.0.0.1:0"]


def _app(tmp_path, body: str, name: str = "app.py") -> str:
    """A WSGI file whose ``application`` returns ``repr(value())`` for the ``value`` in ``body``."""
    path = tmp_path / name
    path.write_text(body + "\n\n"
                    "def application(environ, start_response):\n"
                    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                    "    return [repr(value()).encode()]\n")
    return str(path)


def _value(port: int) -> object:
    r = request(port, "/")
    assert r.status == 200, r
    return ast.literal_eval(r.body.decode())


# -- module aliases, early imports, sys.executable --------------------------------------------------


def test_pymodule_alias_maps_a_module_and_a_file(tmp_path):
    lib = tmp_path / "lib" / "real_settings.py"
    lib.parent.mkdir()
    lib.write_text("NAME = 'from the file'\n")
    app = _app(tmp_path, "import settings, fastjson, late\n"
                         "def value():\n"
                         "    return [settings.NAME, settings.__name__, fastjson.__name__, late.__name__]")
    args = ["--wsgi-file", app, "--pymodule-alias", "settings=%s" % lib, "--pymodule-alias", "fastjson=json",
            "--post-pymodule-alias", "late=string"]
    with run_server(args + ENGINE) as srv:
        assert _value(srv.port) == ["from the file", "settings", "json", "string"]
        assert 'mapped virtual pymodule "fastjson" to real pymodule "json"' in srv.output()


@pytest.mark.parametrize("option", ["--pymodule-alias", "--post-pymodule-alias"])
def test_an_alias_that_cannot_be_imported_stops_the_start(option):
    result = run_cli(SOCKET + ["--wsgi-file", "tests/apps/hello.py", option, "x=no_such_module_here"] + ENGINE)
    assert result.returncode == 1
    assert "%s x=no_such_module_here: importing 'no_such_module_here' failed" % option in result.stderr


def test_a_malformed_alias_is_refused_by_name():
    result = run_cli(SOCKET + ["--wsgi-file", "tests/apps/hello.py", "--pymodule-alias", "no-equals"])
    assert result.returncode == 1 and "option '--pymodule-alias' expects NAME=MODULE" in result.stderr


def test_early_pyimport_runs_before_the_app_and_sys_executable_is_set(tmp_path):
    early = tmp_path / "early.py"
    early.write_text("import os, sys\nos.environ['EARLY_SAW'] = sys.executable\n")
    app = _app(tmp_path, "import os, sys\n"
                         "def value():\n"
                         "    return [os.environ.get('EARLY_SAW'), sys.executable]")
    args = ["--wsgi-file", app, "--early-python-import", str(early), "--py-executable", "/opt/py/bin/python",
            "--early-python", "--early-pythonpath", str(tmp_path)]
    with run_server(args + ENGINE) as srv:
        # uWSGI's order: sys.executable is set when Python starts, before the early imports
        assert _value(srv.port) == ["/opt/py/bin/python", "/opt/py/bin/python"]


# -- running Python instead of serving ----------------------------------------------------------------


@pytest.mark.parametrize("option", ["--python", "--py", "--pyrun"])
def test_python_runs_a_script_with_the_uwsgi_module_and_exits_with_its_status(tmp_path, option):
    script = tmp_path / "job.py"
    script.write_text("import sys, uwsgi, helper\n"
                      "print('job:', __name__, callable(uwsgi.worker_id), helper.VALUE, sys.argv)\n"
                      "sys.exit(3)\n")
    (tmp_path / "helper.py").write_text("VALUE = 42\n")
    result = run_cli([option, str(script), "--import", "helper", "--pythonpath", str(tmp_path),
                      "--pyargv", "one two", "--wsgi-file", "tests/apps/hello.py"])
    assert result.returncode == 3, result.stderr
    assert "job: __main__ True 42 ['uwsgi', 'one', 'two']" in result.stdout
    assert "gateway ready" not in result.stderr  # nothing is served


def test_python_script_that_raises_exits_1_with_its_traceback(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("raise RuntimeError('job failed')\n")
    result = run_cli(["--python", str(script)])
    assert result.returncode == 1
    assert "RuntimeError: job failed" in result.stderr and "Traceback" in result.stderr


def test_test_imports_a_module_and_exits():
    assert run_cli(["--test", "json"]).returncode == 0
    missing = run_cli(["-J", "no_such_module_here"])
    assert missing.returncode == 1 and "No module named 'no_such_module_here'" in missing.stderr


def test_python_version_prints_the_version():
    result = run_cli(["--python-version"])
    assert result.returncode == 0 and result.stdout.strip() == sys.version.split()[0]


def test_pyshell_code_runs_in_worker_1_instead_of_serving():
    code = "import uwsgi; print('shell in worker', uwsgi.worker_id())"
    result = run_cli(SOCKET + ["--wsgi-file", "tests/apps/hello.py", "--pyshell", code] + ENGINE)
    assert result.returncode == 0, result.stderr
    assert "shell in worker 1" in result.stdout and "gateway ready" not in result.stderr


def test_pyshell_oneshot_runs_once_then_serves(tmp_path):
    mark = tmp_path / "mark"
    code = "open(%r, 'w').write('ran')" % str(mark)
    with run_server(["--wsgi-file", "tests/apps/hello.py", "--pyshell-oneshot=" + code] + ENGINE) as srv:
        assert mark.read_text() == "ran"
        assert request(srv.port, "/").body == b"hello /"


def test_python_worker_override_replaces_serving(tmp_path):
    script = tmp_path / "override.py"
    script.write_text("import sys, uwsgi\nprint('override in worker', uwsgi.worker_id())\nsys.exit(5)\n")
    result = run_cli(SOCKET + ["--wsgi-file", "tests/apps/hello.py", "--python-worker-override", str(script)]
                     + ENGINE)
    assert result.returncode == 5 and "override in worker 1" in result.stdout


# -- per request ------------------------------------------------------------------------------------

SETENV_APP = """
import ctypes, os
libc = ctypes.CDLL(None)

def application(environ, start_response):
    if environ['PATH_INFO'] == '/set':
        libc.setenv(b'GW_FROM_C', b'set by C', 1)  # the process environment only
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [repr(os.environ.get('GW_FROM_C')).encode()]
"""


@pytest.mark.parametrize("flags, seen", [([], None), (["--reload-os-env"], "set by C")])
def test_reload_os_env_refreshes_os_environ_before_each_request(tmp_path, flags, seen):
    app = tmp_path / "setenv.py"
    app.write_text(SETENV_APP)
    with run_server(["--wsgi-file", str(app)] + flags + ENGINE) as srv:
        assert request(srv.port, "/set").body == b"None"  # os.environ is Python's copy
        assert ast.literal_eval(request(srv.port, "/").body.decode()) == seen


RETURNS = """
import array

def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    if environ['PATH_INFO'] == '/bytes':
        return b'whole body'
    return [array.array('b', b'abc')]
"""


@pytest.mark.parametrize("flags, bytes_status, buffer_status", [
    ([], 200, 500),
    (["--wsgi-strict"], 500, 500),
    (["--wsgi-accept-buffers"], 200, 200),
])
def test_returned_bytes_and_buffers(tmp_path, flags, bytes_status, buffer_status):
    app = tmp_path / "returns.py"
    app.write_text(RETURNS)
    with run_server(["--wsgi-file", str(app)] + flags + ENGINE) as srv:
        srv.expect_traceback("TypeError: WSGI body chunks must be bytes")
        r = request(srv.port, "/bytes")
        assert r.status == bytes_status
        if bytes_status == 200:
            assert r.body == b"whole body"
        r = request(srv.port, "/buffer")
        assert r.status == buffer_status
        if buffer_status == 200:
            assert r.body == b"abc"


def test_body_read_warning_is_logged_once_above_the_limit():
    body = b"x" * (2 * 1024 * 1024 + 10)
    with run_server(["--wsgi-file", "tests/apps/body_probe.py", "--body-read-warning", "1"] + ENGINE) as srv:
        assert request(srv.port, "/", method="POST", body=body).status == 200
        srv.wait_for_line(r"\[uwsgi-warning\] you are using read\(\) on request body allocating over than 2 MB")
    with run_server(["--wsgi-file", "tests/apps/body_probe.py"] + ENGINE) as srv:
        assert request(srv.port, "/", method="POST", body=body).status == 200
        assert "uwsgi-warning" not in srv.output()


# -- loading ---------------------------------------------------------------------------------------


def test_max_apps_bounds_the_mounts():
    args = SOCKET + ["--wsgi-file", "tests/apps/hello.py", "--mount", "/a=tests/apps/mounted_a.py",
                     "--worker-mount", "/b=tests/apps/mounted_b.py"] + ENGINE
    result = run_cli(args + ["--max-apps", "2"])
    assert result.returncode == 1
    assert "you cannot load more than 2 apps in a worker (--max-apps): 2 --mount and a default app" in result.stderr
    with run_server(args[2:] + ["--max-apps", "3"]) as srv:
        assert request(srv.port, "/").status == 200


PASTE_INI = """
[app:main]
use = call:pasteapp:make_app
greeting = main

[app:admin]
use = call:pasteapp:make_app
greeting = admin
"""


def test_paste_name_picks_the_app_section(tmp_path):
    (tmp_path / "pasteapp.py").write_text(
        "def make_app(global_conf, **settings):\n"
        "    def app(environ, start_response):\n"
        "        start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "        return [settings['greeting'].encode()]\n"
        "    return app\n")
    ini = tmp_path / "paste.conf"  # (a name ending in .ini would be taken as gateway's config)
    ini.write_text(PASTE_INI)
    base = ["--paste", "config:%s" % ini, "--pythonpath", str(tmp_path)] + ENGINE
    with run_server(base) as srv:
        assert request(srv.port, "/").body == b"main"
    with run_server(base + ["--paste-name", "admin"]) as srv:
        assert request(srv.port, "/").body == b"admin"


@pytest.mark.parametrize("option, hint", [
    (["--web3", "app:web3"], "gateway serves WSGI apps"),
    (["--pecan", "config.py"], "pecan"),
    (["--no-site"], "start Python with -S yourself"),
    (["--dynamic-apps"], "does not load apps named by the web server"),
    (["--py-program-name", "/usr/bin/python3"], "--py-sys-executable"),
    (["--python-raw", "raw.py"], "no raw request mode"),
])
def test_refused_python_options_say_why(option, hint):
    result = run_cli(SOCKET + ["--wsgi-file", "tests/apps/hello.py"] + option)
    assert result.returncode == 1
    assert "option '%s' is not supported yet by gateway" % option[0] in result.stderr and hint in result.stderr


def test_plugins_dir_and_feature_plugins_are_accepted():
    args = ["--wsgi-file", "tests/apps/hello.py", "--plugins-dir", "/usr/lib/uwsgi/plugins",
            "--plugins", "python3,logfile,router_rewrite", "--need-plugin", "carbon"] + ENGINE
    with run_server(args) as srv:
        assert request(srv.port, "/").body == b"hello /"
    unknown = run_cli(SOCKET + ["--wsgi-file", "tests/apps/hello.py", "--plugin", "router_uwsgi"])
    assert unknown.returncode == 1 and "plugin 'router_uwsgi' is not available in gateway" in unknown.stderr


def test_a_fallback_reexec_keeps_the_real_interpreter(tmp_path):
    """--py-sys-executable changes the app's sys.executable, never the Python gateway restarts with."""
    fallback = tmp_path / "fallback.ini"
    fallback.write_text("[uwsgi]\npython-version = true\n")
    result = run_cli(["--py-sys-executable", "/nonexistent/python", "--fallback-config", str(fallback),
                      "--wsgi-file", "tests/apps/no_such_app.py", "--http-socket", "127.0.0.1:0"])
    assert "Fallback config to %s" % fallback in result.stderr
    assert result.stdout.strip().endswith(sys.version.split()[0]), (result.stdout, result.stderr)
    assert os.path.exists(sys.executable)


def test_early_pyimport_failure_is_logged_and_the_start_goes_on(tmp_path):
    with run_server(["--wsgi-file", "tests/apps/hello.py", "--early-pyimport", "no_such_early_module"]
                    + ENGINE) as srv:
        assert request(srv.port, "/").body == b"hello /"
        assert wait_until(lambda: "--early-pyimport no_such_early_module failed" in srv.output(), what="the log line")


def test_python_and_test_run_as_the_uid_not_as_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    import tempfile

    with tempfile.TemporaryDirectory(dir="/tmp") as shared:  # readable by nobody
        os.chmod(shared, 0o755)
        app = os.path.join(shared, "app.py")
        with open(app, "w") as f:
            f.write("import os\nos.environ['APP_LOADED_AS'] = str(os.getuid())\n"
                    "def application(e, s):\n    s('200 OK', [])\n    return [b'']\n")
        script = os.path.join(shared, "script.py")
        with open(script, "w") as f:
            f.write("import os\nprint('script uid', os.getuid(), 'app uid', os.environ['APP_LOADED_AS'])\n")
        with open(os.path.join(shared, "probe_mod.py"), "w") as f:
            f.write("import os\nassert os.getuid() == 65534, os.getuid()\n")
        result = run_cli(["--uid", "nobody", "--wsgi-file", app, "--python", script])
        assert result.returncode == 0, result.stderr
        assert "script uid 65534 app uid 65534" in result.stdout
        result = run_cli(["--uid", "nobody", "--test", "probe_mod"], env={"PYTHONPATH": shared + ":" + os.getcwd()},
                         cwd=shared)
        assert result.returncode == 0, result.stderr
