"""The YAML reader (uWSGI's subset): sections, values, quotes, comments, lists and errors (pure)."""

from __future__ import annotations

import textwrap

import pytest

from gateway.config import ConfigError
from gateway.config.yamlconf import parse_yaml


def kv(text, section="uwsgi"):
    entries, found = parse_yaml(textwrap.dedent(text), section, "app.yaml")
    assert found
    return [(e.key, e.value) for e in entries]


def test_the_section_is_read_and_other_top_level_keys_are_skipped():
    text = """
        # leading comment
        ---
        before:
          processes: 9
        uwsgi:
          http-socket: :9090
          processes: 4

          master: true
        after:
          processes: 7
    """
    entries, found = parse_yaml(textwrap.dedent(text), "uwsgi", "app.yaml")
    assert found
    assert [(e.key, e.value, e.origin) for e in entries] == [
        ("http-socket", ":9090", "app.yaml line 7"),
        ("processes", "4", "app.yaml line 8"),
        ("master", "true", "app.yaml line 10"),  # text, checked later by the flag's converter
    ]
    assert kv(text, "after") == [("processes", "7")]


def test_a_missing_section_is_reported_not_an_error():
    assert parse_yaml("uwsgi:\n  a: 1\n", "prod") == ([], False)
    assert parse_yaml("", "uwsgi") == ([], False)


def test_only_the_first_section_counts_and_a_document_marker_ends_it():
    assert kv("uwsgi:\n  a: 1\nuwsgi:\n  a: 2\n") == [("a", "1")]
    assert kv("uwsgi:\n  a: 1\n---\nuwsgi:\n  a: 2\n") == [("a", "1")]


def test_repeated_keys_repeat_the_option_in_order():
    assert kv("uwsgi:\n  env: A=1\n  socket: :1\n  env: B=2\n") == [
        ("env", "A=1"), ("socket", ":1"), ("env", "B=2")]


def test_the_value_is_what_follows_the_first_colon_and_blank_as_uwsgi_reads_it():
    assert kv("""
        uwsgi:
          socket: 127.0.0.1:3031
          log-format: %(addr): %(status)
          route: ^/a/b:c  last
          empty-string: ''
    """) == [("socket", "127.0.0.1:3031"), ("log-format", "%(addr): %(status)"),
             ("route", "^/a/b:c  last"), ("empty-string", "")]


def test_comments_need_a_blank_before_the_hash_outside_quotes():
    assert kv("""
        uwsgi:
          a: one # comment
          b: two#three
          c: "four # five"   # comment
          d: 'six'# seven
          # a whole-line comment
    """) == [("a", "one"), ("b", "two#three"), ("c", "four # five"), ("d", "six")]


def test_quoted_values_and_their_escapes():
    assert kv(r"""
        uwsgi:
          a: "tab\there \"q\" \\ \u00e9 \x41 \/"
          b: 'it''s \n raw'
          "quoted key": x
    """) == [("a", 'tab\there "q" \\ é A /'), ("b", "it's \\n raw"), ("quoted key", "x")]


def test_a_key_with_nothing_after_the_colon_is_an_empty_value():
    assert kv("uwsgi:\n  master:\n  lazy-apps:   # on\n  processes: 2\n") == [
        ("master", ""), ("lazy-apps", ""), ("processes", "2")]


def test_block_lists_deeper_or_at_the_same_indentation_repeat_the_option():
    assert kv("""
        uwsgi:
          env:
            - A=1
            - "B=2 # kept"
            -
          pythonpath:
          - lib
          - vendor
          master: true
    """) == [("env", "A=1"), ("env", "B=2 # kept"), ("env", ""), ("pythonpath", "lib"),
             ("pythonpath", "vendor"), ("master", "true")]


def test_flow_lists_repeat_the_option():
    assert kv("""
        uwsgi:
          pythonpath: [lib, "a, b", 'c]d' , x y,]   # comment
          env: []
          socket: [127.0.0.1:1]
    """) == [("pythonpath", "lib"), ("pythonpath", "a, b"), ("pythonpath", "c]d"),
             ("pythonpath", "x y"), ("socket", "127.0.0.1:1")]


def test_tabs_count_eight_columns_and_crlf_is_accepted():
    assert kv("uwsgi:\r\n\tprocesses: 2\r\n        master: true\r\n") == [("processes", "2"), ("master", "true")]


def test_anchors_and_directives_are_plain_text_or_skipped():
    assert kv("%YAML 1.2\n---\nuwsgi:\n  a: &x text\n  b: *x\n...\n") == [("a", "&x text"), ("b", "*x")]


def test_an_indented_document_works_from_its_first_line():
    assert kv("  uwsgi:\n    a: 1\n  other:\n    a: 2\n") == [("a", "1")]


@pytest.mark.parametrize("text, line, message", [
    ("uwsgi:\n  a: 1\n    b: 2\n", 3, "indented deeper than the options of 'uwsgi:'"),
    ("uwsgi:\n    a: 1\n  b: 2\n", 3, "not aligned with the options of 'uwsgi:'"),
    ("  uwsgi:\n    a: 1\nb: 2\n", 3, "indented less than the first line of the file"),
    ("uwsgi:\n  a:\n    b: c\n", 3, "indented deeper than the options"),
    ("uwsgi:\n  a:\n    - b: c\n", 3, "nested lists and mappings are not supported"),
    ("uwsgi:\n  a:\n    - [b]\n", 3, "nested lists and mappings are not supported"),
    ("uwsgi:\n  - a\n", 2, "a list item ('- ...') must follow a 'key:' line with no value"),
    ("uwsgi:\n  a:\n    - x\n      - y\n", 4, "the items of a list must be aligned"),
    ("uwsgi:\n  a: |\n    text\n", 2, "block scalars ('|' and '>') are not supported"),
    ("uwsgi:\n  a: >-\n", 2, "block scalars"),
    ("uwsgi:\n  a: {b: 1}\n", 2, "flow mappings ('{...}') are not supported"),
    ("uwsgi:\n  a: [b, {c}]\n", 2, "nested lists and mappings are not supported in a flow list"),
    ("uwsgi:\n  a: [b, c\n", 2, "a flow list ('[...]') must end on its line"),
    ("uwsgi:\n  a: [b, , c]\n", 2, "an empty item in a flow list"),
    ("uwsgi:\n  a: [b] c\n", 2, "unexpected text after a flow list: 'c'"),
    ("uwsgi:\n  a: [\"b\" c]\n", 2, "expected ',' or ']' in a flow list, got 'c'"),
    ("uwsgi:\n  a: \"open\n  b: 1\n", 2, "does not end on its line"),
    ("uwsgi:\n  a: \"x\" y\n", 2, "unexpected text after a quoted value: 'y'"),
    ("uwsgi:\n  a: \"\\q\"\n", 2, "unknown escape '\\q'"),
    ("uwsgi:\n  a: \"\\x4\"\n", 2, "bad escape"),
    ("uwsgi:\n  just words\n", 2, "expected 'key: value', got 'just words'"),
    ("uwsgi:\n  master  # note: on\n", 2, "expected 'key: value'"),
    ("uwsgi:\n  : x\n", 2, "a key is missing before ':'"),
    ("uwsgi: 1\n  a: 1\n", 1, "'uwsgi:' must be followed by indented 'key: value' lines"),
])
def test_unsupported_or_malformed_yaml_is_an_error_naming_the_line(text, line, message):
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "uwsgi", "bad.yaml")
    assert str(info.value).startswith(f"bad.yaml line {line}: ")
    assert message in str(info.value)


def test_a_value_starting_with_a_bracket_is_a_flow_list_unless_quoted():
    with pytest.raises(ConfigError, match=r"^app\.yaml line 2: unexpected text after a flow list: '\+ last:' "
                                          r"\(quote a value that is text starting with '\[', '\{', '\|' or '>'\)$"):
        parse_yaml("uwsgi:\n  route: [0-9]+ last:\n", "uwsgi", "app.yaml")
    assert kv("uwsgi:\n  route: '[0-9]+ last:'\n") == [("route", "[0-9]+ last:")]


def test_errors_outside_the_section_are_not_looked_for():
    # uWSGI's reader skips what is not its section; so do we (other tools may share the file)
    assert kv("other:\n  a: |\n    multi\n      line\nuwsgi:\n  b: 1\n") == [("b", "1")]
