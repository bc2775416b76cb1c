"""The FastRouter's static nodes (gateway.router.fastrouter_main.fastrouter_nodes/resolve_nodes):
host names resolved once at startup, bad addresses a startup error naming the option."""

from __future__ import annotations

import pytest

from gateway.config import load
from gateway.router.fastrouter_main import FastRouterError, fastrouter_nodes, resolve_nodes


def test_a_host_name_is_resolved_once_at_startup():
    cfg = load(["--fastrouter", "127.0.0.1:0", "--fastrouter-to", "localhost:3031",
                "--fastrouter-to", "127.0.0.2:3031", "--fastrouter-to", "/run/app.sock"], {})
    nodes = fastrouter_nodes(cfg, [])
    assert nodes[0] in ("127.0.0.1:3031", "[::1]:3031")
    assert nodes[1:] == ["127.0.0.2:3031", "/run/app.sock"]


@pytest.mark.parametrize("spec, why", [
    ("127.0.0.1:99999", "a port from 1 to 65535"),  # was an OverflowError at each connection
    ("127.0.0.1:http", "a port from 1 to 65535"),
    ("nosuchhost.invalid:3031", "cannot resolve nosuchhost.invalid"),
])
def test_an_unusable_node_is_a_startup_error_naming_the_option(spec, why):
    with pytest.raises(FastRouterError, match="--fastrouter-fallback %s: .*%s" % (spec.replace(".", r"\."), why)):
        resolve_nodes("--fastrouter-fallback", [spec])
