"""Internal routing against real uWSGI 2.0.31: the same rules and requests, the same responses.

Both servers run ``tests/apps/route_probe.py`` on ``--http-socket`` with one set of rules (each
rule matches its own path, so the cases do not meet) and get the same raw requests; the
responses are compared whole once the framing headers are dropped (gateway adds ``Date`` and a
``Content-Length`` where uWSGI leaves the close to end the body; ``Connection`` follows from
that).  The rules cover the request chain's actions, conditions and variables, the order of
``goto``/``last``/``break``/``continue``, and the response and error chains around the app.
Left out are the differences the README documents ("Internal routing": ``send:``, a
``static:`` of a missing file, ``break:STATUS``'s ``Connection: close``, ``/:``, a backward
``goto``, ``delheader`` and ``break:`` in the error chain...).

uWSGI has routing only when built with PCRE (``tests/support/build_uwsgi.sh`` needs
libpcre2-dev, which ``.ci/run`` installs); without it the module is skipped (failed under CI).
One pair of servers for the module.
"""

from __future__ import annotations

import os
import socket
import subprocess
from typing import Dict, List, Tuple, Union

import pytest

from peers import in_ci, require_uwsgi, stop_uwsgi
from server import ROOT, ServerProcess, spawn
from support.httpclient import read_to_eof
from support.router import free_port, wait_listening

pytestmark = pytest.mark.timeout(90)

APP = os.path.join(ROOT, "tests", "apps", "route_probe.py")

RULES: List[Tuple[str, str]] = [
    # goto:N jumps to rule N, counted from 0 (first here, so the count stays put)
    ("route", "^/gn$ goto:3"),
    ("route", "^/gn$ return:500"),
    ("route", "^/gn$ return:501"),
    ("route", "^/gn$ return:502"),  # rule 3
    # the request chain's actions
    ("route", "^/ret$ return:403"),
    ("route", "^/ret200$ return:200"),
    ("route", "^/ret418$ return:418"),
    ("route", "^/ret509$ return:509"),
    ("route", "^/brk$ break:"),
    ("route", "^/bws$ break-with-status:410"),
    ("route", "^/red$ redirect:/elsewhere"),
    ("route", "^/red301$ redirect-301:http://x${REQUEST_URI}"),
    ("route", "^/red302$ redirect-302:/a?b=1"),
    ("route", "^/redperm$ redirect-permanent:/p"),
    ("route", "^/rd3$ redirect-302:${qs[to]}"),
    ("route", "^/rw/(.*)$ rewrite:/new/$1?x=1"),
    ("route", "^/rwl/(.*)$ rewrite-last:/newl/$1"),
    ("route", "^/rwq$ rewrite:/new"),
    ("route", "^/rwq2$ rewrite:/new?"),
    ("route", "^/av$ addvar:MYVAR=hello"),
    ("route", "^/ah$ addheader:X-Foo: bar"),
    ("route", "^/case$ addheader:x-lower: v"),
    ("route", "^/dh$ delheader:X-Del"),
    ("route", "^/rh$ remheader:X-App"),
    ("route", "^/sp$ setpathinfo:/changed"),
    ("route", "^/sq$ setpathinfo:/p?x=1"),
    ("route", "^/sn$ setscriptname:/app"),
    ("route", "^/sm$ setmethod:PUT"),
    ("route", "^/su$ seturi:/u?x"),
    ("route", "^/sra$ setremoteaddr:1.2.3.4"),
    ("route", "^/sdr$ setdocroot:/srv"),
    ("route", "^/ssch$ setscheme:https"),
    ("route", "^/su2$ setuser:bob:x"),
    ("route", "^/fpi$ setscriptname:/fp"),
    ("route", "^/fpi$ fixpathinfo:"),
    ("route", "^/ba$ basicauth:Realm,user:pass"),
    ("route", "^/ba2$ basicauth:Realm,user:"),
    ("route", "^/bn$ basicauth-next:R,a:1"),
    ("route", "^/bn$ basicauth:R,b:2"),
    ("route", "^/log$ log:hello ${PATH_INFO}"),
    ("route", "^/dnl$ donotlog:"),
    ("route", "^/lv$ logvar:a=b"),
    ("route", "^/plus$ addvar:N=5"),
    ("route", "^/plus$ +:N,3"),
    ("route", "^/minus$ addvar:N=5"),
    ("route", "^/minus$ -:N"),
    ("route", "^/mul$ addvar:N=5"),
    ("route", "^/mul$ *:N,4"),
    ("route", "^/cs/(.*)$ cachestore:key=$1"),
    ("route", "^/ca/(.*)$ cache:key=$1"),
    ("route", "^/cact/(.*)$ cache:key=$1,content_type=text/css"),
    # router_static's file actions (the docroot is the servers' directory)
    ("route", "^/f1$ file:filename=${DOCROOT}/f.txt"),
    ("route", "^/f2$ file:filename=${DOCROOT}/f.txt,content_type=text/css,status=203"),
    ("route", "^/f3$ addheader:X-A: 1"),
    ("route", "^/f3$ sendfile:filename=${DOCROOT}/f.txt,no_cl=1"),
    ("route", "^/f4/(.*)$ file-next:filename=${DOCROOT}/$1"),
    ("route", "^/f5$ fastfile:filename=${DOCROOT}/f.txt,no_headers=1"),
    # the other subjects
    ("route-host", "^other$ return:451"),
    ("route-uri", r"^/uri\?z=1$ return:452"),
    ("route-qs", "^q=([0-9]+)$ addheader:X-Q: $1"),
    ("route-user-agent", "^bot break:429"),
    ("route-referer", "evil return:453"),
    ("route-remote-addr", r"^127\. addheader:X-Local: 1"),
    ("route-if", r"regexp:${qs[v]};^(\d+)-(\d+)$ addheader:X-G: $2.$1"),
    ("route-if-not", "empty:${HTTP_X_T} addheader:X-T: [${HTTP_X_T}]"),
    # PCRE's named groups (numbered as the others)
    ("route", r"^/named/(?<year>\d+)/(?'slug'[a-z]+)$ addheader:X-N: $2-$1"),
    ("route-if", r"regexp:${qs[w]};^(?<w>[a-z])\k<w>$ addheader:X-W: $1"),
    # variables
    ("route", "^/v1$ addheader:X-V: ${HTTP_X_A}|${qs[a]}|${cookie[c]}|${REQUEST_METHOD}|${NOPE}|"),
    ("route", "^/v2$ addheader:X-V: ${base64[HTTP_X_A]}|${hex[HTTP_X_A]}|${uwsgi[wid]}"),
    ("route", "^/v3$ addheader:X-V: ${qs[]}|${cookie[]}|${qs[b]}|$$|$a|${cookie[d]}|${cookie[e]}"),
    ("route", "^/v4/(a)(b)?$ addheader:X-V: $1|$2|$3|$0"),
    ("route", "^/v5$ addheader:X-V: ${httptime[0]}"),
    # flow: goto (to a label, to a rule number, to a label named by a variable), last, break, continue
    ("route", "^/g1$ goto:L1"),
    ("route", "^/g1$ return:500"),
    ("route-label", "L1"),
    ("route", "^/g1$ addheader:X-L1: yes"),
    ("route", "^/g2$ goto:NOPE${qs[x]}"),
    ("route", "^/lb$ addheader:X-A: 1"),
    ("route", "^/lb$ last:"),
    ("route", "^/lb$ addheader:X-B: 1"),
    ("route", "^/bk$ addheader:X-A: 1"),
    ("route", "^/bk$ break:"),
    ("route", "^/co$ continue:"),
    ("route", "^/co$ addheader:X-B: 1"),
    ("route", "^/rx/(.*)$ rewrite:/ry/$1"),
    ("route", "^/ry/(.*)$ addheader:X-RY: $1"),
    ("route", "^/ret-hdr$ addheader:X-Before: 1"),
    ("route", "^/ret-hdr$ return:404"),
    ("route", "^/red-hdr$ addheader:X-Before: 1"),
    ("route", "^/red-hdr$ redirect:/z"),
    ("route", "^/rpre/(.*)$ rewrite:/status/$1"),
    # the response and error chains
    ("response-route", "^/status/404$ addheader:X-Resp: 1"),
    ("response-route-status", "404 addheader:X-R404: 1"),
    ("error-route-status", "500 addheader:X-E500: 1"),
    ("response-route-if", "equal:${uwsgi[status]};201 addheader:X-Status: ${uwsgi[status]}"),
    ("response-route", "^/status/418$ clearheaders:419"),
    ("response-route", "^/status/402$ return:403"),
    ("error-route", "^/status/406$ redirect:/else"),
    ("response-route", "^/status/202$ addheader:X-Before-Break: 1"),
    ("response-route", "^/status/202$ break:"),
    ("response-route", "^/status/202$ addheader:X-After-Break: 1"),
    ("response-route-run", "addheader:X-Resp-All: s"),
]

#: a condition per path: ``/c/NAME`` answers 201 when it holds, 202 when not
CONDITIONS = {
    "eq": "equal:${qs[a]};x", "eq2": "eq:${qs[a]};x", "sw": "startswith:${qs[a]};x", "ew": "endswith:${qs[a]};y",
    "re": "regexp:${qs[a]};^x(y)?$", "ct": "contains:${qs[a]};y", "ct2": "contain:${qs[a]};y",
    "ct3": "contains:${qs[a]};${qs[e]}", "sw2": "startswith:${qs[a]};${qs[e]}", "ew2": "endswith:${qs[a]};${qs[e]}",
    "hi": "ishigher:${qs[n]};5", "lo": "islower:${qs[n]};5", "hie": "ishigherequal:${qs[n]};5",
    "loe": "islowerequal:${qs[n]};5", "gt": ">:${qs[n]};5", "lt": "<:${qs[n]};5", "hi2": "ishigher:${qs[n]};abc",
    "emp": "empty:${qs[e]}", "isf": "isfile:${DOCROOT}/f.txt", "isd": "isdir:${DOCROOT}", "isd2": "isdir:${DOCROOT}/f.txt",
    "ex": "exists:${DOCROOT}/sub", "isl": "islink:${DOCROOT}/lnk", "isx": "isexec:/bin/sh",
    "v4": "ipv4in:${REMOTE_ADDR};127.0.0.0/8", "v4b": "ipv4in:${REMOTE_ADDR};10.0.0.0/8",
    "v4c": "ipv4in:${REMOTE_ADDR};127.0.0.1", "v6": "ipv6in:${REMOTE_ADDR};::1/128",
}
CONDITION_QUERIES = ("", "?a=x&n=7", "?a=xy&n=5&e=", "?a=yx&n=3&e=1", "?n=-1")

Request = Union[str, bytes]
REQUESTS: List[Request] = [
    "/ret", "/ret200", "/ret418", "/ret509", "/brk", "/bws", "/red", "/red301", "/red302", "/redperm", "/rd3?to=http://a/b%20c",
    "/rw/f.txt", "/rw/a%20b?q=2", "/rwl/f.txt", "/rwq?a=1", "/rwq2?a=1", "/av", "/ah", "/case", "/dh", "/rh",
    "/sp", "/sp?x=1", "/sq", "/sn", "/sm", "/su", "/sra", "/sdr", "/ssch", "/su2", "/fpi", "/fpi/x",
    "/f1", "/f2", "/f3", "/f4/f.txt", "/f4/nope", "/f5",
    "/log", "/dnl", "/lv", "/plus", "/minus", "/mul", "/cs/k.css", "/ca/k.css", "/cact/k.css", "/ca/none",
    b"GET /ba HTTP/1.0\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n",  # user:pass
    b"GET /ba HTTP/1.0\r\nAuthorization: Basic dXNlcjp4\r\n\r\n",
    b"GET /ba HTTP/1.0\r\n\r\n",
    b"GET /ba2 HTTP/1.0\r\nAuthorization: Basic dXNlcjo=\r\n\r\n",
    b"GET /bn HTTP/1.0\r\nAuthorization: Basic YTox\r\n\r\n",  # a:1 (the first rule)
    b"GET /bn HTTP/1.0\r\nAuthorization: Basic Yjoy\r\n\r\n",  # b:2 (the second)
    b"GET /bn HTTP/1.0\r\nAuthorization: Basic Yjox\r\n\r\n",
    b"GET / HTTP/1.0\r\nHost: other\r\n\r\n", "/uri?z=1", "/any?q=12", b"GET / HTTP/1.0\r\nUser-Agent: botx\r\n\r\n",
    b"GET / HTTP/1.0\r\nReferer: http://evil/\r\n\r\n", "/x?v=12-34", "/x?v=1234", b"GET /t HTTP/1.0\r\nX-T: a b\r\n\r\n",
    b"GET /v1?a=hello&n=21&b=1&a=2 HTTP/1.0\r\nX-A: AbC\r\nCookie: c=1; d=two;e=3\r\n\r\n", "/v1",
    b"GET /v2 HTTP/1.0\r\nX-A: AbC\r\n\r\n",
    b"GET /v3?a=hello&b=1 HTTP/1.0\r\nCookie: c=1; d=two;e=3\r\n\r\n", "/v3", "/v4/a", "/v4/ab",
    "/named/2024/abc", "/named/x/abc", "/x?w=aa", "/x?w=ab",
    "/g1", "/g2", "/gn", "/lb", "/bk", "/co", "/rx/abc", "/ret-hdr", "/red-hdr",
    "/rpre/404", "/status/404", "/status/500", "/status/201", "/rpre/201", "/status/418", "/status/402",
    "/status/406", "/status/202", "/status/200",
] + ["/c/%s%s" % (name, query) for name in CONDITIONS for query in CONDITION_QUERIES]

#: dropped from both responses: framing (see the module docstring) and dates
DROPPED = (b"date", b"content-length", b"connection", b"transfer-encoding")


def raw(request: Request) -> bytes:
    if isinstance(request, bytes):
        return request
    return ("GET %s HTTP/1.0\r\nHost: h\r\n\r\n" % request).encode()


def normalized(response: bytes) -> bytes:
    head, sep, body = response.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/"):
        return response
    lines = head.split(b"\r\n")
    kept = [lines[0]] + [line for line in lines[1:] if line.split(b":")[0].lower() not in DROPPED]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        return read_to_eof(s)


def require_uwsgi_routing() -> str:
    uwsgi = require_uwsgi()
    usage = subprocess.run([uwsgi, "--help"], capture_output=True, text=True, timeout=30).stdout
    if "--route " not in usage:
        message = "real uWSGI %s was built without PCRE: no internal routing (install libpcre2-dev, rebuild)" % uwsgi
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return uwsgi


@pytest.fixture(scope="module")
def ports(tmp_path_factory):
    uwsgi = require_uwsgi_routing()
    docroot = tmp_path_factory.mktemp("routing-docroot")
    (docroot / "f.txt").write_text("hello\n")
    (docroot / "sub").mkdir()
    os.symlink(str(docroot / "sub"), str(docroot / "lnk"))
    options: List[str] = []
    for option, value in RULES:
        options += ["--" + option, value.replace("${DOCROOT}", str(docroot))]
    for name, condition in CONDITIONS.items():
        condition = condition.replace("${DOCROOT}", str(docroot))
        options += ["--route", "^/c/%s$ goto:%s" % (name, name)]
    options += ["--route-run", "last:"]
    for name, condition in CONDITIONS.items():
        condition = condition.replace("${DOCROOT}", str(docroot))
        options += ["--route-label", name, "--route-if", condition + " return:201", "--route-run", "return:202"]
    common = ["--wsgi-file", APP, "--cache2", "name=default,items=10"] + options
    found: Dict[str, int] = {"uwsgi": free_port(), "gateway": free_port()}
    real = subprocess.Popen([uwsgi, "--http-socket", "127.0.0.1:%d" % found["uwsgi"]] + common,
                            cwd=str(docroot), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ours = ServerProcess(spawn(["--http-socket", "127.0.0.1:%d" % found["gateway"]] + common))
    try:
        wait_listening(found["uwsgi"], timeout=30, proc=real)
        ours.wait_ready(30)
        yield found
    finally:
        stop_uwsgi(real)
        ours.stop()


@pytest.mark.parametrize("request_", REQUESTS, ids=[raw(r).split(b"\r\n")[0].decode() for r in REQUESTS])
def test_the_response_is_uwsgis(ports, request_):
    data = raw(request_)
    theirs = normalized(exchange(ports["uwsgi"], data))
    ours = normalized(exchange(ports["gateway"], data))
    assert ours == theirs
