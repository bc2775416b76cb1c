"""``--route*``: uWSGI's internal routing in the worker, over HTTP and the uwsgi protocol."""

from __future__ import annotations

import base64
import socket

import pytest

from server import run_cli, run_server
from support.httpclient import read_to_eof, request
from support.stats import fetch_stats, stats_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/route_echo.py", "--tornado", "4", "--greenlet"]


def echoed(body):
    return dict(line.split("=", 1) for line in body.decode("latin-1").splitlines())


def rules(static_dir):
    return [
        "--route", "^/old/(.*)$ redirect-301:/new/$1",
        "--route-host", "^legacy\\. redirect:http://www.example.org${REQUEST_URI}",
        "--route", "^/private basicauth:Staff,alice:s3cret",
        "--route", "^/r/(.*) rewrite:/app/$1?via=r",
        "--route-run", "addheader:X-Route: ${PATH_INFO}",
        "--route-run", "delheader:X-Secret",
        "--route", "^/deny break:403",
        "--route", "^/cut break:",
        "--route-if", "startswith:${PATH_INFO};/files/ goto:files",
        "--route-run", "last:",
        "--route-label", "files",
        "--route", "^/files/(.*) static:%s/$1" % static_dir,
    ]


@pytest.fixture
def static_dir(tmp_path):
    (tmp_path / "a.css").write_bytes(b"body{}")
    return tmp_path


def test_rules_over_http(static_dir):
    with run_server(APP + ["--master", "--stats", "127.0.0.1:0"] + rules(static_dir)) as srv:
        r = request(srv.port, "/old/page")
        assert (r.status, r.header("Location"), r.body) == (301, "/new/page", b"Moved Permanently")
        r = request(srv.port, "/x?y=1", headers={"Host": "legacy.example.org"})
        assert (r.status, r.header("Location")) == (302, "http://www.example.org/x?y=1")

        r = request(srv.port, "/private")
        assert r.status == 401 and r.header("WWW-Authenticate") == 'Basic realm="Staff"'
        auth = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
        r = request(srv.port, "/private", headers=auth)
        assert r.status == 200 and echoed(r.body)["REMOTE_USER"] == "alice"

        r = request(srv.port, "/r/thing?q=1")
        seen = echoed(r.body)
        assert (seen["PATH_INFO"], seen["QUERY_STRING"]) == ("/app/thing", "via=r&q=1")
        assert r.header("X-Route") == "/app/thing" and r.header("X-App") == "yes" and r.header("X-Secret") is None

        r = request(srv.port, "/deny")
        assert (r.status, r.body) == (403, b"") and r.header("X-Route") == "/deny"
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_to_eof(s) == b""  # break without a status: closed, no response

        r = request(srv.port, "/files/a.css")
        assert (r.status, r.body, r.header("Content-Type")) == (200, b"body{}", "text/css")
        assert request(srv.port, "/files/none.css").status == 404
        assert request(srv.port, "/plain").status == 200  # last: the app

        assert "[rule: 0] subject: path_info regexp: ^/old/(.*)$ action: redirect-301:/new/$1" in srv.output()
        # routed: 2 redirects, the 401, the 403, the cut, 2 static answers
        port = stats_port(srv)
        wait_until(lambda: sum(c["routed_requests"] for w in fetch_stats(port)["workers"] for c in w["cores"]) == 7,
                   what="routed_requests == 7")


def test_rules_from_an_ini_file_keep_their_order(tmp_path):
    ini = tmp_path / "routes.ini"
    ini.write_text(
        "[uwsgi]\n"
        "http-socket = 127.0.0.1:0\n"
        "wsgi-file = tests/apps/route_echo.py\n"
        "route-run = addvar:ROUTED_VAR=a\n"
        "route = ^/x addvar:ROUTED_VAR=${ROUTED_VAR}b\n"
        "route-if = equal:${ROUTED_VAR};ab setpathinfo:/seen-ab\n"
        "route-if-not = equal:${ROUTED_VAR};ab return:404\n"
        "route-run = donotlog:\n"
    )
    with run_server([str(ini)]) as srv:
        r = request(srv.port, "/x")
        assert echoed(r.body)["PATH_INFO"] == "/seen-ab" and echoed(r.body)["ROUTED_VAR"] == "ab"
        assert request(srv.port, "/y").status == 404  # answered before it reaches donotlog:
    log = srv.output()
    assert "GET /y =>" in log and "GET /x =>" not in log


def test_rules_over_the_uwsgi_protocol():
    from gateway.protocol.uwsgi import encode_request

    args = APP + ["--socket", "127.0.0.1:0", "--route", "^/old(.*) rewrite:/new$1",
                  "--route-run", "addheader:X-Route: yes", "--route", "^/admin return:403"]
    with run_server(args) as srv:
        def ask(path):
            packet = encode_request([("REQUEST_METHOD", "GET"), ("PATH_INFO", path), ("QUERY_STRING", ""),
                                     ("SERVER_PROTOCOL", "HTTP/1.1")], b"")
            with socket.create_connection(("127.0.0.1", srv.uwsgi_port), timeout=10) as s:
                s.sendall(packet)
                return read_to_eof(s)
        raw = ask("/old/page")
        head, body = raw.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 OK") and b"X-Route: yes" in head
        assert echoed(body)["PATH_INFO"] == "/new/page"
        assert ask("/admin").startswith(b"HTTP/1.1 403 Forbidden")


@pytest.mark.parametrize("args, fragments", [
    (["--route", "^/x nosuch:1"], ["option '--route'", "unknown route action 'nosuch'"]),
    (["--route-if", "bogus:1 break:"], ["option '--route-if'", "unknown route condition 'bogus'"]),
    (["--route-run", "donotoffload:"], ["'donotoffload' is not supported by gateway"]),
    (["--route-run", "goto:nowhere"], ["--route-run goto:nowhere", "not defined"]),
])
def test_bad_rules_are_refused_at_startup(args, fragments):
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/route_echo.py"] + args)
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_rules_with_app_threads(static_dir):
    # with --threads the chain runs in the app's thread: its answers and its "cut" still get out
    with run_server(APP + ["--threads", "2"] + rules(static_dir)) as srv:
        assert echoed(request(srv.port, "/r/t").body)["PATH_INFO"] == "/app/t"
        assert request(srv.port, "/files/a.css").body == b"body{}"
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_to_eof(s) == b""
        assert request(srv.port, "/deny").status == 403


def test_setmethod_never_gives_a_head_request_a_body():
    with run_server(APP + ["--route-run", "setmethod:GET"]) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(b"HEAD /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            raw = read_to_eof(s)
        assert raw.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: " in raw
        assert raw.endswith(b"\r\n\r\n"), raw  # the head only: the app's body is not sent


def test_metric_signal_and_cache_actions():
    import json

    args = ["--wsgi-file", "tests/apps/subsystems_app.py", "--tornado", "4", "--greenlet",
            "--cache2", "name=c,items=10,blocksize=64", "--metric", "name=pages",
            "--route", "^/page/ metricinc:pages",
            "--route", "^/page/ cache:key=${PATH_INFO},name=c,mime=1",
            "--route", "^/poke signal:17"]
    with run_server(args) as srv:
        assert request(srv.port, "/page/a.txt").status == 200  # not cached: the app (JSON, out null)
        assert json.loads(request(srv.port, "/set?k=/page/a.txt&v=hello").body)["out"] is True
        r = request(srv.port, "/page/a.txt")
        assert (r.body, r.header("Content-Type")) == (b"hello", "text/plain")
        assert json.loads(request(srv.port, "/metric?name=pages&op=get").body)["out"] == 2
        request(srv.port, "/poke")
        wait_until(lambda: 17 in json.loads(request(srv.port, "/signals").body)["out"], what="signal 17 handled")


def test_static_rules_never_serve_a_file_outside_their_directory(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.txt").write_bytes(b"page")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    args = APP + ["--route-if", "isfile:%s${PATH_INFO} static:%s${PATH_INFO}" % (site, site)]
    with run_server(args) as srv:
        assert request(srv.port, "/page.txt").body == b"page"
        # PATH_INFO has no dot segments (decode_path), but an encoded slash is no separator:
        # these give PATH_INFO "/../secret.txt", as uWSGI's do
        for target in (b"/..%2Fsecret.txt", b"/%2e%2e%2fsecret.txt"):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
                s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                reply = read_to_eof(s)
            assert b"secret" not in reply and reply.startswith(b"HTTP/1.1 404 "), (target, reply[:200])


def test_static_skip_ext_holds_for_the_static_action_too(tmp_path):
    # uWSGI's static: serves through uwsgi_file_serve, which applies --static-skip-ext to the
    # file's real path; ours served app.py's source (also through a symlink, and from the
    # response chain's X-Sendfile emulation)
    site = tmp_path / "site"
    site.mkdir()
    (site / "app.py").write_bytes(b"SECRET = 1")
    (site / "page.txt").write_bytes(b"page")
    (site / "link.txt").symlink_to(site / "app.py")
    args = APP + ["--static-skip-ext", ".py",
                  "--route", "^/s/(.*) static:%s/$1" % site,
                  "--collect-header", "X-Sendfile X_SENDFILE",
                  "--response-route-if-not", "empty:${X_SENDFILE} static:${X_SENDFILE}"]
    with run_server(args) as srv:
        assert request(srv.port, "/s/page.txt").body == b"page"
        for path in ("/s/app.py", "/s/link.txt"):
            r = request(srv.port, path)
            assert r.status == 404 and b"SECRET" not in r.body, (path, r)
        assert request(srv.port, "/sendfile", headers={"X-Path": str(site / "page.txt")}).body == b"page"
        r = request(srv.port, "/sendfile", headers={"X-Path": str(site / "app.py")})
        assert r.status == 404 and b"SECRET" not in r.body, r


def test_static_action_finds_a_file_with_a_utf8_name_in_a_directory_with_one(tmp_path):
    # request values are bytes tunnelled as latin-1: looked up as that text, caf\u00e9.txt was
    # never found; the rule's own text (a directory named in UTF-8) stays as written
    d = tmp_path / "d\u00e9p\u00f4t"
    d.mkdir()
    (d / "caf\u00e9.txt").write_bytes(b"coffee")
    (d / "plain.txt").write_bytes(b"plain")
    (tmp_path / "\u65e5\u672c").mkdir()
    (tmp_path / "\u65e5\u672c" / "ja.txt").write_bytes(b"ja")
    with run_server(APP + ["--route", "^/f/(.*) static:%s/$1" % d,
                           # a value a rule set from its own text is text, not tunnelled bytes
                           "--route", "^/g/ setdocroot:%s" % d, "--route", "^/g/(.*) static:${DOCUMENT_ROOT}/$1",
                           "--route", "^/j/ addvar:JDIR=%s/\u65e5\u672c" % tmp_path,
                           "--route", "^/j/(.*) static:${JDIR}/$1"]) as srv:
        r = request(srv.port, "/f/caf%C3%A9.txt")
        assert (r.status, r.body) == (200, b"coffee"), r
        assert request(srv.port, "/f/plain.txt").body == b"plain"
        r = request(srv.port, "/g/caf%C3%A9.txt")
        assert (r.status, r.body) == (200, b"coffee"), r
        r = request(srv.port, "/j/ja.txt")
        assert (r.status, r.body) == (200, b"ja"), r
