"""The Location of ``--http-to-https`` (gateway/router/https_redirect.py)."""

from __future__ import annotations

import pytest

from gateway.router.https_redirect import redirect_location


@pytest.mark.parametrize("host, target, port, location", [
    ("example.com", "/a/b?x=1", "", "https://example.com/a/b?x=1"),
    ("example.com:8080", "/", "", "https://example.com/"),
    ("example.com:8080", "/p", "8443", "https://example.com:8443/p"),
    ("[::1]:80", "/v6", "443", "https://[::1]:443/v6"),
    ("h", "*", "", "https://h/"),
])
def test_location(host, target, port, location):
    assert redirect_location(host, target, port) == location
