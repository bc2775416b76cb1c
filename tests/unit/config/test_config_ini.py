"""The ini reader: sections, comments, repeated keys, magic variables (pure parts and file reading)."""

from __future__ import annotations

import os

import pytest

from gateway.config import ConfigError
from gateway.config.files import read_config
from gateway.config.ini import (
    MAX_CONFIG_FILE_BYTES,
    MagicContext,
    djb33x_hex,
    magic_variables,
    parse_ini,
    split_spec,
    substitute_magic,
)


def kv(entries):
    return [(e.key, e.value) for e in entries]


def test_only_the_selected_section_counts_and_repeated_keys_stay_in_order():
    text = """
        top = ignored
        [other]
        processes = 9
        [uwsgi]
        http-socket = :1
        ; a comment
        # another comment
        http-socket = :2
          master
        env = A=1 ; not a comment
        [after]
        x = y
    """
    entries, found = parse_ini(text, "uwsgi", "app.ini")
    assert found
    assert kv(entries) == [("http-socket", ":1"), ("http-socket", ":2"), ("master", ""),
                           ("env", "A=1 ; not a comment")]
    assert [e.origin for e in entries][0] == "app.ini line 6"


def test_blanks_around_keys_and_values_are_stripped_and_crlf_is_accepted():
    entries, _ = parse_ini("[uwsgi]\r\n  chdir  =  /srv/app  \r\nempty =\r\n", "uwsgi")
    assert kv(entries) == [("chdir", "/srv/app"), ("empty", "")]


def test_equals_signs_after_the_first_belong_to_the_value():
    entries, _ = parse_ini("[uwsgi]\nenv = A=B=C\n")
    assert kv(entries) == [("env", "A=B=C")]


def test_another_section_can_be_selected_and_absence_is_reported():
    text = "[uwsgi]\na = 1\n[dev]\na = 2\n"
    assert kv(parse_ini(text, "dev")[0]) == [("a", "2")]
    assert parse_ini(text, "prod") == ([], False)


def test_malformed_lines_are_errors_with_their_location():
    with pytest.raises(ConfigError, match=r"^x\.ini line 2: malformed section header '\[uwsgi'$"):
        parse_ini("\n[uwsgi\n", "uwsgi", "x.ini")
    with pytest.raises(ConfigError, match=r"^x\.ini line 2: a key is missing before '='$"):
        parse_ini("[uwsgi]\n= value\n", "uwsgi", "x.ini")


@pytest.mark.parametrize("spec, expected", [
    ("app.ini", ("app.ini", None)),
    ("app.ini:dev", ("app.ini", "dev")),
    ("/etc/a:b/app.ini:dev", ("/etc/a:b/app.ini", "dev")),
    (":dev", ("", "dev")),
    ("app.ini:", ("app.ini", None)),
])
def test_split_spec_uses_the_last_colon(spec, expected):
    assert split_spec(spec) == expected


def test_magic_variables_of_a_file(context):
    table = magic_variables("conf/app.ini", "/srv/projects/site/conf/app.ini", "dev", context)
    assert table["o"] == "conf/app.ini"
    assert table["p"] == "/srv/projects/site/conf/app.ini"
    assert table["s"] == "app.ini"
    assert table["d"] == "/srv/projects/site/conf/"  # with the trailing slash, as in uWSGI
    assert table["c"] == "conf"
    assert table["e"] == "ini"
    assert table["n"] == "app"
    assert table["x"] == "dev"
    assert [table[str(i)] for i in range(5)] == ["srv", "projects", "site", "conf", ""]
    assert (table["h"], table["k"], table["v"]) == ("testhost", "3", context.cwd)
    assert (table["u"], table["U"], table["g"], table["G"]) == ("1000", "alice", "1001", "staff")
    assert (table["t"], table["T"]) == ("1700000000", "1700000000250000")
    assert table["V"] == "2.0.31"


def test_substitute_magic_keeps_placeholders_and_drops_unknown_letters_as_uwsgi():
    table = {"d": "/srv/", "n": "app", "%": "%", "(": "%("}
    assert substitute_magic("base = %d\nname = hello-%n", table) == "base = /srv/\nname = hello-app"
    assert substitute_magic("a = %(name) %z 100%% 5%", table) == "a = %(name)  100% 5%"
    assert substitute_magic("a = 50%\nb = 2", table) == "a = 50b = 2"  # uWSGI joins the lines


def test_magic_variables_hash_inode_and_uppercase_first_file(tmp_path, context):
    path = tmp_path / "app.ini"
    path.write_text("")
    first = magic_variables("app.ini", str(path), "", context)
    assert first["j"] == djb33x_hex(str(path)) and len(first["j"]) == 8
    assert djb33x_hex("/tmp/dc-tjc_puxf/sub/dir/a.b.ini") == "66482BBA"  # real uWSGI 2.0.31's %j
    assert first["i"] == str(os.lstat(path).st_ino)
    assert (first["x"], first["X"], first["N"]) == ("", "", "app")
    other = magic_variables("b.ini", "/srv/b.ini", "dev", context, first)
    assert (other["n"], other["N"], other["x"], other["X"], other["O"]) == ("b", "app", "dev", "", "app.ini")


def test_read_config_applies_magic_variables_from_the_file_itself(tmp_path, context, write):
    write("cfg/app.ini", """
        [uwsgi]
        base = %d
        myvar = hello-%n
        section = %x
        where = %c
    """)
    result = read_config("cfg/app.ini", context)
    real = os.path.realpath(tmp_path / "cfg")
    assert kv(result.entries) == [("base", real + "/"), ("myvar", "hello-app"),
                                  ("section", ""), ("where", "cfg")]
    assert result.warnings == []


def test_read_config_missing_section_is_a_warning(context, write):
    write("app.ini", "[uwsgi]\nprocesses = 1\n")
    result = read_config("app.ini:prod", context)
    assert result.entries == []
    assert result.warnings == ["section [prod] not found in ini file 'app.ini'"]


def test_read_config_colon_section_reuses_the_previous_file(context, write):
    write("app.ini", "[uwsgi]\na = 1\n[dev]\na = 2\n")
    assert kv(read_config(":dev", context, kind="ini", last_file="app.ini").entries) == [("a", "2")]
    with pytest.raises(ConfigError, match="no ini file was read before"):
        read_config(":dev", context, kind="ini")


def test_read_config_missing_file_and_urls(context):
    with pytest.raises(ConfigError, match=r"^cannot read ini file 'nope\.ini': No such file or directory$"):
        read_config("nope.ini", context)
    with pytest.raises(ConfigError, match="from a URL is not supported yet"):
        read_config("http://example.com/app.ini", context)


def test_read_config_strips_a_utf8_bom_and_keeps_undecodable_bytes(tmp_path, context):
    (tmp_path / "app.ini").write_bytes(b"\xef\xbb\xbf[uwsgi]\nname = caf\xe9\n")
    (entry,) = read_config("app.ini", context).entries
    assert entry.key == "name"
    assert os.fsencode(entry.value) == b"caf\xe9"


def test_read_config_refuses_a_file_over_the_size_bound(tmp_path, context):
    (tmp_path / "big.ini").write_bytes(b"[uwsgi]\n" + b"#" * MAX_CONFIG_FILE_BYTES)
    with pytest.raises(ConfigError, match=r"^cannot read ini file 'big\.ini': larger than 16 MiB"):
        read_config("big.ini", context)


def test_magic_context_from_system_reads_the_process():
    ctx = MagicContext.from_system()
    assert ctx.cwd == os.getcwd()
    assert ctx.cpu_count >= 1 and ctx.uid == os.getuid()


def test_include_and_inherit_never_make_the_first_file_of_uppercase_magic(run, write):
    """As uWSGI's uwsgi_opt_load: before the first --ini/--yaml/... file, %N is empty there."""
    write("a.ini", "[uwsgi]\nfirst = [%N]\n")
    write("b.ini", "[uwsgi]\nsecond = [%N]\ninherit = a.ini\n")
    opt = run("--include", "a.ini", "--ini", "b.ini").uwsgi_opt()
    assert opt["first"] == [b"[]", b"[b]"] and opt["second"] == b"[b]"
