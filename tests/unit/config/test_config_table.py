"""The option table is consistent: unique spellings, sane defaults, every option documented."""

from __future__ import annotations

import pytest

from gateway.config import OPTIONS, Config, load
from gateway.config.errors import Invalid
from gateway.config.options import OPTIONS_BY_SHORT, OPTIONS_BY_SPELLING, SECTIONS, find, suggest


def test_no_spelling_is_declared_twice():
    spellings = [s for option in OPTIONS for s in option.spellings]
    duplicates = {s for s in spellings if spellings.count(s) > 1}
    assert not duplicates
    assert len(OPTIONS_BY_SPELLING) == len(spellings)


def test_no_short_option_is_declared_twice():
    shorts = [option.short for option in OPTIONS if option.short]
    assert len(shorts) == len(set(shorts)) == len(OPTIONS_BY_SHORT)
    assert all(len(short) == 1 for short in shorts)


def test_no_two_options_share_an_attribute():
    attributes = [option.attribute for option in OPTIONS]
    assert len(attributes) == len(set(attributes))


def test_option_attributes_do_not_shadow_config_methods():
    """An option named as a Config method (``--get``) is ``name_`` (``config.get_``), as a
    Python keyword is; ``config.get("get")`` still reads the option."""
    from gateway.config import load
    from gateway.config.gen_fields import attribute

    public = {name for name in dir(Config) if not name.startswith("_")}
    assert not public & {attribute(option) for option in OPTIONS}
    cfg = load(["--get", "socket", "--get", "processes"], {})
    assert cfg.get_ == ["socket", "processes"] and cfg.get("get") == ["socket", "processes"]
    assert cfg.get("processes") == 1 and callable(cfg.get)


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_every_option_is_documented_and_filed(option):
    assert option.help.strip()
    assert option.section in SECTIONS
    assert option.name == option.name.lower() and " " not in option.name
    if option.noop:
        assert option.supported and "accepted" in option.help


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.default is not None and not o.flag],
                         ids=lambda o: o.name)
def test_defaults_survive_their_own_converter(option):
    text = str(int(option.default)) if isinstance(option.default, float) else str(option.default)
    assert option.convert(text) == option.default


def test_required_uwsgi_spellings_are_present():
    expected = {
        "s": "socket", "p": "processes", "w": "module", "H": "virtualenv", "M": "master",
        "L": "disable-logging", "T": "enable-threads", "t": "harakiri", "R": "max-requests",
        "z": "socket-timeout", "b": "buffer-size", "l": "listen", "h": "help",
    }
    for short, name in expected.items():
        assert OPTIONS_BY_SHORT[short].name == name
    for alias, name in {"workers": "processes", "file": "wsgi-file", "wsgi": "module",
                        "uwsgi-socket": "socket", "home": "virtualenv", "venv": "virtualenv",
                        "pyhome": "virtualenv", "python-path": "pythonpath", "pp": "pythonpath",
                        "plugin": "plugins", "set-ph": "set-placeholder",
                        "http-workers": "http-processes"}.items():
        assert find(alias).name == name


def test_defaults_match_the_brief_and_uwsgi():
    config = load([], {})
    assert config.processes == 1
    assert config.callable == "application"
    assert config.buffer_size == 4096
    assert config.limit_post == 0
    assert config.socket_timeout == 4
    assert config.listen == 100
    assert config.http_keepalive == 15
    assert config.http_max_headers == 100
    assert config.http_processes == 1
    assert config.rpc_max == 64
    assert config.erlang_max_atoms == 1048576
    assert config.erlang_max_packet == 67108864
    assert config.erlang_rpc_threads == 8
    assert config.erlang_timeout == 30.0
    assert config.loop == ""
    assert config.erlang_visible is False and config.master is False
    assert config.tornado is None and config.wsgi_file is None
    assert config.http_socket == [] and config.env == [] and config.pythonpath == []


def test_unsupported_options_are_marked_and_known():
    for name in ("asyncio", "http-zerg", "async",
                 "emperor-broodlord", "emperor-on-demand-dir", "vassal-sos",
                 "spooler-signal-as-task", "gevent"):
        assert find(name).supported is False, name
    for name in ("enable-threads", "plugins", "single-interpreter", "thunder-lock", "die-on-term",
                 "http-auto-chunked"):
        assert find(name).supported and find(name).noop, name


def test_suggestion_finds_the_intended_option():
    assert suggest("procesess") == "processes"
    assert suggest("wsgi-fille") == "wsgi-file"
    assert suggest("zzzzzz") is None


def test_convert_enforces_ranges():
    with pytest.raises(Invalid, match="at least 1"):
        find("processes").convert("0")
    with pytest.raises(Invalid, match="an integer"):
        find("processes").convert("4x")
    # buffer-size clamps instead of refusing (the resolver lowers it, as uWSGI does)
    assert find("buffer-size").convert("100000") == 100000


@pytest.mark.parametrize("argv, seconds", [
    (["--http-keepalive"], 15),              # uWSGI's usual spelling: alone (getopt stores 1)...
    (["--http-keepalive", "--master"], 15),  # ...before another option
    (["--http-keepalive", "1"], 15),         # ...or http-keepalive = 1: on, not a 1 s timeout
    (["--http-keepalive=1"], 15),
    (["--http-keepalive", "30"], 30),        # from 2 up a duration, in uWSGI too
    (["--http-keepalive", "0"], 0),
])
def test_http_keepalive_alone_or_1_turns_keepalive_on_as_in_uwsgi(argv, seconds):
    assert load(argv, {}).http_keepalive == seconds


@pytest.mark.parametrize("argv, limit", [
    (["--http-manage-expect=1"], 0),   # uWSGI's "on": its size check starts at 2
    (["--http-manage-expect", "1"], 0),
    (["--http-manage-expect", "2"], 2),
    (["--http-manage-expect", "1048576"], 1048576),
])
def test_http_manage_expect_1_is_on_without_a_size_limit_as_in_uwsgi(argv, limit):
    assert int(load(argv, {}).http_manage_expect or 0) == limit
