"""Every option name uWSGI declares is known to gateway (supported, accepted or refused by name).

The names come from ``tests/fixtures/uwsgi/option_names.txt``, generated from uWSGI's option
tables at the commit its header names.  An ini file using a name gateway does not know fails
with "unknown option", the worst answer: the names still in that state are listed below, each
with the work that will declare it, so the list only shrinks.
"""

from __future__ import annotations

import os

import pytest

from gateway.config import ConfigError, load
from gateway.config.options import OPTIONS_BY_SPELLING

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "uwsgi", "option_names.txt")

#: Names another piece of work declares; remove them from here as they land.  Empty: every
#: option name of uWSGI's tables is known (supported, accepted, or refused by name with a hint).
NOT_YET_DECLARED: frozenset = frozenset()


def _uwsgi_names() -> list[str]:
    with open(FIXTURE, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def test_the_fixture_names_its_source_and_holds_the_whole_table():
    with open(FIXTURE, encoding="utf-8") as f:
        header = f.readline() + f.readline()
    assert "6cbb2177ae48af91d2799ff3135abda545cf634c" in header
    names = _uwsgi_names()
    assert len(names) > 900 and len(names) == len(set(names))
    assert {"socket", "processes", "master", "inject-before", "legion"} <= set(names)


def test_every_uwsgi_option_name_is_known_except_the_listed_ones():
    unknown = {name for name in _uwsgi_names() if name not in OPTIONS_BY_SPELLING}
    assert unknown - NOT_YET_DECLARED == set(), "unknown to gateway: %s" % sorted(unknown - NOT_YET_DECLARED)


def test_the_list_of_undeclared_names_only_holds_undeclared_uwsgi_names():
    """A name declared since (or not uWSGI's at all) must leave the list."""
    names = set(_uwsgi_names())
    assert NOT_YET_DECLARED <= names
    assert not {name for name in NOT_YET_DECLARED if name in OPTIONS_BY_SPELLING}


@pytest.mark.parametrize("name, flag, words", [
    ("legion", False, "legions"),
    ("unique-legion-cron", False, "legions"),
    ("zerg-fallback", True, "zerg mode"),
    ("subscriptions-sign-check", False, "signed subscriptions"),
    ("start-unsubscribed", True, "has no 'S' command"),
    ("multicast-ttl", False, "multicast"),
    ("dlopen", False, "C symbol"),
    ("call-as-vassal1", False, "C symbol"),
    ("drop-after-apps", True, "--master-as-root"),
    ("snmp", False, "SNMP"),
])
def test_the_refused_families_say_why(name, flag, words):
    argv = ["--" + name] if flag else ["--" + name, "x"]
    with pytest.raises(ConfigError) as info:
        load(argv, {})
    assert "--" + name in str(info.value) and "not supported" in str(info.value)
    assert words in str(info.value)
