"""The curl: sender (gateway.alarms.curl) against local servers: a mail over SMTP, an HTTP
error, and the child's stdin protocol."""

from __future__ import annotations

import http.server
import io
import json
import socketserver
import sys
import threading
from urllib.error import HTTPError

import pytest

from gateway.alarms import curl
from gateway.alarms.spec import parse_curl


class _SMTP(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command gets 250, DATA collects the message."""

    mails: list = []

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self.reply("220 test")
        mail = {"rcpt": []}
        while True:
            line = self.rfile.readline().decode().rstrip("\r\n")
            if not line:
                return
            verb = line.split(" ", 1)[0].upper()
            if verb == "MAIL":
                mail["from"] = line.split(":", 1)[1]
            elif verb == "RCPT":
                mail["rcpt"].append(line.split(":", 1)[1])
            if verb == "DATA":
                self.reply("354 go on")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += self.rfile.readline()
                mail["data"] = data
                self.mails.append(mail)
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_server():
    server = socketserver.TCPServer(("127.0.0.1", 0), _SMTP)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _SMTP.mails.clear()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_smtp_sends_one_mail_to_each_recipient(smtp_server):
    spec = parse_curl("smtp://127.0.0.1:%d;mail_from=<gw@x>;mail_to=a@x,b@x;subject=Alarm" % smtp_server)
    curl.send(spec, b"disk full\n", timeout=5)
    mail = _SMTP.mails[0]
    assert mail["from"].startswith("<gw@x>")
    assert [r.strip("<> ") for r in mail["rcpt"]] == ["a@x", "b@x"]
    assert mail["data"].startswith(b"To: a@x,b@x\r\nSubject: Alarm\r\n\r\ndisk full")


class _Fail(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_http_error_status_is_a_failure_and_main_says_so_on_one_line(monkeypatch, capsys):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Fail)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/hook" % server.server_address[1]
    try:
        with pytest.raises(HTTPError):
            curl.send(parse_curl(url), b"x", timeout=5)
        stdin = io.TextIOWrapper(io.BytesIO(json.dumps({"spec": url, "timeout": 5}).encode() + b"\nmessage"))
        monkeypatch.setattr(sys, "stdin", stdin)
        assert curl.main() == 1
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert err.startswith("[uwsgi-alarm-curl] HTTPError") and err.count("\n") == 1
