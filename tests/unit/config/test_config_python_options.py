"""The python plugin's options and the core ones about the Python response: uWSGI's spellings
resolve to gateway's options, values are checked, the refused ones say why."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError


@pytest.mark.parametrize("argv, attribute, value", [
    (["--py-auto-reload", "2"], "py_autoreload", 2),
    (["--python-auto-reload", "3"], "py_autoreload", 3),
    (["--static-check", "/srv/www"], "check_static", ["/srv/www"]),
    (["--offload-thread", "4"], "offload_threads", 4),
    (["--early-pythonpath", "/opt/lib", "--early-python-path", "/opt/lib2"], "pythonpath", ["/opt/lib", "/opt/lib2"]),
    (["--worker-mount", "/a=a.py"], "mount", ["/a=a.py"]),
    (["--iprint", "hello"], "print", ["hello"]),
    (["--py-executable", "/usr/bin/python3"], "py_sys_executable", "/usr/bin/python3"),
    (["--pyrun", "job.py"], "python", "job.py"),
    (["--py", "job.py"], "python", "job.py"),
    (["-J", "json"], "test", "json"),
    (["--early-python-import", "a", "--early-pyimport", "b"], "early_pyimport", ["a", "b"]),
    (["--wsgi-accept-buffers"], "wsgi_accept_buffer", True),
    (["--start_response-nodelay"], "start_response_nodelay", True),
    (["--start-response-nodelay"], "start_response_nodelay", True),
    (["--pymodule-alias", "settings = conf/prod.py"], "pymodule_alias", ["settings=conf/prod.py"]),
    (["--post-pymodule-alias", "a.b=json"], "post_pymodule_alias", ["a.b=json"]),
    (["--pyshell"], "pyshell", ""),
    (["--pyshell-oneshot=print(1)"], "pyshell_oneshot", "print(1)"),
    (["--write-errors-tolerance", "5"], "write_errors_tolerance", 5),
    (["--body-read-warning", "0"], "body_read_warning", 0),
    (["--chunked-input-limit", "4096"], "chunked_input_limit", 4096),
    (["--chunked-input-timeout", "5"], "chunked_input_timeout", 5),
    (["--py-auto-reload-ignore", "settings", "--py-auto-reload-ignore", "celery"], "py_auto_reload_ignore",
     ["settings", "celery"]),
])
def test_uwsgi_spellings_resolve(run, argv, attribute, value):
    assert getattr(run(*argv), attribute) == value


def test_defaults(run):
    config = run()
    assert config.max_apps == 64 and config.body_read_warning == 8 and config.write_errors_tolerance == 0
    assert config.pyshell is None and config.python is None and config.post_buffering_bufsize == 0
    assert config.pymodule_alias == [] and not config.wsgi_strict and not config.start_response_nodelay
    assert config.chunked_input_limit == 1048576 and config.chunked_input_timeout == 0


def test_pyshell_in_an_ini_file(run, write):
    write("app.ini", "[uwsgi]\npyshell =\npy-call-uwsgi-fork-hooks = true\nwsgi-manage-chunked-input = 1\n")
    config = run("app.ini")
    assert config.pyshell == "" and config.py_call_uwsgi_fork_hooks and config.wsgi_manage_chunked_input


def test_a_cheaper_step_of_0_is_accepted_as_uwsgi_accepts_it(run):
    """uWSGI's algorithms spawn at least one worker whatever the step; 0 is its default."""
    assert run("--cheaper-step", "0").cheaper_step == 0


@pytest.mark.parametrize("argv, fragment", [
    (["--cheaper-overload", "0"], "option '--cheaper-overload' expects an integer of at least 1"),
    (["--pymodule-alias", "settings"], "option '--pymodule-alias' expects NAME=MODULE or NAME=FILE"),
    (["--pymodule-alias", "bad-name=json"], "option '--pymodule-alias' expects NAME=MODULE"),
    (["--post-pymodule-alias", "x="], "option '--post-pymodule-alias' expects NAME=MODULE"),
    (["--max-apps", "0"], "option '--max-apps' expects an integer of at least 1"),
    (["--write-errors-tolerance", "-1"], "option '--write-errors-tolerance' expects an integer of at least 0"),
    (["--chunked-input-limit", "-1"], "option '--chunked-input-limit' expects an integer of at least 0"),
    (["--chunked-input-timeout", "x"], "option '--chunked-input-timeout' expects an integer"),
])
def test_bad_values_name_the_option(run, argv, fragment):
    with pytest.raises(ConfigError) as info:
        run(*argv)
    assert fragment in str(info.value)


@pytest.mark.parametrize("argv, hint", [
    (["--web3", "app"], "gateway serves WSGI apps"),
    (["--pump", "app"], "gateway serves WSGI apps"),
    (["--wsgi-lite", "app"], "gateway serves WSGI apps"),
    (["--pecan", "config.py"], "--module (pecan.deploy) or --paste"),
    (["--python-raw", "raw.py"], "no raw request mode"),
    (["--py-sharedarea", "4096"], "--sharedarea size=BYTES"),
    (["--py-master-check-signals"], "no Python signal handlers"),
    (["--no-site"], "-S"),
    (["--py-programname", "x"], "already started"),
    (["--dynamic-apps"], "--mount"),
])
def test_refused_by_name_with_a_hint(run, argv, hint):
    with pytest.raises(ConfigError) as info:
        run(*argv)
    message = str(info.value)
    assert message.startswith("option '%s' is not supported yet by gateway (" % argv[0]) and hint in message
