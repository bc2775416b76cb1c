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
from typing import Any, List, NamedTuple, Optional, Tuple

__all__ = ["HTTPSSpec", "TLSConfigError", "client_cert_vars", "parse_https", "server_context"]


class TLSConfigError(Exception):
    """An ``--https`` value that is malformed or names unusable files; ``str()`` says which."""


class HTTPSSpec(NamedTuple):
    address: str
    cert: str
    key: str
    ciphers: Optional[str] = None
    client_ca: Optional[str] = None


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


def server_context(spec: HTTPSSpec, option: str = "--https") -> ssl.SSLContext:
    """A server-side context for ``spec``; raises :class:`TLSConfigError` with the reason
    (naming ``option``)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.options |= ssl.OP_NO_COMPRESSION
    try:
        ctx.load_cert_chain(spec.cert, spec.key)
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
    return ctx
