"""uWSGI's dynamic apps in :class:`gateway.mounts.Mounts` and the magic vars that act before
the app (:mod:`gateway.server.magic_vars`, ``UWSGI_CACHE_GET`` in
:mod:`gateway.server.check_cache`); the differential side is
tests/integration/test_dynamic_apps_vs_uwsgi.py."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from gateway.app_loader import AppLoadError, load_dynamic
from gateway.mounts import Mounts, is_dynamic
from gateway.server import magic_vars


def named(name):
    def app(environ, start_response):
        start_response("200 OK", [])
        return [("%s|%s|%s" % (name, environ.get("SCRIPT_NAME", ""), environ.get("gateway.app_id"))).encode()]
    return app


class Loader:
    """Loads ``named(UWSGI_SCRIPT)``; ``UWSGI_SCRIPT`` ``bad...`` fails; counts its calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    def __call__(self, environ):
        self.calls += 1
        time.sleep(self.delay)
        name = environ.get("UWSGI_SCRIPT", "")
        if name.startswith("bad"):
            raise AppLoadError("module %r not found" % name)
        return named(name)


def call(app, **environ):
    status = []
    environ.setdefault("PATH_INFO", "/x")
    body = app(dict(environ, REQUEST_METHOD="GET"), lambda s, h: status.append(s))
    return status[0], b"".join(body).decode()


def test_a_dynamic_app_loads_once_and_serves_its_key(caplog):
    loader = Loader()
    app = Mounts([], loader=loader, default_fallback=False)
    with caplog.at_level(logging.INFO, logger="gateway.error"):
        assert call(app, UWSGI_SCRIPT="A", SCRIPT_NAME="/a") == ("200 OK", "A|/a|0")
    assert call(app, SCRIPT_NAME="/a") == ("200 OK", "A|/a|0")
    assert call(app, UWSGI_SCRIPT="other", SCRIPT_NAME="/a") == ("200 OK", "A|/a|0")  # the key has an app
    assert loader.calls == 1
    assert "WSGI app 0 (mountpoint='/a') ready in 0 seconds" in caplog.text
    assert "(default app)" not in caplog.text  # --no-default-app
    assert call(app, SCRIPT_NAME="/b")[0].startswith("500")


def test_the_first_dynamic_app_at_a_path_becomes_the_default_app():
    app = Mounts([], loader=Loader())
    assert call(app, UWSGI_SCRIPT="ID", UWSGI_APPID="named-id") == ("200 OK", "ID||0")  # not a path: no default
    assert call(app, SCRIPT_NAME="/zz")[0].startswith("500")
    assert call(app, UWSGI_SCRIPT="A", SCRIPT_NAME="/a") == ("200 OK", "A|/a|1")
    assert call(app, SCRIPT_NAME="/zz") == ("200 OK", "A|/zz|0")  # as uWSGI: the default app, id 0


def test_appid_wins_over_script_name_and_vhost_keys():
    app = Mounts([("/m", named("M"))], default=named("D"), loader=Loader())
    assert call(app, UWSGI_APPID="/m", SCRIPT_NAME="/other") == ("200 OK", "M|/other|1")
    hosted = Mounts([], vhost="SERVER_NAME", loader=Loader(), default_fallback=False)
    assert call(hosted, UWSGI_SCRIPT="H", SERVER_NAME="WWW.example.org", SCRIPT_NAME="/v") == ("200 OK", "H|/v|0")
    assert hosted.key({"SERVER_NAME": "www.example.org", "SCRIPT_NAME": "/v/"}) == "www.example.org|/v"
    assert call(hosted, SERVER_NAME="www.example.org", SCRIPT_NAME="/v") == ("200 OK", "H|/v|0")
    assert call(hosted, SERVER_NAME="other.org", SCRIPT_NAME="/v")[0].startswith("500")


def test_a_failed_load_is_not_kept_and_falls_back_to_the_default(caplog):
    loader = Loader()
    app = Mounts([], default=named("D"), loader=loader)
    with caplog.at_level(logging.INFO, logger="gateway.error"):
        for _ in range(3):
            assert call(app, UWSGI_SCRIPT="bad1", SCRIPT_NAME="/a") == ("200 OK", "D|/a|0")
    assert loader.calls == 3  # retried, as uWSGI
    assert caplog.text.count("unable to load app 1 (mountpoint='/a') (callable not found or import error)") == 3
    assert app.count == 1 and "/a" not in app.by_mountpoint


def test_a_flood_of_distinct_names_stops_at_max_apps(caplog):
    loader = Loader()
    app = Mounts([("/m", named("M"))], default=named("D"), loader=loader, max_apps=5)
    with caplog.at_level(logging.INFO, logger="gateway.error"):
        for i in range(200):
            call(app, UWSGI_SCRIPT="n%d" % i, SCRIPT_NAME="/n%d" % i)
    assert app.count == 5 and len(app.by_mountpoint) == 5  # "", /m and 3 dynamic ones
    assert loader.calls == 3
    assert call(app, UWSGI_SCRIPT="n150", SCRIPT_NAME="/n150") == ("200 OK", "D|/n150|0")
    assert caplog.text.count("ERROR: you cannot load more than 5 apps in a worker") == 198


def test_concurrent_first_requests_load_the_app_once():
    loader = Loader(delay=0.05)
    app = Mounts([], loader=loader, default_fallback=False)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(call(app, UWSGI_SCRIPT="T", SCRIPT_NAME="/t")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert answers == [("200 OK", "T|/t|0")] * 8
    assert loader.calls == 1 and app.count == 1


def test_chdir_at_load_and_before_each_request_of_the_app(tmp_path):
    here = os.getcwd()
    seen = []

    def loader(environ):
        seen.append(os.getcwd())
        return lambda e, s: (s("200 OK", []), [os.getcwd().encode()])[1]

    app = Mounts([], default=named("D"), loader=loader)
    try:
        assert call(app, UWSGI_SCRIPT="x", UWSGI_CHDIR=str(tmp_path), SCRIPT_NAME="/c")[1] == str(tmp_path)
        assert seen == [str(tmp_path)]
        os.chdir(here)
        assert call(app, SCRIPT_NAME="/c")[1] == str(tmp_path)
        os.chdir(here)
        call(app, SCRIPT_NAME="/d")  # the default app: no chdir
        assert os.getcwd() == here
    finally:
        os.chdir(here)


def test_touch_reload_marks_the_request_to_retire_the_worker(tmp_path):
    touched = tmp_path / "t"
    touched.write_text("")
    app = Mounts([], default=named("D"), loader=Loader())
    environ = {"UWSGI_SCRIPT": "T", "UWSGI_TOUCH_RELOAD": str(touched), "SCRIPT_NAME": "/t", "PATH_INFO": "/"}
    app(environ, lambda s, h: None)
    environ = {"SCRIPT_NAME": "/t", "PATH_INFO": "/"}
    app(environ, lambda s, h: None)
    assert "gateway.retire_after" not in environ
    later = time.time() + 5
    os.utime(touched, (later, later))
    app(environ, lambda s, h: None)
    assert environ["gateway.retire_after"] == "UWSGI_TOUCH_RELOAD: %s was modified" % touched


def test_pyhome_is_ignored_with_one_warning(caplog, monkeypatch):
    from gateway import mounts

    monkeypatch.setattr(mounts, "_warned", set())
    app = Mounts([], loader=Loader(), default_fallback=False)
    with caplog.at_level(logging.WARNING, logger="gateway.error"):
        call(app, UWSGI_SCRIPT="P", UWSGI_PYHOME="/venv", SCRIPT_NAME="/p1")
        call(app, UWSGI_SCRIPT="P", UWSGI_PYHOME="/venv", SCRIPT_NAME="/p2")
    assert caplog.text.count("UWSGI_PYHOME is ignored") == 1  # once per process


def test_only_the_web_servers_vars_name_an_app():
    assert is_dynamic({"UWSGI_FILE": "x.py"}) and is_dynamic({"UWSGI_CALLABLE": ""})
    assert not is_dynamic({"HTTP_UWSGI_SCRIPT": "x"})  # a client's header


def test_load_dynamic_reads_the_vars_as_uwsgi(tmp_path):
    (tmp_path / "f.py").write_text("def app(e, s):\n    return [b'f']\n")
    assert load_dynamic({"UWSGI_FILE": str(tmp_path / "f.py")}, callable_name="app")(None, None) == [b"f"]
    assert load_dynamic({"UWSGI_MODULE": "os.path", "UWSGI_CALLABLE": "join"}) is os.path.join
    assert load_dynamic({"UWSGI_SCRIPT": "os.path:join", "UWSGI_MODULE": "nope"}) is os.path.join
    with pytest.raises(AppLoadError, match="UWSGI_CALLABLE needs UWSGI_MODULE"):
        load_dynamic({"UWSGI_CALLABLE": "app"})
    with pytest.raises(AppLoadError, match="not found"):
        load_dynamic({"UWSGI_SCRIPT": "no_such_module_for_dynamic_apps"})


def test_setenv_writes_the_process_environment_only(caplog):
    import ctypes

    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    name = "GATEWAY_TEST_SETENV_%d" % os.getpid()
    magic_vars.apply_setenv("%s=a=b" % name)
    assert libc.getenv(name.encode()) == b"a=b"
    assert name not in os.environ  # as uWSGI: os.environ is refreshed only by --reload-os-env
    magic_vars.apply_setenv(name)  # no '=': nothing
    assert libc.getenv(name.encode()) == b"a=b"
    magic_vars.apply_setenv("=x")  # no name: libc refuses it, one line, the request goes on
    assert "setenv(): " in caplog.text and "UWSGI_SETENV '=x'" in caplog.text
    os.unsetenv(name)


def test_cache_get_answers_from_the_first_cache(monkeypatch):
    from gateway.server import check_cache

    class FakeCache:
        def get_memo(self, key):
            return {b"k": b"value"}.get(key)

    class FakeCaches:
        def get(self, name):
            return FakeCache() if name is None else None

    class FakeSubsystems:
        caches = FakeCaches()

    monkeypatch.setattr(check_cache._subs, "current", FakeSubsystems())
    app = check_cache.CheckCache(named("APP"), None, check_uri=False)
    headers = []
    assert list(app({"UWSGI_CACHE_GET": "k", "REQUEST_METHOD": "POST"}, lambda s, h: headers.append((s, h)))) \
        == [b"value"]
    assert headers == [("200 OK", [("Content-Length", "5")])]
    assert call(app, UWSGI_CACHE_GET="missing") == ("200 OK", "APP||None")
    assert call(app, REQUEST_URI="k") == ("200 OK", "APP||None")  # --check-cache not given


def test_postfile_is_the_body_up_to_content_length(tmp_path, caplog):
    from gateway.server.post_file import body_source
    from gateway.server.settings import ServerSettings
    from gateway.server.wsgi_input import WSGIInput

    body = tmp_path / "body"
    body.write_bytes(b"line one\nline two\n")
    settings = ServerSettings(None, None)

    def wsgi_input(**environ):
        source = body_source(environ, "peer")
        return None if source is None else WSGIInput(source, False, settings)

    inp = wsgi_input(UWSGI_POSTFILE=str(body), CONTENT_LENGTH="12")
    assert inp.readline() == b"line one\n" and inp.read() == b"lin"
    assert wsgi_input(UWSGI_POSTFILE=str(body), CONTENT_LENGTH="100").read() == b"line one\nline two\n"  # shorter
    assert wsgi_input(UWSGI_POSTFILE=str(body)).read() == b""  # no CONTENT_LENGTH: no body
    with caplog.at_level(logging.INFO, logger="gateway.error"):
        assert wsgi_input(UWSGI_POSTFILE=str(tmp_path / "missing"), CONTENT_LENGTH="3") is None
    assert 'open("%s"): No such file or directory' % (tmp_path / "missing") in caplog.text
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # nobody writes it: a plain open() would block here for ever
    with caplog.at_level(logging.INFO, logger="gateway.error"):
        assert wsgi_input(UWSGI_POSTFILE=str(fifo), CONTENT_LENGTH="3") is None
    assert 'open("%s"): not a regular file' % fifo in caplog.text
