"""``--py-autoreload`` and ``uwsgi.reload()``: a changed module reloads the instance gracefully."""

from __future__ import annotations

import os
import time

import pytest

from server import run_server
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)


def _write(path, text, bump):
    path.write_text(text)
    t = time.time() + bump  # a distinct mtime even on a coarse clock
    os.utime(path, (t, t))


def test_a_modified_module_reloads_the_workers(tmp_path):
    helper = tmp_path / "helper.py"
    _write(helper, "VERSION = b'v1'\n", 0)
    app = tmp_path / "app.py"
    app.write_text("import uwsgi\nimport helper\n\ndef application(e, sr):\n"
                   "    if e['PATH_INFO'] == '/reload':\n"
                   "        ok = uwsgi.reload()\n        sr('200 OK', [])\n        return [repr(ok).encode()]\n"
                   "    sr('200 OK', [])\n    return [helper.VERSION]\n")
    with run_server(["--wsgi-file", str(app), "--pythonpath", str(tmp_path), "--master", "--processes", "1",
                     "--py-autoreload", "1"]) as srv:
        assert request(srv.port, "/").body == b"v1"
        _write(helper, "VERSION = b'v2'\n", 5)
        srv.wait_for_line(r"\[uwsgi-python-reloader\] module/file %s has been modified" % helper, timeout=10)
        assert wait_until(lambda: request(srv.port, "/").body == b"v2", what="the reloaded worker")
        # the same graceful reload, asked by the app itself, once the first is over (the old
        # worker reaped: a reload asked meanwhile is ignored, and a slow machine takes a while)
        srv.wait_for_line(r"worker 1 buried after \d+ seconds", timeout=15)
        reloads = srv.output().count("...gracefully killing workers...")
        assert request(srv.port, "/reload").body == b"True"
        assert wait_until(lambda: srv.output().count("...gracefully killing workers...") == reloads + 1,
                          what="a second reload")


def test_uwsgi_reload_without_a_master_is_false(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import uwsgi\n\ndef application(e, sr):\n    sr('200 OK', [])\n    return [repr(uwsgi.reload()).encode()]\n")
    with run_server(["--wsgi-file", str(app), "--py-autoreload", "1"]) as srv:
        assert request(srv.port, "/").body == b"False"
        srv.wait_for_line(r"--py-autoreload needs a master")
