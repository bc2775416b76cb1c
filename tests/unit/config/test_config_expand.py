"""Placeholder passes: $(ENV), @(file), %(name), in uWSGI's order and with its lookup rules."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, Entry
from gateway.config.expand import expand_entries, expand_text, find_reference


def E(key, value, origin="app.ini line 1"):
    return Entry(key, value, origin)


def no_files(path):
    raise FileNotFoundError(2, "No such file or directory")


def values(entries):
    return [(e.key, e.value) for e in entries]


def test_find_reference_handles_nesting_and_ignores_empty_ones():
    assert find_reference("a %(b) c", "%", 0) == (2, 5)
    assert find_reference("%(a(b)c)", "%", 0) == (0, 7)
    assert find_reference("%() and %(x)", "%", 0) == (8, 11)
    assert find_reference("%(unclosed", "%", 0) is None
    assert find_reference("no references", "%", 0) is None


def test_unresolved_references_are_kept_and_reported():
    missing = []
    out = expand_text("%(a)-%(b)", "%", {"b": "B"}.get, what="x", unresolved=missing)
    assert out == "%(a)-B" and missing == ["%(a)"]


def test_environment_variables_with_uwsgi_defaults():
    env = {"HOME": "/home/a", "EMPTY": ""}
    entries, warnings, _ = expand_entries([
        E("chdir", "$(HOME)/app"),
        E("a", "$(EMPTY:-fallback)"),
        E("b", "$(EMPTY-fallback)"),
        E("c", "$(UNSET-fallback)"),
        E("d", "$(UNSET)"),
    ], env, no_files)
    assert values(entries) == [("chdir", "/home/a/app"), ("a", "fallback"), ("b", ""),
                               ("c", "fallback"), ("d", "$(UNSET)")]
    assert warnings == ["$(UNSET) in 'd' (app.ini line 1) is not defined; kept verbatim"]


def test_file_contents_without_the_final_newline(tmp_path):
    (tmp_path / "name").write_text("node1\n")
    entries, _, _ = expand_entries([E("erlang", "@(name)@127.0.0.1")], {},
                                   lambda p: (tmp_path / p).read_text())
    assert values(entries) == [("erlang", "node1@127.0.0.1")]


def test_missing_file_reference_is_an_error():
    with pytest.raises(ConfigError, match=r"cannot read file 'nope' referenced as @\(nope\) in 'x'"):
        expand_entries([E("x", "@(nope)")], {}, no_files)


def test_placeholders_use_the_first_value_and_may_point_forward():
    entries, warnings, referenced = expand_entries([
        E("socket", ":3031"),
        E("foobar", "%(socket)"),
        E("path", "%(base)/x"),
        E("base", "%(root)/srv"),
        E("root", "/data"),
        E("socket", ":3032"),
    ], {}, no_files)
    assert values(entries)[1:4] == [("foobar", ":3031"), ("path", "/data/srv/x"),
                                    ("base", "/data/srv")]
    assert warnings == [] and referenced == {"socket", "base", "root"}


def test_env_pass_runs_before_placeholders():
    entries, _, _ = expand_entries([E("venv", "$(HOME)/venv"), E("virtualenv", "%(venv)")],
                                   {"HOME": "/h"}, no_files)
    assert values(entries) == [("venv", "/h/venv"), ("virtualenv", "/h/venv")]


def test_flags_given_bare_have_no_value_to_substitute():
    entries, warnings, _ = expand_entries([E("master", True, "command line"), E("x", "%(master)")],
                                          {}, no_files)
    assert values(entries)[1] == ("x", "%(master)")
    assert warnings


def test_immediate_options_are_not_expanded():
    entries, _, _ = expand_entries([E("a", "1"), E("ini", "%(a).ini"), E("set", "b=%(a)")], {}, no_files)
    assert values(entries) == [("a", "1"), ("ini", "%(a).ini"), ("set", "b=%(a)")]


def test_placeholder_cycles_are_bounded():
    with pytest.raises(ConfigError, match="does not terminate"):
        expand_entries([E("a", "%(b)"), E("b", "%(a)")], {}, no_files, max_substitutions=20)


def test_placeholder_math_as_uwsgi():
    """``%(a + b)``: uWSGI 2.0.31's placeholder arithmetic (results checked against it)."""
    entries = [E("a", "2"), E("b", "3")] + [E(k, v) for k, v in [
        ("c", "%(a + b)"), ("d", "%(a b)"), ("e", "%(a * 10)"), ("f", "%(b / 0)"), ("g", "%(a ++)"),
        ("h", "%(nope + 1)"), ("i", "%(a - b - 1)"), ("j", "%(a -)"), ("k", "%(x1 + 1)"),
        ("l", "%(-7 / 2)"), ("m", "%( + )")]]
    expanded, _, _ = expand_entries(entries, {}, no_files)
    assert values(expanded)[2:] == [("c", "5"), ("d", "23"), ("e", "20"), ("f", "0"), ("g", "3"),
                                    ("h", "1"), ("i", "-2"), ("j", "2"), ("k", "1"),
                                    ("l", "0"), ("m", "%( + )")]


def test_at_exec_reads_what_the_command_prints_and_other_schemes_are_refused():
    expanded, _, _ = expand_entries([E("a", "@(exec://echo hi; echo there >&2)"), E("b", "x@(exec://printf 1)y")],
                                    {}, no_files)
    assert values(expanded) == [("a", "hi"), ("b", "x1y")]
    with pytest.raises(ConfigError, match=r"@\(http://example\.com/x\) in 'c' .*http:// scheme is not supported"):
        expand_entries([E("c", "@(http://example.com/x)")], {}, no_files)


def test_at_fd_reads_an_inherited_descriptor(tmp_path):
    import os

    read_end, write_end = os.pipe()
    os.write(write_end, b"from a pipe\n")
    os.close(write_end)
    try:
        expanded, _, _ = expand_entries([E("a", "@(fd://%d)" % read_end)], {}, no_files)
    finally:
        os.close(read_end)
    assert values(expanded) == [("a", "from a pipe")]


def test_at_exec_is_bounded_and_a_bad_fd_is_a_clear_error(monkeypatch):
    # uWSGI waits forever for an @(exec://) command: here it fails the config after EXEC_TIMEOUT
    from gateway.config import schemes

    monkeypatch.setattr(schemes, "EXEC_TIMEOUT", 0.3)
    with pytest.raises(ConfigError, match=r"@\(exec://sleep 30\) in 'a' .*did not end in 0.3 seconds"):
        expand_entries([E("a", "@(exec://sleep 30)")], {}, no_files)
    with pytest.raises(ConfigError, match=r"@\(fd://x\) in 'b' .*'x' is not a file descriptor number"):
        expand_entries([E("b", "@(fd://x)")], {}, no_files)


def test_innermost_reference_first_as_uwsgi():
    expanded, _, _ = expand_entries([E("n", "b"), E("b", "bee"), E("a", "x%(%(n))"), E("s", "%(a%b)")],
                                    {"B": "1", "A1": "nested"}, no_files)
    assert values(expanded)[2:] == [("a", "xbee"), ("s", "%(a%b)")]
    expanded, _, _ = expand_entries([E("x", "$(A$(B))")], {"B": "1", "A1": "nested"}, no_files)
    assert values(expanded) == [("x", "nested")]
    assert find_reference("%(a %(b)", "%", 0) == (4, 7)
