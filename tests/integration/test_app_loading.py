"""Loading the WSGI app through the real CLI: ``--wsgi-file``, ``--module`` (``mod``,
``mod:callable``, ``"mod:factory()"``), ``--callable``, ``--chdir``, ``--pythonpath``,
``--env``, ``--virtualenv``; and one distinct message (exit status 1) per way it fails.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from server import ROOT, run_cli, run_server
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

APPS = os.path.join(ROOT, "tests", "apps")
ENGINE = ["--tornado", "2", "--greenlet"]
SOCKET = ["--http-socket", "127.0.0.1:0"]


def get(port: int, path: str = "/") -> bytes:
    r = request(port, path)
    assert r.status == 200, r
    return r.body


def report(port: int, *env_names: str) -> dict:
    return ast.literal_eval(get(port, "/?" + "&".join(env_names)).decode())


# -- ways to name the app ----------------------------------------------------------------------------


@pytest.mark.parametrize("args, body", [
    (["--wsgi-file", "tests/apps/hello.py"], b"hello /"),
    (["--file", "tests/apps/hello.py"], b"hello /"),
    (["--wsgi-file", os.path.join(APPS, "hello.py")], b"hello /"),
    (["--chdir", "tests/apps", "--wsgi-file", "hello.py"], b"hello /"),  # relative to --chdir
    (["--wsgi-file", "tests/apps/factories.py", "--callable", "custom"], b"factories.custom"),
    (["--module", "factories", "--pythonpath", "tests/apps"], b"factories.application"),
    (["--module", "factories:custom", "--pythonpath", "tests/apps"], b"factories.custom"),
    (["--module", "factories", "--callable", "custom", "--pythonpath", "tests/apps"], b"factories.custom"),
    (["--module", "factories:make_app()", "--pythonpath", "tests/apps"], b"made by make_app()"),
    (["--wsgi", "factories:custom", "--pythonpath", "tests/apps"], b"factories.custom"),
    (["--module", "factories", "--pythonpath", "tests/ap*"], b"factories.application"),  # a glob
    (["--module", "factories:custom", "--chdir", "tests/apps"], b"factories.custom"),  # cwd importable
])
def test_app_is_found(args, body):
    with run_server(args + ENGINE) as srv:
        assert get(srv.port) == body


def test_chdir_changes_working_directory_before_loading():
    with run_server(["--chdir", "tests/apps", "--module", "config_report"] + ENGINE, cwd=ROOT) as srv:
        rep = report(srv.port)
    assert rep["cwd"] == os.path.realpath(APPS)


def test_pythonpath_is_first_on_sys_path_in_order(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    args = ["--module", "config_report", "--pythonpath", APPS, "--pythonpath", str(first),
            "--pythonpath", str(second)]
    with run_server(args + ENGINE) as srv:
        rep = report(srv.port)
    assert rep["sys_path"][:3] == [APPS, str(first), str(second)]


def test_env_is_visible_in_os_environ_of_the_app():
    args = ["--wsgi-file", "tests/apps/config_report.py", "--env", "GW_PLAIN=value",
            "--env", "GW_WITH_EQUALS=a=b", "--env", "GW_EMPTY="]
    with run_server(args + ENGINE) as srv:
        rep = report(srv.port, "GW_PLAIN", "GW_WITH_EQUALS", "GW_EMPTY", "GW_NOT_SET")
    assert rep["env"] == {"GW_PLAIN": "value", "GW_WITH_EQUALS": "a=b", "GW_EMPTY": "", "GW_NOT_SET": None}


# -- --virtualenv ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    home = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True, timeout=60,
                   capture_output=True)
    site = home / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages"
    assert site.is_dir()
    (site / "gateway_venv_only.py").write_text('VALUE = "from the virtualenv"\n')
    return home


@pytest.mark.parametrize("flag", ["--virtualenv", "-H", "--home"])
def test_virtualenv_packages_are_importable(venv, flag):
    with run_server(["--wsgi-file", "tests/apps/venv_probe.py", flag, str(venv)] + ENGINE) as srv:
        rep = ast.literal_eval(get(srv.port).decode())
    assert rep["value"] == "from the virtualenv"
    assert rep["file"].startswith(str(venv) + os.sep)
    assert rep["virtual_env"] == os.path.abspath(venv)


def test_without_the_virtualenv_the_same_app_does_not_load():
    result = run_cli(SOCKET + ["--wsgi-file", "tests/apps/venv_probe.py"] + ENGINE)
    assert result.returncode == 1
    assert "No module named 'gateway_venv_only'" in result.stderr


# -- failures: one message each, exit status 1 ---------------------------------------------------------


def assert_load_error(args, *fragments, traceback: bool, cwd=None) -> str:
    result = run_cli(SOCKET + args + ENGINE, cwd=cwd)
    assert result.returncode == 1, result.stderr
    err = result.stderr
    assert "gateway ready" not in err
    assert err.count("gateway: ") == 1, err
    message = err[err.index("gateway: "):]
    for fragment in fragments:
        assert fragment in message, (fragment, err)
    assert ("Traceback (most recent call last)" in message) is traceback, err
    return message


def test_wsgi_file_missing():
    assert_load_error(["--wsgi-file", "tests/apps/no_such_file.py"],
                      "gateway: --wsgi-file tests/apps/no_such_file.py: no such file (cwd: %s)" % ROOT,
                      traceback=False)


def test_wsgi_file_raising_at_import_shows_its_traceback():
    message = assert_load_error(["--wsgi-file", "tests/apps/import_raises.py"],
                                "gateway: loading --wsgi-file tests/apps/import_raises.py failed:",
                                "ValueError: import_raises: configuration value missing",
                                traceback=True)
    assert "in helper_that_fails" in message  # the app's own frames are shown


def test_wsgi_file_with_syntax_error(tmp_path):
    bad = tmp_path / "broken_syntax.py"
    bad.write_text("def application(environ, start_response)\n    return []\n")
    assert_load_error(["--wsgi-file", str(bad)], "--wsgi-file %s has a syntax error" % bad, "SyntaxError",
                      traceback=False)


def test_module_raising_at_import_shows_its_traceback():
    message = assert_load_error(["--module", "import_raises", "--pythonpath", "tests/apps"],
                                "gateway: importing module 'import_raises' failed:",
                                "ValueError: import_raises: configuration value missing",
                                traceback=True)
    assert "import_raises.py" in message


def test_module_whose_own_import_is_missing_is_an_import_error_not_module_not_found():
    message = assert_load_error(["--module", "imports_missing", "--pythonpath", "tests/apps"],
                                "gateway: importing module 'imports_missing' failed:",
                                "ModuleNotFoundError: No module named 'gateway_tests_no_such_dependency'",
                                traceback=True)
    assert "not found (sys.path" not in message


@pytest.mark.parametrize("module", ["gateway_tests_no_such_module", "djangoproj.no_such_submodule",
                                    "no_such_package.sub"])
def test_module_not_found(module):
    assert_load_error(["--module", module, "--pythonpath", "tests/apps"],
                      "gateway: module %r not found" % module, "use --pythonpath or --chdir",
                      traceback=False)


def test_module_not_found_without_the_pythonpath():
    assert_load_error(["--module", "factories"], "gateway: module 'factories' not found", traceback=False)


def test_attribute_missing_in_module():
    assert_load_error(["--module", "factories:nope", "--pythonpath", "tests/apps"],
                      "gateway: module factories has no attribute 'nope'; set --callable",
                      "callables there: application, broken_factory, custom, make_app, returns_number",
                      traceback=False)


def test_attribute_missing_in_wsgi_file():
    assert_load_error(["--wsgi-file", "tests/apps/hello.py", "--callable", "app"],
                      "gateway: file tests/apps/hello.py has no attribute 'app'; set --callable",
                      traceback=False)


@pytest.mark.parametrize("args, fragment", [
    (["--wsgi-file", "tests/apps/not_callable.py"],
     "gateway: 'application' in file tests/apps/not_callable.py is not callable (it is int)"),
    (["--module", "factories:not_callable", "--pythonpath", "tests/apps"],
     "gateway: 'not_callable' in module factories is not callable (it is dict)"),
    (["--module", "factories:not_callable()", "--pythonpath", "tests/apps"],
     "gateway: factories:not_callable is not callable, cannot call it as a factory"),
])
def test_not_callable(args, fragment):
    assert_load_error(args, fragment, traceback=False)


def test_factory_raising_shows_its_traceback():
    message = assert_load_error(["--module", "factories:broken_factory()", "--pythonpath", "tests/apps"],
                                "gateway: calling the app factory factories:broken_factory() failed:",
                                "RuntimeError: factory failed on purpose",
                                traceback=True)
    assert "in broken_factory" in message


def test_factory_returning_a_non_callable():
    assert_load_error(["--module", "factories:returns_number()", "--pythonpath", "tests/apps"],
                      "gateway: the app factory factories:returns_number() returned 42, which is not callable",
                      traceback=False)


def test_factory_with_arguments_is_refused():
    assert_load_error(["--module", "factories:make_app(1)", "--pythonpath", "tests/apps"],
                      "only a factory without arguments ('mod:factory()') is supported", traceback=False)


def test_both_wsgi_file_and_module():
    assert_load_error(["--wsgi-file", "tests/apps/hello.py", "--module", "factories"],
                      "give only one of --wsgi-file, --module, --eval and --paste", traceback=False)


def test_chdir_missing():
    assert_load_error(["--chdir", "/nonexistent-gateway-dir", "--wsgi-file", "hello.py"],
                      "gateway: --chdir /nonexistent-gateway-dir: No such file or directory", traceback=False)


def test_virtualenv_missing():
    assert_load_error(["--virtualenv", "/nonexistent-gateway-venv", "--wsgi-file", "tests/apps/hello.py"],
                      "gateway: --virtualenv /nonexistent-gateway-venv: no such directory", traceback=False)


def test_virtualenv_without_site_packages(tmp_path):
    assert_load_error(["--virtualenv", str(tmp_path), "--wsgi-file", "tests/apps/hello.py"],
                      "gateway: --virtualenv %s: no lib/python%d.%d/site-packages inside"
                      % ((tmp_path,) + sys.version_info[:2]), traceback=False)
