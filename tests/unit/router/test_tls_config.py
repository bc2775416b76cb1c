"""The TLS options as data: ``--sni`` values, the SNI choice (with a fake context builder),
the ``--ssl-*`` settings read from a configuration, and the contexts they build (read back
through OpenSSL)."""

from __future__ import annotations

import os
import ssl
import subprocess

import pytest

from gateway.config import load
from gateway.router import sni, tls_native
from gateway.router.sni import SNISelector, parse_sni
from gateway.router.tls import HTTPSSpec, TLSConfigError, TLSSettings, server_context
from gateway.router.tls_config import listener_contexts, tls_settings
from peers import require


def test_parse_sni():
    assert parse_sni("a.test /c.pem,/k.pem") == ("a.test", "/c.pem", "/k.pem", None, None)
    assert parse_sni("a.test /c.pem,/k.pem,HIGH,!/ca.pem") == ("a.test", "/c.pem", "/k.pem", "HIGH", "!/ca.pem")
    assert parse_sni("a.test /c.pem,/k.pem,,/ca.pem").client_ca == "/ca.pem"
    for bad in ("a.test", "a.test /c.pem", " /c.pem,/k.pem", "a.test /c.pem,/k.pem,x,y,z", "a.test ,/k.pem"):
        with pytest.raises(TLSConfigError, match="--sni-regexp .*expected NAME CERT,KEY"):
            parse_sni(bad, "--sni-regexp")


class FakeBuilder:
    """Stands for server_context: returns the spec it was given (a distinct object per call)."""

    def __init__(self):
        self.built = []

    def __call__(self, spec, option):
        if "missing" in spec.cert:
            raise TLSConfigError("%s %s: no such file" % (option, spec.address))
        self.built.append((option, spec))
        return ("ctx", spec)


def _selector(tmp_path=None):
    build = FakeBuilder()
    sel = SNISelector(build)
    sel.add(parse_sni("one.test /1.crt,/1.key"))
    sel.add(parse_sni("one.test /other.crt,/other.key"))  # the first one given wins
    sel.add_regexp(parse_sni(r"^w+\.test$ /w.crt,/w.key"))
    sel.add_regexp(parse_sni(r"test /any.crt,/any.key"))
    if tmp_path is not None:
        sel.set_directory(str(tmp_path), "HIGH")
    return sel, build


def test_choice_order_exact_then_regexps_in_order():
    sel, _ = _selector()
    assert sel.choose("one.test")[1].cert == "/1.crt"
    assert sel.choose("www.test")[1].cert == "/w.crt"
    assert sel.choose("x.test.org")[1].cert == "/any.crt"  # searched, not anchored
    assert sel.choose("ONE.example") is None  # case-sensitive, as sent
    assert sel.choose(None) is None and sel.choose("") is None
    with pytest.raises(TLSConfigError, match="--sni-regexp \\(x: not a regular expression"):
        sel.add_regexp(parse_sni("(x /c,/k"))


def test_sni_dir_loads_on_first_use_and_refuses_paths(tmp_path):
    sel = SNISelector(FakeBuilder())
    sel.set_directory(str(tmp_path), "HIGH")
    for name in ("a.example", "b.example"):
        (tmp_path / (name + ".crt")).write_text("x")
        (tmp_path / (name + ".key")).write_text("x")
    (tmp_path / "b.example.ca").write_text("x")
    ctx = sel.choose("a.example")
    assert ctx[1] == HTTPSSpec("a.example", str(tmp_path / "a.example.crt"), str(tmp_path / "a.example.key"),
                               "HIGH", None)
    assert sel.choose("a.example") is ctx  # kept
    assert sel.choose("b.example")[1].client_ca == str(tmp_path / "b.example.ca")
    assert sel.choose("c.example") is None  # no files
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.crt").write_text("x")
    (tmp_path / "sub" / "x.key").write_text("x")
    assert sel.choose("sub/x") is None and sel.choose("../" + tmp_path.name + "/a.example") is None
    assert sel.choose(".hidden") is None


def test_sni_dir_keeps_a_bounded_number_of_contexts(tmp_path, monkeypatch):
    monkeypatch.setattr(sni, "SNI_DIR_CONTEXTS", 2)
    build = FakeBuilder()
    sel = SNISelector(build)
    sel.set_directory(str(tmp_path))
    for name in ("a", "b", "c"):
        (tmp_path / (name + ".crt")).write_text("x")
        (tmp_path / (name + ".key")).write_text("x")
        sel.choose(name)
    assert list(sel._loaded) == ["b", "c"]
    sel.choose("a")  # reloaded
    assert [spec.address for _, spec in build.built] == ["a", "b", "c", "a"]


def test_sni_dir_bad_files_are_logged_not_fatal(tmp_path):
    sel = SNISelector(FakeBuilder())
    sel.set_directory(str(tmp_path))
    with pytest.raises(TLSConfigError, match="not a directory"):
        sel.set_directory(str(tmp_path / "nope"))
    assert sel.choose("missing") is None


def test_sni_dir_files_that_fail_are_not_reloaded_at_every_handshake(tmp_path, monkeypatch, caplog):
    """Each handshake naming a broken --sni-dir entry read, parsed and logged it again (any
    client could flood the log and busy the loop); it waits SNI_DIR_RETRY seconds now."""
    tries = []

    def build(spec, option):
        tries.append(spec.address)
        raise TLSConfigError("%s %s: cannot load certificate" % (option, spec.address))

    sel = SNISelector(build)
    sel.set_directory(str(tmp_path))
    now = [1000.0]
    sel.clock = lambda: now[0]
    (tmp_path / "bad.test.crt").write_text("x")
    (tmp_path / "bad.test.key").write_text("x")
    for _ in range(5):
        assert sel.choose("bad.test") is None
    assert tries == ["bad.test"]
    assert sum("cannot load certificate" in r.getMessage() for r in caplog.records) == 1
    now[0] += sni.SNI_DIR_RETRY
    assert sel.choose("bad.test") is None
    assert tries == ["bad.test", "bad.test"]
    monkeypatch.setattr(sni, "SNI_DIR_CONTEXTS", 2)  # the failures kept are bounded too
    for name in ("x1", "x2", "x3"):
        (tmp_path / (name + ".crt")).write_text("x")
        (tmp_path / (name + ".key")).write_text("x")
        sel.choose(name)
    assert list(sel._failed) == ["x2", "x3"]


def _cfg(argv):
    return load(argv + ["--wsgi-file", "x.py"], {})


def test_sni_dir_ciphers_are_checked_at_startup(tmp_path):
    """A --sni-dir-ciphers typo was found only at each name's first handshake: every --sni-dir
    certificate failed then (logged, the listener's certificate used); it fails the start."""
    from gateway.router.tls_config import sni_selector

    cfg = _cfg(["--sni-dir", str(tmp_path), "--sni-dir-ciphers", "NO-SUCH-CIPHER"])
    with pytest.raises(TLSConfigError, match="--sni-dir-ciphers NO-SUCH-CIPHER: no usable cipher"):
        sni_selector(cfg, tls_settings(cfg))
    cfg = _cfg(["--sni-dir", str(tmp_path), "--sni-dir-ciphers", "HIGH"])
    assert sni_selector(cfg, tls_settings(cfg)).dir_ciphers == "HIGH"


def test_tls_settings_from_the_configuration():
    cfg = _cfg(["--ssl-option", "4", "--ssl-option", "16", "--ssl-enable-tlsv1", "--ssl-sessions-timeout", "30",
                "--ssl-verify-depth", "--ssl-verbose", "--ssl-tmp-dir", "/tmp"])
    assert tls_settings(cfg) == TLSSettings(20, True, 30, 1, True, "/tmp")
    assert tls_settings(_cfg(["--ssl-verify-depth", "5"])).verify_depth == 5
    assert tls_settings(_cfg(["--ssl-session-timeout", "9"])).session_timeout == 9  # uWSGI's alias
    assert tls_settings(_cfg([])) == TLSSettings()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "c.pem"), str(d / "k.pem")
    subprocess.run([require("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                    cert, "-days", "2", "-subj", "/CN=x.test"], check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.mark.skipif(not tls_native.available(), reason="OpenSSL's functions are not reachable here")
def test_contexts_carry_the_settings(pair):
    cert, key = pair
    cfg = _cfg(["--https-socket", "127.0.0.1:0,%s,%s,,%s" % (cert, key, cert), "--ssl-option",
                str(int(ssl.OP_NO_TICKET)), "--ssl-sessions-timeout", "42", "--ssl-verify-depth", "3",
                "--ssl-enable-tlsv1", "--sni", "y.test %s,%s" % (cert, key)])
    [(spec, ctx)] = listener_contexts(cfg, [("--https-socket", cfg.https_socket[0])])
    assert spec.address == "127.0.0.1:0"
    assert ctx.options & ssl.OP_NO_TICKET and ctx.options & ssl.OP_NO_COMPRESSION
    assert tls_native.session_timeout(ctx) == 42 and tls_native.verify_depth(ctx) == 3
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1
    assert ctx.verify_mode == ssl.CERT_OPTIONAL and ctx.sni_callback is not None
    plain = server_context(HTTPSSpec("a", cert, key))
    assert plain.minimum_version != ssl.TLSVersion.TLSv1 and plain.sni_callback is None
    assert tls_native.session_timeout(plain) != 42


@pytest.mark.skipif(not tls_native.available(), reason="OpenSSL's functions are not reachable here")
def test_session_id_context_is_bounded(pair):
    cert, key = pair
    server_context(HTTPSSpec("a", cert, key), session_context="x" * 32)
    with pytest.raises(TLSConfigError, match="--https-session-context x{33}: at most 32 bytes"):
        server_context(HTTPSSpec("a", cert, key), session_context="x" * 33)


def test_tmp_dir_writes_pem_text(pair, tmp_path):
    cert, key = pair
    text_cert = open(cert).read().replace("\n", "\\n")
    ctx = server_context(HTTPSSpec("[::1]:443", text_cert, open(key).read(), None, "!" + text_cert),
                         settings=TLSSettings(tmp_dir=str(tmp_path)))
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert (tmp_path / "___1__443.crt").read_text() == open(cert).read()
    assert (tmp_path / "___1__443.key").read_text() == open(key).read()
    assert (tmp_path / "___1__443.ca").read_text() == open(cert).read()
    assert oct(os.stat(tmp_path / "___1__443.key").st_mode & 0o777) == "0o400"
    # file names are left alone
    server_context(HTTPSSpec("b", cert, key), settings=TLSSettings(tmp_dir=str(tmp_path)))
    assert not (tmp_path / "b.crt").exists()


def test_tmp_dir_never_writes_through_a_planted_symlink(pair, tmp_path, monkeypatch):
    """A user able to write in a shared --ssl-tmp-dir (/tmp) plants a symlink at the name
    between the removal of the old file and the creation of the new one: the private key
    must not be written where it leads (a file of root's, truncated and filled)."""
    cert, key = pair
    victim = tmp_path / "victim"
    victim.write_text("precious")
    real_unlink = os.unlink

    def racing_unlink(path, *args, **kwargs):
        real_unlink(path, *args, **kwargs)
        os.symlink(str(victim), path)  # the attacker wins the race

    monkeypatch.setattr(os, "unlink", racing_unlink)
    (tmp_path / "a.key").write_text("old")
    with pytest.raises(TLSConfigError, match="--ssl-tmp-dir .*cannot write .*a.key"):
        server_context(HTTPSSpec("a", cert, open(key).read()), settings=TLSSettings(tmp_dir=str(tmp_path)))
    assert victim.read_text() == "precious"


class _Ctx:
    def __init__(self, verify_mode):
        self.verify_mode = verify_mode


class _Conn:
    context = None


@pytest.mark.parametrize("listener_mode", [ssl.CERT_NONE, ssl.CERT_OPTIONAL])
def test_sni_switch_never_verifies_less_than_its_context_asks(monkeypatch, listener_mode):
    """The SNI context asks for client certificates (its CA); when its verify mode cannot be
    put on the connection, the handshake is refused rather than go on without the check."""
    strict = _Ctx(ssl.CERT_REQUIRED)
    sel = SNISelector(lambda spec, option: strict)
    sel.add(parse_sni("secure.test /c,/k,,/ca"))
    monkeypatch.setattr(tls_native, "adopt_verify", lambda conn, ctx: False)
    conn = _Conn()
    assert sel.callback(conn, "secure.test", _Ctx(listener_mode)) == ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
    # adopted: the handshake goes on
    monkeypatch.setattr(tls_native, "adopt_verify", lambda conn, ctx: True)
    assert sel.callback(_Conn(), "secure.test", _Ctx(listener_mode)) is None
    # the listener's own verification is the stricter one: kept, nothing weaker happens
    lax = _Ctx(ssl.CERT_NONE)
    sel = SNISelector(lambda spec, option: lax)
    sel.add(parse_sni("open.test /c,/k"))
    monkeypatch.setattr(tls_native, "adopt_verify", lambda conn, ctx: False)
    assert sel.callback(_Conn(), "open.test", _Ctx(ssl.CERT_REQUIRED)) is None


def test_sni_dir_never_asks_a_terminal_for_a_pass_phrase(pair, tmp_path):
    """A --sni-dir key is loaded while a client's handshake waits, in the process's event loop:
    an encrypted one must fail (logged), not make OpenSSL prompt on the controlling terminal
    (the loop would wait for someone to type it)."""
    import pty
    import select
    import signal
    import sys
    import time

    cert, key = pair
    subprocess.run([require("openssl"), "rsa", "-in", key, "-out", str(tmp_path / "enc.test.key"), "-aes256",
                    "-passout", "pass:secret"], check=True, capture_output=True, timeout=60)
    (tmp_path / "enc.test.crt").write_text(open(cert).read())
    script = ("from gateway.config import load\n"
              "from gateway.router.tls_config import sni_selector, tls_settings\n"
              "cfg = load(['--sni-dir', %r, '--wsgi-file', 'x.py'], {})\n"
              "sel = sni_selector(cfg, tls_settings(cfg))\n"
              "print('CHOSEN', sel.choose('enc.test'), 'END', flush=True)\n" % str(tmp_path))
    pid, fd = pty.fork()
    if pid == 0:  # the child has the pty as its controlling terminal
        os.execv(sys.executable, [sys.executable, "-c", script])
    out = b""
    try:
        deadline = time.monotonic() + 30
        while b"END" not in out and b"pass phrase" not in out.lower() and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"pass phrase" not in out.lower()
    assert b"CHOSEN None END" in out


def test_tls_options_without_a_tls_listener_are_named():
    from gateway.router.tls_config import unused_tls_options

    assert unused_tls_options(_cfg([])) == []
    assert unused_tls_options(_cfg(["--sni-dir", "/d", "--ssl-verify-depth", "--ssl-option", "4"])) == [
        "--sni-dir", "--ssl-option", "--ssl-verify-depth"]
    assert unused_tls_options(_cfg(["--sni-dir", "/d", "--https-socket", "127.0.0.1:0,c,k"])) == []
    assert unused_tls_options(_cfg(["--ssl-verbose", "--https", "127.0.0.1:0,c,k"])) == []


def test_enable_tlsv1_warns_when_tls10_is_still_refused(pair, caplog):
    """--ssl-enable-tlsv1 alone lowered the minimum version, but OpenSSL 3's security level (and
    Python's default cipher string) still refused every TLS 1.0 client: silently, no effect."""
    cert, key = pair
    server_context(HTTPSSpec("127.0.0.1:0", cert, key), "--https-socket", TLSSettings(enable_tlsv1=True))
    warned = [r.getMessage() for r in caplog.records if "--ssl-enable-tlsv1" in r.getMessage()]
    assert len(warned) == 1 and "still refuses TLS 1.0 clients" in warned[0] and "@SECLEVEL=0" in warned[0]
    caplog.clear()
    lowered = server_context(HTTPSSpec("127.0.0.1:0", cert, key, "DEFAULT:@SECLEVEL=0"), "--https-socket",
                             TLSSettings(enable_tlsv1=True))
    from gateway.router.tls import tls10_refusal

    refusal = tls10_refusal(lowered)
    if refusal is not None:
        pytest.skip("this OpenSSL refuses TLS 1.0 even at security level 0: %s" % refusal)
    assert not [r for r in caplog.records if "--ssl-enable-tlsv1" in r.getMessage()]
    # a listener requiring client certificates: the version is agreed, the probe says so
    required = server_context(HTTPSSpec("127.0.0.1:0", cert, key, "DEFAULT:@SECLEVEL=0", "!" + cert),
                              "--https-socket", TLSSettings(enable_tlsv1=True))
    assert tls10_refusal(required) is None
