"""config.uwsgi_opt(): what the embedded ``uwsgi.opt`` dict shows, typed as uWSGI types it."""

from __future__ import annotations


def test_values_are_bytes_flags_true_and_repeats_lists(run, write):
    write("app.ini", """
        [uwsgi]
        http-socket = :2
        lazy-apps = true
        greenlet
        myvar = hello
    """)
    opt = run("--http-socket", ":1", "--tornado", "4", "--ini", "app.ini", "-T").uwsgi_opt()
    assert opt == {
        "http-socket": [b":1", b":2"],
        "tornado": b"4",
        "ini": b"app.ini",
        "lazy-apps": b"true",        # from an ini file the text is kept, as in uWSGI
        "greenlet": b"",             # a bare ini key has an empty value
        "myvar": b"hello",           # placeholders are included
        "enable-threads": True,      # a flag given bare on the command line is True
    }
    assert all(isinstance(k, str) for k in opt)


def test_keys_are_the_spellings_used(run):
    opt = run("--workers", "1", "-p", "1", "--file", "a.py", "-H", "/venv").uwsgi_opt()
    assert opt == {"workers": b"1", "processes": b"1", "file": b"a.py", "home": b"/venv"}


def test_repeated_scalar_keys_become_lists_too(run):
    assert run("--callable", "a", "--callable", "b").uwsgi_opt() == {"callable": [b"a", b"b"]}


def test_values_are_shown_after_expansion(run):
    opt = run("--set-ph", "port=81", "--http-socket", ":%(port)").uwsgi_opt()
    assert opt == {"set-ph": b"port=81", "port": b"81", "http-socket": b":81"}


def test_lone_ini_argument_is_not_exported_but_its_content_is(run, write):
    write("app.ini", "[uwsgi]\ncallable = app\n")
    assert run("app.ini").uwsgi_opt() == {"callable": b"app"}


def test_environment_entries_are_exported(run):
    assert run(env={"UWSGI_LISTEN": "10"}).uwsgi_opt() == {"listen": b"10"}


def test_non_ascii_text_round_trips_as_utf8_bytes(run):
    assert run("--callable", "café").uwsgi_opt() == {"callable": "café".encode()}
