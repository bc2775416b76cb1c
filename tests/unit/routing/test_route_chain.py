"""The rule chain and its actions (gateway.routing.rules, gateway.routing.actions)."""

from __future__ import annotations

import base64
import hashlib
import os
import re

import pytest

from gateway.routing.rules import RouteSyntaxError, compile_chain
from gateway.routing.vars import Services


def run(rules, **environ):
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": ""}
    env.update(environ)
    outcome = compile_chain(rules).run(env, worker_id=2)
    return outcome, env


def basic(user_pass):
    return "Basic " + base64.b64encode(user_pass.encode()).decode()


# -- subjects and order ----------------------------------------------------------------------

@pytest.mark.parametrize("option, key, value", [
    ("route", "PATH_INFO", "/x/hit"),
    ("route-host", "HTTP_HOST", "hit.example"),
    ("route-uri", "REQUEST_URI", "/x/hit?a=1"),
    ("route-qs", "QUERY_STRING", "a=hit"),
    ("route-remote-addr", "REMOTE_ADDR", "10.0.0.hit"),
    ("route-user-agent", "HTTP_USER_AGENT", "curl hit"),
    ("route-referer", "HTTP_REFERER", "http://hit/"),
    ("route-remote-user", "REMOTE_USER", "hit"),
])
def test_each_subject_matches_its_variable(option, key, value):
    hit, env = run([(option, "(h)(i)t addvar:SEEN=$2$1")], **{key: value})
    assert hit.kind == "app" and env["SEEN"] == "ih"
    miss, env = run([(option, "(h)(i)t addvar:SEEN=1")], **{key: "nothing"})
    assert "SEEN" not in env and miss.kind == "app" and not miss.routed


def test_a_missing_subject_is_matched_as_empty():
    outcome, env = run([("route-referer", "^$ addvar:NOREF=1")])
    assert env["NOREF"] == "1"


def test_rules_run_in_the_order_given_across_options():
    outcome, env = run([("route-run", "addvar:ORDER=a"), ("route", "^/ addvar:ORDER=${ORDER}b"),
                        ("route-if", "equal:${ORDER};ab addvar:ORDER=${ORDER}c"), ("route-run", "addvar:ORDER=${ORDER}d")])
    assert env["ORDER"] == "abcd"


def test_route_if_not():
    _, env = run([("route-if-not", "equal:${PATH_INFO};/ addvar:A=1"), ("route-if-not", "empty:${PATH_INFO} addvar:B=1")])
    assert "A" not in env and env["B"] == "1"


# -- flow --------------------------------------------------------------------------------------

def test_continue_and_last_stop_routing_and_call_the_app():
    for name in ("continue:", "last:"):
        outcome, env = run([("route-run", name), ("route-run", "break:403")])
        assert outcome.kind == "app" and not outcome.routed


def test_break_with_and_without_status():
    outcome, _ = run([("route-run", "break:"), ("route-run", "addvar:NEVER=1")])
    assert outcome.kind == "close" and outcome.routed
    outcome, env = run([("route", "^/ break:403"), ("route-run", "addvar:NEVER=1")])
    assert (outcome.kind, outcome.answer.status, outcome.answer.body) == ("answer", "403 Forbidden", b"")
    assert "NEVER" not in env
    outcome, _ = run([("route-run", "break:503 Back soon")])
    assert outcome.answer.status == "503 Back soon"
    outcome, _ = run([("route-run", "break:599")])
    assert outcome.answer.status == "599 Unknown"


def test_return_answers_the_status_phrase():
    outcome, _ = run([("route-run", "return:404")])
    assert (outcome.answer.status, outcome.answer.body) == ("404 Not Found", b"Not Found")
    assert dict(outcome.answer.headers)["Content-Length"] == "9"
    # uWSGI's phrases where its table differs from Python's (checked against uWSGI 2.0.31)
    outcome, _ = run([("route-run", "break-with-status:418")])
    assert (outcome.answer.status, outcome.answer.body) == ("418 I'm a teapot", b"I'm a teapot")
    outcome, _ = run([("route-run", "return:509")])
    assert (outcome.answer.status, outcome.answer.body) == ("509 Bandwidth Limit Exceeded", b"Bandwidth Limit Exceeded")
    outcome, _ = run([("route-run", "break:418")])
    assert outcome.answer.status == "418 I'm a teapot"
    outcome, _ = run([("route-run", "return:999")])
    assert outcome.kind == "close"  # uWSGI: an unknown status ends the request unanswered


def test_goto_jumps_forward_to_the_label():
    rules = [("route", "^/admin goto:admin"), ("route-run", "addvar:PUBLIC=1"), ("route-run", "last:"),
             ("route-label", "admin"), ("route-run", "addvar:ADMIN=1")]
    _, env = run(rules, PATH_INFO="/admin")
    assert env.get("ADMIN") == "1" and "PUBLIC" not in env
    _, env = run(rules, PATH_INFO="/home")
    assert env.get("PUBLIC") == "1" and "ADMIN" not in env


def test_goto_with_a_variable_label_and_a_rule_number():
    rules = [("route-run", "goto:to-${HTTP_X}"), ("route-label", "to-a"), ("route-run", "addvar:A=1"),
             ("route-label", "to-b"), ("route-run", "addvar:B=1")]
    _, env = run(rules, HTTP_X="b")
    assert env.get("B") == "1" and "A" not in env
    _, env = run([("route-run", "goto:2"), ("route-run", "addvar:SKIPPED=1"), ("route-run", "addvar:RUN=1")])
    assert env.get("RUN") == "1" and "SKIPPED" not in env


def test_a_backward_or_unknown_dynamic_goto_ends_the_request():
    rules = [("route-label", "top"), ("route-run", "addvar:N=x"), ("route-run", "goto:${TARGET}"),
             ("route-run", "addvar:AFTER=1")]
    outcome, env = run(rules, TARGET="top")
    assert outcome.kind == "close" and "AFTER" not in env
    assert any("forward" in line for line in outcome.state.logs)
    outcome, env = run(rules, TARGET="nowhere")
    assert outcome.kind == "close"


def test_static_goto_labels_are_checked_when_compiling():
    with pytest.raises(RouteSyntaxError, match="not defined.*'nolabel'"):
        compile_chain([("route-run", "goto:nolabel")])
    with pytest.raises(RouteSyntaxError, match="only jump forward"):
        compile_chain([("route-label", "up"), ("route", "^/ goto:up")])
    with pytest.raises(RouteSyntaxError, match="only jump forward"):
        compile_chain([("route-label", "up"), ("route-if", "empty:${X} goto:up")])
    # a regexp that happens to start with "goto:" is no goto
    assert len(compile_chain([("route", "goto:x last:")])) == 1


# -- request changes -----------------------------------------------------------------------------

@pytest.mark.parametrize("action, key, expected", [
    ("setpathinfo:/new${PATH_INFO}", "PATH_INFO", "/new/p"),
    ("setscriptname:/mount", "SCRIPT_NAME", "/mount"),
    ("setmethod:POST", "REQUEST_METHOD", "POST"),
    ("seturi:/u?x", "REQUEST_URI", "/u?x"),
    ("setremoteaddr:1.2.3.4", "REMOTE_ADDR", "1.2.3.4"),
    ("setdocroot:/srv", "DOCUMENT_ROOT", "/srv"),
    ("sethome:/venv", "UWSGI_HOME", "/venv"),
    ("setapp:site${PATH_INFO}", "UWSGI_APPID", "site/p"),
    ("setfile:/srv/app.py", "UWSGI_FILE", "/srv/app.py"),
    ("setuser:bob:secret", "REMOTE_USER", "bob"),  # up to the first colon
    ("setscheme:https", "wsgi.url_scheme", "https"),
    ("addvar:GREETING=hi ${PATH_INFO}", "GREETING", "hi /p"),
])
def test_set_actions(action, key, expected):
    outcome, env = run([("route-run", action)], PATH_INFO="/p")
    assert env[key] == expected and outcome.kind == "app"


def test_fixpathinfo_removes_the_script_name():
    _, env = run([("route-run", "fixpathinfo:")], SCRIPT_NAME="/app", PATH_INFO="/app/x")
    assert env["PATH_INFO"] == "/x"
    _, env = run([("route-run", "fixpathinfo:")], SCRIPT_NAME="/app", PATH_INFO="/other")
    assert env["PATH_INFO"] == "/other"


@pytest.mark.parametrize("op, start, arg, expected", [
    ("+", "10", "", "11"), ("+", "10", ",5", "15"), ("-", "10", ",${D}", "7"), ("*", "10", ",3", "30"),
    ("/", "10", ",3", "3"), ("/", "-7", ",2", "-3"), ("/", "10", ",0", "0"),
])
def test_math_actions(op, start, arg, expected):
    _, env = run([("route-run", "%s:N%s" % (op, arg))], N=start, D="3")
    assert env["N"] == expected


def test_math_on_a_missing_variable_ends_the_request():
    outcome, _ = run([("route-run", "+:NOPE")])
    assert outcome.kind == "close"


def test_rewrite_sets_path_and_query_and_goes_on():
    outcome, env = run([("route", "^/old/(.*) rewrite:/new/$1?from=old"), ("route-run", "addvar:AFTER=1")],
                       PATH_INFO="/old/a%20b", QUERY_STRING="q=1")
    # the new path is percent-decoded, as uWSGI does
    assert env["PATH_INFO"] == "/new/a b"
    assert env["QUERY_STRING"] == "from=old&q=1" and env["AFTER"] == "1" and outcome.kind == "app"
    _, env = run([("route-run", "rewrite:/p%C3%A9")], QUERY_STRING="keep=1")
    assert env["PATH_INFO"] == "/p\xc3\xa9" and env["QUERY_STRING"] == "keep=1"  # PEP 3333 latin-1 str
    # dot segments go, as in uWSGI's rewrite (http_url_decode) and a request's own PATH_INFO
    _, env = run([("route", "^/(.*) rewrite:/static/$1")], PATH_INFO="/../etc/passwd")
    assert env["PATH_INFO"] == "/etc/passwd"


def test_rewrite_last_stops_routing():
    outcome, env = run([("route-run", "rewrite-last:/x"), ("route-run", "addvar:AFTER=1")])
    assert env["PATH_INFO"] == "/x" and "AFTER" not in env and outcome.kind == "app"


def test_chdir(tmp_path):
    here = os.getcwd()
    try:
        outcome, _ = run([("route-run", "chdir:%s" % tmp_path)])
        assert os.getcwd() == str(tmp_path) and outcome.kind == "app"
        outcome, _ = run([("route-run", "chdir:%s/none" % tmp_path)])
        assert outcome.kind == "close" and "chdir" in outcome.state.logs[0]
    finally:
        os.chdir(here)


# -- response ------------------------------------------------------------------------------------

def test_headers_logs_and_donotlog_are_collected():
    outcome, _ = run([("route-run", "addheader:X-Path: ${PATH_INFO}"), ("route-run", "delheader:Server"),
                      ("route-run", "remheader:X-Powered-By"), ("route-run", "log:saw ${PATH_INFO}"),
                      ("route-run", "donotlog:")], PATH_INFO="/h")
    state = outcome.state
    assert state.add_headers == [("X-Path", "/h")] and state.del_headers == {"server", "x-powered-by"}
    assert state.logs == ["saw /h"] and state.donotlog and outcome.kind == "app"


def test_a_malformed_expanded_header_is_skipped_and_logged():
    outcome, _ = run([("route-run", "addheader:${HTTP_X}")], HTTP_X="no colon")
    assert outcome.state.add_headers == [] and "malformed" in outcome.state.logs[0]


def test_send_makes_the_response():
    outcome, _ = run([("route", "^/ping send:pong"), ("route", "^/ping send-crnl:!"), ("route-run", "last:")],
                     PATH_INFO="/ping")
    assert (outcome.kind, outcome.answer.status, outcome.answer.body) == ("answer", "200 OK", b"pong!\r\n")
    outcome, _ = run([("route-run", "send:x"), ("route-run", "break:")])
    assert outcome.kind == "answer" and outcome.answer.body == b"x" and outcome.routed


@pytest.mark.parametrize("action, status, body", [
    ("redirect", "302 Found", b"Moved"), ("redirect-302", "302 Found", b"Moved"),
    ("redirect-301", "301 Moved Permanently", b"Moved Permanently"),
    ("redirect-permanent", "301 Moved Permanently", b"Moved Permanently"),
])
def test_redirects(action, status, body):
    outcome, _ = run([("route", "^/old/(.*) %s:https://${HTTP_HOST}/new/$1" % action)],
                     PATH_INFO="/old/x", HTTP_HOST="h.example")
    assert (outcome.answer.status, outcome.answer.body) == (status, body)
    assert dict(outcome.answer.headers)["Location"] == "https://h.example/new/x"


def test_static_and_static_next(tmp_path):
    (tmp_path / "f.txt").write_text("hi")
    outcome, _ = run([("route", "^/(.*) static:%s/$1" % tmp_path)], PATH_INFO="/f.txt")
    assert (outcome.kind, outcome.path) == ("file", "%s/f.txt" % tmp_path)
    outcome, _ = run([("route", "^/(.*) static:%s/$1" % tmp_path)], PATH_INFO="/none.txt")
    assert outcome.answer.status == "404 Not Found"
    outcome, env = run([("route", "^/(.*) static-next:%s/$1" % tmp_path), ("route-run", "addvar:NEXT=1")],
                       PATH_INFO="/none.txt")
    assert outcome.kind == "app" and env["NEXT"] == "1"


# -- basicauth -----------------------------------------------------------------------------------

def test_basicauth_challenges_then_accepts():
    rules = [("route", "^/private basicauth:My Realm,alice:s3cret")]
    outcome, _ = run(rules, PATH_INFO="/private")
    assert outcome.answer.status == "401 Authorization Required" and outcome.answer.body == b"Unauthorized"
    assert dict(outcome.answer.headers)["WWW-Authenticate"] == 'Basic realm="My Realm"'
    outcome, env = run(rules, PATH_INFO="/private", HTTP_AUTHORIZATION=basic("alice:s3cret"))
    assert outcome.kind == "app" and env["REMOTE_USER"] == "alice"
    for bad in (basic("alice:wrong"), "Bearer abcdefgh", "Basic !!!notbase64", "Basic"):
        outcome, env = run(rules, PATH_INFO="/private", HTTP_AUTHORIZATION=bad)
        assert outcome.kind == "answer" and "REMOTE_USER" not in env, bad
    outcome, _ = run(rules, PATH_INFO="/private", REMOTE_USER="already")
    assert outcome.kind == "app"


def test_basicauth_next_chains_users():
    rules = [("route-run", "basicauth-next:R,alice:a"), ("route-run", "basicauth:R,bob:b")]
    assert run(rules, HTTP_AUTHORIZATION=basic("alice:a"))[1]["REMOTE_USER"] == "alice"
    assert run(rules, HTTP_AUTHORIZATION=basic("bob:b"))[1]["REMOTE_USER"] == "bob"
    assert run(rules, HTTP_AUTHORIZATION=basic("eve:e"))[0].kind == "answer"
    assert run(rules)[0].kind == "answer"  # no credentials at all: basicauth-next challenges too


def test_basicauth_with_an_htpasswd_file(tmp_path):
    digest = base64.b64encode(hashlib.sha1(b"pw").digest()).decode()
    (tmp_path / "htpasswd").write_text("other:{SHA}xxx\ncarol:{SHA}%s\n" % digest)
    rules = [("route-run", "basicauth:R,%s" % (tmp_path / "htpasswd"))]
    outcome, env = run(rules, HTTP_AUTHORIZATION=basic("carol:pw"))
    assert outcome.kind == "app" and env["REMOTE_USER"] == "carol"
    assert run(rules, HTTP_AUTHORIZATION=basic("carol:nope"))[0].kind == "answer"
    assert run([("route-run", "basicauth:R,%s/missing" % tmp_path)], HTTP_AUTHORIZATION=basic("carol:pw"))[0].kind == "answer"


def test_an_htpasswd_file_is_read_again_only_when_it_changes(tmp_path, monkeypatch):
    from gateway.routing import actions

    def line(user, password):
        return "%s:{SHA}%s\n" % (user, base64.b64encode(hashlib.sha1(password).digest()).decode())

    path = tmp_path / "htpasswd"
    path.write_text(line("carol", b"pw"))
    opened = []
    real_open = open

    def counting_open(name, *args, **kwargs):
        if str(name) == str(path):
            opened.append(name)
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(actions, "open", counting_open, raising=False)
    rules = [("route-run", "basicauth:R,%s" % path)]
    for _ in range(3):
        assert run(rules, HTTP_AUTHORIZATION=basic("carol:pw"))[1]["REMOTE_USER"] == "carol"
    assert run(rules, HTTP_AUTHORIZATION=basic("dave:pw2"))[0].kind == "answer"
    assert len(opened) == 1  # parsed once, then a stat per check
    path.write_text(line("carol", b"pw") + line("dave", b"pw2"))  # another size: read again
    assert run(rules, HTTP_AUTHORIZATION=basic("dave:pw2"))[1]["REMOTE_USER"] == "dave"
    assert len(opened) == 2
    path.write_text(line("carol", b"xx") + line("dave", b"pw2"))  # same size, a later mtime
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert run(rules, HTTP_AUTHORIZATION=basic("carol:pw"))[0].kind == "answer"
    assert len(opened) == 3
    path.unlink()
    assert run(rules, HTTP_AUTHORIZATION=basic("dave:pw2"))[0].kind == "answer"  # gone: nobody


def test_the_htpasswd_cache_is_bounded(tmp_path, monkeypatch):
    from gateway.routing import actions

    monkeypatch.setattr(actions, "_htpasswd_cache", {})
    digest = base64.b64encode(hashlib.sha1(b"pw").digest()).decode()
    for i in range(actions.HTPASSWD_CACHE_FILES + 5):
        path = tmp_path / ("h%d" % i)
        path.write_text("u:{SHA}%s\n" % digest)
        assert run([("route-run", "basicauth:R,%s" % path)], HTTP_AUTHORIZATION=basic("u:pw"))[0].kind == "app"
    assert len(actions._htpasswd_cache) == actions.HTPASSWD_CACHE_FILES
    assert str(tmp_path / "h0") not in actions._htpasswd_cache  # the oldest went first


# -- compile errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, message", [
    (("route", "^/x"), "invalid route syntax"),
    (("route", "^/x nosuch:arg"), "unknown route action 'nosuch'"),
    (("route", "^/x donotoffload:"), "'donotoffload' is not supported by gateway"),
    (("route", "^/x break"), "expected NAME:ARGS"),
    (("route", "(unclosed break:"), "bad regular expression"),
    (("route-if", "nosuch:x break:"), "unknown route condition"),
    (("route-if", "equal:a break:"), "LEFT;RIGHT"),
    (("route-run", "addvar:NOEQUALS"), "KEY=VALUE"),
    (("route-run", "addheader:Bad Header"), "addheader expects NAME: VALUE"),
    (("route-run", "addheader:Connection: close"), "hop-by-hop"),
    (("route-run", "basicauth:realm-only"), "basicauth expects REALM"),
    (("route-run", "break:abc"), "break expects a status"),
    (("route-label", " "), "needs a name"),
])
def test_compile_errors_name_the_rule(rule, message):
    with pytest.raises(RouteSyntaxError) as info:
        compile_chain([rule])
    assert message in str(info.value) and "--%s %s" % rule in str(info.value)


# -- metrics, signals, caches -----------------------------------------------------------------------

class FakeServices(Services):
    def __init__(self):
        self.metrics = {"hits": 0}
        self.signals = []
        self.cache = {("/x.txt", None): b"cached", ("k", "other"): b"v"}

    def metric(self, op, name, value):
        if name not in self.metrics:
            return False
        current = self.metrics[name]
        self.metrics[name] = {"inc": current + value, "dec": current - value, "mul": current * value,
                              "div": current // value if value else current, "set": value}[op]
        return True

    def metric_get(self, name):
        return self.metrics.get(name, 0)

    def signal(self, num):
        self.signals.append(num)
        return True

    def cache_get(self, key, cache):
        return self.cache.get((key, cache))

    def harakiri(self, seconds):
        self.harakiri_set = seconds

    def set_logvar(self, environ, key, value):
        environ.setdefault("logvars", {})[key] = value

    def alarm(self, name, message):
        self.alarms = getattr(self, "alarms", []) + [(name, message)]
        return True


def run_with(services, rules, **environ):
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": ""}
    env.update(environ)
    return compile_chain(rules).run(env, worker_id=1, services=services), env


def test_metric_actions_and_var():
    services = FakeServices()
    rules = [("route-run", "metricinc:hits"), ("route-run", "metricinc:hits,${HTTP_N}"), ("route-run", "metricmul:hits,2"),
             ("route-run", "metricdec:hits,1"), ("route-run", "addvar:SEEN=${metric[hits]}")]
    outcome, env = run_with(services, rules, HTTP_N="4")
    assert services.metrics["hits"] == 9 and env["SEEN"] == "9" and outcome.kind == "app"
    run_with(services, [("route-run", "metricset:hits,100"), ("route-run", "metricdiv:hits,3")])
    assert services.metrics["hits"] == 33
    outcome, _ = run_with(services, [("route-run", "metricinc:nosuch"), ("route-run", "addvar:AFTER=1")])
    assert outcome.kind == "close" and "nosuch" in outcome.state.logs[0]


def test_signal_action():
    services = FakeServices()
    outcome, _ = run_with(services, [("route", "^/poke signal:17")], PATH_INFO="/poke")
    assert services.signals == [17] and outcome.kind == "app"
    outcome, _ = run([("route-run", "signal:17")])  # no signals in this process: logged, goes on
    assert outcome.kind == "app" and "not available" in outcome.state.logs[0]


def test_cache_action_answers_a_cached_value_or_goes_on():
    services = FakeServices()
    rules = [("route-run", "cache:key=${PATH_INFO},mime=1"), ("route-run", "addvar:MISSED=1")]
    outcome, _ = run_with(services, rules, PATH_INFO="/x.txt")
    assert (outcome.kind, outcome.answer.body) == ("answer", b"cached") and outcome.routed
    assert dict(outcome.answer.headers) == {"Content-Type": "text/plain", "Content-Length": "6"}
    outcome, env = run_with(services, rules, PATH_INFO="/y.txt")
    assert outcome.kind == "app" and env["MISSED"] == "1"
    outcome, _ = run_with(services, [("route-run", "cache:key=k,name=other,content_encoding=gzip,nocl=1")])
    assert dict(outcome.answer.headers) == {"Content-Type": "text/html", "Content-Encoding": "gzip"}


@pytest.mark.parametrize("rule, message", [
    (("route-run", "cache:name=c"), "cache key"),
    (("route-run", "cache:key=a,colour=red"), "bad item"),
    (("route-run", "signal:x"), "signal number"),
    (("route-run", "metricinc:"), "NAME[,VALUE]"),
])
def test_service_actions_are_checked_when_compiling(rule, message):
    with pytest.raises(RouteSyntaxError, match=re.escape(message)):
        compile_chain([rule])


def test_the_startup_dump_is_uwsgis_table():
    chain = compile_chain([("route-host", "^a redirect:/x"), ("route-if-not", "equal:${A};b log:no"),
                           ("route-label", "l"), ("route-run", "last:")])
    assert chain.dump() == [
        "*** dumping internal routing table ***",
        "[rule: 0] subject: http_host regexp: ^a action: redirect:/x",
        "[rule: 1] subject: ${A};b func: !equal action: log:no",
        "[rule: 2] label: l",
        "[rule: 3] action: last:",
        "*** end of the internal routing table ***",
    ]


def test_harakiri_action_sets_the_requests_own_deadline():
    services = FakeServices()
    outcome, _ = run_with(services, [("route", "^/slow harakiri:7")], PATH_INFO="/slow")
    assert services.harakiri_set == 7 and outcome.kind == "app"
    services = FakeServices()
    run_with(services, [("route-run", "harakiri:0")])  # uWSGI's atoi: 0 does nothing
    assert not hasattr(services, "harakiri_set")


def test_alarm_action_raises_the_expanded_alarm_through_the_services():
    services = FakeServices()
    outcome, env = run_with(services, [("route-run", "alarm:page${HTTP_X_N} slow ${PATH_INFO}")],
                            HTTP_X_N="2", PATH_INFO="/x")
    assert services.alarms == [("page2", b"slow /x")] and outcome.kind == "app"


def test_logvar_action_hands_the_expanded_value_to_the_services():
    services = FakeServices()
    outcome, env = run_with(services, [("route-run", "logvar:who=${HTTP_X_USER}")], HTTP_X_USER="ann")
    assert env["logvars"] == {b"who": b"ann"} and outcome.kind == "app"


def test_static_never_leads_out_of_the_rules_directory(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "ok.txt").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")
    (site / "link.txt").symlink_to(tmp_path / "secret.txt")
    rules = [("route-run", "static:%s${PATH_INFO}" % site)]
    assert run(rules, PATH_INFO="/ok.txt")[0].kind == "file"
    for path in ("/../secret.txt", "/./../secret.txt", "/link.txt"):
        assert run(rules, PATH_INFO=path)[0].kind == "answer", path  # 404, not the file
    # a literal file named by the rule itself is the admin's choice
    assert run([("route-run", "static:%s" % (tmp_path / "secret.txt"))])[0].kind == "file"
    # the directory a partial name ends in: /site/img_${..} stays in /site
    rules = [("route-run", "static:%s/img_${HTTP_X_ID}" % site)]
    (site / "img_1").write_text("1")
    assert run(rules, HTTP_X_ID="1")[0].kind == "file"
    assert run(rules, HTTP_X_ID="/../../secret.txt")[0].kind == "answer"


def test_static_starting_with_a_variable_stays_in_that_variables_directory(tmp_path, monkeypatch):
    # uWSGI's usual rule, static:${DOCUMENT_ROOT}${PATH_INFO}: its root was the worker's own
    # directory (nothing served outside it); it is the document root the request carries
    site = tmp_path / "site"
    site.mkdir()
    (site / "ok.txt").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rules = [("route-run", "static:${DOCUMENT_ROOT}${PATH_INFO}")]
    assert run(rules, DOCUMENT_ROOT=str(site), PATH_INFO="/ok.txt")[0].kind == "file"
    assert run(rules, DOCUMENT_ROOT=str(site) + "/", PATH_INFO="/ok.txt")[0].kind == "file"
    for root, path in ((str(site), "/../secret.txt"), (str(site) + "/..", "/secret.txt"), ("site", "/ok.txt"),
                       ("", "/ok.txt")):
        assert run(rules, DOCUMENT_ROOT=root, PATH_INFO=path)[0].kind == "answer", (root, path)  # 404
