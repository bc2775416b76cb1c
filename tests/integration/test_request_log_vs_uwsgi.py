"""The request log, byte for byte against real uWSGI 2.0.31: log pipelines parse uWSGI's lines.

Both servers run ``tests/apps/request_log_probe.py`` with the same options (``--tornado 4
--greenlet``, or uWSGI's sync mode: the same core ids and switch counts either way), get the same uwsgi
packets on ``--socket`` (so the request variables and the response heads are the same bytes) and
log to a file.  The lines from the first request on are compared once masked where they must
differ: pids, dates, durations.  Where gateway answers differently on purpose (README, "Logging"),
the uWSGI line is turned into the documented one first (:data:`DOCUMENTED`), so any other
difference fails.  One pair of servers per configuration, shared by the module.
"""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
from typing import Dict, List, Tuple

import pytest

from gateway.protocol.uwsgi import encode_request
from peers import require_uwsgi, stop_uwsgi
from server import ROOT, ServerProcess, spawn
from support.datagrams import Receiver
from support.httpclient import read_to_eof
from support.router import free_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = os.path.join(ROOT, "tests", "apps", "request_log_probe.py")
ASYNC = ["--tornado", "4", "--greenlet"]


def packet(method: str, uri: str, headers: Tuple[Tuple[str, str], ...] = (), body: bytes = b"",
           proto: str = "HTTP/1.1") -> bytes:
    """The request as nginx's ``uwsgi_params`` send it (``REMOTE_USER`` etc. as headers)."""
    path, _, query = uri.partition("?")
    pairs = [("REQUEST_METHOD", method), ("REQUEST_URI", uri), ("PATH_INFO", path), ("QUERY_STRING", query),
             ("SERVER_PROTOCOL", proto), ("SCRIPT_NAME", ""), ("SERVER_NAME", "localhost"),
             ("SERVER_PORT", "80"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "5555")]
    if body:
        pairs += [("CONTENT_LENGTH", str(len(body))), ("CONTENT_TYPE", "text/plain")]
    return encode_request(pairs + list(headers), body)


HOST = (("HTTP_HOST", "localhost"),)
REQUESTS = {  # path (the line's "METHOD URI") -> packet
    "GET /hello": packet("GET", "/hello", HOST + (("HTTP_USER_AGENT", "ua/1.0"), ("HTTP_REFERER", "http://r/"))),
    "GET /hello?a=1&b=2": packet("GET", "/hello?a=1&b=2", HOST),
    "POST /post": packet("POST", "/post", HOST, body=b"hello"),
    "GET /boom": packet("GET", "/boom", HOST),
    "GET /genboom": packet("GET", "/genboom", HOST),
    "HEAD /hello": packet("HEAD", "/hello", HOST),
    "GET /logvar": packet("GET", "/logvar", HOST),
    "GET /ulog": packet("GET", "/ulog", HOST),
    "GET /404": packet("GET", "/404", HOST + (("HTTP_X_FORWARDED_FOR", "10.1.2.3"), ("REMOTE_USER", "bob"))),
    "GET /empty": packet("GET", "/empty", proto="HTTP/1.0"),  # no Host: %(host) is SERVER_NAME
    # raw UTF-8 (nginx passes the request's bytes), and no SCRIPT_NAME (nginx's uwsgi_params has none)
    "GET /caf\u00c3\u00a9": encode_request([
        (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/caf\xc3\xa9?q=\xc3\xa9"), (b"PATH_INFO", b"/caf\xc3\xa9"),
        (b"QUERY_STRING", b"q=\xc3\xa9"), (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"SERVER_NAME", b"localhost"),
        (b"SERVER_PORT", b"80"), (b"REMOTE_ADDR", b"127.0.0.1"), (b"HTTP_USER_AGENT", b"\xe2\x98\x83 agent")]),
    "GET /big": packet("GET", "/big", HOST),
    "GET /bytesio": packet("GET", "/bytesio", HOST),
    "GET /slow": packet("GET", "/slow", HOST),
    "GET /file": packet("GET", "/file", HOST),
}

#: every variable uWSGI 2.0.31 registers whose value is the same in both servers once masked
#: (%(rss)/%(vsz) are 0 in uWSGI without --memory-report: README)
FORMAT = "|".join("%s=%%(%s)" % (v, v) for v in (
    "uri", "method", "user", "addr", "host", "proto", "status", "referer", "uagent", "size", "rsize",
    "hsize", "cl", "msecs", "micros", "secs", "time", "tmsecs", "tmicros", "ltime", "ftime", "ctime",
    "epoch", "wid", "switches", "vars", "pktsize", "modifier1", "modifier2", "headers", "core", "werr",
    "rerr", "ioerr", "var.HTTP_HOST", "var.NOPE", "myvar", "metric.nope"))

CONFIGS: Dict[str, List[str]] = {
    # the default line; --logdate dates uwsgi.log() lines only; --log-x-forwarded-for
    "default": ASYNC + ["--logdate=true", "--log-x-forwarded-for"],
    "format": ASYNC + ["--log-format", FORMAT, "--log-format-strftime", "--logdate=%Y@%m", "--log-x-forwarded-for"],
    "selection": ASYNC + ["--disable-logging", "--log-4xx", "--log-5xx", "--log-big", "1000", "--log-zero",
                          "--memory-report", "--log-micros"],
    # the other selectors, as uWSGI's command line spells them (--log-sendfile wants a value
    # there), and a bare --logdate (uWSGI's ctime() date)
    "selection2": ["--disable-logging", "--log-sendfile=1", "--log-slow", "250", "--log-ioerror", "1", "--logdate"],
    # uWSGI's sync mode (one core): its switch counts are one less
    "sync": [],
    # and with --threads, whose app thread reads a wsgi.file_wrapper here (one thread: with
    # more, a request's line may come after the next one's, in uWSGI too)
    "threads": ["--threads", "1"],
}

#: what must differ; a date keeps its spaces (ctime pads the day with one: "Dec  5")
MASKS = [
    (r"pid: \d+", "pid: P"),
    (r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} - |\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\]",
     lambda m: re.sub(r"\d", "9", m.group(0))),
    (r" in \d+ (msecs|micros)", r" in T \1"),
    (r"^\{address space usage: \d+ bytes/\d+MB\} \{rss usage: \d+ bytes/\d+MB\} ", "{MEMORY} "),
    (r"\b(msecs|micros|time|tmsecs|tmicros|epoch)=\d+", r"\1=N"),
    (r"\bsecs=\d+\.\d{6}", "secs=N"),
    (r"\bltime=\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", "ltime=L"),
    (r"\bctime=\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", lambda m: re.sub(r"\d", "9", m.group(0))),
    (r"\bftime=\d{4}@\d\d", "ftime=F"),
]

#: gateway's deliberate differences (README "Logging"), applied to uWSGI's line of the request:
#: an exception before the response is answered 500 with a body (uWSGI sends nothing), and
#: HEAD gets no body (uWSGI sends and counts it)
DOCUMENTED = {
    "GET /boom": [("generated 0 bytes", "generated 22 bytes"), ("0 headers in 0 bytes", "2 headers in 84 bytes"),
                  ("|size=0|rsize=0|hsize=0|", "|size=106|rsize=22|hsize=84|"), ("|headers=0|", "|headers=2|")],
    "HEAD /hello": [("generated 12 bytes", "generated 0 bytes"), ("|size=69|rsize=12|", "|size=57|rsize=0|")],
}


def masked(line: str) -> str:
    for pattern, replacement in MASKS:
        line = re.sub(pattern, replacement, line)  # type: ignore[call-overload]
    return line


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        try:
            return read_to_eof(s)
        except ConnectionResetError:  # gateway cuts a response that failed mid-body (README)
            return b""


class Pair:
    """Real uWSGI and gateway with the same options, each logging to its own file (in
    ``tmp``, their working directory; ``{server}`` in an option is the server's name)."""

    def __init__(self, tmp: str, options: List[str]) -> None:
        self.logs = {"uwsgi": os.path.join(tmp, "uwsgi.log"), "gateway": os.path.join(tmp, "gateway.log")}
        self.ports = {"uwsgi": free_port(), "gateway": free_port()}

        def common(server: str) -> List[str]:
            return ["--wsgi-file", APP] + [option.replace("{server}", server) for option in options]

        self.uwsgi = subprocess.Popen(
            [require_uwsgi(), "--socket", "127.0.0.1:%d" % self.ports["uwsgi"], "--logto", self.logs["uwsgi"]]
            + common("uwsgi"), cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.gateway = ServerProcess(spawn(
            ["--socket", "127.0.0.1:%d" % self.ports["gateway"], "--logto", self.logs["gateway"]] + common("gateway"),
            cwd=tmp))
        try:
            wait_until(lambda: "spawned uWSGI worker" in self.text("uwsgi"), timeout=30, what="uWSGI's worker")
            wait_until(lambda: "gateway ready:" in self.text("gateway"), timeout=30, what="gateway's ready line")
        except BaseException:
            self.stop()  # (a server that did not start: the other one goes too)
            raise

    def text(self, server: str) -> str:
        try:
            with open(self.logs[server], encoding="utf-8", errors="surrogateescape") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def run(self, requests: List[str], last_logged: str) -> Dict[str, List[str]]:
        """Send ``requests`` to both; their log lines from the first request's on, once the
        request line of ``last_logged`` is there (so nothing is still on its way)."""
        marks = {}
        for server in ("uwsgi", "gateway"):
            marks[server] = len(self.text(server))
            for name in requests:
                exchange(self.ports[server], REQUESTS[name])
        method, uri = last_logged.split()
        out = {}
        for server in ("uwsgi", "gateway"):
            wait_until(lambda text=self.text, server=server: re.search(
                r"\] %s %s => |^uri=%s\|method=%s\|" % (method, re.escape(uri), re.escape(uri), method),
                text(server), re.M), timeout=10, what="%s's last request line" % server)
            out[server] = self.text(server)[marks[server]:].splitlines()
        return out

    def stop(self) -> None:
        stop_uwsgi(self.uwsgi)
        self.gateway.stop()


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def pair(request, tmp_path_factory):
    name = request.param
    servers = Pair(str(tmp_path_factory.mktemp("log-" + name)), CONFIGS[name])
    servers.name = name  # type: ignore[attr-defined]
    try:
        yield servers
    finally:
        servers.stop()


def _documented(line: str) -> str:
    for request, edits in DOCUMENTED.items():
        if " %s => " % request in line or "uri=%s|method=%s|" % (request.split()[1], request.split()[0]) in line:
            for old, new in edits:
                line = line.replace(old, new)
    return line


def test_the_request_log_lines_are_uwsgis(pair):
    names = list(REQUESTS)
    if pair.name == "selection":
        names.remove("HEAD /hello")  # no body here, so --log-zero logs it (uWSGI sends the body)
    lines = pair.run(names, "GET /file")
    # (the loop engine says so once in 10 s when its only core is busy: README "Logging")
    ours = [masked(line) for line in lines["gateway"] if not line.startswith("*** all 1 async cores are busy")]
    theirs = [masked(_documented(line)) for line in lines["uwsgi"]]
    assert ours == theirs
    # (what is compared: the request lines, uwsgi.log's, the app's tracebacks)
    joined = "\n".join(ours)
    if pair.name == "selection":
        assert re.findall(r"\] (\w+ \S+) =>", joined) == ["GET /boom", "GET /404", "GET /empty", "GET /big", "GET /file"]
        assert joined.count("{MEMORY} [pid: P|") == joined.count(" in T micros ") == 5
    elif pair.name == "selection2":
        assert re.findall(r"\] (\w+ \S+) =>", joined) == ["GET /slow", "GET /file"]
        assert re.search(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} - a line from the app$", joined, re.M)
    else:
        assert joined.count("Traceback (most recent call last):") == 2 and "a line from the app" in joined
        assert len(re.findall(r"^\[pid: |^uri=", joined, re.M)) == len(names)


def _rotation_lines(path: str, server: str, tmp: str) -> List[str]:
    """The rotation's and the reopen's lines of one log file, masked: dates, sizes, times."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if "logsize: " in line or line.endswith(" reopened.")]
    out = []
    for line in lines:
        line = line.replace(tmp, "TMP").replace(server, "SERVER")
        line = re.sub(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} - ", "DATE - ", line)
        line = re.sub(r"^\[\d{10}\] ", "[UNIX] ", line)
        out.append(re.sub(r"\.log\.\d{10}", ".log.UNIX", re.sub(r"logsize: \d+", "logsize: N", line)))
    return out


def test_log_maxsize_and_touch_logreopen_write_uwsgis_lines(tmp_path):
    trigger = tmp_path / "reopen.trigger"
    trigger.write_text("")
    tmp = str(tmp_path)
    servers = Pair(tmp, ["--master", "--log-maxsize", "4000", "--touch-logreopen", str(trigger)])
    try:
        for server in ("uwsgi", "gateway"):
            for _ in range(25):  # 25 request lines of ~200 bytes: past the limit
                exchange(servers.ports[server], REQUESTS["GET /hello"])
        rotated = {}
        for server in ("uwsgi", "gateway"):
            rotated[server] = wait_until(lambda s=server: sorted(tmp_path.glob(s + ".log.*")), timeout=15,
                                         what="%s's rotated log" % server)
        # then logrotate's way: the server is told to reopen its path (checked once a second)
        os.utime(trigger, (os.path.getmtime(trigger) + 5,) * 2)
        for server in ("uwsgi", "gateway"):
            wait_until(lambda s=server: " reopened." in servers.text(s), timeout=15, what="%s's reopen" % server)
    finally:
        servers.stop()
    for server in ("uwsgi", "gateway"):
        assert len(rotated[server]) == 1, rotated
    got = {server: (_rotation_lines(str(rotated[server][0]), server, tmp),
                    _rotation_lines(servers.logs[server], server, tmp)) for server in ("uwsgi", "gateway")}
    assert got["gateway"] == got["uwsgi"]
    assert got["uwsgi"] == (["DATE - logsize: N, triggering rotation to TMP/SERVER.log.UNIX..."],
                            ["[UNIX] logsize: N, triggering log-reopen...", "[UNIX] TMP/SERVER.log reopened."])


#: loggers, encoders and routes, each server's datagram sockets named after it (relative paths: the
#: servers run in the test's directory); the file logger keeps the lines Pair waits for
LOGGERS = [
    "--logger", "file:{server}.log", "--logger", "named socket:{server}-named.sock",
    "--log-route", "named a line from the app|^Traceback",
    "--log-encoder", "prefix [all] ", "--log-encoder", "format:named <${msgnl}> ${unix} ${millis} ${strftime:%Y} $x",
    "--log-encoder", 'json:named {"msg":"${msg}","nl":"${msgnl}"}', "--log-encoder", "nl:named",
    "--req-logger", "socket:{server}-req.sock", "--logger-req", "reqnamed socket:{server}-reqnamed.sock",
    "--log-req-route", "named GET /404", "--log-req-route", "reqnamed GET /empty",
    "--log-req-encoder", "suffix  [req]", "--log-req-encoder", "prefix:named N ",
]


def _masked_datagram(data: bytes) -> str:
    text = masked(data.decode("utf-8", "surrogateescape")).replace("[pid: P|", "[pid: P|")
    text = re.sub(r"> \d{10} \d{13} \d{4} \$x", "> UNIX MILLIS YEAR $x", text)
    return re.sub(r"\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\]", "[DATE]", text)


def test_loggers_encoders_and_routes_send_uwsgis_datagrams(tmp_path):
    tmp = str(tmp_path)
    receivers = {(server, name): Receiver(socket.AF_UNIX, os.path.join(tmp, "%s-%s.sock" % (server, name)))
                 for server in ("uwsgi", "gateway") for name in ("named", "req", "reqnamed")}
    try:
        servers = Pair(tmp, LOGGERS)
        try:
            for server in ("uwsgi", "gateway"):
                for name in ("GET /hello", "GET /ulog", "GET /404", "GET /empty", "GET /boom"):
                    exchange(servers.ports[server], REQUESTS[name])
            for server in ("uwsgi", "gateway"):
                receivers[server, "req"].wait_for(rb"GET /boom ")
                receivers[server, "named"].wait_for(rb"GET /404 ")
        finally:
            servers.stop()
        got = {}
        for server in ("uwsgi", "gateway"):
            # (sorted: the request lines and the others reach the master on separate pipes)
            got[server] = {name: sorted(_masked_datagram(d) for d in receivers[server, name].poll())
                           for name in ("named", "req", "reqnamed")}
    finally:
        for receiver in receivers.values():
            receiver.close()
    for server in ("uwsgi", "gateway"):
        # every line through the encoders, those of the app's loading in the master too
        lines = servers.text(server).splitlines()
        assert lines and [line for line in lines if not line.startswith("[all] ")] == [], server
        assert re.search(r"^\[all\] WSGI app 0 \(mountpoint=''\) ready in \d+ seconds on interpreter 0x[0-9a-f]+ "
                         r"pid: \d+ \(default app\)$", "\n".join(lines), re.M), server
    theirs = got["uwsgi"]
    # (README: a --log-req-route to a named --req-logger reaches it here; it never does in uWSGI)
    assert theirs["reqnamed"] == [] and [d for d in got["gateway"]["req"] if " GET /empty " in d] == []
    ours = dict(got["gateway"], req=sorted(got["gateway"]["req"] + got["gateway"]["reqnamed"]), reqnamed=[])
    assert ours == dict(theirs, req=sorted(_documented(line) for line in theirs["req"]))
    # the log lines a route sends to the named logger: every encoder, its own ones too
    assert len(theirs["named"]) == 3
    assert theirs["named"][2] == '{"msg":"<[all] a line from the app\\n> UNIX MILLIS YEAR $x","nl":"<[all] a line ' \
        'from the app\\n> UNIX MILLIS YEAR $x"}\n'
    assert theirs["named"][1].startswith('{"msg":"<[all] Traceback (most recent call last):\\n> ')
    # the request line the request route sends to a --logger named one, with the request encoders
    assert re.fullmatch(r"N \[pid: P\|.* GET /404 => .*\n \[req\]", theirs["named"][0])
    # the others to the unnamed request logger: uWSGI's --log-req-route never finds a named request
    # logger (it looks among --logger's), so GET /empty is there too
    assert sorted(re.search(r"\] (GET \S+) =>", d).group(1) for d in theirs["req"]) == \
        ["GET /boom", "GET /empty", "GET /hello", "GET /ulog"]
    assert all(d.endswith("\n [req]") for d in theirs["req"])
    assert [re.search(r"\] (GET \S+) =>", d).group(1) for d in got["gateway"]["reqnamed"]] == ["GET /empty"]


def test_logto_a_udp_address_sends_a_datagram_per_line(tmp_path):
    """uWSGI's ``--logto HOST:PORT``: no file of that name, a datagram per line."""
    receivers = {server: Receiver(socket.AF_INET, ("127.0.0.1", 0)) for server in ("uwsgi", "gateway")}
    ports = {server: free_port() for server in ("uwsgi", "gateway")}
    args = {server: ["--socket", "127.0.0.1:%d" % ports[server], "--wsgi-file", APP,
                     "--logto", receivers[server].address] for server in ("uwsgi", "gateway")}
    uwsgi = subprocess.Popen([require_uwsgi()] + args["uwsgi"], cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = ServerProcess(spawn(args["gateway"], cwd=str(tmp_path)))
    try:
        receivers["uwsgi"].wait_for(rb"^spawned uWSGI worker 1 ", timeout=30)
        receivers["gateway"].wait_for(rb"^gateway ready: ", timeout=30)
        got = {}
        for server in ("uwsgi", "gateway"):
            mark = len(receivers[server].poll())
            for name in ("GET /ulog", "GET /404"):
                exchange(ports[server], REQUESTS[name])
            receivers[server].wait_for(rb"\] GET /404 => ")
            got[server] = [masked(d.decode()) for d in receivers[server].poll()[mark:]]
    finally:
        stop_uwsgi(uwsgi)
        gateway.stop()
        for receiver in receivers.values():
            receiver.close()
    assert got["gateway"] == got["uwsgi"]
    assert got["uwsgi"][0] == "a line from the app\n" and len(got["uwsgi"]) == 3
    assert os.listdir(str(tmp_path)) == [] and gateway.output() == ""  # no file, nothing on stderr


def test_the_fd_logger_writes_each_line_to_an_inherited_descriptor(tmp_path):
    """``--logger fd:N`` (uWSGI's logfile plugin): the lines, encoded, on descriptor N."""
    pipes = {server: os.pipe() for server in ("uwsgi", "gateway")}
    ports = {server: free_port() for server in ("uwsgi", "gateway")}
    args = {server: ["--socket", "127.0.0.1:%d" % ports[server], "--wsgi-file", APP, "--master",
                     "--logger", "fd:%d" % pipes[server][1], "--log-encoder", "prefix [fd] "]
            for server in ("uwsgi", "gateway")}
    uwsgi = subprocess.Popen([require_uwsgi()] + args["uwsgi"], cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=[pipes["uwsgi"][1]])
    gateway = ServerProcess(spawn(args["gateway"], cwd=str(tmp_path), pass_fds=(pipes["gateway"][1],)))
    received = {server: b"" for server in ("uwsgi", "gateway")}

    def text(server: str) -> str:
        fd = pipes[server][0]
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, 65536)
            if not data:
                break
            received[server] += data
        return received[server].decode()

    try:
        for server in ("uwsgi", "gateway"):
            os.close(pipes[server][1])
        wait_until(lambda: "[fd] spawned uWSGI worker 1 " in text("uwsgi"), timeout=30, what="uWSGI's worker")
        wait_until(lambda: "[fd] gateway ready: " in text("gateway"), timeout=30, what="gateway's ready line")
        got = {}
        for server in ("uwsgi", "gateway"):
            mark = len(text(server))
            for name in ("GET /ulog", "GET /404"):
                exchange(ports[server], REQUESTS[name])
            wait_until(lambda s=server: "] GET /404 => " in text(s), what="%s's request line" % server)
            got[server] = [masked(line) for line in text(server)[mark:].splitlines()]
    finally:
        stop_uwsgi(uwsgi)
        gateway.stop()
        for server in ("uwsgi", "gateway"):
            os.close(pipes[server][0])
    assert got["gateway"] == got["uwsgi"]
    assert got["uwsgi"][0] == "[fd] a line from the app" and len(got["uwsgi"]) == 3
