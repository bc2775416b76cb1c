"""The HTTP router's ``--http-to``/``--http-fallback`` nodes: host names resolved once at
startup (``connect`` on a name, in the router's loop, looked it up at every connection,
blocking every client of the process), bad ones a startup error naming the option."""

from __future__ import annotations

import pytest

from gateway.config import load
from gateway.router.main import RouterError, check_fallbacks, router_settings, worker_addresses


def test_names_in_http_to_and_http_fallback_are_resolved():
    cfg = load(["--http", "127.0.0.1:0", "--http-to", "localhost:3031", "--http-to", "/run/app.sock",
                "--http-fallback", "localhost:3032", "--http-fallback", "[::1]:3033"], {})
    upstreams, internal = worker_addresses(cfg)
    assert internal is None
    assert upstreams[0] in ("127.0.0.1:3031", "[::1]:3031") and upstreams[1] == "/run/app.sock"
    settings = router_settings(cfg, upstreams)
    assert settings.fallbacks[0] in ("127.0.0.1:3032", "[::1]:3032") and settings.fallbacks[1] == "[::1]:3033"


@pytest.mark.parametrize("option, spec, why", [
    ("--http-to", "nosuchhost.invalid:3031", "cannot resolve nosuchhost.invalid"),
    ("--http-to", "127.0.0.1:70000", "a port from 1 to 65535"),
    ("--http-fallback", "nosuchhost.invalid:3031", "cannot resolve nosuchhost.invalid"),
])
def test_an_unusable_node_is_a_startup_error_naming_the_option(option, spec, why):
    cfg = load(["--http", "127.0.0.1:0", option, spec], {})
    with pytest.raises(RouterError, match="%s %s: .*%s" % (option, spec.replace(".", r"\."), why)):
        check_fallbacks(cfg)
        worker_addresses(cfg)


def test_a_dual_stack_name_resolves_to_its_ipv4_address(monkeypatch):
    # connect() on 'localhost:3031' used to be IPv4 (as uWSGI's resolver is): a system listing
    # ::1 first for localhost must not send the router to [::1]:3031, where an app bound to
    # 127.0.0.1 or 0.0.0.0 refuses it; a name with only an IPv6 address still works
    import socket

    from gateway.router.upstream import resolve_upstreams

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        v6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0))
        v4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
        found = [v6, v4] if host == "dual.test" else [v6]
        return [info for info in found if family in (0, info[0])]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert resolve_upstreams("--http-to", ["dual.test:3031", "v6only.test:3032"]) == ["127.0.0.1:3031", "[::1]:3032"]
