"""uWSGI's TLS options through the real CLI with real TLS clients: the certificate chosen by the
server name the client sends (``--sni``, ``--sni-regexp``, ``--sni-dir``) on the router's
``--https`` and on the workers' ``--https-socket``; the uwsgi protocol over TLS
(``--ssl-socket``/``--suwsgi-socket``); the ``--ssl-*`` knobs and the refused ones."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess

import pytest

from gateway.protocol.uwsgi import encode_request
from peers import require
from server import run_cli, run_server
from support.router import run_router

pytestmark = pytest.mark.timeout(120)

APP = ["--wsgi-file", "tests/apps/socket_probe.py"]


def _make_cert(directory: str, name: str, ca: tuple = ()) -> tuple:
    """A certificate for ``name`` (self-signed, or signed by ``ca`` = (cert, key)): (cert, key)."""
    openssl = require("openssl")
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    if not ca:
        cmd = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
               "-days", "2", "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        return cert, key
    csr = os.path.join(directory, name + ".csr")
    subprocess.run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=" + name], check=True, capture_output=True, timeout=60)
    subprocess.run([openssl, "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
                    "-out", cert, "-days", "2"], check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Self-signed certificates for three server names, and a CA with one client certificate."""
    d = str(tmp_path_factory.mktemp("tls"))
    out = {name: _make_cert(d, name) for name in ("default.test", "one.test", "two.test")}
    sni_dir = os.path.join(d, "snidir")
    os.mkdir(sni_dir)
    out["dir"] = _make_cert(sni_dir, "dir.test")
    out["ca"] = _make_cert(d, "clientca.test")
    out["client"] = _make_cert(d, "client.test", ca=out["ca"])
    out["sni_dir"] = sni_dir
    return out


def _subject_cn(port: int, server_name: str, client: tuple = ()) -> str:
    """Handshake with ``server_name`` (SNI) and return the CN of the certificate the server sent."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if client:
        ctx.load_cert_chain(*client)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run([require("openssl"), "x509", "-noout", "-subject"], input=pem, capture_output=True,
                         text=True, timeout=20, check=True).stdout
    return out.strip().split("CN", 1)[1].lstrip(" =")


def _https_get(port: int, server_name: str, cafile: str, path: str = "/env", client: tuple = ()) -> dict:
    """GET over TLS, verifying the server's certificate for ``server_name`` against ``cafile``."""
    ctx = ssl.create_default_context(cafile=cafile)
    if client:
        ctx.load_cert_chain(*client)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            tls.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + server_name.encode()
                        + b"\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not data:
        raise ConnectionError("closed without an answer")
    assert head.startswith(b"HTTP/1.1 200"), head
    return json.loads(body)


def _refused(port: int, server_name: str, cafile: str) -> bool:
    """True when a request without a client certificate gets no answer (the handshake fails, or
    with TLS 1.3 the server's alert ends the connection right after it)."""
    try:
        _https_get(port, server_name, cafile)
    except (ssl.SSLError, ConnectionError, ValueError):
        return True
    return False


def _sni_args(certs) -> list:
    one, two = certs["one.test"], certs["two.test"]
    return ["--sni", "one.test %s,%s" % one, "--sni-regexp", r"^tw.\.test$ %s,%s" % two,
            "--sni-dir", certs["sni_dir"]]


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_sni_on_https_socket(certs):
    default = certs["default.test"]
    args = APP + ["--https-socket", "127.0.0.1:0,%s,%s" % default] + _sni_args(certs)
    with run_server(args) as srv:
        port = _port(srv.ready_fields["https-socket"])
        assert _subject_cn(port, "one.test") == "one.test"  # --sni, exact
        assert _subject_cn(port, "two.test") == "two.test"  # --sni-regexp
        assert _subject_cn(port, "dir.test") == "dir.test"  # --sni-dir: dir.test.crt/.key
        assert _subject_cn(port, "other.test") == "default.test"  # no match: the socket's own
        assert _subject_cn(port, "one.test.evil") == "default.test"  # exact means exact
        # a verifying client gets the right certificate and a served request
        env = _https_get(port, "one.test", certs["one.test"][0])
        assert env["HTTPS"] == "on" and env["wsgi.url_scheme"] == "https"
        env = _https_get(port, "dir.test", certs["dir"][0])
        assert env["HTTP_HOST"] == "dir.test"
        srv.wait_for_line(r"added TLS context for dir\.test")


def test_sni_on_the_router_https(certs):
    default = certs["default.test"]
    args = APP + ["--https", "127.0.0.1:0,%s,%s" % default, "--ssl-verbose"] + _sni_args(certs)
    with run_router(args) as r:
        assert _subject_cn(r.https_port, "one.test") == "one.test"
        assert _subject_cn(r.https_port, "three.test") == "default.test"  # no match, no files in --sni-dir
        env = _https_get(r.https_port, "two.test", certs["two.test"][0])
        assert env["HTTPS"] == "on" and env["wsgi.url_scheme"] == "https"
        assert _subject_cn(r.https_port, "dir.test") == "dir.test"
        r.wait_for_line(r"\[ssl\] SNI 'one\.test': matched")


def test_sni_with_openssl_s_client(certs):
    openssl = require("openssl")
    args = APP + ["--https-socket", "127.0.0.1:0,%s,%s" % certs["default.test"]] + _sni_args(certs)
    with run_server(args) as srv:
        port = _port(srv.ready_fields["https-socket"])
        for name, expect in (("one.test", "one.test"), ("nomatch.test", "default.test")):
            out = subprocess.run([openssl, "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", name],
                                 input="", capture_output=True, text=True, timeout=30)
            subject = [line for line in out.stdout.splitlines() if line.startswith("subject=")]
            assert subject and subject[0].replace(" ", "").endswith("CN=" + expect), out.stdout


def test_sni_context_with_its_own_client_ca(certs):
    """A --sni entry with a required client CA ('!CA'): that name asks for a client certificate,
    the socket's default certificate does not."""
    args = APP + ["--https-socket", "127.0.0.1:0,%s,%s" % certs["default.test"],
                  "--sni", "one.test %s,%s,,!%s" % (certs["one.test"] + (certs["ca"][0],))]
    with run_server(args) as srv:
        port = _port(srv.ready_fields["https-socket"])
        assert _https_get(port, "default.test", certs["default.test"][0])["HTTPS"] == "on"
        env = _https_get(port, "one.test", certs["one.test"][0], client=certs["client"])
        assert env["HTTPS"] == "on"
        assert _refused(port, "one.test", certs["one.test"][0])  # no client certificate


def _suwsgi_request(port, cafile: str, pairs: list) -> tuple:
    """One uwsgi packet over TLS to ``port`` (or a UNIX path); the raw answer's head and body."""
    ctx = ssl.create_default_context(cafile=cafile)
    if isinstance(port, str):
        raw = socket.socket(socket.AF_UNIX)
        raw.settimeout(10)
        raw.connect(port)
    else:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with raw:
        with ctx.wrap_socket(raw, server_hostname="default.test") as tls:
            tls.sendall(encode_request(pairs))
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("option", ["--ssl-socket", "--suwsgi-socket"])
def test_ssl_socket_speaks_uwsgi_over_tls(certs, option):
    cert, key = certs["default.test"]
    with run_server(APP + [option, "127.0.0.1:0,%s,%s" % (cert, key), "--http-socket", "127.0.0.1:0"]) as srv:
        port = _port(srv.ready_fields["ssl-socket"])
        base = [("REQUEST_METHOD", "GET"), ("PATH_INFO", "/env"), ("SERVER_PROTOCOL", "HTTP/1.1"),
                ("SERVER_NAME", "x"), ("SERVER_PORT", "1")]
        head, body = _suwsgi_request(port, cert, base + [("HTTPS", "on")])
        assert head.startswith(b"HTTP/1.1 200"), head
        env = json.loads(body)
        assert env["HTTPS"] == "on" and env["wsgi.url_scheme"] == "https"
        # as uWSGI's suwsgi: HTTPS comes from the packet (the front sends it), not from the socket
        head, body = _suwsgi_request(port, cert, base)
        env = json.loads(body)
        assert env["HTTPS"] is None and env["wsgi.url_scheme"] == "http"
        # plain uwsgi spoken to it is not served
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(encode_request(base))
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            assert b"wsgi.url_scheme" not in data


def test_ssl_tmp_dir_takes_pem_text(certs, tmp_path):
    cert, key = certs["default.test"]
    pem_cert = open(cert).read().replace("\n", "\\n")
    pem_key = open(key).read().replace("\n", "\\n")
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\nhttps-socket = 127.0.0.1:0,%s,%s\nssl-tmp-dir = %s\nwsgi-file = %s\n"
                   % (pem_cert, pem_key, tmp_path, os.path.abspath("tests/apps/socket_probe.py")))
    with run_server([str(ini)]) as srv:
        port = _port(srv.ready_fields["https-socket"])
        assert _https_get(port, "default.test", cert)["HTTPS"] == "on"
    assert (tmp_path / "127.0.0.1_0.crt").read_text() == open(cert).read()


def test_https_session_context_is_bounded(certs):
    cert, key = certs["default.test"]
    res = run_cli(APP + ["--https", "127.0.0.1:0,%s,%s" % (cert, key), "--https-session-context", "x" * 33])
    assert res.returncode == 1 and "--https-session-context" in res.stderr and "32 bytes" in res.stderr


def test_ssl_verbose_logs_a_refused_client(certs):
    cert, key = certs["default.test"]
    with run_server(APP + ["--https-socket", "127.0.0.1:0,%s,%s,,!%s" % (cert, key, certs["ca"][0]),
                           "--ssl-verbose"]) as srv:
        port = _port(srv.ready_fields["https-socket"])
        assert _refused(port, "default.test", cert)  # no client certificate
        srv.wait_for_line(r"\[ssl\] --https-socket 127\.0\.0\.1:0: handshake refused, alert sent: "
                          r"(certificate_required|handshake_failure)")


@pytest.mark.parametrize("args, words", [
    (["--sni", "one.test"], "expected NAME CERT,KEY"),
    (["--sni", "one.test /nope.crt,/nope.key"], "--sni one.test: /nope.crt: no such file"),
    (["--sni-regexp", "(x /nope.crt,/nope.key"], "--sni-regexp"),
    (["--sni-dir", "/nonexistent-dir"], "--sni-dir /nonexistent-dir: not a directory"),
    (["--sni-dir-ciphers", "HIGH"], "--sni-dir-ciphers HIGH: needs --sni-dir"),
    (["--ssl-enable-sslv3"], "SSLv3 is gone"),
    (["--ssl-enable3"], "SSLv3 is gone"),
    (["--ssl-sessions-use-cache"], "session-store callbacks"),
    (["--ssl-option", "x"], "--ssl-option"),
])
def test_bad_tls_options_fail_at_startup(certs, args, words):
    cert, key = certs["default.test"]
    res = run_cli(APP + ["--https-socket", "127.0.0.1:0,%s,%s" % (cert, key)] + args)
    assert res.returncode != 0
    assert words in res.stderr, res.stderr


def _tls10_handshake(port: int) -> str:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="default.test") as tls:
            return str(tls.version())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ssl_enable_tlsv1(certs):
    """TLS 1.0 only with --ssl-enable-tlsv1 (and, with OpenSSL 3, a cipher string lowering the
    security level, which the local OpenSSL must still allow)."""
    cert, key = certs["default.test"]
    spec = "127.0.0.1:0,%s,%s,DEFAULT:@SECLEVEL=0" % (cert, key)
    with run_server(APP + ["--https-socket", spec]) as srv:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _tls10_handshake(_port(srv.ready_fields["https-socket"]))
    with run_server(APP + ["--https-socket", spec, "--ssl-enable-tlsv1"]) as srv:
        try:
            assert _tls10_handshake(_port(srv.ready_fields["https-socket"])) == "TLSv1"
        except ssl.SSLError as e:
            pytest.skip("this OpenSSL refuses TLS 1.0 even at security level 0: %s" % e)


def test_sni_and_ssl_options_without_a_tls_listener_are_reported(tmp_path):
    # they applied to nothing, silently: not even a missing --sni certificate was noticed
    args = APP + ["--sni", "a.test %s,%s" % (tmp_path / "missing.crt", tmp_path / "missing.key"),
                  "--ssl-verbose"]
    with run_server(args) as srv:
        srv.wait_for_line(r"--sni, --ssl-verbose: no --https, --https-socket or --ssl-socket to apply to")
