"""Starting the real CLI from JSON, YAML and XML config files, and their errors.

The hosted app (``tests/apps/config_report.py``) reports ``uwsgi.opt``, the core
count, the working directory and environment variables, so each file's options
are checked by their effect on the running server.
"""

from __future__ import annotations

import ast
import os
import shutil

import pytest

from server import ROOT, ServerProcess, run_cli, spawn
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

APPS = os.path.join(ROOT, "tests", "apps")

JSON = """\
{
  "uwsgi": {
    "http-socket": "127.0.0.1:0",
    "wsgi-file": "%dconfig_report.py",
    "chdir": "%d",
    "greeting": "hello-%n",
    "env": ["GREETING=%(greeting)", "FORMAT=%e", "FROM_ENV=$(CONFIG_FORMATS_VAR)"],
    "tornado": 3,
    "greenlet": true,
    "master": false
  }
}
"""

YAML = """\
# the same server as app.json
uwsgi:
  http-socket: 127.0.0.1:0
  wsgi-file: %dconfig_report.py
  chdir: %d
  greeting: hello-%n
  env:
    - GREETING=%(greeting)
    - FORMAT=%e
    - FROM_ENV=$(CONFIG_FORMATS_VAR)
  tornado: 3
  greenlet: true
  master: false
"""

XML = """\
<uwsgi>
  <http-socket>127.0.0.1:0</http-socket>
  <wsgi-file>%dconfig_report.py</wsgi-file>
  <chdir>%d</chdir>
  <greeting>hello-%n</greeting>
  <env>GREETING=%(greeting)</env>
  <env>FORMAT=%e</env>
  <env>FROM_ENV=$(CONFIG_FORMATS_VAR)</env>
  <tornado>3</tornado>
  <greenlet/>
  <master>false</master>
</uwsgi>
"""


@pytest.fixture
def conf_dir(tmp_path):
    app_dir = tmp_path / "conf"
    app_dir.mkdir()
    shutil.copy(os.path.join(APPS, "config_report.py"), app_dir / "config_report.py")
    (app_dir / "app.json").write_text(JSON)
    (app_dir / "app.yaml").write_text(YAML)
    (app_dir / "app.xml").write_text(XML)
    return app_dir


def report(port: int, *names: str) -> dict:
    r = request(port, "/?" + "&".join(names))
    assert r.status == 200, r
    return ast.literal_eval(r.body.decode())


@pytest.mark.parametrize("form", [["app.json"], ["app.yaml"], ["--json", "app.json"], ["--yml", "app.yaml"],
                                  ["-x", "app.xml"], ["--include", "app.yaml"]])
def test_a_server_starts_from_the_file_and_answers(conf_dir, form):
    *option, name = form
    path = str(conf_dir / name)
    # cwd is the repository, not the file's directory: %d must be the file's directory
    srv = ServerProcess(spawn([*option, path], {"CONFIG_FORMATS_VAR": "from-environ"}, ROOT))
    try:
        srv.wait_ready(20.0)
        rep = report(srv.port, "GREETING", "FORMAT", "FROM_ENV")
    finally:
        srv.stop()
    srv.check_tracebacks()
    here = os.path.realpath(conf_dir) + "/"
    extension = name.rsplit(".", 1)[1]
    assert rep["env"] == {"GREETING": "hello-app", "FORMAT": extension, "FROM_ENV": "from-environ"}
    assert rep["cwd"] == os.path.realpath(conf_dir)
    assert rep["cores"] == 3
    opt = rep["opt"]
    assert opt["wsgi-file"] == (here + "config_report.py").encode()
    assert opt["greeting"] == b"hello-app"
    assert opt["greenlet"] == {"json": b"1", "yaml": b"true", "xml": b"1"}[extension]
    if option:  # the key as uWSGI records it: the long name for a short option
        key = {"--json": "json", "--yml": "yml", "-x": "xml", "--include": "include"}[option[0]]
        assert opt[key] == path.encode()
    else:
        assert not {"json", "yaml"} & set(opt)  # a lone config file argument is not recorded, as in uWSGI


@pytest.mark.parametrize("name, text, fragment", [
    ("bad.json", '{"uwsgi": {\n  "tornado": 2\n  "greenlet": true}}', "bad.json line 3 column 3: Expecting ',' delimiter"),
    ("bad.yaml", "uwsgi:\n  tornado: 2\n    greenlet: true\n", "bad.yaml line 3: this line is indented deeper"),
    ("bad.xml", "<uwsgi>\n<tornado>2</tornado>\n<greenlet>\n</uwsgi>\n", "bad.xml line 4 column 3: mismatched tag"),
    ("bad.json", '{"uwsgi": {"tornado": "many"}}', "option 'tornado' expects an integer, got 'many' "
                                                   "(from bad.json key 'tornado')"),
])
def test_a_malformed_file_is_one_clear_error_never_a_traceback(tmp_path, name, text, fragment):
    (tmp_path / name).write_text(text)
    result = run_cli([name], cwd=str(tmp_path))
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("gateway: ") and fragment in lines[0], result.stderr


# -- --fallback-config ----------------------------------------------------------------------------


@pytest.mark.parametrize("failure, error", [
    # a bad value after --fallback-config: uWSGI (and gateway) already knows the fallback
    (["--processes", "many"], "option '--processes' expects an integer, got 'many'"),
    # a failure once --chdir has moved the process: the relative fallback is still found
    (["--chdir2", "/nonexistent-gateway-dir"], "--chdir2 /nonexistent-gateway-dir: no such directory"),
])
def test_a_failing_start_runs_the_fallback_config_instead(conf_dir, tmp_path, failure, error):
    args = ["--fallback-config", "app.yaml", "--chdir", str(tmp_path), *failure]
    srv = ServerProcess(spawn(args, {"CONFIG_FORMATS_VAR": "fallback"}, str(conf_dir)))
    try:
        srv.wait_ready(20.0)
        rep = report(srv.port, "FORMAT", "FROM_ENV", "GATEWAY_FALLBACK_COUNT")
    finally:
        srv.stop()
    srv.check_tracebacks()
    assert rep["env"] == {"FORMAT": "yaml", "FROM_ENV": "fallback", "GATEWAY_FALLBACK_COUNT": None}
    out = srv.output()
    assert error in out
    assert "!!! Fallback config to %s !!!" % (conf_dir / "app.yaml") in out
    assert rep["pid"] == srv.pid  # the same process, re-executed


def test_fallbacks_in_a_row_are_bounded(tmp_path):
    (tmp_path / "loop.ini").write_text("[uwsgi]\nfallback-config = loop.ini\nprocesses = many\n")
    result = run_cli(["loop.ini"], cwd=str(tmp_path), timeout=50)
    assert result.returncode == 1
    assert result.stderr.count("!!! Fallback config to %s !!!" % (tmp_path / "loop.ini")) == 8
    assert result.stderr.rstrip().endswith("not falling back to %s: 8 fallbacks in a row already"
                                           % (tmp_path / "loop.ini"))
