"""gateway.log_plugins: logger/encoder/route specs, the encoders, RFC 3164 framing, the routing decision."""

from __future__ import annotations

import gzip
import json
import time
import zlib

import pytest

from gateway.log_plugins import (
    Channel,
    LoggerSpec,
    SpecError,
    logto_logger,
    parse_encoder,
    parse_logger,
    parse_route,
    rsyslog_args,
    socket_address,
    split_for_packets,
    syslog_args,
    syslog_datagram,
    syslog_timestamp,
)

NOW = time.mktime((2026, 12, 4, 9, 5, 7, 0, 0, -1))  # local time, Fri Dec  4 09:05:07 2026


def clock() -> float:
    return NOW + 0.123456


# -- logger specs -------------------------------------------------------------------------


@pytest.mark.parametrize("raw, spec", [
    ("stdio", LoggerSpec("stdio")),
    ("file:/var/log/a.log", LoggerSpec("file", "/var/log/a.log")),
    ("socket:127.0.0.1:514", LoggerSpec("socket", "127.0.0.1:514")),
    ("socket:/run/log.sock,[app] ", LoggerSpec("socket", "/run/log.sock,[app] ")),
    ("syslog", LoggerSpec("syslog")),
    ("syslog:", LoggerSpec("syslog")),  # uWSGI: an empty argument is no argument
    ("syslog:myapp,local3", LoggerSpec("syslog", "myapp,local3")),
    ("rsyslog:logs.example.com:5514,web,134", LoggerSpec("rsyslog", "logs.example.com:5514,web,134")),
    ("errs file:/tmp/errs.log", LoggerSpec("file", "/tmp/errs.log", "errs")),
    ("  a1 socket:/x", LoggerSpec("socket", "/x", "a1")),
])
def test_parse_logger(raw, spec):
    assert parse_logger(raw) == spec
    assert parse_logger(str(spec)) == spec  # str() is a spec again


@pytest.mark.parametrize("raw, message", [
    ("zeromq:tcp://x", "the 'zeromq' logger plugin is not available"),
    ("my-log file:/x", "the 'my-log file' logger plugin"),  # not an id: '-' is not alphanumeric
    ("stdio:x", "stdio takes no argument"),
    ("file", "file:PATH needs a path"),
    ("fd:x", "fd:N needs a file descriptor number"),
    ("socket:", "socket:ADDR needs"),
    ("socket:host:99999", "bad port"),
    ("syslog:app,local9", "unknown facility 'local9'"),
    ("rsyslog", "needs an address"),
    ("rsyslog:h,app,x", "bad priority 'x'"),
])
def test_parse_logger_refuses(raw, message):
    with pytest.raises(SpecError, match=message):
        parse_logger(raw)


def test_addresses_and_plugin_arguments():
    assert socket_address("127.0.0.1:514", "socket") == ("inet", ("127.0.0.1", 514))
    assert socket_address(":514", "socket") == ("inet", ("127.0.0.1", 514))
    assert socket_address("[::1]:514", "socket") == ("inet", ("::1", 514))
    assert socket_address("/dev/log", "socket") == ("unix", "/dev/log")
    assert socket_address("rel/log.sock", "socket") == ("unix", "rel/log.sock")
    assert socket_address("loghost", "rsyslog", 514) == ("inet", ("loghost", 514))
    assert syslog_args(None) == ("uwsgi", 3)
    assert syslog_args("web") == ("web", 3)
    assert syslog_args("web,local0") == ("web", 16)
    assert rsyslog_args("loghost", "box") == (("inet", ("loghost", 514)), "box uwsgi", 29)
    assert rsyslog_args("/run/rs.sock,web,134", "box") == (("unix", "/run/rs.sock"), "web", 134)


def test_logto_logger_is_the_first_unnamed_file_unless_stdio():
    specs = [parse_logger(s) for s in ("errs file:/e.log", "socket:/s", "file:/a.log", "file:/b.log")]
    assert logto_logger(specs) == LoggerSpec("file", "/a.log")
    assert logto_logger(specs + [parse_logger("stdio")]) is None
    assert logto_logger([parse_logger("errs stdio"), parse_logger("file:/a.log")]) == LoggerSpec("file", "/a.log")


# -- encoders --------------------------------------------------------------------------------


def test_simple_encoders():
    line = b"hello\n"
    assert parse_encoder("prefix [web] ").encode(line) == b"[web] hello\n"
    assert parse_encoder("suffix  <<").encode(line) == b"hello\n <<"
    assert parse_encoder("nl").encode(b"hello") == b"hello\n"
    assert gzip.decompress(parse_encoder("gzip").encode(line)) == line
    assert parse_encoder("gzip").encode(line)[4:8] == b"\0\0\0\0"  # no time in the header, as uWSGI's
    assert zlib.decompress(parse_encoder("compress").encode(line)) == line


def test_format_encoder_variables():
    enc = parse_encoder("format [${strftime:%Y-%m-%d %H:%M:%S}] ${unix} ${millis} ${micros} ${msg}|${msgnl}", clock)
    assert enc.encode(b"the line\n") == (b"[2026-12-04 09:05:07] %d %d %d the line|the line\n"
                                         % (NOW, NOW * 1000 + 123, NOW * 1000000 + 123456))
    # ${msg} strips one newline only when there is one; a lone $ is text
    assert parse_encoder("format $5 ${msg}$", clock).encode(b"no newline") == b"$5 no newline$"


def test_json_encoder_escapes_the_message():
    enc = parse_encoder('json {"time":${unix},"msg":"${msg}","when":"${strftime:%d/%m "%Y"}"}', clock)
    out = enc.encode(b'say "hi"\\ \ttab \xff\n')
    doc = json.loads(out)
    assert doc == {"time": int(NOW), "msg": 'say "hi"\\ \ttab \\xff', "when": '04/12 "2026"'}
    assert not out.endswith(b"\n")  # as uWSGI: add --log-encoder nl


@pytest.mark.parametrize("raw, message", [
    ("base64", "the 'base64' log encoder is not available"),
    ("prefix", "the prefix encoder needs a text"),
    ("json", "the json encoder needs a text"),
    ("format ${msg} ${status}", r"unknown variable \$\{status\}"),
    ("nl:bad-id", "a logger id is letters and digits"),
])
def test_parse_encoder_refuses(raw, message):
    with pytest.raises(SpecError, match=message):
        parse_encoder(raw)


def test_encoder_for_a_named_logger():
    enc = parse_encoder("prefix:errs ERR ")
    assert (enc.name, enc.use_for, enc.args) == ("prefix", "errs", "ERR ")


# -- syslog framing --------------------------------------------------------------------------


def test_syslog_datagram_is_rfc3164_as_syslog3_writes_it():
    assert syslog_timestamp(NOW) == "Dec  4 09:05:07"
    assert syslog_datagram(30, "uwsgi", b"hello world\n", NOW) == b"<30>Dec  4 09:05:07 uwsgi: hello world"
    assert syslog_datagram(29, "box uwsgi", b"x" * 50, NOW, limit=40) == b"<29>Dec  4 09:05:07 box uwsgi: " + b"x" * 9
    assert split_for_packets(b"abcdefg\n", 3) == [b"abc", b"def", b"g"]
    assert split_for_packets(b"\n", 3) == [b""]


# -- routing ---------------------------------------------------------------------------------


def _channel(**kw):
    loggers = [(parse_logger("socket:/a"), "A"), (parse_logger("file:/b"), "B"),
               (parse_logger("errs socket:/e"), "E"), (parse_logger("slow file:/s"), "S")]
    return Channel(loggers, "FD", **kw)


def test_every_line_goes_to_every_unnamed_logger():
    assert _channel().route(b"x\n") == [("A", b"x\n"), ("B", b"x\n")]


def test_no_logger_means_the_default_target():
    assert Channel([], "FD").route(b"x\n") == [("FD", b"x\n")]
    only_named = Channel([(parse_logger("errs socket:/e"), "E")], "FD")
    assert only_named.route(b"x\n") == [("FD", b"x\n")]  # uWSGI's raw write when no unnamed logger


def test_routes_send_matching_lines_to_named_loggers_only():
    ch = _channel(routes=[parse_route("errs ERROR"), parse_route("slow (ERROR|msecs)"), parse_route("errs ERR")])
    assert ch.route(b"an ERROR\n") == [("E", b"an ERROR\n"), ("S", b"an ERROR\n")]  # each once
    assert ch.route(b"in 900 msecs\n") == [("S", b"in 900 msecs\n")]
    assert ch.route(b"fine\n") == [("A", b"fine\n"), ("B", b"fine\n")]


def test_a_route_to_an_unknown_logger_is_refused():
    with pytest.raises(SpecError, match="no logger named 'nope'"):
        _channel(routes=[parse_route("nope x")])


def test_named_fallback_lets_request_routes_use_log_loggers():
    main = _channel()
    requests = Channel([(parse_logger("stdio"), "FD")], "FD", routes=[parse_route("errs 500")],
                       named_fallback=main.named)
    assert requests.route(b"HTTP 500\n") == [("E", b"HTTP 500\n")]


def test_request_encoders_naming_a_log_logger_apply_where_a_request_route_reaches_it():
    main = _channel()
    requests = Channel([(parse_logger("stdio"), "FD")], "FD", routes=[parse_route("errs 500")],
                       encoders=[parse_encoder("prefix:errs E "), parse_encoder("suffix !")], named_fallback=main.named)
    assert requests.route(b"HTTP 500\n") == [("E", b"E HTTP 500\n!")]  # uWSGI: by the logger's id
    assert requests.route(b"HTTP 200\n") == [("FD", b"HTTP 200\n!")]


def test_encoders_apply_in_order_and_per_logger_id():
    ch = _channel(encoders=[parse_encoder("prefix <"), parse_encoder("suffix:errs !"), parse_encoder("suffix >")],
                  routes=[parse_route("errs bad")])
    assert ch.route(b"ok") == [("A", b"<ok>"), ("B", b"<ok>")]
    assert ch.route(b"bad") == [("E", b"<bad!>")]


def test_drains_and_filters():
    from gateway.log_plugins import compile_regexp

    ch = _channel(drains=[compile_regexp("^DEBUG")], filters=[compile_regexp("GET|ERROR"), compile_regexp("POST")])
    assert ch.route(b"DEBUG GET\n") == []
    assert ch.route(b"HEAD /\n") == []
    assert [t for t, _ in ch.route(b"POST /\n")] == ["A", "B"]
    assert ch.targets() == ["A", "B", "E", "S"]
