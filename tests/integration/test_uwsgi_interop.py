"""Interop with a real uWSGI 2.0.31 (the cached build of ``tests/support/build_uwsgi.sh``)."""

from __future__ import annotations

import subprocess

from tests.peers import require_uwsgi


def test_the_real_uwsgi_peer_has_the_tornado_and_greenlet_plugins():
    uwsgi = require_uwsgi()
    version = subprocess.run([uwsgi, "--version"], capture_output=True, text=True, timeout=30)
    assert version.stdout.strip().startswith("2.0."), version
    helptext = subprocess.run([uwsgi, "--help"], capture_output=True, text=True, timeout=30).stdout
    assert "--tornado" in helptext and "--greenlet" in helptext
