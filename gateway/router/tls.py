"""``--https ADDR,CERT,KEY[,CIPHERS[,CA]]``: the spec and the server TLS context (stdlib ``ssl``).

The syntax is uWSGI's (``plugins/http/https.c``): comma-separated address,
certificate file, key file, then optionally an OpenSSL cipher string and a CA
file.  With a CA file, a client is asked for a certificate and one it presents must be
signed by it; with uWSGI's ``!`` prefix (``!ca.pem``) a client without one is refused
(OpenSSL's ``SSL_VERIFY_FAIL_IF_NO_PEER_CERT``), as in uWSGI's ``client_ca``.

The context is built in the parent before the router process starts, so a
missing or mismatched certificate fails at startup with one clear line, not in
the first handshake.  Defaults are the ``ssl`` module's server defaults
(TLS 1.2+, the system's cipher list); HTTP/1.1 is announced through ALPN.
"""

from __future__ import annotations

import ssl
import warnings
from typing import Any, List, NamedTuple, Optional, Tuple

__all__ = ["HTTPSSpec", "TLSConfigError", "TLSSettings", "client_cert_vars", "parse_https", "server_context",
           "tls10_refusal"]


class TLSConfigError(Exception):
    """An ``--https`` value that is malformed or names unusable files; ``str()`` says which."""


class HTTPSSpec(NamedTuple):
    address: str
    cert: str
    key: str
    ciphers: Optional[str] = None
    client_ca: Optional[str] = None


class TLSSettings(NamedTuple):
    """The ``--ssl-*`` options every server context gets (:mod:`gateway.router.tls_config`)."""

    #: ``--ssl-option``: raw ``SSL_OP_*`` bits OR'ed in
    options: int = 0
    #: ``--ssl-enable-tlsv1``: TLS 1.0 and 1.1 allowed
    enable_tlsv1: bool = False
    #: ``--ssl-sessions-timeout`` (None: OpenSSL's)
    session_timeout: Optional[int] = None
    #: ``--ssl-verify-depth`` (None: OpenSSL's)
    verify_depth: Optional[int] = None
    #: ``--ssl-verbose``: fatal alerts sent to clients are logged
    verbose: bool = False
    #: ``--ssl-tmp-dir``: where PEM text given in place of a file name is written
    tmp_dir: Optional[str] = None


def parse_https(value: str, option: str = "--https") -> HTTPSSpec:
    """Split ``ADDR,CERT,KEY[,CIPHERS[,CA]]`` (the value of ``option``, for the messages)."""
    parts = value.split(",")
    if len(parts) < 3 or not all(parts[:3]):
        raise TLSConfigError("%s %s: expected ADDR,CERT,KEY[,CIPHERS[,CA]]" % (option, value))
    if len(parts) > 5:
        raise TLSConfigError("%s %s: too many comma-separated items (ADDR,CERT,KEY[,CIPHERS[,CA]])" % (option, value))
    address, cert, key = parts[:3]
    ciphers = parts[3] if len(parts) > 3 and parts[3] else None
    ca = parts[4] if len(parts) > 4 and parts[4] else None
    return HTTPSSpec(address, cert, key, ciphers, ca)


#: OpenSSL's short names of the subject's attributes, for ``HTTPS_DN`` (``X509_NAME_oneline``)
_SHORT_NAMES = {
    "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L", "organizationName": "O",
    "organizationalUnitName": "OU", "commonName": "CN", "domainComponent": "DC", "userId": "UID",
    "surname": "SN", "givenName": "GN", "title": "title", "serialNumber": "serialNumber",
    "emailAddress": "emailAddress",
}


def client_cert_vars(ssl_object: Any, export_pem: bool = False) -> List[Tuple[str, str]]:
    """The vars uWSGI's router adds for a client that presented a certificate (none
    otherwise): ``HTTPS_CLIENT_CERTIFICATE`` (DER, latin-1), ``HTTPS_DN`` (the subject as
    ``/C=../O=../CN=..``, as OpenSSL's ``X509_NAME_oneline``), and with
    ``--https-export-cert`` ``HTTPS_CC`` (PEM)."""
    if ssl_object is None:
        return []
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return []
    out = [("HTTPS_CLIENT_CERTIFICATE", der.decode("latin-1"))]
    cert = ssl_object.getpeercert()  # parsed only when the chain was verified (a --https CA)
    if cert and cert.get("subject"):
        dn = "".join("/%s=%s" % (_SHORT_NAMES.get(key, key), value)
                     for rdn in cert["subject"] for key, value in rdn)
        out.append(("HTTPS_DN", dn))
    if export_pem:
        out.append(("HTTPS_CC", ssl.DER_cert_to_PEM_cert(der)))
    return out


def server_context(spec: HTTPSSpec, option: str = "--https", settings: Optional[TLSSettings] = None,
                   session_context: Optional[str] = None, interactive: bool = True) -> ssl.SSLContext:
    """A server-side context for ``spec``; raises :class:`TLSConfigError` with the reason
    (naming ``option``).  ``settings``: the ``--ssl-*`` options; ``session_context``:
    ``--https-session-context``.  ``interactive=False``: a context built while a client's
    handshake waits, in an event loop (``--sni-dir``): an encrypted key fails instead of
    OpenSSL asking the controlling terminal for its pass phrase (nobody would type it), and
    the ``--ssl-enable-tlsv1`` probe (a warning at startup) is not run."""
    settings = settings or TLSSettings()
    if settings.tmp_dir:
        spec = _materialize(spec, settings.tmp_dir, option)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.options |= ssl.OP_NO_COMPRESSION
    # TLS 1.2+ unless asked: Python 3.10+ starts a server context there, 3.9 at OpenSSL's own
    # minimum (TLS 1.0 where the system's security level allows it)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.enable_tlsv1:
        try:
            with warnings.catch_warnings():  # deprecated indeed: the user asked for it by name
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
        except (ValueError, ssl.SSLError) as e:
            raise TLSConfigError("--ssl-enable-tlsv1: this OpenSSL refuses TLS 1.0: %s" % e) from None
    try:
        ctx.load_cert_chain(spec.cert, spec.key, password=None if interactive else _no_pass_phrase)
    except FileNotFoundError as e:
        raise TLSConfigError("%s %s: %s: no such file" % (option, spec.address, e.filename or spec.cert)) from None
    except (ssl.SSLError, OSError) as e:
        raise TLSConfigError(
            "%s %s: cannot load certificate %s with key %s: %s" % (option, spec.address, spec.cert, spec.key, e)
        ) from None
    if spec.ciphers:
        try:
            ctx.set_ciphers(spec.ciphers)
        except ssl.SSLError:
            raise TLSConfigError("%s %s: no usable cipher in %r" % (option, spec.address, spec.ciphers)) from None
    if spec.client_ca:
        required = spec.client_ca.startswith("!")
        ca = spec.client_ca[1:] if required else spec.client_ca
        try:
            ctx.load_verify_locations(ca)
        except (ssl.SSLError, OSError) as e:
            raise TLSConfigError("%s %s: cannot load client CA %s: %s" % (option, spec.address, ca, e)) from None
        ctx.verify_mode = ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    if settings.options:
        ctx.options |= settings.options
    _native_settings(ctx, settings, session_context, option)
    if settings.enable_tlsv1 and interactive:
        refusal = tls10_refusal(ctx)
        if refusal is not None:
            from gateway.logs import gen_log

            gen_log.warning("--ssl-enable-tlsv1: %s %s still refuses TLS 1.0 clients (%s); OpenSSL 3's "
                            "security level must be lowered in its cipher string (CERT,KEY,DEFAULT:@SECLEVEL=0)",
                            option, spec.address, refusal)
    if settings.verbose:
        _log_alerts(ctx, option, spec.address)
    return ctx


#: OpenSSL's reasons for a handshake refused for its protocol version or ciphers
_VERSION_REFUSALS = {"NO_SHARED_CIPHER", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW",
                     "WRONG_VERSION_NUMBER", "TLSV1_ALERT_PROTOCOL_VERSION", "SSLV3_ALERT_HANDSHAKE_FAILURE",
                     "NO_CIPHERS_AVAILABLE", "NO_SUITABLE_SIGNATURE_ALGORITHM", "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED"}


def tls10_refusal(ctx: ssl.SSLContext) -> Optional[str]:
    """Why a TLS 1.0 client cannot complete a handshake with the server context ``ctx``, or
    None when it can: an in-memory handshake with such a client (no network).

    ``--ssl-enable-tlsv1`` lowers the minimum version, but OpenSSL 3 refuses TLS 1.0 at its
    default security level anyway (the option alone did nothing, silently)."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client.minimum_version = ssl.TLSVersion.TLSv1
            client.maximum_version = ssl.TLSVersion.TLSv1
        client.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as e:
        return "this OpenSSL has no TLS 1.0: %s" % e
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    from_server, from_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    peer = client.wrap_bio(to_client, from_client)
    server = ctx.wrap_bio(to_server, from_server, server_side=True)
    done = set()
    for _ in range(8):
        for side in (peer, server):
            if side in done:
                continue
            try:
                side.do_handshake()
                done.add(side)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                # a refused client certificate, say, means the version and cipher were agreed
                return str(e) if (e.reason or "") in _VERSION_REFUSALS else None
        to_server.write(from_client.read())
        to_client.write(from_server.read())
        if len(done) == 2:
            return None
    return None


def _no_pass_phrase() -> bytes:
    """The pass phrase of a key loaded without a terminal: none (an encrypted key fails)."""
    return b""


def _native_settings(ctx: ssl.SSLContext, settings: TLSSettings, session_context: Optional[str],
                     option: str) -> None:
    """What only OpenSSL's own functions can set (:mod:`gateway.router.tls_native`)."""
    from gateway.router import tls_native

    wanted: List[Tuple[str, Any, Any]] = [
        ("--ssl-sessions-timeout", settings.session_timeout, tls_native.set_session_timeout),
        ("--ssl-verify-depth", settings.verify_depth, tls_native.set_verify_depth)]
    if session_context is not None:
        wanted.append(("--https-session-context", session_context.encode("utf-8"),
                       tls_native.set_session_id_context))
    for name, value, setter in wanted:
        if value is None:
            continue
        try:
            setter(ctx, value)
        except tls_native.NativeUnavailable as e:
            raise TLSConfigError("%s: cannot be applied: %s" % (name, e)) from None
        except ValueError as e:
            raise TLSConfigError("%s %s: %s" % (name, session_context, e)) from None


def _materialize(spec: HTTPSSpec, directory: str, option: str) -> HTTPSSpec:
    """``--ssl-tmp-dir``: each of certificate, key and CA given as PEM text (``-----BEGIN ``)
    is written to ``DIR/<address>.crt|.key|.ca`` (owner-readable only) and named by its path."""
    import os
    import re

    base = os.path.join(directory, re.sub(r"[^A-Za-z0-9._-]", "_", spec.address).lstrip(".") or "tls")

    def write(text: Optional[str], ext: str) -> Optional[str]:
        if text is None:
            return None
        bang = text.startswith("!") and ext == ".ca"
        body = text[1:] if bang else text
        if not body.startswith("-----BEGIN "):
            return text
        path = base + ext
        try:
            if os.path.lexists(path):
                os.unlink(path)  # read-only from the previous start
            # created anew, never through what appeared there since (a symlink planted in a
            # shared directory would have the key written, as root, wherever it leads)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o400)
            with os.fdopen(fd, "w") as f:
                f.write(body.replace("\\n", "\n"))
        except OSError as e:
            raise TLSConfigError("%s %s: --ssl-tmp-dir %s: cannot write %s: %s"
                                 % (option, spec.address, directory, path, e.strerror or e)) from None
        return ("!" if bang else "") + path

    return HTTPSSpec(spec.address, write(spec.cert, ".crt") or spec.cert, write(spec.key, ".key") or spec.key,
                     spec.ciphers, write(spec.client_ca, ".ca"))


def _log_alerts(ctx: ssl.SSLContext, option: str, address: str) -> None:
    """``--ssl-verbose``: log each fatal TLS alert this side sends (why a handshake failed:
    a refused client certificate, no shared cipher or version...)."""
    from gateway.logs import gen_log

    def on_message(conn: Any, direction: str, version: Any, content_type: Any, msg_type: Any, data: bytes) -> None:
        if direction == "write" and int(content_type) == 21 and len(data) >= 2 and data[0] == 2:
            name = getattr(msg_type, "name", str(msg_type)).lower()
            gen_log.warning("[ssl] %s %s: handshake refused, alert sent: %s", option, address, name)

    if hasattr(ctx, "_msg_callback"):  # CPython's (a debugging hook, present since 3.8)
        ctx._msg_callback = on_message  # type: ignore[attr-defined,unused-ignore]
