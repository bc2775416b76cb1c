"""uWSGI's per-request magic vars and dynamic apps, against real uWSGI 2.0.31.

The web server names the app a request needs (``uwsgi_param UWSGI_SCRIPT mymodule;``): the
worker loads it on the first such request and keeps it under the request's key (its
``SCRIPT_NAME``, or ``UWSGI_APPID``).  Raw uwsgi packets carrying these vars go to one real
uWSGI and one gateway started with the same options (``--socket``, a master, one worker,
``--tornado 10 --greenlet``, ``--single-interpreter``: without it uWSGI loads each dynamic app
in a sub-interpreter, and its greenlet engine then aborts the worker with ``Fatal Python
error: PyGILState_Release`` on the second app).  Three setups, one pair each, shared by the
module: full dynamic mode (no app, ``--no-default-app``), the same with ``--vhost``, and a
default app with ``--max-apps 2``; ``UWSGI_TOUCH_RELOAD`` gets a prefork pair of its own.  Compared: status and body, the log lines (``WSGI app N (mountpoint='/a')
ready``, ``unable to load app``, ``ERROR: you cannot load more than N apps``, ``--- no python
application found``), the request log's ``app: N``.  The deliberate differences (README, "The
uwsgi protocol") are asserted as such.
"""

from __future__ import annotations

import os
import re
import time
from typing import Dict, Iterator, List

import pytest

from support.peer_pair import SERVERS, LoggedPair, comparable
from support.waits import wait_until
from tests.integration.test_wire_vs_uwsgi import base, exchange, wsgi
from tests.server import run_server

pytestmark = pytest.mark.timeout(120)

APPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps", "dynamic")
COMMON = ["--master", "--processes", "1", "--tornado", "10", "--greenlet", "--single-interpreter",
          "--pythonpath", APPS, "--cache2", "name=c1,items=10"]


@pytest.fixture(scope="module")
def dynamic(tmp_path_factory) -> Iterator[LoggedPair]:
    """Full dynamic mode: no app given, only the ones requests name."""
    with LoggedPair(str(tmp_path_factory.mktemp("dynamic")), COMMON + ["--no-default-app"], socket="--socket") as pair:
        yield pair


@pytest.fixture(scope="module")
def vhosted(tmp_path_factory) -> Iterator[LoggedPair]:
    """Full dynamic mode with --vhost: the apps are keyed HOST|SCRIPT_NAME."""
    with LoggedPair(str(tmp_path_factory.mktemp("vhost")), COMMON + ["--vhost"], socket="--socket") as pair:
        yield pair


@pytest.fixture(scope="module")
def with_default(tmp_path_factory) -> Iterator[LoggedPair]:
    """A default app, room for one dynamic app more (``--max-apps 2``)."""
    tmp = tmp_path_factory.mktemp("default")
    with LoggedPair(str(tmp), COMMON + ["--wsgi-file", os.path.join(APPS, "default_app.py"), "--max-apps", "2"],
                    socket="--socket") as pair:
        yield pair


def ask(pair: LoggedPair, **variables: str) -> Dict[str, bytes]:
    """Each server's answer to a request carrying ``variables``, in turn."""
    return {s: exchange(pair.ports[s], wsgi(base(**variables))) for s in SERVERS}


def same(pair: LoggedPair, **variables: str) -> bytes:
    """The answer, asserted the same from both servers."""
    answers = ask(pair, **variables)
    assert answers["uwsgi"] == answers["gateway"], variables
    return answers["gateway"]


def logged(pair: LoggedPair, needle: str, count: int = 1) -> Dict[str, List[str]]:
    """Both logs' lines containing ``needle``, once each has ``count`` of them (comparable form)."""
    def found(server: str) -> List[str]:
        return [comparable(re.sub(r"0x[0-9a-f]+", "0x", ln)) for ln in pair.lines(server) if needle in ln]

    for server in SERVERS:
        wait_until(lambda s=server: len(found(s)) >= count, timeout=10, what="%r in %s's log" % (needle, server))
    return {s: found(s) for s in SERVERS}


def request_lines(pair: LoggedPair, server: str) -> List[str]:
    return [ln for ln in pair.text(server).splitlines() if ln.startswith("[pid: ")]


def app_ids_since(pair: LoggedPair, marks: Dict[str, int], n: int) -> Dict[str, List[str]]:
    """The ``app: N`` of the ``n`` request log lines each server writes after ``marks`` (the
    counts :func:`mark` took)."""
    out = {}
    for server in SERVERS:
        lines = wait_until(lambda s=server: len(request_lines(pair, s)) >= marks[s] + n and request_lines(pair, s),
                           what="%s's request lines" % server)
        out[server] = [re.search(r"\|app: (-?\d+)\|", ln).group(1)  # type: ignore[union-attr]
                       for ln in lines[marks[server]:marks[server] + n]]
    return out


def mark(pair: LoggedPair) -> Dict[str, int]:
    """How many request lines each server logged so far (taken before a test's first request
    to a pair no other test is using)."""
    return {s: len(request_lines(pair, s)) for s in SERVERS}


OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
ERROR_500 = b"HTTP/1.1 500 Internal Server Error\r\n"


def test_a_module_loads_on_its_first_request_and_stays_under_its_mountpoint(dynamic):
    marks = mark(dynamic)
    assert same(dynamic, UWSGI_SCRIPT="dyn_hello", SCRIPT_NAME="/a") == \
        OK + b"hello sn=/a pi=/x cwd=dynamic0 os.environ=None getenv=None"
    # the next requests to /a need not name it
    assert same(dynamic, SCRIPT_NAME="/a").startswith(OK + b"hello sn=/a")
    lines = logged(dynamic, "mountpoint='/a') ready")
    assert lines["uwsgi"] == lines["gateway"] == ["WSGI app N (mountpoint='/a') ready in N seconds on "
                                                   "interpreter Nx pid: N"]
    ids = app_ids_since(dynamic, marks, 2)
    assert ids["uwsgi"] == ids["gateway"] and ids["uwsgi"][0] == ids["uwsgi"][1]


def test_module_callable_factory_and_file_forms(dynamic):
    assert same(dynamic, UWSGI_MODULE="dyn_hello", UWSGI_CALLABLE="other", SCRIPT_NAME="/b").startswith(
        OK + b"other sn=/b")
    assert same(dynamic, UWSGI_SCRIPT="dyn_hello:other", SCRIPT_NAME="/b2").startswith(OK + b"other sn=/b2")
    assert same(dynamic, UWSGI_SCRIPT="dyn_hello:factory()", SCRIPT_NAME="/c").startswith(OK + b"made sn=/c")
    assert same(dynamic, UWSGI_FILE=os.path.join(APPS, "dyn_file.py"), SCRIPT_NAME="/f") == \
        b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\nfile sn=/f cwd=dynamic0"
    # UWSGI_SCRIPT wins over UWSGI_MODULE and UWSGI_FILE
    assert same(dynamic, UWSGI_SCRIPT="dyn_hello", UWSGI_MODULE="dyn_hello", UWSGI_CALLABLE="other",
                SCRIPT_NAME="/w").startswith(OK + b"hello sn=/w")


def test_uwsgi_appid_is_the_key_instead_of_script_name(dynamic):
    assert same(dynamic, UWSGI_SCRIPT="dyn_hello:other", UWSGI_APPID="by-id", SCRIPT_NAME="/x1").startswith(
        OK + b"other sn=/x1")
    lines = logged(dynamic, "mountpoint='by-id') ready")
    assert lines["uwsgi"] == lines["gateway"]
    # the app is found by its id whatever SCRIPT_NAME says; /x1 itself has no app
    assert same(dynamic, UWSGI_APPID="by-id", SCRIPT_NAME="/x2").startswith(OK + b"other sn=/x2")
    assert all(a.startswith(ERROR_500) for a in ask(dynamic, SCRIPT_NAME="/x1").values())


def test_a_failed_load_is_a_500_and_is_retried(dynamic):
    for _ in range(2):
        answers = ask(dynamic, UWSGI_SCRIPT="dyn_broken", SCRIPT_NAME="/broken")
        assert all(a.startswith(ERROR_500) for a in answers.values())
    lines = logged(dynamic, "mountpoint='/broken')", count=2)
    assert lines["uwsgi"][:2] == lines["gateway"][:2] == [
        "unable to load app N (mountpoint='/broken') (callable not found or import error)"] * 2
    for server in SERVERS:
        assert "RuntimeError: dyn_broken: broken on import" in dynamic.text(server)
    answers = ask(dynamic, UWSGI_SCRIPT="no_such_module_anywhere", SCRIPT_NAME="/missing")
    assert all(a.startswith(ERROR_500) for a in answers.values())
    logged(dynamic, "mountpoint='/missing') (callable not found or import error)")


def test_no_app_for_the_request(dynamic):
    """Full dynamic mode with --no-default-app: a request naming no app gets uWSGI's 500."""
    marks = mark(dynamic)
    answers = ask(dynamic, SCRIPT_NAME="/nothing-here")
    # the same status line and body (uWSGI's headers: Connection: close; gateway's: Content-Length)
    for answer in answers.values():
        assert answer.startswith(ERROR_500) and answer.endswith(b"\r\n\r\nInternal Server Error")
    logged(dynamic, "--- no python application found, check your startup logs for errors ---")
    for server in SERVERS:
        wait_until(lambda s=server: "|app: -1|req: -1/" in "".join(request_lines(dynamic, s)[marks[s]:]),
                   what="%s's request line for app -1" % server)


def test_setenv_reaches_the_process_environment_not_os_environ(dynamic):
    same(dynamic, UWSGI_SCRIPT="dyn_hello", SCRIPT_NAME="/env")
    assert same(dynamic, UWSGI_SETENV="DYN_X=hello", SCRIPT_NAME="/env") == \
        OK + b"hello sn=/env pi=/x cwd=dynamic0 os.environ=None getenv=hello"
    # it stays for the next requests; a value without '=' changes nothing
    assert same(dynamic, UWSGI_SETENV="DYN_X", SCRIPT_NAME="/env").endswith(b"getenv=hello")


def test_chdir_when_the_app_loads_and_before_each_of_its_requests(dynamic, tmp_path_factory):
    sub = os.path.join(os.path.dirname(dynamic.logs["uwsgi"]), "sub")
    os.makedirs(sub, exist_ok=True)
    try:
        assert same(dynamic, UWSGI_SCRIPT="dyn_hello", UWSGI_CHDIR=sub, SCRIPT_NAME="/cd").startswith(
            OK + b"hello sn=/cd pi=/x cwd=sub")
        assert same(dynamic, SCRIPT_NAME="/cd").startswith(OK + b"hello sn=/cd pi=/x cwd=sub")
    finally:
        # the worker stays there (both): back to the start directory for the other tests
        same(dynamic, UWSGI_SCRIPT="dyn_hello", UWSGI_CHDIR=os.path.dirname(sub), SCRIPT_NAME="/cd-back")


def test_cache_get_answers_from_the_cache(dynamic):
    same(dynamic, UWSGI_SCRIPT="dyn_hello", SCRIPT_NAME="/cache", PATH_INFO="/setcache")
    answers = ask(dynamic, UWSGI_CACHE_GET="k1", SCRIPT_NAME="/cache")
    # deliberate: uWSGI writes the bare value (no status line: nginx answers 502)
    assert answers["uwsgi"] == b"cached-value"
    assert answers["gateway"] == b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\ncached-value"
    # a miss goes on to the app
    assert same(dynamic, UWSGI_CACHE_GET="nokey", SCRIPT_NAME="/cache").startswith(OK + b"hello sn=/cache")


def test_postfile_is_the_body(dynamic):
    """UWSGI_POSTFILE: the body is the file's (nginx's $request_body_file), CONTENT_LENGTH of it."""
    path = os.path.join(os.path.dirname(dynamic.logs["uwsgi"]), "posted")
    with open(path, "wb") as f:
        f.write(b"posted body")
    echo = dict(UWSGI_SCRIPT="dyn_hello:echo", SCRIPT_NAME="/echo")
    assert same(dynamic, UWSGI_POSTFILE=path, CONTENT_LENGTH="11", **echo) == OK + b"body=posted body"
    assert same(dynamic, UWSGI_POSTFILE=path, CONTENT_LENGTH="6", **echo) == OK + b"body=posted"
    # a file that cannot be opened: logged, and the body is the connection's
    answers = {s: exchange(dynamic.ports[s], wsgi(base(UWSGI_POSTFILE=path + ".missing", CONTENT_LENGTH="3", **echo),
                                                  b"abc")) for s in SERVERS}
    assert answers["uwsgi"] == answers["gateway"] == OK + b"body=abc"
    logged(dynamic, 'open("%s.missing"): No such file or directory' % path)
    # deliberate: a file shorter than CONTENT_LENGTH is a shorter body (uWSGI's read fails: 500)
    answers = ask(dynamic, UWSGI_POSTFILE=path, CONTENT_LENGTH="50", **echo)
    assert answers["uwsgi"] == b"" and answers["gateway"] == OK + b"body=posted body"


def test_vhost_keys_the_dynamic_apps_by_host(vhosted):
    assert same(vhosted, UWSGI_SCRIPT="dyn_hello", SERVER_NAME="a.example").startswith(OK + b"hello sn= ")
    lines = logged(vhosted, "mountpoint='a.example|') ready")
    assert lines["uwsgi"] == lines["gateway"] == ["WSGI app N (mountpoint='a.example|') ready in N seconds on "
                                                   "interpreter Nx pid: N"]  # not a path: no default app
    assert same(vhosted, SERVER_NAME="a.example").startswith(OK + b"hello sn= ")
    assert all(a.startswith(ERROR_500) for a in ask(vhosted, SERVER_NAME="b.example").values())
    assert same(vhosted, UWSGI_SCRIPT="dyn_hello:other", SERVER_NAME="a.example", SCRIPT_NAME="/o").startswith(
        OK + b"other sn=/o")
    logged(vhosted, "mountpoint='a.example|/o') ready")
    # deliberate: host names compared without case (uWSGI: A.EXAMPLE is another host, no app)
    answers = ask(vhosted, SERVER_NAME="A.EXAMPLE")
    assert answers["uwsgi"].startswith(ERROR_500) and answers["gateway"].startswith(OK + b"hello sn= ")


def test_the_default_app_takes_what_no_dynamic_app_does(with_default):
    """A failed load falls back to the default app; the dynamic apps are numbered after it;
    past --max-apps nothing more loads (uWSGI's line), the default app answers."""
    pair = with_default
    marks = mark(pair)
    default = OK + b"default sn=/broken"
    assert same(pair, UWSGI_SCRIPT="dyn_broken", SCRIPT_NAME="/broken") == default
    # no SCRIPT_NAME: the key is the default app's, nothing is loaded
    assert same(pair, UWSGI_SCRIPT="dyn_hello") == OK + b"default sn="
    assert same(pair, UWSGI_SCRIPT="dyn_hello", SCRIPT_NAME="/one").startswith(OK + b"hello sn=/one")
    lines = logged(pair, "mountpoint='/one') ready")
    assert lines["uwsgi"] == lines["gateway"] == ["WSGI app N (mountpoint='/one') ready in N seconds on "
                                                   "interpreter Nx pid: N"]
    assert same(pair, UWSGI_SCRIPT="dyn_hello", SCRIPT_NAME="/two") == OK + b"default sn=/two"
    lines = logged(pair, "you cannot load more than")
    assert lines["uwsgi"] == lines["gateway"] == ["ERROR: you cannot load more than N apps in a worker"]
    ids = app_ids_since(pair, marks, 4)
    assert ids["uwsgi"] == ids["gateway"] == ["0", "0", "1", "0"]


def test_touch_reload_recycles_the_worker(tmp_path_factory):
    """UWSGI_TOUCH_RELOAD: once its file changes, the app's next request is served, then the
    worker is replaced; the new worker has no dynamic app until a request names it again."""
    tmp = str(tmp_path_factory.mktemp("touch"))
    touched = os.path.join(tmp, "touch.txt")
    with open(touched, "w"):
        pass
    # prefork: uWSGI's async engines never look at the flag the change sets (its worker goes on)
    prefork = [o for o in COMMON if o not in ("--tornado", "10", "--greenlet")]
    pair = LoggedPair(tmp, prefork + ["--no-default-app"], socket="--socket")
    try:
        assert same(pair, UWSGI_SCRIPT="dyn_hello", UWSGI_TOUCH_RELOAD=touched, SCRIPT_NAME="/t").startswith(OK)
        workers = {s: pair.worker_pids(s) for s in SERVERS}
        assert same(pair, SCRIPT_NAME="/t").startswith(OK)
        later = time.time() + 5
        os.utime(touched, (later, later))
        assert same(pair, SCRIPT_NAME="/t").startswith(OK + b"hello sn=/t")
        for server in SERVERS:
            wait_until(lambda s=server: pair.worker_pids(s) and not pair.worker_pids(s) & workers[s],
                       timeout=20, what="%s's new worker" % server)
        logged(pair, "spawned uWSGI worker 1", count=1)
        # the new worker: /t is gone until a request names it again
        wait_until(lambda: all(a.startswith(ERROR_500) for a in ask(pair, SCRIPT_NAME="/t").values()),
                   timeout=20, what="both new workers serving")
        assert same(pair, UWSGI_SCRIPT="dyn_hello", SCRIPT_NAME="/t").startswith(OK + b"hello sn=/t")
    finally:
        pair.stop()


def test_touch_reload_recycles_the_worker_under_the_async_engine_too(tmp_path):
    """Deliberate: gateway acts on UWSGI_TOUCH_RELOAD under --tornado/--greenlet too (uWSGI's
    async engines never do: its worker goes on with the old app)."""
    touched = tmp_path / "touch.txt"
    touched.write_text("")
    with run_server(["--socket", "127.0.0.1:0", "--master", "--tornado", "10", "--greenlet", "--no-default-app",
                     "--pythonpath", APPS]) as gw:
        port = gw.uwsgi_port
        assert exchange(port, wsgi(base(UWSGI_SCRIPT="dyn_hello", UWSGI_TOUCH_RELOAD=str(touched),
                                        SCRIPT_NAME="/t"))).startswith(OK)
        later = time.time() + 5
        os.utime(touched, (later, later))
        assert exchange(port, wsgi(base(SCRIPT_NAME="/t"))).startswith(OK + b"hello sn=/t")
        gw.wait_for_line(r"UWSGI_TOUCH_RELOAD: .*touch.txt was modified", timeout=10)
        gw.wait_for_line(r"Respawned uWSGI worker 1", timeout=20)
        wait_until(lambda: exchange(port, wsgi(base(SCRIPT_NAME="/t"))).startswith(ERROR_500), timeout=20,
                   what="the new worker, without the app")
