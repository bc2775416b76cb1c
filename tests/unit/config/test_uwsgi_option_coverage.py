"""Every option name uWSGI declares is known to gateway (supported, accepted or refused by name).

The names come from ``tests/fixtures/uwsgi/option_names.txt`` (the core and the python, http,
corerouter and cheaper_busyness plugins) and ``plugin_option_names.txt`` (every other plugin, a
section each, and the 2.0 branch's older core names), generated from uWSGI's option tables at the
commits their headers name.  An ini file using a name gateway does not know fails with "unknown
option", the worst answer.  The fastrouter's names are declared by its own module, not by
``plugin_options`` (see ``OWNED_ELSEWHERE``).
"""

from __future__ import annotations

import os

import pytest

from gateway.config import ConfigError, load
from gateway.config.options import OPTIONS_BY_SPELLING
from gateway.config.plugin_options import plugin_aliases, refused_plugin_names

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "uwsgi")
FIXTURE = os.path.join(FIXTURES, "option_names.txt")
PLUGIN_FIXTURE = os.path.join(FIXTURES, "plugin_option_names.txt")

#: Names another piece of work owns: the fastrouter's options (plugins/fastrouter, with its
#: subscription-server names), declared by the fastrouter work, which lands separately.  Until it
#: lands they may be unknown; once it has, they are known and this exemption is moot.
OWNED_ELSEWHERE: frozenset = frozenset("fastrouter-" + suffix for suffix in (
    "buffer-size", "cheap", "defer-connect-timeout", "emperor-socket", "events", "fallback",
    "fallback-on-no-key", "force-key", "gid", "gracetime", "harakiri", "max-retries", "post-buffering",
    "post-buffering-dir", "processes", "quiet", "resubscribe", "resubscribe-bind", "ss", "stats",
    "stats-server", "subscription-fallback-key", "subscription-server", "subscription-slot", "timeout",
    "to", "uid", "use-base", "use-cache", "use-code-string", "use-pattern", "use-socket", "workers",
    "zerg")) | {"fastrouter"}


def _uwsgi_names() -> list[str]:
    """Every name of both fixtures (a name may be in two plugins' tables: it is listed once)."""
    return sorted(set(_core_names()) | {name for names in _plugin_sections().values() for name in names})


def _core_names() -> list[str]:
    with open(FIXTURE, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def _plugin_sections() -> dict[str, list[str]]:
    """``[plugin] source`` headers → the names under each."""
    sections: dict[str, list[str]] = {}
    current = None
    with open(PLUGIN_FIXTURE, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                current = line[1:line.index("]")]
                sections[current] = []
            else:
                assert current is not None, "a name before the first section"
                sections[current].append(line)
    return sections


def test_the_fixture_names_its_source_and_holds_the_whole_table():
    with open(FIXTURE, encoding="utf-8") as f:
        header = f.readline() + f.readline()
    assert "6cbb2177ae48af91d2799ff3135abda545cf634c" in header
    names = _core_names()
    assert len(names) > 900 and len(names) == len(set(names))
    assert {"socket", "processes", "master", "inject-before", "legion"} <= set(names)


def test_the_plugin_fixture_names_its_sources_and_holds_every_plugin_with_options():
    with open(PLUGIN_FIXTURE, encoding="utf-8") as f:
        text = f.read()
    assert "# source: unbit/uwsgi 6cbb2177ae48af91d2799ff3135abda545cf634c" in text
    assert "uwsgi-2.0 9b1bb837029ff6eb2824e0f5b58dfb66efee36b6" in text
    sections = _plugin_sections()
    # PyPI's build (buildconf/default.ini) embeds these, and a Python deployment adds these
    assert {"gevent", "nagios", "rrdtool", "carbon", "fastrouter", "ugreen", "rsyslog", "zergpool", "rawrouter",
            "sslrouter", "symcall", "ping"} <= set(sections)
    assert {"pypy", "greenlet", "asyncio", "tornado", "stackless", "stats_pusher_statsd", "curl_cron"} <= set(sections)
    assert not {"python", "http", "corerouter", "cheaper_busyness"} & set(sections)  # in option_names.txt
    assert sections["core-2.0"] == ["shutdown-sockets"]
    assert all(names and len(names) == len(set(names)) for names in sections.values())
    assert len(_uwsgi_names()) > 1300


def test_the_names_owned_elsewhere_are_the_fastrouters_and_not_declared_here():
    """The fastrouter's names are declared with the fastrouter: plugin_options neither refuses nor aliases them."""
    assert OWNED_ELSEWHERE == set(_plugin_sections()["fastrouter"])
    here = set(refused_plugin_names()) | {spelling for spellings in plugin_aliases().values() for spelling in spellings}
    assert not OWNED_ELSEWHERE & here


def test_every_uwsgi_option_name_is_known():
    unknown = {name for name in _uwsgi_names() if name not in OPTIONS_BY_SPELLING}
    assert unknown == set(), "unknown to gateway: %s" % sorted(unknown)


@pytest.mark.parametrize("name, flag, words", [
    ("legion", False, "legions"),
    ("unique-legion-cron", False, "legions"),
    ("zerg-fallback", True, "zerg mode"),
    ("subscriptions-sign-check", False, "signed subscriptions"),
    ("multicast-ttl", False, "multicast"),
    ("dlopen", False, "C symbol"),
    ("call-as-vassal1", False, "C symbol"),
    ("drop-after-apps", True, "--master-as-root"),
    ("snmp", False, "SNMP"),
    ("rawrouter", False, "the rawrouter (raw TCP forwarding) is not part of gateway"),
    ("rawrouter-ss", False, "the rawrouter"),
    ("sslrouter-sni", True, "the sslrouter"),
    ("forkpty-router", False, "forkptyrouter"),
    ("gevent-monkey-patch", True, "monkey"),
    ("stackless", True, "suspend engines"),
    ("pypy-lib", False, "pypy3"),
    ("zerg-pool", False, "zerg pools"),
    ("symcall-register-rpc", False, "C symbol"),
    ("rrdtool", False, "RRD"),
    ("nagios", True, "--ping"),
    ("cron-curl", False, "--cron"),
    ("zmq", False, "ZeroMQ"),
    ("sqlite", False, "ini, xml, yaml and json"),
    ("php-ini", False, "PHP plugin"),
    ("rbthread", True, "Ruby"),
    ("require", False, "Ruby"),
    ("webdav-js", False, "webdav"),
    ("shutdown-sockets", True, "shutdown()"),
])
def test_the_refused_families_say_why(name, flag, words):
    argv = ["--" + name] if flag else ["--" + name, "x"]
    with pytest.raises(ConfigError) as info:
        load(argv, {})
    assert "--" + name in str(info.value) and "not supported" in str(info.value)
    assert words in str(info.value)


def test_each_plugin_family_shares_one_hint():
    """One hint per family: every name of a plugin's section is refused with the same words."""
    refused = refused_plugin_names()
    for plugin in ("rawrouter", "sslrouter", "forkptyrouter", "php", "psgi", "rack", "lua", "webdav", "cgi"):
        hints = {refused[name] for name in _plugin_sections()[plugin]}
        assert len(hints) == 1, (plugin, hints)
    assert refused["rawrouter"] != refused["sslrouter"]


def test_the_refused_plugin_names_are_refused_and_never_implemented():
    for name, hint in refused_plugin_names().items():
        option = OPTIONS_BY_SPELLING[name]
        assert not option.supported and option.hint == hint, name


@pytest.mark.parametrize("spelling, name, value, expected", [
    ("pypy-wsgi-file", "wsgi_file", "app.py", "app.py"),
    ("pypy-wsgi", "module", "pkg.app:application", "pkg.app:application"),
    ("pypy-pp", "pythonpath", "/srv/lib", ["/srv/lib"]),
    ("pypy-python-path", "pythonpath", "/srv/lib", ["/srv/lib"]),
    ("pypy-pythonpath", "pythonpath", "/srv/lib", ["/srv/lib"]),
])
def test_the_pypy_loaders_are_the_python_options(spelling, name, value, expected, tmp_path):
    """gateway runs on the interpreter that starts it: PyPy's loaders are the python plugin's."""
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\n%s = %s\n" % (spelling, value))
    config = load(["--ini", str(ini)], {})
    got = getattr(config, name)
    if isinstance(expected, str) and name == "wsgi_file":
        assert got.endswith(expected)
    else:
        assert got == expected
    assert spelling in OPTIONS_BY_SPELLING[name.replace("_", "-")].aliases


def test_the_plugin_aliases_name_implemented_options():
    for name, spellings in plugin_aliases().items():
        option = OPTIONS_BY_SPELLING[name]
        assert option.supported and option.name == name
        assert set(spellings) <= set(option.aliases)
