"""``--sni``, ``--sni-regexp``, ``--sni-dir``: the certificate chosen by the server name a TLS
client asks for (the stdlib ``ssl``'s ``sni_callback``).

The order is uWSGI's (``core/ssl.c``): the ``--sni`` names (exact, case-sensitive, as
sent), then the ``--sni-regexp`` patterns (searched, in the order given), then
``--sni-dir``, where ``NAME.crt`` and ``NAME.key`` (and ``NAME.ca``, a client CA, when
present) are loaded on first use.  No match, or no name at all: the listener's own
certificate.  Unlike uWSGI, a name is looked up in ``--sni-dir`` only when it is a plain
host name (letters, digits, ``.``, ``-``, ``_``, not starting with a dot), so a client
cannot make the server open ``../`` paths, and at most :data:`SNI_DIR_CONTEXTS` loaded
contexts are kept (the oldest is dropped and reloaded when asked again).  Files that fail
to load are not tried again for :data:`SNI_DIR_RETRY` seconds (one error line then, not one
per handshake any client can start).
"""

from __future__ import annotations

import os
import re
import ssl
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Pattern, Tuple

from gateway.logs import gen_log
from gateway.router.tls import HTTPSSpec, TLSConfigError

__all__ = ["SNIRule", "SNISelector", "SNI_DIR_CONTEXTS", "SNI_DIR_RETRY", "parse_sni"]

#: contexts loaded from --sni-dir kept per process
SNI_DIR_CONTEXTS = 256
#: seconds during which a name whose --sni-dir files failed to load is not tried again
SNI_DIR_RETRY = 30.0
#: a server name that may be looked up as a file name in --sni-dir
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,252}")


class SNIRule(NamedTuple):
    name: str
    cert: str
    key: str
    ciphers: Optional[str] = None
    client_ca: Optional[str] = None

    def spec(self) -> HTTPSSpec:
        """As an ``--https`` spec (the name in place of the address, for the messages)."""
        return HTTPSSpec(self.name, self.cert, self.key, self.ciphers, self.client_ca)


def parse_sni(value: str, option: str = "--sni") -> SNIRule:
    """``NAME CERT,KEY[,CIPHERS[,CA]]`` (uWSGI's syntax: a space, then the files)."""
    name, sep, rest = value.strip().partition(" ")
    parts = rest.strip().split(",")
    if not sep or not name or len(parts) < 2 or not all(parts[:2]) or len(parts) > 4:
        raise TLSConfigError("%s %s: expected NAME CERT,KEY[,CIPHERS[,CA]]" % (option, value))
    ciphers = parts[2] if len(parts) > 2 and parts[2] else None
    ca = parts[3] if len(parts) > 3 and parts[3] else None
    return SNIRule(name, parts[0], parts[1], ciphers, ca)


#: builds a server context for a spec; raises TLSConfigError
Builder = Callable[[HTTPSSpec, str], ssl.SSLContext]


class SNISelector:
    """The contexts by server name; :meth:`install` puts its callback on a listener's context.

    ``build(spec, option)`` makes each context with the same settings as the listeners'.
    """

    def __init__(self, build: Builder, verbose: bool = False) -> None:
        self.build = build
        self.verbose = verbose
        self.exact: Dict[str, ssl.SSLContext] = {}
        self.patterns: List[Tuple[Pattern[str], ssl.SSLContext]] = []
        self.directory: Optional[str] = None
        self.dir_ciphers: Optional[str] = None
        self._loaded: "OrderedDict[str, ssl.SSLContext]" = OrderedDict()
        #: --sni-dir names whose files failed to load -> when they may be tried again
        self._failed: "OrderedDict[str, float]" = OrderedDict()
        self.clock: Callable[[], float] = time.monotonic

    def add(self, rule: SNIRule) -> None:
        """An exact ``--sni`` name; the first one given for a name wins, as in uWSGI."""
        if rule.name not in self.exact:
            self.exact[rule.name] = self.build(rule.spec(), "--sni")

    def add_regexp(self, rule: SNIRule) -> None:
        try:
            pattern = re.compile(rule.name)
        except re.error as e:
            raise TLSConfigError("--sni-regexp %s: not a regular expression: %s" % (rule.name, e)) from None
        self.patterns.append((pattern, self.build(rule.spec(), "--sni-regexp")))

    def set_directory(self, directory: str, ciphers: Optional[str] = None) -> None:
        if not os.path.isdir(directory):
            raise TLSConfigError("--sni-dir %s: not a directory" % directory)
        self.directory = directory
        self.dir_ciphers = ciphers

    def __bool__(self) -> bool:
        return bool(self.exact or self.patterns or self.directory)

    def choose(self, server_name: Optional[str]) -> Optional[ssl.SSLContext]:
        """The context for ``server_name``, or None (the listener's own)."""
        if not server_name:
            return None
        ctx = self.exact.get(server_name)
        if ctx is not None:
            return ctx
        for pattern, ctx in self.patterns:
            if pattern.search(server_name):
                return ctx
        if self.directory is not None:
            return self._from_directory(server_name)
        return None

    def _from_directory(self, name: str) -> Optional[ssl.SSLContext]:
        ctx = self._loaded.get(name)
        if ctx is not None:
            self._loaded.move_to_end(name)
            return ctx
        if not _PLAIN_NAME.fullmatch(name):
            return None
        assert self.directory is not None
        retry = self._failed.get(name)
        if retry is not None:
            if self.clock() < retry:
                return None
            del self._failed[name]
        base = os.path.join(self.directory, name)
        if not (os.path.isfile(base + ".crt") and os.path.isfile(base + ".key")):
            return None
        ca = base + ".ca" if os.path.isfile(base + ".ca") else None
        try:
            ctx = self.build(HTTPSSpec(name, base + ".crt", base + ".key", self.dir_ciphers, ca), "--sni-dir")
        except TLSConfigError as e:
            # every handshake naming it would read, parse and log again: a client could flood
            # the log and keep the loop busy; tried again after SNI_DIR_RETRY seconds
            gen_log.error("%s (not tried again for %g seconds)", e, SNI_DIR_RETRY)
            self._failed[name] = self.clock() + SNI_DIR_RETRY
            if len(self._failed) > SNI_DIR_CONTEXTS:
                self._failed.popitem(last=False)
            return None
        self._loaded[name] = ctx
        if len(self._loaded) > SNI_DIR_CONTEXTS:
            self._loaded.popitem(last=False)
        gen_log.info("[sni for pid %d] added TLS context for %s", os.getpid(), name)
        return ctx

    def callback(self, conn: Any, server_name: Optional[str], current: ssl.SSLContext) -> Optional[int]:
        """The ``sni_callback``: switch ``conn`` to the chosen context, with its client verification.

        When that context verifies clients more strictly than the listener's and its verify mode
        cannot be put on the connection, the handshake is refused (an alert), never let through
        without the client certificate check the configuration asks for."""
        from gateway.router import tls_native

        ctx = self.choose(server_name)
        if self.verbose:
            gen_log.info("[ssl] SNI %r: %s", server_name, "matched" if ctx is not None else "default certificate")
        if ctx is None or ctx is current:
            return None
        conn.context = ctx
        if ctx.verify_mode == current.verify_mode == ssl.CERT_NONE:
            return None
        if not tls_native.adopt_verify(conn, ctx) and ctx.verify_mode != current.verify_mode:
            # the connection keeps the listener's verify mode (OpenSSL's SSL_set_SSL_CTX)
            gen_log.warning("[ssl] SNI %r: the client verification of its context cannot be applied here",
                            server_name)
            if ctx.verify_mode > current.verify_mode:  # CERT_NONE < CERT_OPTIONAL < CERT_REQUIRED
                return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        return None

    def install(self, ctx: ssl.SSLContext) -> None:
        ctx.sni_callback = self.callback
