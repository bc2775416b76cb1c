"""--file-serve-mode, --check-static-docroot, --http-path-info-no-decode-slashes,
--ignore-script-name, --upload-progress: the pure parts and the WSGI layers in process."""

from __future__ import annotations

import json
import os
import time

import pytest

from gateway.config.errors import Invalid
from gateway.config.file_serving_options import serve_mode
from gateway.mounts import Mounts
from gateway.protocol.environ import decode_path
from gateway.server.static_files import StaticFiles
from gateway.server.static_policy import FilePolicy
from gateway.server.upload_progress import UploadProgress, progress_id, progress_line

UUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.mark.parametrize("raw, header", [
    ("x-sendfile", "X-Sendfile"), ("XSendFile", "X-Sendfile"),
    ("x-accel-redirect", "X-Accel-Redirect"), ("xaccelredirect", "X-Accel-Redirect"),
    ("NGINX", "X-Accel-Redirect"), ("default", ""), (" raw ", ""),
])
def test_serve_modes_are_uwsgis_spellings(raw, header):
    assert serve_mode(raw) == header


def test_an_unknown_serve_mode_is_refused():
    with pytest.raises(Invalid):
        serve_mode("lighttpd")


@pytest.mark.parametrize("path, keep, expected", [
    ("/a%2Fb", False, "/a/b"),
    ("/a%2Fb", True, "/a%2Fb"),
    ("/a%2fb%2F", True, "/a%2fb%2F"),
    ("/x%20y%2F%C3%A9", True, "/x y%2F\xc3\xa9"),
    ("/%252F", True, "/%2F"),           # an encoded percent then "2F": decoded once, as usual
    ("/plain", True, "/plain"),
])
def test_decode_path_keep_slashes(path, keep, expected):
    assert decode_path(path, keep) == expected


def _call(app, environ):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def _env(path, **extra):
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REQUEST_URI": path}
    env.update(extra)
    return env


def _app(environ, start_response):
    start_response("200 OK", [])
    return [b"app"]


@pytest.fixture
def site(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.css").write_bytes(b"body{}")
    (tmp_path / "static" / "a.css.gz").write_bytes(b"GZ")
    return tmp_path


@pytest.mark.parametrize("path", ["/s/app.py/", "/s/app.py/.", "/s/app.py/x/..", "/s/link.txt", "/s/pkg/",
                                  "/s/a.css/", "/s/a.css/."])
def test_skip_ext_and_a_file_asked_as_a_directory_go_to_the_app(site, path):
    """``--static-skip-ext .py`` holds on the file served, not only on the request path
    (``/s/app.py/`` sent the source: realpath() drops the slash), and a file is never a
    directory (uWSGI's realpath() fails with ENOTDIR there)."""
    static = site / "static"
    (static / "app.py").write_bytes(b"SECRET = 1")
    os.symlink("app.py", static / "link.txt")
    (static / "pkg").mkdir()
    (static / "pkg" / "index.py").write_bytes(b"SECRET = 2")
    app = StaticFiles(_app, maps=[("/s", str(static))], index=["index.py"], policy=FilePolicy(skip_ext=[".py"]))
    assert _call(app, _env(path))[2] == b"app"
    assert _call(app, _env("/s/a.css"))[2] == b"body{}"


def test_a_map_to_a_file_serves_it(site):
    """``--static-map /favicon.ico=/srv/icon.css`` (uWSGI: "mountpoint to static directory
    (or file)"); the file asked as a directory is not there."""
    app = StaticFiles(_app, maps=[("/favicon.ico", str(site / "static" / "a.css"))])
    assert _call(app, _env("/favicon.ico"))[2] == b"body{}"
    assert _call(app, _env("/favicon.ico/"))[2] == b"app"
    assert _call(app, _env("/favicon.icox"))[2] == b"app"


@pytest.mark.parametrize("header", ["X-Sendfile", "X-Accel-Redirect"])
def test_serve_header_names_the_real_file_without_a_body(site, header):
    app = StaticFiles(_app, maps=[("/s", str(site / "static"))], policy=FilePolicy(serve_header=header))
    status, headers, body = _call(app, _env("/s/a.css"))
    real = os.path.realpath(site / "static" / "a.css")
    assert (status, body, headers[header]) == ("200 OK", b"", real)
    assert headers["Content-Type"] == "text/css" and headers["Last-Modified"]
    assert "Content-Length" not in headers  # the web server in front says it (as uWSGI)
    # a precompressed variant: its name is the one sent (X-Sendfile), never through nginx, which
    # drops an X-Accel-Redirect answer's Content-Encoding (the client got gzip bytes as the file)
    gz = FilePolicy(serve_header=header, gzip_all=True)
    status, headers, _ = _call(StaticFiles(_app, maps=[("/s", str(site / "static"))], policy=gz),
                               _env("/s/a.css", HTTP_ACCEPT_ENCODING="gzip"))
    if header == "X-Sendfile":
        assert headers[header] == real + ".gz" and headers["Content-Encoding"] == "gzip"
    else:
        assert headers[header] == real and "Content-Encoding" not in headers and "Vary" not in headers


def test_x_accel_redirect_names_the_file_as_a_uri(site):
    """nginx reads X-Accel-Redirect as a URI: a raw '?' cut the name (a?b.txt served the file
    'a') and a raw '%41' was decoded (50%41.txt served 50A.txt); the bytes are escaped."""
    static = site / "static"
    for name in ("a?b.txt", "50%41.txt", "new\nline.txt", "sp ace #1.txt"):
        (static / name).write_bytes(b"x")
    real = os.path.realpath(static)
    accel = StaticFiles(_app, maps=[("/s", str(static))], policy=FilePolicy(serve_header="X-Accel-Redirect"))
    sendfile = StaticFiles(_app, maps=[("/s", str(static))], policy=FilePolicy(serve_header="X-Sendfile"))
    assert _call(accel, _env("/s/a?b.txt"))[1]["X-Accel-Redirect"] == real + "/a%3Fb.txt"
    assert _call(accel, _env("/s/50%41.txt"))[1]["X-Accel-Redirect"] == real + "/50%2541.txt"
    assert _call(accel, _env("/s/new\nline.txt"))[1]["X-Accel-Redirect"] == real + "/new%0Aline.txt"
    assert _call(accel, _env("/s/sp ace #1.txt"))[1]["X-Accel-Redirect"] == real + "/sp%20ace%20%231.txt"
    # X-Sendfile: the path as it is (uWSGI's), but never a CR/LF in a header: the app answers
    assert _call(sendfile, _env("/s/a?b.txt"))[1]["X-Sendfile"] == real + "/a?b.txt"
    assert _call(sendfile, _env("/s/new\nline.txt"))[2] == b"app"


def test_serve_header_still_answers_304(site):
    app = StaticFiles(_app, maps=[("/s", str(site / "static"))], policy=FilePolicy(serve_header="X-Sendfile"))
    _, headers, _ = _call(app, _env("/s/a.css"))
    status, headers, _ = _call(app, _env("/s/a.css", HTTP_IF_MODIFIED_SINCE=headers["Last-Modified"]))
    assert status == "304 Not Modified" and "X-Sendfile" not in headers


def test_check_static_docroot_uses_the_requests_document_root(site):
    app = StaticFiles(_app, docroot=True)
    assert _call(app, _env("/a.css", DOCUMENT_ROOT=str(site / "static")))[2] == b"body{}"
    assert _call(app, _env("/a.css"))[2] == b"app"  # no DOCUMENT_ROOT
    assert _call(app, _env("/a.css", DOCUMENT_ROOT=""))[2] == b"app"
    (site / "secret.txt").write_bytes(b"secret")
    assert _call(app, _env("/../secret.txt", DOCUMENT_ROOT=str(site / "static")))[2] == b"app"  # out of it
    assert _call(StaticFiles(_app), _env("/a.css", DOCUMENT_ROOT=str(site / "static")))[2] == b"app"  # off


def test_check_static_docroot_ignores_a_document_root_that_is_no_absolute_path(site, monkeypatch):
    """A NUL in DOCUMENT_ROOT made realpath() raise ValueError (a 500 for the request); a
    relative one was looked up from the worker's directory (the app's own source files)."""
    app = StaticFiles(_app, docroot=True)
    assert _call(app, _env("/a.css", DOCUMENT_ROOT=str(site / "static") + "\0x"))[2] == b"app"
    monkeypatch.chdir(site)
    assert _call(app, _env("/a.css", DOCUMENT_ROOT="static"))[2] == b"app"
    assert _call(app, _env("/a.css", DOCUMENT_ROOT=str(site / "static")))[2] == b"body{}"


def test_file_names_that_are_not_ascii_are_found(site):
    """PATH_INFO carries the path's bytes as latin-1 (PEP 3333): they were looked up as that
    text, so a UTF-8 name (caf\xc3\xa9 for caf\u00e9) was never found and went to the app."""
    static = site / "static"
    (static / "caf\u00e9.txt").write_bytes(b"coffee")
    (static / "d\u00e9j\u00e0").mkdir()
    (static / "d\u00e9j\u00e0" / "x.txt").write_bytes(b"deep")
    app = StaticFiles(_app, maps=[("/s", str(static))])
    assert _call(app, _env("/s/caf\xc3\xa9.txt"))[2] == b"coffee"
    assert _call(StaticFiles(_app, docroot=True),
                 _env("/x.txt", DOCUMENT_ROOT=str(static / "d\u00e9j\u00e0").encode().decode("latin-1")))[2] == b"deep"
    sendfile = StaticFiles(_app, maps=[("/s", str(static))], policy=FilePolicy(serve_header="X-Sendfile"))
    assert _call(sendfile, _env("/s/caf\xc3\xa9.txt"))[1]["X-Sendfile"].endswith("/caf\xc3\xa9.txt")
    assert _call(app, _env("/s/caf\u0100.txt"))[2] == b"app"  # not latin-1 tunnelled: no file


def test_check_static_docroot_refuses_a_document_root_climbing_out(tmp_path):
    """A route building DOCUMENT_ROOT from request values (setdocroot:/srv/${HTTP_HOST}) made
    'Host: ..' or 'Host: a.test/../..' a root above the sites: their files were served."""
    sites = tmp_path / "sites"
    (sites / "a.test").mkdir(parents=True)
    (sites / "a.test" / "index.txt").write_bytes(b"site a")
    (tmp_path / "secret.txt").write_bytes(b"SECRET")
    app = StaticFiles(_app, docroot=True)
    assert _call(app, _env("/index.txt", DOCUMENT_ROOT=str(sites) + "/a.test"))[2] == b"site a"
    for host in ("..", "a.test/../..", "../"):
        assert _call(app, _env("/secret.txt", DOCUMENT_ROOT=str(sites) + "/" + host))[2] == b"app", host
    assert _call(app, _env("/index.txt", DOCUMENT_ROOT=str(sites) + "/a.test/"))[2] == b"site a"


def test_a_root_directory_serves_its_files(tmp_path):
    # "/" as the directory: its files are inside it (the containment check's edge)
    app = StaticFiles(_app, docroot=True)
    (tmp_path / "f.txt").write_bytes(b"f")
    assert _call(app, _env(str(tmp_path / "f.txt"), DOCUMENT_ROOT="/"))[2] == b"f"


def _named(name):
    def app(environ, start_response):
        start_response("200 OK", [])
        return [("%s|%s|%s" % (name, environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()]
    return app


def test_ignore_script_name_picks_the_root_or_default_app():
    mounts = [("/a", _named("A")), ("", _named("R"))]
    env = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/a", "PATH_INFO": "/x"}
    assert _call(Mounts(mounts), dict(env))[2] == b"A|/a|/x"
    assert _call(Mounts(mounts, ignore_script_name=True), dict(env))[2] == b"R|/a|/x"
    assert _call(Mounts([("/a", _named("A"))], default=_named("D"), ignore_script_name=True),
                 dict(env))[2] == b"D|/a|/x"
    # --manage-script-name still rewrites, the app is the root one
    managed = Mounts([("/a", _named("A"))], default=_named("D"), manage_script_name=True, ignore_script_name=True)
    assert _call(managed, {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/a/x"})[2] == b"D|/a|/x"


@pytest.mark.parametrize("uri, expected", [
    ("/upload?X-Progress-ID=" + UUID, UUID),
    ("/upload?a=1&X-Progress-ID=" + UUID.upper() + "&b=2", UUID.upper()),
    ("/upload?X-Progress-ID=" + UUID[:-1], None),                 # too short
    ("/upload?X-Progress-ID=../../etc/passwd-0000-0000-000000000", None),
    ("/upload?X-Progress-ID=" + UUID.replace("-", "_"), None),
    ("/upload?x-progress-id=" + UUID, None),                      # uWSGI's mark is case-sensitive
    ("/upload", None),
])
def test_progress_id(uri, expected):
    assert progress_id(uri) == expected


def test_progress_file_lifecycle(tmp_path):
    line = progress_line(10, 100)
    assert json.loads(line) == {"state": "uploading", "received": 10, "size": 100} and line.endswith(b"\r\n")
    p = UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 100)
    assert p is not None
    path = tmp_path / (UUID + ".js")
    p.update(9)
    assert json.loads(path.read_bytes())["received"] == 9
    p.update(100)
    assert json.loads(path.read_bytes()) == {"state": "uploading", "received": 100, "size": 100}
    # the same id while the first upload runs: no second file (O_EXCL, as uWSGI)
    assert UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 5) is None
    p.close()
    p.close()
    assert not path.exists()
    assert UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=nope", 5) is None
    assert UploadProgress.open(str(tmp_path / "missing"), "/u?X-Progress-ID=" + UUID, 5) is None


def test_a_dead_uploads_progress_file_is_replaced_once_stale(tmp_path):
    # a worker killed mid-upload leaves its file: that id got no progress file ever again
    path = tmp_path / (UUID + ".js")
    path.write_bytes(progress_line(10, 100))
    assert UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 5, stale_after=120) is None  # fresh
    old = time.time() - 121
    os.utime(path, (old, old))
    p = UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 5, stale_after=120)
    assert p is not None
    p.update(3)
    assert json.loads(path.read_bytes()) == {"state": "uploading", "received": 3, "size": 5}
    p.close()
    # a stale symlink planted there is removed, never followed
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    path.symlink_to(target)
    os.utime(path, (old, old), follow_symlinks=False)
    p = UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 5, stale_after=60)
    assert p is not None and not path.is_symlink() and target.read_bytes() == b"keep"
    p.close()


def test_a_live_slow_uploads_progress_file_is_not_taken_for_a_dead_ones(tmp_path):
    # the file is rewritten once per block read (64 KiB by default): a slow upload (500 bytes/s
    # is within --body-min-rate) leaves it unchanged for minutes; a second request with its id
    # replaced it, and the first's close() then removed the second's file
    path = tmp_path / (UUID + ".js")
    live = UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 100)
    assert live is not None
    old = time.time() - 3600
    os.utime(path, (old, old))
    assert UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 5, stale_after=60) is None
    live.update(50)
    assert json.loads(path.read_bytes())["received"] == 50
    live.close()
    assert not path.exists()


def test_closing_a_replaced_progress_file_leaves_the_new_one(tmp_path):
    path = tmp_path / (UUID + ".js")
    first = UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 100)
    assert first is not None
    os.unlink(path)  # (as a replacement racing it would)
    second = UploadProgress.open(str(tmp_path), "/u?X-Progress-ID=" + UUID, 5)
    assert second is not None
    first.close()
    assert path.exists()
    second.close()
    assert not path.exists()
