"""The alarm options' syntaxes (gateway.alarms.spec): parsing, errors, the log-alarm order,
metric thresholds and the curl: argument."""

from __future__ import annotations

import pytest

from gateway.alarms.spec import (
    AlarmSpec,
    AlarmSpecError,
    crossed,
    log_alarms_for,
    mail_message,
    parse_alarm,
    parse_alarm_fd,
    parse_curl,
    parse_log_alarm,
    parse_metric_threshold,
)


@pytest.mark.parametrize("raw,expected", [
    ("mail cmd:mail -s 'alarm' root", AlarmSpec("mail", "cmd", "mail -s 'alarm' root")),
    ("  sig signal:17", AlarmSpec("sig", "signal", "17")),
    ("m mule:2", AlarmSpec("m", "mule", "2")),
    ("m mule:", AlarmSpec("m", "mule", "")),
    ("l log:", AlarmSpec("l", "log", "")),
    ("l log:DISASTER", AlarmSpec("l", "log", "DISASTER")),
    ("hook curl:http://127.0.0.1:9/x?a=b;method=PUT", AlarmSpec("hook", "curl", "http://127.0.0.1:9/x?a=b;method=PUT")),
])
def test_alarm_specs(raw, expected):
    assert parse_alarm(raw) == expected


@pytest.mark.parametrize("raw,words", [
    ("mail", "NAME PLUGIN:ARGS"),
    ("mail cmd", "NAME PLUGIN:ARGS"),
    ("a,b log:", "no comma"),
    ("x nope:1", "'nope' alarm plugin is not available"),
    ("x xmpp:me@host", "gloox"),
    ("x cmd:  ", "needs a command"),
    ("x signal:300", "0..255"),
    ("x signal:abc", "uWSGI signal number"),
    ("x mule:-1", "0 or more"),
    ("x curl:ftp://host/x", "'ftp' scheme is not supported"),
    ("x curl:smtp://127.0.0.1", "needs mail_to"),
    ("x curl:http://h/;bogus=1", "unknown key 'bogus'"),
    ("x curl:http://h/;timeout=soon", "not a number"),
    ("x curl:http://h/;mail_to=a@b", "smtp URLs only"),
])
def test_bad_alarm_specs_say_why(raw, words):
    with pytest.raises(AlarmSpecError, match=words):
        parse_alarm(raw)


def test_log_alarm_rules_follow_the_order_given_and_a_negated_match_stops_them():
    rules = [parse_log_alarm("a,b ERROR"), parse_log_alarm("c IGNORE", negate=True), parse_log_alarm("c,a fail")]
    assert log_alarms_for(rules, b"an ERROR: fail\n") == ["a", "b", "c"]
    assert log_alarms_for(rules, b"ERROR IGNORE fail\n") == ["a", "b"]  # stopped before the third
    assert log_alarms_for(rules, b"IGNORE fail\n") == []
    assert log_alarms_for(rules, b"all good\n") == []


def test_log_alarm_syntax_errors():
    with pytest.raises(AlarmSpecError, match="REGEXP"):
        parse_log_alarm("onlyname")
    with pytest.raises(AlarmSpecError, match="bad regular expression"):
        parse_log_alarm("a (unclosed")
    with pytest.raises(AlarmSpecError, match="no alarm name"):
        parse_log_alarm(", x")


def test_alarm_fd():
    fa = parse_alarm_fd("oom 3:8 out of memory !!!")
    assert (fa.name, fa.fd, fa.size, fa.message) == ("oom", 3, 8, "out of memory !!!")
    assert parse_alarm_fd("x 5 hello").size == 1
    for bad in ("x 5", "x five hi", "x 5:0 hi", "x -1 hi"):
        with pytest.raises(AlarmSpecError):
            parse_alarm_fd(bad)


def test_metric_thresholds():
    t = parse_metric_threshold("key=errors,value=10,alarm=mail,rate=60,msg=too many errors,reset=0")
    assert (t.key, t.value, t.alarm, t.rate, t.msg, t.reset) == ("errors", 10, "mail", 60, "too many errors", 0)
    assert crossed(t, 9, 1000.0, -1e18) == (False, False)
    assert crossed(t, 10, 1000.0, -1e18) == (True, True)
    assert crossed(t, 50, 1030.0, 1000.0) == (True, False)  # within rate: reset only
    assert crossed(t, 50, 1060.0, 1000.0) == (True, True)
    quiet = parse_metric_threshold("key=x,value=1")
    assert crossed(quiet, 5, 0.0, -1e18) == (False, False)
    for bad, words in (("value=1", "key=METRIC"), ("key=x,value=ten", "not an integer"),
                       ("key=x,value=1,color=red", "unknown key"), ("key=x,value=1,rate=-2", "0 or more"),
                       ("key=x,value", "not key=value")):
        with pytest.raises(AlarmSpecError, match=words):
            parse_metric_threshold(bad)


def test_curl_spec_and_the_uploaded_message():
    spec = parse_curl("smtps://mail.example.com:465;mail_from=a@x;mail_to=b@x,c@x;subject=Alarm;auth_user=u;"
                      "auth_pass=p;ssl_insecure=1;timeout=5")
    assert spec.url == "smtps://mail.example.com:465" and spec.scheme == "smtps"
    assert spec.get("mail_to") == "b@x,c@x" and spec.get("auth_pass") == "p"
    assert mail_message(spec, b"disk full\n") == b"To: b@x,c@x\r\nSubject: Alarm\r\n\r\ndisk full\n"
    plain = parse_curl("http://127.0.0.1:8080/hook?token=abc")
    assert plain.url == "http://127.0.0.1:8080/hook?token=abc" and mail_message(plain, b"m") == b"m"
    assert parse_curl("url=https://h/x;method=PUT").url == "https://h/x"
