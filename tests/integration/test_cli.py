"""The ``gateway`` CLI as a real subprocess: option forms, ini files, ``UWSGI_*`` variables,
``--help``, refusals, socket errors, the request log and SIGTERM.

Options are checked by their effect inside the hosted app (``tests/apps/config_report.py``
reports ``uwsgi.opt``, the core count, the buffer size, ``os.environ`` and the working
directory), never by reading the server's internals.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import socket
import time
from contextlib import contextmanager

import pytest

from gateway.config.options import OPTIONS
from server import ROOT, ServerProcess, run_cli, run_server, spawn
from support.httpclient import Conn, request

pytestmark = pytest.mark.timeout(60)

APPS = os.path.join(ROOT, "tests", "apps")
REPORT = "tests/apps/config_report.py"
ENGINE = ["--tornado", "2", "--greenlet"]


def report(port: int, *env_names: str) -> dict:
    r = request(port, "/?" + "&".join(env_names))
    assert r.status == 200, r
    return ast.literal_eval(r.body.decode())


def assert_one_error(result, *fragments: str) -> str:
    """Exit status 1, nothing on stdout, exactly one ``gateway: ...`` line containing every fragment."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gateway: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@contextmanager
def serve_exactly(args, env=None, cwd=None, timeout=20.0):
    """Like ``run_server`` but with ``args`` untouched (no ``--http-socket`` added)."""
    srv = ServerProcess(spawn(list(args), env, cwd))
    try:
        srv.wait_ready(timeout)
        yield srv
    finally:
        srv.stop()


# -- command-line forms -----------------------------------------------------------------------


def test_argv_forms_long_equals_repeated_short_and_bundled():
    args = [
        "--wsgi-file=" + REPORT,
        "--tornado", "2", "--tornado=3",        # scalar: the last one wins
        "--greenlet",
        "--env", "A_OPT=one", "--env=B_OPT=two",  # repeatable: both, in order
        "-b", "8192",                            # short form with a separate value
        "-z7",                                   # short form with an attached value
        "-Lp1",                                  # bundled: flag -L, then -p with value 1
    ]
    with run_server(args) as srv:
        rep = report(srv.port, "A_OPT", "B_OPT")
    assert rep["cores"] == 3
    assert rep["buffer_size"] == 8192
    assert rep["env"] == {"A_OPT": "one", "B_OPT": "two"}
    opt = rep["opt"]
    assert opt["tornado"] == [b"2", b"3"]
    assert opt["env"] == [b"A_OPT=one", b"B_OPT=two"]
    assert opt["wsgi-file"] == REPORT.encode()
    # short forms are recorded under their long names, as uWSGI does
    assert opt["buffer-size"] == b"8192"
    assert opt["socket-timeout"] == b"7"
    assert opt["processes"] == b"1"
    assert opt["disable-logging"] is True
    assert opt["greenlet"] is True  # (what -L does is tested below, with a log sentinel)


def test_module_short_form_and_alias_spellings():
    # -w is --module; --pp is an alias of --pythonpath; --workers of --processes
    args = ["-w", "config_report", "--pp", APPS, "--workers", "1"] + ENGINE
    with run_server(args) as srv:
        rep = report(srv.port)
    assert rep["sys_path"][0] == APPS
    assert rep["opt"]["module"] == b"config_report"
    assert rep["opt"]["pp"] == APPS.encode()  # the spelling used is the key
    assert rep["opt"]["workers"] == b"1"


# -- ini files ----------------------------------------------------------------------------------

INI = """\
; a comment
[uwsgi]
http-socket = 127.0.0.1:0
wsgi-file = %dconfig_report.py
chdir = %d
greeting = hello-%n
env = GREETING=%(greeting)
env = INI_DIR=%d
tornado = 3
greenlet = true
master = false
harakiri = 0

[other]
http-socket = 127.0.0.1:0
wsgi-file = %dconfig_report.py
env = SECTION=%x
tornado = 2
greenlet = true
"""


@pytest.fixture
def ini_dir(tmp_path):
    app_dir = tmp_path / "conf"
    app_dir.mkdir()
    shutil.copy(os.path.join(APPS, "config_report.py"), app_dir / "config_report.py")
    (app_dir / "app.ini").write_text(INI)
    return app_dir


@pytest.mark.parametrize("form", ["positional", "--ini", "--ini="])
def test_ini_file_placeholders_and_magic_variables(ini_dir, form):
    ini = str(ini_dir / "app.ini")
    args = {"positional": [ini], "--ini": ["--ini", ini], "--ini=": ["--ini=" + ini]}[form]
    # cwd is the repository, not the ini's directory: %d must be the ini's directory
    with run_server(args, cwd=ROOT) as srv:
        rep = report(srv.port, "GREETING", "INI_DIR", "SECTION")
    here = os.path.realpath(ini_dir) + "/"
    assert rep["env"] == {"GREETING": "hello-app", "INI_DIR": here, "SECTION": None}
    assert rep["cwd"] == os.path.realpath(ini_dir)
    assert rep["cores"] == 3
    opt = rep["opt"]
    assert opt["wsgi-file"] == (here + "config_report.py").encode()
    assert opt["greeting"] == b"hello-app"  # a placeholder is in uwsgi.opt too
    assert opt["env"] == [b"GREETING=hello-app", ("INI_DIR=" + here).encode()]
    assert opt["greenlet"] == b"true"  # from an ini, a flag keeps its text
    assert opt["master"] == b"false"
    # uWSGI records --ini but not a lone config-file argument
    if form == "positional":
        assert "ini" not in opt
    else:
        assert opt["ini"] == ini.encode()


def test_ini_section_selection(ini_dir):
    with serve_exactly(["--ini", str(ini_dir / "app.ini") + ":other"]) as srv:
        rep = report(srv.port, "SECTION", "GREETING")
    assert rep["env"] == {"SECTION": "other", "GREETING": None}
    assert rep["cores"] == 2


def test_ini_bad_value_names_file_and_line(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text("[uwsgi]\nhttp-socket = 127.0.0.1:0\ntornado = many\n")
    result = run_cli([str(ini)])
    assert_one_error(result, "option 'tornado' expects an integer, got 'many'", "line 3")


def test_ini_typo_and_clamped_value_are_reported_at_startup(tmp_path):
    ini = tmp_path / "typo.ini"
    ini.write_text("[uwsgi]\nhttp-socket = 127.0.0.1:0\nwsgi-file = %s\ntornado = 2\ngreenlet = true\n"
                   "threds = 4\nbuffer-size = 100000\n" % os.path.join(ROOT, REPORT))
    with run_server([str(ini)]) as srv:
        rep = report(srv.port)
        # printed before the ready line, so already read
        out = srv.output()
    assert rep["buffer_size"] == 65535
    assert re.search(r"'threds' .*typo\.ini line 6.*did you mean 'threads'", out), out
    assert re.search(r"'buffer-size' 100000 lowered to 65535", out), out


def test_strict_turns_an_ini_typo_into_an_error(tmp_path):
    ini = tmp_path / "strict.ini"
    ini.write_text("[uwsgi]\nhttp-socket = 127.0.0.1:0\nwsgi-file = %s\nthreds = 4\n" % REPORT)
    assert_one_error(run_cli(["--strict", str(ini)]),
                     "unknown option 'threds' (did you mean 'threads'?)", "strict.ini line 4",
                     "--strict forbids placeholders")


def test_ini_missing_file():
    result = run_cli(["--ini", "/nonexistent/gateway-test.ini"])
    assert_one_error(result, "cannot read ini file '/nonexistent/gateway-test.ini'")


# -- UWSGI_* environment variables --------------------------------------------------------------


def test_environment_variables_are_options():
    env = {
        "UWSGI_HTTP_SOCKET": "127.0.0.1:0",
        "UWSGI_WSGI_FILE": REPORT,
        "UWSGI_TORNADO": "2",
        "UWSGI_GREENLET": "1",
        "UWSGI_ENV": "FROM_UWSGI_ENV=yes",
    }
    with serve_exactly([], env=env) as srv:
        assert len(srv.addresses) == 1
        rep = report(srv.port, "FROM_UWSGI_ENV")
    assert rep["cores"] == 2
    assert rep["env"] == {"FROM_UWSGI_ENV": "yes"}
    assert rep["opt"]["http-socket"] == b"127.0.0.1:0"
    assert rep["opt"]["greenlet"] == b"1"


def test_command_line_overrides_environment_scalars_and_adds_to_repeatables():
    env = {"UWSGI_HTTP_SOCKET": "127.0.0.1:0", "UWSGI_TORNADO": "2"}
    args = ["--http-socket", "127.0.0.1:0", "--wsgi-file", REPORT, "--tornado", "3", "--greenlet"]
    with serve_exactly(args, env=env) as srv:
        assert len(srv.addresses) == 2, srv.addresses  # env socket + argv socket
        ports = [int(a.rsplit(":", 1)[1]) for a in srv.addresses]
        assert ports[0] != ports[1]
        reports = [report(p) for p in ports]
    assert [r["cores"] for r in reports] == [3, 3]
    assert reports[0]["pid"] == reports[1]["pid"] == srv.pid


def test_environment_variable_refused_names_its_source():
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", REPORT] + ENGINE,
                     env={"UWSGI_EMPEROR_BROODLORD": "4"})
    assert_one_error(result, "'emperor-broodlord' is not supported yet", "environment variable UWSGI_EMPEROR_BROODLORD")


# -- --help and --version -------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--help", "-h", "--usage"])
def test_help_lists_every_option(flag):
    result = run_cli([flag, "--no-such-option-after-help"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.startswith("Usage: gateway")
    missing = [o.name for o in OPTIONS if not re.search(r"(^|\s)--%s(?![\w-])" % re.escape(o.name), out, re.M)]
    assert missing == []
    assert re.search(r"-p, --processes", out)
    assert re.search(r"-w, --module", out)


def test_version():
    result = run_cli(["--version"])
    assert result.returncode == 0
    assert result.stdout.startswith("gateway ")
    assert "2.0.31" in result.stdout


# -- refusals: unknown, malformed, not supported yet ----------------------------------------------


@pytest.mark.parametrize("args, fragments", [
    (["--htp-socket", ":0"], ["unrecognized option '--htp-socket'", "did you mean '--http-socket'?"]),
    (["--wsgifile", "x.py"], ["unrecognized option '--wsgifile'", "did you mean '--wsgi-file'?"]),
    (["--procesess", "1"], ["unrecognized option '--procesess'", "did you mean '--processes'?"]),
    (["--zzzz"], ["unrecognized option '--zzzz'"]),
    (["-Y"], ["unrecognized option '-Y'"]),
    (["--tornado", "ten", "--greenlet"], ["option '--tornado' expects an integer, got 'ten'"]),
    (["--tornado", "0", "--greenlet"], ["option '--tornado'", "at least 1"]),
    (["--greenlet=1"], ["option '--greenlet' does not take a value"]),
    (["--wsgi-file"], ["option '--wsgi-file' requires a value"]),
    (["-p"], ["option '-p' requires a value"]),
    (["--env", "NOEQUALS"], ["option '--env' expects KEY=VALUE, got 'NOEQUALS'"]),
    (["stray-argument"], ["unexpected argument 'stray-argument'"]),
    (["missing.yaml"], ["cannot read YAML file 'missing.yaml': No such file or directory"]),
])
def test_unknown_or_malformed_option_is_one_clear_error(args, fragments):
    assert_one_error(run_cli(args), *fragments)


@pytest.mark.parametrize("args, name", [
    (["--emperor-broodlord", "4"], "--emperor-broodlord"),
    (["--emperor-on-demand-dir", "/run/ondemand"], "--emperor-on-demand-dir"),
    (["--gevent", "100"], "--gevent"),
    (["--spooler-signal-as-task"], "--spooler-signal-as-task"),
])
def test_not_supported_yet_is_refused_never_ignored(args, name):
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", REPORT] + ENGINE + args)
    assert_one_error(result, "option '%s' is not supported yet by gateway" % name)


def test_not_supported_yet_in_ini_names_file(tmp_path):
    ini = tmp_path / "m.ini"
    ini.write_text("[uwsgi]\nhttp-socket = 127.0.0.1:0\nwsgi-file = %s\nemperor-on-demand-dir = /x\n" % REPORT)
    assert_one_error(run_cli([str(ini)]), "option 'emperor-on-demand-dir' is not supported yet", "m.ini line 4")


def test_tornado_without_greenlet_is_a_startup_error():
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", REPORT, "--tornado", "4"])
    assert_one_error(result, "--tornado needs a suspend engine: add --greenlet")


def test_greenlet_without_tornado_is_a_startup_error():
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", REPORT, "--greenlet"])
    assert_one_error(result, "the greenlet suspend engine requires async mode (--tornado N)")


def test_no_socket_and_no_app_are_errors():
    assert_one_error(run_cli(["--wsgi-file", REPORT] + ENGINE), "no socket to serve", "--http-socket")
    assert_one_error(run_cli(["--http-socket", "127.0.0.1:0"] + ENGINE), "no app given")


# -- --http-socket errors ---------------------------------------------------------------------------


def test_http_socket_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        spec = "127.0.0.1:%d" % busy.getsockname()[1]
        result = run_cli(["--http-socket", spec, "--wsgi-file", REPORT] + ENGINE)
    assert_one_error(result, "cannot bind %s" % spec, "Address already in use")


@pytest.mark.parametrize("spec, fragment", [
    ("127.0.0.1:http", "option '--http-socket' expects host:port or :port"),
    ("127.0.0.1:99999", "port from 0 to 65535, got '127.0.0.1:99999'"),
    ("[::1:80", "option '--http-socket' expects host:port, :port or [ipv6]:port"),
    ("/tmp/gateway.sock", "'/tmp/gateway.sock' looks like a UNIX socket path"),
    ("256.1.1.1:80", "cannot bind 256.1.1.1:80"),
])
def test_http_socket_malformed(spec, fragment):
    assert_one_error(run_cli(["--http-socket", spec, "--wsgi-file", REPORT] + ENGINE), fragment)


# -- the request log --------------------------------------------------------------------------------

CTIME = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"


def log_line_regex(pid: int, app_req: int, all_req: int, method: str, uri: str, size: int, status: int) -> str:
    return (
        r"^\[pid: %d\|app: 0\|req: %d/%d\] 127\.0\.0\.1 \(\) \{\d+ vars in \d+ bytes\} \[%s\] %s %s "
        r"=> generated %d bytes in \d+ msecs \(HTTP/1\.1 %d\) \d+ headers in \d+ bytes "
        r"\(\d+ switches on core \d+\)$"
        % (pid, app_req, all_req, CTIME, method, re.escape(uri), size, status)
    )


def mark(srv, text: str) -> None:
    """A sentinel: once ``MARK text`` is logged, earlier requests' log lines are out."""
    assert request(srv.port, "/mark?" + text).status == 200
    srv.wait_for_line("^MARK %s$" % text)


def test_request_log_one_line_per_request_in_uwsgi_format():
    with run_server(["--wsgi-file", "tests/apps/logging_probe.py"] + ENGINE) as srv:
        r1 = request(srv.port, "/first?a=1")
        assert r1.body == b"ok"
        srv.wait_for_line(log_line_regex(srv.pid, 1, 1, "GET", "/first?a=1", 2, 200))
        r2 = request(srv.port, "/second", method="POST", body=b"xyz")
        assert r2.status == 200
        srv.wait_for_line(log_line_regex(srv.pid, 2, 2, "POST", "/second", 2, 200))
        mark(srv, "end")
        lines = list(srv.lines)
    assert len([line for line in lines if " GET /first?a=1 => " in line]) == 1
    assert len([line for line in lines if " POST /second => " in line]) == 1
    line = next(line for line in lines if " GET /first?a=1 => " in line)
    # two app headers (Content-Type, Content-Length)
    assert " 2 headers in " in line
    when = re.search(r"\} \[(%s)\] GET" % CTIME, line).group(1)
    assert abs(time.mktime(time.strptime(when)) - time.time()) < 60


def test_request_log_switch_count_of_a_one_item_list_matches_uwsgi():
    with run_server(["--wsgi-file", "tests/apps/logging_probe.py"] + ENGINE) as srv:
        request(srv.port, "/one")
        line = srv.wait_for_line(r" GET /one => ")
    assert "(2 switches on core " in line, line


@pytest.mark.parametrize("flag", ["--disable-logging", "-L"])
def test_disable_logging_removes_request_lines(flag):
    with run_server(["--wsgi-file", "tests/apps/logging_probe.py", flag] + ENGINE) as srv:
        assert request(srv.port, "/quiet").status == 200
        mark(srv, "after-quiet")
        lines = list(srv.lines)
    assert not any("=> generated" in line for line in lines), lines


def test_app_exception_logs_its_traceback_exactly_once():
    with run_server(["--wsgi-file", "tests/apps/logging_probe.py"] + ENGINE) as srv:
        srv.expect_traceback("RuntimeError: boom from logging_probe")
        r = request(srv.port, "/boom")
        assert r.status == 500
        assert b"boom" not in r.body  # the traceback goes to the log, not to the client
        mark(srv, "after-boom")
        out = srv.output()
    assert out.count("Traceback (most recent call last)") == 1, out
    assert out.count("RuntimeError: boom from logging_probe") == 1, out
    assert len(re.findall(r"GET /boom => generated \d+ bytes in \d+ msecs \(HTTP/1\.1 500\)", out)) == 1, out
    # the traceback points into the app
    assert re.search(r'File ".*tests/apps/logging_probe\.py", line \d+, in application', out), out


def test_exception_after_the_first_chunk_logs_once_and_truncates():
    with run_server(["--wsgi-file", "tests/apps/logging_probe.py"] + ENGINE) as srv:
        srv.expect_traceback("late boom")
        r = request(srv.port, "/boom-late")
        assert r.status == 200  # already sent
        assert r.body == b"first chunk"
        assert r.complete is False  # no final chunk: the client can tell
        mark(srv, "after-late-boom")
        out = srv.output()
    assert out.count("Traceback (most recent call last)") == 1, out
    assert out.count("RuntimeError: late boom") == 1, out
    assert re.search(r'File ".*tests/apps/logging_probe\.py", line \d+, in late_boom', out), out
    assert len(re.findall(r" GET /boom-late => generated 11 bytes ", out)) == 1, out


# -- signals ------------------------------------------------------------------------------------


def test_sigterm_idle_exits_zero_promptly():
    with run_server(["--wsgi-file", "tests/apps/hello.py"] + ENGINE) as srv:
        assert request(srv.port, "/").body == b"hello /"
        t0 = time.monotonic()
        os.kill(srv.pid, signal.SIGTERM)
        assert srv.proc.wait(5) == 0
        assert time.monotonic() - t0 < 3
        srv.wait_for_line(r"SIGTERM received")


def test_sigterm_lets_the_request_in_flight_complete():
    with run_server(["--wsgi-file", "tests/apps/slow.py"] + ENGINE) as srv:
        with Conn(srv.port) as conn:
            conn.send(b"GET /in-flight?0.5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            srv.wait_for_line(r"^slow: started /in-flight$")
            t0 = time.monotonic()
            os.kill(srv.pid, signal.SIGTERM)
            response = conn.read_response()
        assert response.status == 200
        assert response.body == b"slow done"
        assert srv.proc.wait(5) == 0
        assert time.monotonic() - t0 < 3
