"""The routing chains around the response (gateway.routing.response) and their rules."""

from __future__ import annotations

import pytest

from gateway.routing.conditions import RouteSyntaxError
from gateway.routing.response import HeaderRules, ResponsePhases
from gateway.routing.rules import compile_chain, parse_rule, phase_options, split_option

APP_HEADERS = [("Content-Type", "text/plain"), ("X-User", "alice"), ("X-Secret", "s"), ("Content-Length", "5")]


def phases(error=(), response=(), final=(), rules=None):
    return ResponsePhases(compile_chain(list(error)), compile_chain(list(response)), compile_chain(list(final)),
                          rules)


def environ(path="/x"):
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "REQUEST_URI": path}


# -- options and rules ---------------------------------------------------------------------

def test_each_later_chain_has_the_route_options_and_a_status_rule():
    response = phase_options("response")
    assert "response-route" in response and "response-route-remote-user" in response
    assert "response-route-if-not" in response and "response-route-label" in response
    assert "response-route-status" in response
    assert "route-status" not in phase_options("request")  # uWSGI has none for the request chain
    assert len(phase_options("final")) == len(phase_options("request")) + 1
    assert split_option("error-route-host") == ("error", "route-host")
    assert split_option("route-host") == ("request", "route-host")


def test_a_status_rule_runs_only_for_its_status():
    chain = compile_chain([("response-route-status", "404 addheader:X-Missing: yes")])
    assert chain.run(environ(), status=404).state.add_headers == [("X-Missing", "yes")]
    assert chain.run(environ(), status=200).state.add_headers == []


@pytest.mark.parametrize("option, value, fragment", [
    ("response-route-status", "abc addheader:X: y", "HTTP status"),
    ("response-route-status", "99 log:x", "HTTP status"),
    ("final-route-run", "addheader:X: y", "already sent"),
    ("final-route", "^/x redirect:/y", "already sent"),
    ("final-route-status", "500 break:503", "already sent"),
    ("route-run", "clearheaders:503", "--response-route"),
    ("final-route-run", "clearheaders:503", "--response-route"),
    ("response-route-run", "clearheaders:abc", "clearheaders expects a status"),
    ("final-route-run", "disableheaders:", "already sent"),
    ("response-route-run", "flush:", "request chain"),
    ("error-route-run", "gzip:", "request chain"),
    ("final-route-run", "tofile:filename=/tmp/x", "request chain"),
])
def test_rules_that_cannot_work_in_their_chain_are_refused(option, value, fragment):
    with pytest.raises(RouteSyntaxError, match=fragment):
        parse_rule(option, value, 0)


def test_final_chains_keep_the_actions_that_do_not_answer():
    for value in ("log:done", "logvar:k=v", "donotlog:", "metricinc:hits", "signal:1", "break:", "addvar:A=b"):
        parse_rule("final-route-run", value, 0)


def test_labels_and_goto_belong_to_each_chain():
    chain = compile_chain([("response-route-run", "goto:end"), ("response-route-run", "addheader:X-Skipped: 1"),
                           ("response-route-label", "end"), ("response-route-run", "addheader:X-End: 1")])
    assert chain.run(environ(), status=200).state.add_headers == [("X-End", "1")]
    with pytest.raises(RouteSyntaxError, match="not defined"):
        compile_chain([("final-route-run", "goto:nowhere")])


def test_each_chain_is_dumped_under_its_own_title():
    chain = compile_chain([("error-route-status", "500 log:oops"), ("error-route-uri", "^/a log:a")])
    assert chain.dump("error") == [
        "*** dumping internal error routing table ***",
        "[rule: 0] subject: 500 func: 500 action: log:oops",
        "[rule: 1] subject: request_uri regexp: ^/a action: log:a",
        "*** end of the internal error routing table ***",
    ]


# -- header options --------------------------------------------------------------------------

def test_del_collect_and_pull_headers():
    env = {}
    rules = HeaderRules(remove=["x-secret"], collect=["Content-Type CT"], pull=["x-user WHO"])
    assert rules.apply(env, APP_HEADERS) == [("Content-Type", "text/plain"), ("Content-Length", "5")]
    assert env == {"CT": "text/plain", "WHO": "alice"}


def test_a_removed_header_is_not_collected_and_the_first_value_wins():
    env = {}
    rules = HeaderRules(remove=["X-Secret"], collect=["X-Secret S", "X-Tag TAG"])
    kept = rules.apply(env, [("X-Secret", "s"), ("X-Tag", "1"), ("x-tag", "2")])
    assert kept == [("X-Tag", "1"), ("x-tag", "2")] and env == {"TAG": "1"}
    assert not HeaderRules() and HeaderRules(remove=["a"])


# -- the head -------------------------------------------------------------------------------------

def test_no_rule_matching_leaves_the_head_alone():
    reply = phases(response=[("response-route", "^/never addheader:X: y")]).head(environ(), "200 OK", APP_HEADERS)
    assert (reply.status, reply.headers, reply.body, reply.cut) == ("200 OK", APP_HEADERS, None, False)


def test_response_rules_edit_the_app_headers_and_see_collected_values():
    p = phases(response=[("response-route-run", "addheader:X-Who: ${WHO}"), ("response-route-run", "delheader:x-secret")],
               rules=HeaderRules(pull=["X-User WHO"]))
    env = environ()
    reply = p.head(env, "200 OK", APP_HEADERS)
    assert reply.headers == [("Content-Type", "text/plain"), ("Content-Length", "5")]
    assert reply.added == [("X-Who", "alice")] and reply.body is None


def test_an_error_rule_answer_replaces_the_response_and_the_response_chain_sees_it():
    p = phases(error=[("error-route-status", "502 return:503")],
               response=[("response-route-status", "503 addheader:X-Seen: 503"),
                         ("response-route-status", "502 addheader:X-Seen: 502")])
    env = environ()
    reply = p.head(env, "502 Bad Gateway", APP_HEADERS)
    assert reply.status == "503 Service Unavailable" and list(reply.body) == [b"Service Unavailable"]
    assert reply.added == [("X-Seen", "503")]
    assert env["gateway.routed"] is True


def test_header_options_apply_to_a_replacement_too():
    p = phases(response=[("response-route-run", "redirect:/elsewhere")], rules=HeaderRules(remove=["Location"]))
    reply = p.head(environ(), "200 OK", APP_HEADERS)
    assert reply.status == "302 Found" and "Location" not in dict(reply.headers)


def test_break_cuts_the_response():
    reply = phases(error=[("error-route-status", "500 break:")]).head(environ(), "500 Internal Server Error", [])
    assert reply.cut and reply.headers == []


def test_addheader_of_the_error_chain_stays_on_a_replacement_by_the_response_chain():
    p = phases(error=[("error-route-run", "addheader:X-Error-Chain: 1")],
               response=[("response-route-status", "200 return:404")])
    reply = p.head(environ(), "200 OK", APP_HEADERS)
    assert reply.status == "404 Not Found" and reply.added == [("X-Error-Chain", "1")]


def test_break_with_a_status_answers_it_without_body():
    reply = phases(response=[("response-route-status", "200 break:410")]).head(environ(), "200 OK", APP_HEADERS)
    assert reply.status == "410 Gone" and list(reply.body) == [b""]


def test_clearheaders_sets_the_status_and_drops_the_app_headers_but_not_addheader():
    p = phases(response=[("response-route-run", "addheader:X-Kept: 1"),
                         ("response-route-status", "500 clearheaders:503")])
    reply = p.head(environ(), "500 Internal Server Error", APP_HEADERS)
    assert (reply.status, reply.headers, reply.added, reply.body) == ("503 Service Unavailable", [], [("X-Kept", "1")], None)
    reply = p.head(environ(), "200 OK", APP_HEADERS)
    assert (reply.status, reply.headers) == ("200 OK", APP_HEADERS)


def test_a_static_replacement_is_a_file_body(tmp_path):
    (tmp_path / "oops.html").write_bytes(b"<p>oops</p>")
    p = phases(error=[("error-route-status", "404 static:%s/oops.html" % tmp_path)])
    reply = p.head(environ(), "404 Not Found", APP_HEADERS)
    assert reply.status == "200 OK" and dict(reply.headers)["Content-Type"] == "text/html"
    assert b"".join(reply.body) == b"<p>oops</p>"


def test_logs_and_donotlog_of_the_later_chains(caplog):
    env = environ("/quiet")
    p = phases(response=[("response-route", "^/quiet donotlog:"), ("response-route-run", "log:head of ${PATH_INFO}")],
               final=[("final-route-status", "200 logvar:phase=final"), ("final-route-run", "addvar:AFTER=yes")])
    with caplog.at_level("INFO", logger="gateway"):
        p.head(env, "200 OK", [])
    assert env["gateway.donotlog"] is True and "head of /quiet" in caplog.text
    p.final(env, 200)
    assert env["AFTER"] == "yes"
    assert p.on_head and p.on_final
    assert not phases().on_head and not phases().on_final


def test_uwsgi_status_rsize_and_rtime_vars():
    env = environ()
    p = phases(response=[("response-route-run", "addheader:X-Status: ${uwsgi[status]}")],
               final=[("final-route-run", "addvar:DONE=${uwsgi[status]} ${uwsgi[rsize]} ${uwsgi[rtime]}")])
    assert p.head(env, "201 Created", []).added == [("X-Status", "201")]
    p.final(env, 201, 1234, 0.0025)
    assert env["DONE"] == "201 1234 2500"
    request_chain = compile_chain([("route-run", "addvar:SEEN=${uwsgi[status]}/${uwsgi[rsize]}")])
    fresh = environ()
    request_chain.run(fresh)
    assert fresh["SEEN"] == "0/0"  # nothing is known before the response, as in uWSGI


def test_an_addheader_value_that_cannot_go_on_the_wire_is_logged_and_skipped(caplog):
    env = environ()
    env["NAME"] = "\u0142ukasz"  # not latin-1
    with caplog.at_level("INFO", logger="gateway"):
        reply = phases(response=[("response-route-run", "addheader:X-Name: ${NAME}")]).head(env, "200 OK", [])
    assert reply.added == [] and "ignoring malformed header" in caplog.text


def test_disableheaders_in_any_chain_before_the_head_marks_the_reply():
    env = environ()
    reply = phases(response=[("response-route-status", "200 disableheaders:")]).head(env, "200 OK", APP_HEADERS)
    assert reply.no_headers and reply.body is None
    assert not phases(response=[("response-route-status", "404 disableheaders:")]).head(
        environ(), "200 OK", APP_HEADERS).no_headers
    # the request chain's rule reaches the head through the environ
    from gateway.routing.wsgi import NO_HEADERS, note_outcome

    request_chain = compile_chain([("route", "^/raw disableheaders:")])
    env = environ("/raw")
    note_outcome(env, request_chain.run(env))
    assert env[NO_HEADERS] is True and phases().head(env, "200 OK", []).no_headers
    assert request_chain.uses("disableheaders") and not request_chain.uses("log")
