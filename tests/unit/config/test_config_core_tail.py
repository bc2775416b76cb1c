"""uWSGI's immediate configuration options of the long tail: ``inject-before``/``inject-after``,
the ``blacklist``/``whitelist`` contexts, ``resolve``, ``ienv`` and ``exit``."""

from __future__ import annotations

import os
import threading

import pytest

from gateway.config import ConfigError, MagicContext, load
from gateway.config.sources import resolve_ipv4


@pytest.fixture
def files(tmp_path):
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def _ctx(tmp_path) -> MagicContext:
    return MagicContext(cwd=str(tmp_path), hostname="node1")


def _load(argv, tmp_path, environ=None, **kw):
    return load(argv, environ or {}, context=_ctx(tmp_path), **kw)


# -- inject-before / inject-after ---------------------------------------------------------------

def test_injected_text_surrounds_every_config_file_read_after_the_options(files, tmp_path):
    files("head.txt", "[uwsgi]\nmaster = true\nprocesses = 2")  # no final newline: one is added
    files("tail.txt", "http-socket = :%(port)\n")
    app = files("app.ini", "[uwsgi]\nprocesses = 4\nport = 9090\n")
    cfg = _load(["--inject-before", "head.txt", "--inject-after", "tail.txt", app], tmp_path)
    assert cfg.master is True
    assert cfg.processes == 4  # the file's own value comes after the injected one
    assert cfg.http_socket == [":9090"]


def test_magic_variables_in_injected_text_name_the_config_file(files, tmp_path):
    files("head.txt", "[uwsgi]\nchdir = %d\nset-ph = me=%n\n")
    sub = tmp_path / "site"
    sub.mkdir()
    app = str(sub / "app.ini")
    with open(app, "w") as f:
        f.write("[uwsgi]\n")
    cfg = _load(["--inject-before", "head.txt", "--ini", app], tmp_path)
    assert cfg.chdir == str(sub) + "/"
    assert cfg.placeholders["me"] == "app"


def test_injection_applies_only_to_files_read_after_it(files, tmp_path):
    first = files("first.ini", "[uwsgi]\nprocesses = 1\n")
    second = files("second.ini", "[uwsgi]\n")
    files("head.txt", "[uwsgi]\nprocesses = 5\n")
    cfg = _load(["--ini", first, "--inject-before", "head.txt", "--ini", second], tmp_path)
    assert cfg.processes == 5
    cfg = _load(["--inject-before", "head.txt", "--ini", first], tmp_path)
    assert cfg.processes == 1


def test_injection_works_for_every_format(files, tmp_path):
    files("open.txt", '{"uwsgi": {"processes": 3,')
    app = files("app.json", '"master": true')
    files("close.txt", "}}")
    cfg = _load(["--inject-before", "open.txt", "--inject-after", "close.txt", app], tmp_path)
    assert cfg.processes == 3 and cfg.master is True


def test_a_missing_injected_file_is_an_error_naming_the_option(files, tmp_path):
    app = files("app.ini", "[uwsgi]\n")
    with pytest.raises(ConfigError, match="inject-after.*nope.txt"):
        _load(["--inject-after", "nope.txt", app], tmp_path)


# -- blacklist / whitelist -------------------------------------------------------------------------

def test_a_blacklisted_option_is_refused_under_any_spelling(files, tmp_path):
    app = files("user.ini", "[uwsgi]\nworkers = 8\n")
    with pytest.raises(ConfigError, match=r"forbidden option 'workers' \(by blacklist\).*user.ini line 2"):
        _load(["--blacklist", "processes uid", "--ini", app], tmp_path)
    with pytest.raises(ConfigError, match="by blacklist"):
        _load(["--blacklist", "UID", "--uid", "1000"], tmp_path)  # case-insensitive, as uWSGI


def test_the_blacklist_context_ends(files, tmp_path):
    cfg = _load(["--blacklist", "processes", "--master", "--end-blacklist", "--processes", "2"], tmp_path)
    assert cfg.processes == 2 and cfg.master


def test_a_blacklist_applies_to_placeholders_too(tmp_path):
    with pytest.raises(ConfigError, match="'secret' \\(by blacklist"):
        _load(["--blacklist", "secret", "--set-ph", "secret=1"], tmp_path)


def test_a_whitelist_allows_only_its_options(files, tmp_path):
    ok = files("ok.ini", "[uwsgi]\nprocesses = 2\nmaster = true\n")
    bad = files("bad.ini", "[uwsgi]\nprocesses = 2\nuid = 0\n")
    wl = ["--whitelist", "ini processes master"]  # the key ini itself goes through the context
    cfg = _load([*wl, "--ini", ok], tmp_path)
    assert cfg.processes == 2
    with pytest.raises(ConfigError, match="forbidden option 'uid' \\(by whitelist\\)"):
        _load([*wl, "--ini", bad], tmp_path)
    with pytest.raises(ConfigError, match="forbidden option '--ini' \\(by whitelist\\)"):
        _load(["--whitelist", "processes", "--ini", ok], tmp_path)


def test_a_whitelist_can_end_only_if_end_whitelist_is_whitelisted(tmp_path):
    """As in uWSGI: the key end-whitelist goes through the context like any other."""
    with pytest.raises(ConfigError, match="'--end-whitelist' \\(by whitelist"):
        _load(["--whitelist", "processes", "--end-whitelist"], tmp_path)
    cfg = _load(["--whitelist", "processes end-whitelist", "--end-whitelist", "--uid", "0"], tmp_path)
    assert cfg.uid == "0"


def test_a_forbidden_key_in_a_failing_if_block_is_still_refused(files, tmp_path):
    app = files("app.ini", "[uwsgi]\nblacklist = processes\nif-env = NOPE\nprocesses = 3\nendif =\n")
    with pytest.raises(ConfigError, match="by blacklist"):
        _load([app], tmp_path)


# -- resolve -------------------------------------------------------------------------------------

def test_resolve_sets_a_placeholder_from_the_lookup(tmp_path):
    asked = []

    def resolver(host):
        asked.append(host)
        return "192.0.2.7"

    cfg = _load(["--resolve", "db=db.example.org", "--socket", "%(db):3031"], tmp_path, resolve_name=resolver)
    assert asked == ["db.example.org"]
    assert cfg.socket == ["192.0.2.7:3031"]
    assert cfg.placeholders["db"] == "192.0.2.7"


def test_resolve_failures_name_the_option_and_the_host(tmp_path):
    def resolver(host):
        raise OSError("no answer in 10 seconds")

    with pytest.raises(ConfigError, match="--resolve.*unable to resolve name db.example.org: no answer"):
        _load(["--resolve", "db=db.example.org"], tmp_path, resolve_name=resolver)
    with pytest.raises(ConfigError, match="PLACEHOLDER=NAME"):
        _load(["--resolve", "db="], tmp_path, resolve_name=resolver)
    with pytest.raises(ConfigError, match="'socket' cannot be a placeholder"):
        _load(["--resolve", "socket=localhost"], tmp_path, resolve_name=lambda h: "127.0.0.1")


def test_resolve_ipv4_answers_localhost_and_is_bounded(monkeypatch):
    assert resolve_ipv4("localhost") == "127.0.0.1"
    release = threading.Event()

    def stuck(*args, **kwargs):
        release.wait(5)
        raise OSError("late")

    monkeypatch.setattr("socket.getaddrinfo", stuck)
    try:
        with pytest.raises(OSError, match="no answer in 0.2 seconds"):
            resolve_ipv4("example.org", timeout=0.2)
    finally:
        release.set()


# -- ienv and exit -----------------------------------------------------------------------------

def test_ienv_is_an_env_that_the_next_options_see(files, tmp_path):
    app = files("app.ini", "[uwsgi]\nienv = ROLE=web\nif-env = ROLE=web\nprocesses = 3\nendif =\n"
                           "set-ph = r=$(ROLE)\n")
    environ: dict = {}
    cfg = _load([app], tmp_path, environ)
    assert cfg.processes == 3 and cfg.placeholders["r"] == "web"
    assert cfg.env == ["ROLE=web"]  # set in the process at startup, as --env
    assert environ == {}  # the caller's mapping is not changed


def test_exit_stops_reading_and_keeps_what_came_before(files, tmp_path):
    app = files("app.ini", "[uwsgi]\nprint = bye\nif-not-env = PORT\nexit = 3\nendif =\nprocesses = nonsense\n")
    cfg = _load([app], tmp_path)
    assert cfg.exit == 3 and cfg.print == ["bye"]
    with pytest.raises(ConfigError, match="processes"):  # no exit: the bad value is read
        _load([app], tmp_path, {"PORT": "1"})
    with pytest.raises(ConfigError, match="exit status from 0 to 255"):
        _load(["--exit", "300"], tmp_path)


def test_exit_alone_is_status_one(tmp_path):
    assert _load(["--exit"], tmp_path).exit == 1
    assert _load(["--exit=0"], tmp_path).exit == 0
    assert _load(["--master"], tmp_path).exit is None


def test_exit_skips_the_inherited_files(files, tmp_path):
    missing = os.path.join(str(tmp_path), "missing.ini")
    assert _load(["--inherit", missing, "--exit", "2"], tmp_path).exit == 2


def test_backtrace_depth_help_promises_no_crash_traceback():
    """No process enables faulthandler for fatal signals: a crash (SIGSEGV) prints nothing,
    so the no-op's help must not say it prints Python's traceback."""
    import pathlib

    import gateway
    from gateway.config.options import find

    sources = "".join(p.read_text() for p in pathlib.Path(gateway.__file__).parent.rglob("*.py"))
    help_text = find("backtrace-depth").help
    assert "faulthandler.enable(" in sources or ("traceback (faulthandler)" not in help_text
                                                 and "no C backtrace" in help_text)
