"""load(): every source, precedence, includes, placeholders, errors and cross-option rules."""

from __future__ import annotations

import os

import pytest

from gateway.config import ConfigError, load

APP = ["--tornado", "10", "--greenlet"]


# -- sources -----------------------------------------------------------------------------------

def test_command_line(run):
    config = run("--http-socket", "127.0.0.1:9090", "--wsgi-file", "app.py", "-L", *APP)
    assert config.http_socket == ["127.0.0.1:9090"]
    assert config.wsgi_file == "app.py"
    assert config.disable_logging is True
    assert (config.tornado, config.greenlet) == (10, True)
    assert config.given("wsgi-file") and config.given("file") and config.given("wsgi_file")
    assert not config.given("callable")


def test_ini_file_given_with_ini_option_and_as_lone_argument(run, write):
    write("app.ini", """
        [uwsgi]
        http-socket = :9090
        module = site.wsgi:application
        tornado = 4
        greenlet = true
        lazy-apps
    """)
    for argv in (["--ini", "app.ini"], ["app.ini"]):
        config = run(*argv)
        assert config.http_socket == [":9090"]
        assert config.module == "site.wsgi:application"
        assert config.tornado == 4 and config.greenlet is True and config.lazy_apps is True
        assert config.source_of("tornado") == "app.ini line 4"


def test_ini_section_selection(run, write):
    write("app.ini", "[uwsgi]\ncallable = prod\n[dev]\ncallable = dev\n")
    assert run("--ini", "app.ini:dev").callable == "dev"
    assert run("app.ini:dev").callable == "dev"


def test_environment_variables(run):
    config = run(env={"UWSGI_HTTP_SOCKET": ":8000", "UWSGI_TORNADO": "2", "UWSGI_GREENLET": "1",
                      "UWSGI_LAZY_APPS": "", "PATH": "/bin"})
    assert config.http_socket == [":8000"]
    assert config.tornado == 2 and config.greenlet is True and config.lazy_apps is True
    assert config.source_of("tornado") == "environment variable UWSGI_TORNADO"


def test_unknown_and_reserved_uwsgi_variables_never_fail(run):
    config = run(env={"UWSGI_RELOADS": "3", "UWSGI_ORIGINAL_PROC_NAME": "uwsgi",
                      "UWSGI_DEPLOY_COLOR": "blue", "UWSGI_": "x"})
    assert "reloads" not in config.uwsgi_opt()
    assert config.placeholders == {"deploy-color": "blue"}
    assert config.uwsgi_opt() == {"deploy-color": b"blue"}


def test_environment_ini_is_followed(run, write):
    write("app.ini", "[uwsgi]\ncallable = from_ini\n")
    assert run(env={"UWSGI_INI": "app.ini"}).callable == "from_ini"


# -- precedence ---------------------------------------------------------------------------------

def test_environment_is_overridden_by_argv_for_scalars_and_extended_for_lists(run):
    config = run("--listen", "50", "--pythonpath", "/b",
                 env={"UWSGI_LISTEN": "10", "UWSGI_PYTHONPATH": "/a"})
    assert config.listen == 50
    assert config.pythonpath == ["/a", "/b"]


def test_order_of_appearance_decides_between_argv_and_ini(run, write):
    write("app.ini", "[uwsgi]\nlisten = 20\nenv = FROM=ini\n")
    assert run("--listen", "10", "--ini", "app.ini").listen == 20
    assert run("--ini", "app.ini", "--listen", "10").listen == 10
    assert run("--env", "A=1", "--ini", "app.ini", "--env", "B=2").env == ["A=1", "FROM=ini", "B=2"]


def test_a_lone_ini_argument_is_read_after_all_options_like_uwsgi(run, write):
    write("app.ini", "[uwsgi]\nlisten = 20\n")
    assert run("app.ini", "--listen", "10").listen == 20


def test_aliases_share_one_value_last_wins(run):
    config = run("--workers", "1", "--processes", "1", "--callable", "a", "--callable", "b")
    assert config.callable == "b" and config.processes == 1


# -- includes ---------------------------------------------------------------------------------------

def test_ini_includes_are_expanded_in_place(run, write):
    write("file2.ini", "[uwsgi]\nlisten = 2\nenv = B=2\n")
    write("file1.ini", """
        [uwsgi]
        listen = 1
        env = A=1
        ini = file2.ini
        env = C=3
    """)
    config = run("--ini", "file1.ini")
    assert config.listen == 2
    assert config.env == ["A=1", "B=2", "C=3"]
    assert config.ini == ["file1.ini", "file2.ini"]


def test_include_relative_to_the_including_file_with_magic_d(run, write, tmp_path):
    write("conf/base.ini", "[uwsgi]\ncallable = base\n")
    write("conf/app.ini", "[uwsgi]\nini = %dbase.ini\n")
    assert run("--ini", "conf/app.ini").callable == "base"


def test_include_path_may_use_environment_and_earlier_placeholders(run, write):
    write("conf/base.ini", "[uwsgi]\ncallable = base\n")
    write("app.ini", "[uwsgi]\nconfdir = conf\nini = %(confdir)/base.ini\n")
    assert run("--ini", "app.ini").callable == "base"
    assert run("--ini", "$(CONF)/base.ini", env={"CONF": "conf"}).callable == "base"


def test_include_cycles_are_errors(run, write):
    write("a.ini", "[uwsgi]\nini = b.ini\n")
    write("b.ini", "[uwsgi]\nini = a.ini\n")
    with pytest.raises(ConfigError, match=r"^config file include cycle: .*a\.ini -> .*b\.ini -> .*a\.ini$"):
        run("--ini", "a.ini")


def test_include_depth_is_bounded(context, write):
    for i in range(5):
        write(f"n{i}.ini", f"[uwsgi]\nini = n{i + 1}.ini\n")
    write("n5.ini", "[uwsgi]\ncallable = deep\n")
    assert load(["--ini", "n0.ini"], {}, context=context).callable == "deep"
    with pytest.raises(ConfigError, match="nested more than 3 deep"):
        load(["--ini", "n0.ini"], {}, context=context, max_include_depth=3)


def test_same_file_twice_in_sequence_is_not_a_cycle(run, write):
    write("e.ini", "[uwsgi]\nenv = X=1\n")
    assert run("--ini", "e.ini", "--ini", "e.ini").env == ["X=1", "X=1"]


def test_missing_section_is_a_warning(run, write):
    write("app.ini", "[uwsgi]\ncallable = x\n")
    config = run("--ini", "app.ini:prod")
    assert config.callable == "application"
    assert config.warnings == ("section [prod] not found in ini file 'app.ini'",)


def test_missing_ini_file(run):
    with pytest.raises(ConfigError, match=r"^cannot read ini file 'nope\.ini': No such file"):
        run("nope.ini")


# -- placeholders and magic variables ------------------------------------------------------------

def test_placeholders_and_magic_variables_as_in_the_reference(run, write, tmp_path):
    write("cfg/app.ini", """
        [uwsgi]
        base = %d
        myvar = hello-%n
        env = MYENV=%(myvar)
        chdir = %(base)
        pythonpath = %(base)lib
    """)
    config = run("--ini", "cfg/app.ini")
    real = os.path.realpath(tmp_path / "cfg") + "/"
    assert config.env == ["MYENV=hello-app"]
    assert config.chdir == real and config.pythonpath == [real + "lib"]
    assert config.placeholders == {"base": real, "myvar": "hello-app"}
    assert config.warnings == ()


def test_placeholders_reach_command_line_values_and_env_values(run, write):
    write("app.ini", "[uwsgi]\nport = 9090\n")
    config = run("--ini", "app.ini", "--http-socket", "127.0.0.1:%(port)",
                 env={"UWSGI_CALLABLE": "app_$(SUFFIX)", "SUFFIX": "v2"})
    assert config.http_socket == ["127.0.0.1:9090"]
    assert config.callable == "app_v2"


def test_set_and_set_placeholder(run):
    config = run("--set", "callable=fromset", "--set-ph", "port=81", "--http-socket", ":%(port)")
    assert config.callable == "fromset"
    assert config.http_socket == [":81"]
    with pytest.raises(ConfigError, match="'listen' cannot be a placeholder: it is an option"):
        run("--set-placeholder", "listen=5")
    with pytest.raises(ConfigError, match=r"option '--set' expects name=value, got 'nonsense'"):
        run("--set", "nonsense")


def test_unknown_ini_key_close_to_an_option_warns_once(run, write):
    write("app.ini", "[uwsgi]\nprocesess = 2\nproject = site\nchdir = /srv/%(project)\n")
    config = run("--ini", "app.ini")
    assert config.warnings == ("'procesess' (app.ini line 2) is not an option "
                               "(did you mean 'processes'?); kept as a placeholder",)
    assert config.processes == 1 and config.chdir == "/srv/site"


def test_strict_refuses_placeholders(run, write):
    write("app.ini", "[uwsgi]\nstrict = true\nprocesess = 2\n")
    with pytest.raises(ConfigError, match=r"^unknown option 'procesess' \(did you mean 'processes'\?\) "
                                          r"\(from app\.ini line 3\); --strict forbids placeholders$"):
        run("--ini", "app.ini")
    write("ok.ini", "[uwsgi]\nprocesess = 2\nstrict = false\n")
    assert run("--ini", "ok.ini").strict is False


def test_strict_refuses_placeholders_given_before_it_and_by_set_as_uwsgi(run, write):
    """uWSGI 2.0.31 checks every option again once all are read: a placeholder before ``strict``
    is refused too; ``set-ph`` and ``resolve`` placeholders are allowed, a plain ``set`` not."""
    write("before.ini", "[uwsgi]\nprocesess = 2\nstrict = true\n")
    with pytest.raises(ConfigError, match=r"^unknown option 'procesess'.*line 2\); --strict forbids"):
        run("--ini", "before.ini")
    with pytest.raises(ConfigError, match=r"^unknown option 'foo' \(from environment variable UWSGI_FOO\)"):
        run("--strict", env={"UWSGI_FOO": "1"})
    write("set.ini", "[uwsgi]\nstrict = true\nset-ph = a=1\nset = processes=%(a)\nset = b=2\n")
    with pytest.raises(ConfigError, match=r"^unknown option 'b' \(from set\.ini line 5 \(via set\)\)"):
        run("--ini", "set.ini")
    write("ok.ini", "[uwsgi]\nstrict = true\nset-ph = a=1\nset = processes=%(a)\n"
                    "declare-option = mine=threads=$1\nmine = 2\n")
    cfg = run("--ini", "ok.ini")
    assert (cfg.processes, cfg.threads) == (1, 2)


def test_unresolved_placeholder_is_kept_and_warned(run):
    config = run("--chdir", "/srv/%(nothing)")
    assert config.chdir == "/srv/%(nothing)"
    assert config.warnings == ("%(nothing) in 'chdir' (command line) is not defined; kept verbatim",)


# -- error messages ------------------------------------------------------------------------------

def test_bad_integer_names_option_and_value(run):
    with pytest.raises(ConfigError) as info:
        run("--processes", "x")
    assert str(info.value) == "option '--processes' expects an integer, got 'x'"


def test_bad_value_from_ini_says_where(run, write):
    write("app.ini", "[uwsgi]\n\nworkers = 4 ; four workers\n")
    with pytest.raises(ConfigError) as info:
        run("app.ini")
    assert str(info.value) == ("option 'workers' expects an integer, got '4 ; four workers' "
                               "(from app.ini line 3)")


def test_bad_value_from_environment_says_where(run):
    with pytest.raises(ConfigError) as info:
        run(env={"UWSGI_LISTEN": "lots"})
    assert str(info.value) == ("option 'listen' expects an integer, got 'lots' "
                               "(from environment variable UWSGI_LISTEN)")


@pytest.mark.parametrize("argv, message", [
    (["--listen", "0"], "option '--listen' expects an integer of at least 1, got '0'"),
    (["--limit-post", "-1"], "option '--limit-post' expects an integer of at least 0, got '-1'"),
    (["--buffer-size", "32k"], "option '--buffer-size' expects an integer, got '32k'"),
    (["--http-processes", "0"], "option '--http-processes' expects an integer of at least 1, got '0'"),
    (["--http-workers", "abc"], "option '--http-workers' expects an integer, got 'abc'"),
    (["--erlang-timeout", "0"], "option '--erlang-timeout' expects a number of seconds above 0, got '0'"),
    (["--env", "NOEQUALS"], "option '--env' expects KEY=VALUE, got 'NOEQUALS'"),
    (["--erlang", "a@"], "option '--erlang' expects name, name@host or name@ip, got 'a@'"),
    (["--loop", "trio"], "option '--loop' expects asyncio or uvloop (or empty for auto), got 'trio'"),
    (["--http-socket", "9090"], "option '--http-socket': '9090' looks like a UNIX socket path; "
                                "UNIX sockets are not supported yet by gateway (use host:port or :port)"),
    (["--http-socket", ":99999"], "option '--http-socket' expects host:port or :port with a port "
                                  "from 0 to 65535, got ':99999'"),
    (["--plugins", "python3,php"], "option '--plugins': plugin 'php' is not available in gateway "
                                   "(built in: python, python3, python3X, tornado, greenlet, http, and the plugins "
                                   "of gateway's features: corerouter, logfile, syslog, rpc, cache, router_*...)"),
    (["--wsgi-file", ""], "option '--wsgi-file' expects a path, got ''"),
    (["--need-plugin", "lua"], "option '--need-plugin': plugin 'lua' is not available in gateway "
                               "(built in: python, python3, python3X, tornado, greenlet, http, and the plugins "
                                   "of gateway's features: corerouter, logfile, syslog, rpc, cache, router_*...)"),
    (["--wsgi-env-behaviour", "sane"], "option '--wsgi-env-behaviour' expects holy or cheat, got 'sane'"),
])
def test_value_errors(run, argv, message):
    with pytest.raises(ConfigError) as info:
        run(*argv)
    assert str(info.value) == message


def test_bad_flag_word_in_ini(run, write):
    write("app.ini", "[uwsgi]\ngreenlet = flase\n")
    with pytest.raises(ConfigError, match=r"^option 'greenlet' expects true/false, yes/no, on/off or 1/0, "
                                          r"got 'flase' \(from app\.ini line 2\)$"):
        run("app.ini")


@pytest.mark.parametrize("word, expected", [("true", True), ("Yes", True), ("ON", True), ("1", True),
                                            ("", True), ("false", False), ("no", False),
                                            ("off", False), ("0", False)])
def test_flag_words_in_ini(run, write, word, expected):
    write("app.ini", f"[uwsgi]\nlazy-apps = {word}\n")
    assert run("app.ini").lazy_apps is expected


@pytest.mark.parametrize("argv, message", [
    (["--async", "10"], "option '--async' is not supported yet by gateway "
                        "(gateway's concurrency is --tornado N --greenlet)"),
    (["--emperor-on-demand-dir", "/run/od"], "option '--emperor-on-demand-dir' is not supported yet by gateway"),
    (["--spooler-signal-as-task"], "option '--spooler-signal-as-task' is not supported yet by gateway"),
    (["--emperor-broodlord", "4"], "option '--emperor-broodlord' is not supported yet by gateway"),
])
def test_unsupported_options_are_refused(run, argv, message):
    with pytest.raises(ConfigError) as info:
        run(*argv)
    assert str(info.value) == message


def test_unsupported_option_from_ini_says_where(run, write):
    write("app.ini", "[uwsgi]\nasync = 8\n")
    with pytest.raises(ConfigError) as info:
        run("app.ini")
    assert str(info.value) == ("option 'async' is not supported yet by gateway (gateway's concurrency "
                               "is --tornado N --greenlet) (from app.ini line 2)")


def test_unsupported_options_set_to_their_default_are_accepted(run, write):
    write("app.ini", "[uwsgi]\nasync = 1\nthreads = 1\ndie-on-term = off\n")
    config = run("app.ini")
    assert config.async_ == 1 and config.threads == 1
    assert not config.given("async")


def test_accepted_no_ops(run):
    config = run("-T", "--need-app", "--vacuum", "--thunder-lock", "--plugins", "python3,tornado",
                 "--plugin", "python311,greenlet,http", "--enable-threads", "--need-plugin", "python3",
                 "--wsgi-env-behaviour", "holy")
    assert config.enable_threads and config.need_app and config.vacuum and config.thunder_lock
    assert config.plugins == ["python3", "tornado", "python311", "greenlet", "http", "python3"]
    assert config.wsgi_env_behaviour == "holy"


@pytest.mark.parametrize("names", ["logfile,logsocket,syslog,rsyslog", "carbon,stats_pusher_statsd",
                                   "corerouter,http,rpc,cache,signal,spooler",
                                   "router_rewrite,router_redirect,router_static,router_basicauth,router_cache,"
                                   "router_metrics", "/usr/lib/uwsgi/python3_plugin.so"])
def test_plugins_of_builtin_features_load(run, names):
    assert run("--plugins", names, "--plugins-dir", "/usr/lib/uwsgi").plugins == names.split(",")


@pytest.mark.parametrize("name", ["router_uwsgi", "php", "transformation_gzip", "stats_pusher_file"])
def test_plugins_without_the_feature_are_refused(run, name):
    with pytest.raises(ConfigError) as info:
        run("--plugin", "python3," + name)
    assert "plugin '%s' is not available in gateway" % name in str(info.value)


# -- cross-option rules ------------------------------------------------------------------------------

def test_tornado_needs_greenlet(run):
    with pytest.raises(ConfigError) as info:
        run("--tornado", "10")
    assert str(info.value) == "--tornado needs a suspend engine: add --greenlet (uWSGI would segfault here)"


def test_greenlet_needs_tornado(run, write):
    with pytest.raises(ConfigError) as info:
        run("--greenlet")
    assert str(info.value) == "the greenlet suspend engine requires async mode (--tornado N)"
    write("app.ini", "[uwsgi]\ngreenlet = true\n")
    with pytest.raises(ConfigError, match=r"\(from app\.ini line 2\)$"):
        run("app.ini")


def test_tornado_needs_at_least_one_core(run):
    with pytest.raises(ConfigError, match=r"^option '--tornado' expects an integer of at least 1, got '0'$"):
        run("--tornado", "0", "--greenlet")


def test_tornado_raises_socket_timeout_unless_given(run):
    assert run().socket_timeout == 4
    assert run(*APP).socket_timeout == 30
    assert run(*APP, "--socket-timeout", "10").socket_timeout == 10
    assert run("-z", "10", *APP).socket_timeout == 10  # explicit wins whatever the order
    assert run(*APP, env={"UWSGI_SOCKET_TIMEOUT": "60"}).socket_timeout == 60
    assert not run(*APP).given("socket-timeout")


def test_processes_and_master_options(run):
    assert run("--processes", "1").processes == 1
    config = run("-p", "4", "-M", "--harakiri", "2.5", "--stats", "127.0.0.1:9191")
    assert config.processes == 4 and config.master is True
    assert config.harakiri == 2.5 and config.stats == "127.0.0.1:9191"


def test_buffer_size_above_65535_is_lowered_like_uwsgi(run):
    config = run("--buffer-size", "65536")
    assert config.buffer_size == 65535
    assert config.warnings == ("option 'buffer-size' 65536 lowered to 65535, its maximum (as uWSGI does)",)


def test_loop_values(run):
    assert run("--loop", "uvloop").loop == "uvloop"
    assert run("--loop", "tornado").loop == ""
    assert run("--loop", "auto").loop == ""


def test_missing_app_is_left_to_the_caller(run):
    config = run("--http-socket", ":0", *APP)
    assert config.wsgi_file is None and config.module is None


# -- help, version, Config behaviour ---------------------------------------------------------------

def test_help_and_version_short_circuit_validation(run):
    config = run("--processes", "bogus", "--help", "--frobnicate")
    assert config.help is True and config.processes == 1
    assert run("--version").version is True
    assert run("-h", env={"UWSGI_LISTEN": "bad"}).help is True


def test_config_is_immutable_and_rejects_unknown_attributes(run):
    config = run()
    with pytest.raises(AttributeError):
        config.listen = 5
    with pytest.raises(AttributeError, match="no option named 'nonsense'"):
        config.nonsense  # noqa: B018
    assert config.get("async") == 1 and config.async_ == 1
    assert config.get("wsgi-file") is None


def test_lists_are_copies(run):
    config = run("--http-socket", ":1")
    config.http_socket.append(":2")
    assert config.http_socket == [":1"]


def test_sources_record_every_entry_with_its_origin(run, write):
    write("app.ini", "[uwsgi]\nlisten = 7\n")
    config = run("--ini", "app.ini", env={"UWSGI_CALLABLE": "c"})
    assert [(e.key, e.value, e.origin) for e in config.sources] == [
        ("callable", "c", "environment variable UWSGI_CALLABLE"),
        ("ini", "app.ini", "command line"),
        ("listen", "7", "app.ini line 2"),
    ]


def test_config_survives_pickle_and_copy(run):
    import copy
    import pickle

    config = run("--http-socket", ":1", "--set-ph", "x=1", *APP)
    for clone in (pickle.loads(pickle.dumps(config)), copy.copy(config), copy.deepcopy(config)):
        assert clone.http_socket == [":1"] and clone.tornado == 10
        assert clone.given("tornado") and not clone.given("listen")
        assert clone.uwsgi_opt() == config.uwsgi_opt()
        assert clone.placeholders == {"x": "1"}


def test_empty_socket_address(run):
    with pytest.raises(ConfigError, match=r"^option '--http-socket' expects host:port or :port, got ''$"):
        run("--http-socket=")


@pytest.mark.parametrize("value", ["127.0.0.1:3031", ":3031", "[::1]:3031", "/run/app.sock", "app.sock", "@abstract"])
def test_socket_accepts_tcp_and_unix_addresses(run, value):
    assert run("--socket", value).socket == [value]


def test_shared_socket_references(run):
    config = run("--shared-socket", ":443", "--socket", "=0", "--http-socket", "=1")
    assert config.shared_socket == [":443"] and config.socket == ["=0"] and config.http_socket == ["=1"]
    with pytest.raises(ConfigError) as info:
        run("--socket", "=x")
    assert "a shared socket reference is = followed by its index" in str(info.value)


def test_max_vars_default_and_bounds(run):
    assert run().max_vars == 64
    assert run("--max-vars", "10").max_vars == 10
    with pytest.raises(ConfigError):
        run("--max-vars", "0")


def test_logger_file_is_logto_unless_stdio_is_a_logger_too(run):
    assert run("--logger", "file:/var/log/app.log").logto == "/var/log/app.log"
    assert run("--logger", "file:/x.log", "--logto", "/x.log").logto == "/x.log"
    # one file, spelled relative and absolute (uWSGI opens both: the same file)
    here = os.path.join(os.getcwd(), "x.log")
    assert run("--logger", "file:x.log", "--logto", here).logto == here
    assert run("--logger", "file:%s" % here, "--logto", "./x.log").logto == "./x.log"
    assert run("--logger", "stdio").logto is None
    assert run("--logger", "socket:127.0.0.1:514", "--logger", "file:/a.log").logto == "/a.log"
    assert run("--logger", "stdio", "--logger", "file:/a.log").logto is None
    assert run("--logger", "errs file:/a.log").logto is None  # a named logger is never --logto
    assert run("--req-logger", "file:/r.log").req_logger == ["file:/r.log"]
    with pytest.raises(ConfigError, match=r"--logger file:/a.log and --logto /b.log: give one log file"):
        run("--logger", "file:/a.log", "--logto", "/b.log")


def test_logto_a_udp_address_is_a_socket_logger(run):
    cfg = run("--logto", "127.0.0.1:5140")  # uWSGI's --logto HOST:PORT: a datagram per line
    assert cfg.logto is None and cfg.logger == ["socket:127.0.0.1:5140"]
    assert run("--logto", "logs/a:1").logto == "logs/a:1"  # a path (a slash) stays a file
    cfg = run("--logto", "127.0.0.1:5140", "--logger", "socket:127.0.0.1:9")  # the loggers take the lines
    assert cfg.logto is None and cfg.logger == ["socket:127.0.0.1:9"]


def test_logger_plugins_are_checked_at_load(run):
    cfg = run("--logger", "syslog:myapp,local3", "--logger", "errs  socket:/run/log.sock,app: ",
              "--log-socket", "10.0.0.1:514", "--log-syslog", "web")
    assert cfg.logger == ["syslog:myapp,local3", "errs socket:/run/log.sock,app: ", "socket:10.0.0.1:514",
                          "syslog:web"]
    assert run("--logger-req", "rsyslog:logs.example.com").req_logger == ["rsyslog:logs.example.com"]
    assert run("--log-syslog", "--master").logger == ["syslog"]
    for args, message in (
            (("--logger", "redislog:127.0.0.1"), r"option '--logger': the 'redislog' logger plugin is not available"),
            (("--logger", "syslog:app,nowhere"), r"syslog: unknown facility 'nowhere'"),
            (("--logger", "socket"), r"socket:ADDR needs a host:port"),
            (("--logger", "socket:host:http"), r"socket: bad port in 'host:http'"),
            (("--req-logger", "rsyslog:h:514,app,999"), r"rsyslog: priority 999 is not in 0..191"),
            (("--logger", "file:logfile=/x,maxsize=10"), r"use --logto FILE with --log-maxsize"),
            (("--log-socket", "h:0"), r"--log-socket h:0: socket: bad port"),
            (("--log-encoder", "base64"), r"the 'base64' log encoder is not available"),
            (("--log-encoder", "format ${msg} ${pid}"), r"unknown variable \$\{pid\}"),
            (("--log-encoder", "prefix"), r"the prefix encoder needs a text"),
            (("--log-route", "errs"), r"ID REGEXP"),
            (("--log-drain", "("), r"bad regular expression"),
    ):
        with pytest.raises(ConfigError, match=message):
            run(*args)


# -- --fallback-config ----------------------------------------------------------------------------


def test_a_failing_configuration_names_the_fallback_seen_before_the_error(run, write, tmp_path):
    write("bad.ini", "[uwsgi]\nfallback-config = good.ini\nprocesses = many\n")
    with pytest.raises(ConfigError) as info:
        run("bad.ini")
    assert info.value.fallback_config == str(tmp_path / "good.ini")  # absolute: --chdir cannot move it
    with pytest.raises(ConfigError) as info:  # an error while the sources are read
        run("--fallback-config", "$(DIR)/good.ini", "--ini", "missing.ini", env={"DIR": "/etc"})
    assert info.value.fallback_config == "/etc/good.ini"


def test_a_fallback_after_the_error_is_not_known_as_in_uwsgi(run):
    with pytest.raises(ConfigError) as info:
        run("--ini", "missing.ini", "--fallback-config", "good.ini")
    assert info.value.fallback_config is None


def test_fallback_config_is_an_option_like_the_others(run):
    config = run("--fallback-config", "good.ini")
    assert config.fallback_config == "good.ini"


def test_in_order_keeps_the_relative_order_of_several_options(run, write):
    write("r.ini", "[uwsgi]\nroute-run = log:ini\nroute-label = here\n")
    cfg = run("--route", "^/a break:", "--ini", "r.ini", "--route-if", "empty:${X} last:", "--route", "^/b last:")
    assert cfg.in_order("route", "route-run", "route-label", "route_if") == [
        ("route", "^/a break:"), ("route-run", "log:ini"), ("route-label", "here"),
        ("route-if", "empty:${X} last:"), ("route", "^/b last:")]
    assert cfg.route == ["^/a break:", "^/b last:"]  # each attribute: its own values only
    assert cfg.in_order("route-host") == []


def test_a_bad_route_rule_names_the_option_and_its_source(run, write):
    write("bad.ini", "[uwsgi]\nroute = ^/x nosuch:1\n")
    with pytest.raises(ConfigError, match=r"option 'route': .*unknown route action 'nosuch'.*bad.ini line 2"):
        run("--ini", "bad.ini")
