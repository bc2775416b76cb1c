"""The server TLS contexts of a configuration: one mechanism for the ``--https`` router and the
workers' ``--https-socket`` and ``--ssl-socket``.

Every listener's context is made by :func:`gateway.router.tls.server_context` with the same
``--ssl-*`` settings, and gets the same SNI choice (``--sni``, ``--sni-regexp``,
``--sni-dir``), as uWSGI's ``uwsgi_ssl_new_server_context`` does for all of them.  All of it
runs in the parent, before any fork: a bad file or option fails at startup with one line.
"""

from __future__ import annotations

import ssl
from typing import Any, List, Optional, Tuple

from gateway.router.sni import SNISelector, parse_sni
from gateway.router.tls import HTTPSSpec, TLSConfigError, TLSSettings, parse_https, server_context

__all__ = ["listener_contexts", "sni_selector", "tls_settings", "unused_tls_options"]


def tls_settings(cfg: Any) -> TLSSettings:
    """The ``--ssl-*`` options of ``cfg``."""
    options = 0
    for value in cfg.ssl_option or ():
        options |= int(value)
    depth = cfg.ssl_verify_depth
    return TLSSettings(
        options=options,
        enable_tlsv1=bool(cfg.ssl_enable_tlsv1),
        session_timeout=int(cfg.ssl_sessions_timeout) if cfg.ssl_sessions_timeout else None,
        verify_depth=None if depth is None else (1 if depth == "" else int(depth)),
        verbose=bool(cfg.ssl_verbose),
        tmp_dir=cfg.ssl_tmp_dir or None,
    )


def sni_selector(cfg: Any, settings: TLSSettings) -> Optional[SNISelector]:
    """The SNI contexts of ``cfg`` (None without any SNI option)."""
    if not (cfg.sni or cfg.sni_regexp or cfg.sni_dir):
        if cfg.sni_dir_ciphers:
            raise TLSConfigError("--sni-dir-ciphers %s: needs --sni-dir" % cfg.sni_dir_ciphers)
        return None

    def build(spec: HTTPSSpec, option: str) -> ssl.SSLContext:
        # --sni-dir files are loaded during a handshake: never a pass phrase prompt then
        return server_context(spec, option, settings, interactive=option != "--sni-dir")

    selector = SNISelector(build, settings.verbose)
    for value in cfg.sni:
        selector.add(parse_sni(value, "--sni"))
    for value in cfg.sni_regexp:
        selector.add_regexp(parse_sni(value, "--sni-regexp"))
    if cfg.sni_dir:
        if cfg.sni_dir_ciphers:
            # used at the first handshake of each name only: a typo would make every --sni-dir
            # certificate fail then (logged, the listener's used), never the start
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ciphers(cfg.sni_dir_ciphers)
            except ssl.SSLError:
                raise TLSConfigError("--sni-dir-ciphers %s: no usable cipher" % cfg.sni_dir_ciphers) from None
        selector.set_directory(cfg.sni_dir, cfg.sni_dir_ciphers or None)
    return selector


def listener_contexts(cfg: Any, values: List[Tuple[str, str]],
                      session_context: Optional[str] = None) -> List[Tuple[HTTPSSpec, ssl.SSLContext]]:
    """``(option, "ADDR,CERT,KEY[,CIPHERS[,CA]]")`` pairs -> their specs and contexts, all with
    the same settings and SNI contexts (built once here); raises :class:`TLSConfigError`."""
    if not values:
        return []
    settings = tls_settings(cfg)
    selector = sni_selector(cfg, settings)
    out = []
    for option, value in values:
        spec = parse_https(value, option)
        ctx = server_context(spec, option, settings, session_context)
        if selector:
            selector.install(ctx)
        out.append((spec, ctx))
    return out


def unused_tls_options(cfg: Any) -> List[str]:
    """The SNI and ``--ssl-*`` options given in ``cfg`` while it has no TLS listener
    (``--https``, ``--https-socket``, ``--ssl-socket``): they apply to nothing, and their
    files are never even read (a missing ``--sni`` certificate goes unnoticed)."""
    if cfg.https or cfg.https_socket or cfg.ssl_socket:
        return []
    given = (("--sni", cfg.sni), ("--sni-regexp", cfg.sni_regexp), ("--sni-dir", cfg.sni_dir),
             ("--sni-dir-ciphers", cfg.sni_dir_ciphers), ("--ssl-option", cfg.ssl_option),
             ("--ssl-sessions-timeout", cfg.ssl_sessions_timeout),
             ("--ssl-verify-depth", cfg.ssl_verify_depth is not None), ("--ssl-tmp-dir", cfg.ssl_tmp_dir),
             ("--ssl-enable-tlsv1", cfg.ssl_enable_tlsv1), ("--ssl-verbose", cfg.ssl_verbose),
             ("--https-session-context", cfg.https_session_context))
    return [name for name, value in given if value]
