"""The command-line tokenizer follows getopt_long as uWSGI uses it."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError
from gateway.config.argv import tokenize


def pairs(argv):
    return [(entry.key, entry.value) for entry in tokenize(argv)]


def test_long_options_with_separate_and_inline_values():
    assert pairs(["--wsgi-file", "app.py", "--callable=app", "--env=A=b=c"]) == [
        ("wsgi-file", "app.py"), ("callable", "app"), ("env", "A=b=c"),
    ]


def test_an_inline_value_may_be_empty():
    assert pairs(["--callable="]) == [("callable", "")]


def test_bare_flags_have_the_value_true():
    assert pairs(["--greenlet", "--lazy-apps"]) == [("greenlet", True), ("lazy-apps", True)]


def test_flags_refuse_inline_values():
    with pytest.raises(ConfigError, match=r"^option '--greenlet' does not take a value$"):
        tokenize(["--greenlet=1"])


def test_repeated_options_are_kept_in_order_with_their_spelling():
    assert pairs(["--http-socket", ":1", "--workers", "1", "--http-socket", ":2", "--processes", "1"]) == [
        ("http-socket", ":1"), ("workers", "1"), ("http-socket", ":2"), ("processes", "1"),
    ]


def test_a_value_taking_option_consumes_the_next_argument_whatever_it_is():
    # getopt semantics: the next argv element is the value, even when it looks like an option
    assert pairs(["--chdir", "--greenlet"]) == [("chdir", "--greenlet")]


@pytest.mark.parametrize("argv", [["-p", "4"], ["-p4"]])
def test_short_options_with_separate_or_attached_values(argv):
    assert pairs(argv) == [("processes", "4")]


def test_bundled_short_flags_and_a_trailing_valued_short():
    assert pairs(["-LT"]) == [("disable-logging", True), ("enable-threads", True)]
    assert pairs(["-Lp4"]) == [("disable-logging", True), ("processes", "4")]
    assert pairs(["-Lp", "4"]) == [("disable-logging", True), ("processes", "4")]


def test_short_forms_are_recorded_under_uwsgis_long_name():
    # uWSGI records a short option under the first long option with that letter
    assert pairs(["-H", "/venv", "-w", "app", "-s", ":3031"]) == [
        ("home", "/venv"), ("module", "app"), ("socket", ":3031"),
    ]


def test_unknown_long_option_with_suggestion():
    with pytest.raises(ConfigError) as info:
        tokenize(["--procesess", "2"])
    assert str(info.value) == "unrecognized option '--procesess' (did you mean '--processes'?)"


def test_unknown_long_option_without_suggestion():
    with pytest.raises(ConfigError, match=r"^unrecognized option '--frobnicate'$"):
        tokenize(["--frobnicate"])


def test_prefixes_are_not_expanded():
    with pytest.raises(ConfigError, match="did you mean '--processes'"):
        tokenize(["--processe", "2"])


def test_unknown_short_option():
    with pytest.raises(ConfigError, match=r"^unrecognized option '-Y'$"):
        tokenize(["-Y"])


@pytest.mark.parametrize("argv, spelled", [(["--wsgi-file"], "--wsgi-file"), (["-p"], "-p"),
                                           (["--greenlet", "--module"], "--module")])
def test_missing_value(argv, spelled):
    with pytest.raises(ConfigError, match=rf"^option '{spelled}' requires a value$"):
        tokenize(argv)


def test_missing_value_of_an_unsupported_option_says_unsupported():
    with pytest.raises(ConfigError, match=r"^option '--emperor-broodlord' is not supported yet by gateway$"):
        tokenize(["--emperor-broodlord"])


def test_lone_ini_argument_becomes_a_non_exported_ini_entry_after_all_options():
    entries = tokenize(["app.ini", "--processes", "1", "other.ini:dev"])
    assert [(e.key, e.value, e.exported) for e in entries] == [
        ("processes", "1", True), ("ini", "app.ini", False), ("ini", "other.ini:dev", False),
    ]


def test_double_dash_ends_options():
    entries = tokenize(["--greenlet", "--", "--weird.ini"])
    assert [(e.key, e.value) for e in entries] == [("greenlet", True), ("ini", "--weird.ini")]


@pytest.mark.parametrize("arg, key", [
    ("app.yaml", "yaml"), ("app.yml", "yaml"), ("app.xml", "xml"), ("app.json", "json"), ("app.js", "json"),
    ("APP.JSON:dev", "json"), ("conf/app.xml:prod", "xml"), ("app.ini:dev", "ini"),
])
def test_lone_config_files_of_every_format_become_their_loader_option(arg, key):
    (entry,) = tokenize([arg])
    assert (entry.key, entry.value, entry.exported) == (key, arg, False)


def test_a_config_file_is_not_taken_as_an_optional_value():
    assert pairs(["--mule", "app.yaml"]) == [("mule", ""), ("yaml", "app.yaml")]


@pytest.mark.parametrize("arg", ["app.py", "serve", "-"])
def test_other_positional_arguments_are_errors_naming_them(arg):
    with pytest.raises(ConfigError, match=rf"^unexpected argument '{arg}'"):
        tokenize([arg])


def test_help_stops_tokenizing_like_uwsgis_immediate_help():
    assert pairs(["--callable", "x", "--help", "--bogus"]) == [("callable", "x"), ("help", True)]
    assert pairs(["-h", "--bogus"]) == [("help", True)]
    assert pairs(["--version", "nonsense"]) == [("version", True)]
    with pytest.raises(ConfigError):  # uWSGI's getopt fails on --bogus before reaching --help
        tokenize(["--bogus", "--help"])


def test_an_optional_value_option_alone_or_with_a_value():
    # getopt's optional_argument (uWSGI's --mule): bare, =VALUE, or a following non-option word
    assert pairs(["--mule", "--mule=a.py", "--mule", "b.py", "--mule", "--master"]) == [
        ("mule", ""), ("mule", "a.py"), ("mule", "b.py"), ("mule", ""), ("master", True),
    ]
    assert pairs(["--mule", "app.ini"]) == [("mule", ""), ("ini", "app.ini")]
