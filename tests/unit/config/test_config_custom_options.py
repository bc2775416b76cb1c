"""``--declare-option NAME=TEMPLATE``: uWSGI's custom options, in files and on the command line."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError


def test_a_custom_option_in_an_ini_file_gives_its_templates_options(run, write):
    write("app.ini", """
        [uwsgi]
        declare-option = mysock=socket=$1;master=true
        mysock = 127.0.0.1:3031
    """)
    cfg = run("app.ini")
    assert cfg.socket == ["127.0.0.1:3031"] and cfg.master
    assert cfg.given("socket")


def test_on_the_command_line_with_several_words_and_as_a_flag(run):
    cfg = run("--declare-option", "pool=processes=$1;threads=$2", "--pool", "3 4")
    assert (cfg.processes, cfg.threads) == (3, 4)
    cfg = run("--declare-option2", "prod=master=true;vacuum=true", "--prod")
    assert cfg.master and cfg.vacuum
    cfg = run("--declare-option", "pool=processes=$1", "--pool=5")
    assert cfg.processes == 5


def test_a_template_may_use_another_custom_option(run, write):
    write("app.ini", """
        [uwsgi]
        declare-option = base=master=true;processes=$1
        declare-option = site=base=$1;socket=:$2
        site = 2 3031
    """)
    cfg = run("app.ini")
    assert cfg.master and cfg.processes == 2 and cfg.socket == [":3031"]


@pytest.mark.parametrize("argv, fragment", [
    (["--declare-option", "nothing"], "NAME=KEY=VALUE"),
    (["--declare-option", "processes=workers=$1"], "not already an option"),
    (["--declare-option", "pool=processes=$1", "--pool"], "'--pool' requires a value"),
])
def test_bad_declarations_are_one_clear_error(run, argv, fragment):
    with pytest.raises(ConfigError) as info:
        run(*argv)
    assert fragment in str(info.value)


def test_a_custom_option_that_expands_into_itself_is_refused(run, write):
    write("app.ini", """
        [uwsgi]
        declare-option = again=again=$1
        again = x
    """)
    with pytest.raises(ConfigError, match="expands into itself"):
        run("app.ini")


def test_an_undeclared_name_stays_a_placeholder(run, write):
    write("app.ini", """
        [uwsgi]
        mysock = 127.0.0.1:3031
        declare-option = mysock=socket=$1
    """)
    cfg = run("app.ini")
    assert cfg.socket == []  # declared after its use: uWSGI reads the options in order


def test_uwsgi_opt_shows_the_custom_option_not_what_it_sets(run, write):
    """As uWSGI 2.0.31: NAME is an exported option; its template's options are applied only."""
    write("app.ini", """
        [uwsgi]
        declare-option = mysock=socket-timeout=$1;harakiri=$2
        mysock = 10 20
        """)
    cfg = run("app.ini")
    assert (cfg.socket_timeout, cfg.harakiri) == (10, 20)
    assert cfg.uwsgi_opt() == {"declare-option": b"mysock=socket-timeout=$1;harakiri=$2",
                               "mysock": b"10 20"}
